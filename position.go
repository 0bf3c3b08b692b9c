package rwsplit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rwsplit/rwsplit/internal/dialect"
	"github.com/rwsplit/rwsplit/internal/gtid"
)

// resolve brings the parts of session s's token that a read needs (its
// GTIDs, its binlog position) up to date with the writes recorded in view v:
// one query on db's primary (two on MariaDB when both parts are needed; one
// more, once per primary, for its identity when the monitor has not read it
// yet). The query is shared by every caller on the DB (see sharedRead): a
// read of the primary's position that began after the session's latest write
// returned covers it, whichever session, token clamp or Latest read made it,
// so a burst of reads after a write, or many sessions writing at once, cost
// the primary far fewer queries than writes. On MySQL the token keeps only
// the GTIDs of the uuids the writes may have used, when every write the
// capture covers was made on that primary (see compactCapture).
func (db *DB) resolve(ctx context.Context, s *Session, v sessionView, gtids, pos bool) (gtid.Token, error) {
	p, err := db.writer()
	if err != nil {
		return v.tok, err
	}
	r, err := db.sharedRead(ctx, p, v.lastWrite, gtids, pos, never, &db.stats.captures)
	if err != nil {
		return v.tok, err
	}
	cap, id := r.tok, r.id
	// A uuid read in the capture's own statement (GTID-only captures on
	// MySQL) that is not the one the DB knew means that another server now
	// answers at the primary's address (a VIP moved): keep the whole set. A
	// GTID-only request keeps it too when the shared read that served it
	// read no uuid (it read the binlog position as well, by SHOW BINARY LOG
	// STATUS): compacting by the uuid the DB knew is what the uuid in the
	// statement guards against.
	uuidChecked := id.fresh != "" && id.fresh == id.uuid || id.fresh == "" && pos
	switch {
	case v.gtidAt >= v.writes:
		// The token's GTIDs cover every write already (a capture for the
		// binlog position alone): nothing of the capture's GTIDs to add.
		cap.MySQL, cap.MariaDB = gtid.MySQLSet{}, gtid.MariaDBPos{}
	case uuidChecked && v.onePrimary(v.gtidAt, p, int64(id.serverID)):
		cap = db.compactCapture(cap, p, id.uuid, v.firstPending)
	}
	return s.resolved(cap, v.writes, r.gtids, r.pos)
}

// captureOn reads primary p's current position, which covers every write
// completed before it began: its executed GTIDs (MySQL's gtid_executed,
// MariaDB's gtid_binlog_pos) when gtids is set, and its binlog file:position
// when pos is set, the position tagged with p's server_id. It reports which
// parts it read (on MySQL one statement gives both) and p's identity, and
// notes what it read as what p has executed.
func (db *DB) captureOn(ctx context.Context, p *Server, gtids, pos bool) (tok gtid.Token, id primaryIdent, gotGTIDs, gotPos bool, err error) {
	v, err := p.version(ctx)
	if err != nil {
		return tok, id, false, false, err
	}
	id = db.primaryIdentity(ctx, p, v)
	tok, id.fresh, gotGTIDs, gotPos, err = db.readPosition(ctx, p, v, gtids, pos)
	if err != nil {
		return tok, id, false, false, err
	}
	tok.Pos.ServerID = id.serverID
	if tok.Pos.IsZero() {
		tok.Pos = gtid.BinlogPos{}
	}
	db.notePrimaryExecuted(p, tok)
	return tok, id, gotGTIDs, gotPos, nil
}

// readPosition reads p's executed GTIDs and binlog position (see
// captureOn). On MySQL, when no position is asked for, one SELECT reads the
// GTIDs together with @@server_uuid, returned as uuid ("" otherwise).
func (db *DB) readPosition(ctx context.Context, p *Server, v *dialect.Version, gtids, pos bool) (tok gtid.Token, uuid string, gotGTIDs, gotPos bool, err error) {
	if v.Flavor == dialect.MariaDB {
		tok.Flavor = dialect.MariaDB
		if gtids {
			var s sql.NullString
			if err := scanOne(ctx, p.db, "SELECT @@GLOBAL.gtid_binlog_pos", &s); err != nil {
				return tok, "", false, false, err
			}
			if tok.MariaDB, err = gtid.ParseMariaDBPos(s.String); err != nil {
				return tok, "", false, false, fmt.Errorf("rwsplit: capture: %w", err)
			}
		}
		if pos {
			st, err := showRow(ctx, p.db, v.BinlogStatus())
			if err != nil {
				return tok, "", false, false, err
			}
			if tok.Pos, err = binlogPos(st["File"], st["Position"]); err != nil {
				return tok, "", false, false, err
			}
		}
		return tok, "", gtids, pos, nil
	}
	tok.Flavor = dialect.MySQL
	if !pos {
		var set, u sql.NullString
		if err := p.db.QueryRowContext(ctx, "SELECT @@GLOBAL.gtid_executed, @@server_uuid").Scan(&set, &u); err != nil {
			return tok, "", false, false, err
		}
		if tok.MySQL, err = gtid.ParseMySQLSet(set.String); err != nil {
			return tok, "", false, false, fmt.Errorf("rwsplit: capture: %w", err)
		}
		return tok, u.String, true, false, nil
	}
	st, err := showRow(ctx, p.db, v.BinlogStatus())
	if err != nil {
		return tok, "", false, false, err
	}
	if tok.Pos, err = binlogPos(st["File"], st["Position"]); err != nil {
		return tok, "", false, false, err
	}
	if tok.MySQL, err = gtid.ParseMySQLSet(st["Executed_Gtid_Set"]); err != nil {
		return tok, "", false, false, fmt.Errorf("rwsplit: capture: %w", err)
	}
	return tok, "", true, true, nil
}

func binlogPos(file, pos string) (gtid.BinlogPos, error) {
	if file == "" {
		return gtid.BinlogPos{}, errors.New("rwsplit: capture: binary logging is off on the primary")
	}
	p, err := gtid.ParseBinlogPos(file + ":" + pos)
	if err != nil {
		return p, fmt.Errorf("rwsplit: capture: %w", err)
	}
	return p, nil
}

// Token compaction. A MySQL cluster's executed set holds the GTIDs of every
// server uuid in its history (one per former primary, per replica written
// by mistake, ...), and a token that carried them all would outgrow a
// cookie. A reader of a session's writes needs only the uuids those writes
// were committed under: the primary's own @@server_uuid for an ordinary
// write, the group name's for a write on Group Replication, any uuid for a
// write under an explicit gtid_next. Which one is not known, so a capture
// keeps every uuid that may have grown while the writes ran: all but those
// whose GTIDs are proven unchanged since before the first of them began.

// uuidStability records, for one primary (srv under serverID), the GTIDs of
// each server uuid as last seen and since when they are known unchanged.
type uuidStability struct {
	srv      *Server
	serverID int64
	parts    map[[16]byte]stablePart
}

// stablePart is one uuid's GTIDs, seen unchanged by every read of the
// primary noted since `since` (the note of the first read that showed
// them: that read's snapshot of the primary was taken before since).
type stablePart struct {
	set   gtid.MySQLSet
	since time.Time
}

// noteStable folds a read of primary p's executed GTIDs (server_id sid),
// noted at now, into the stability record: a uuid whose GTIDs grew starts
// again from now; one whose GTIDs are older than those recorded (a read
// that began earlier and ended later) changes nothing.
func (ts *tokenState) noteStable(p *Server, sid int64, tok gtid.Token, now time.Time) {
	if tok.Flavor != dialect.MySQL {
		return
	}
	parts := tok.MySQL.ByUUID()
	for {
		old := ts.stable.Load()
		same := old != nil && old.srv == p && old.serverID == sid
		changed := !same || len(old.parts) < len(parts)
		if !changed {
			for _, pt := range parts {
				if cur, ok := old.parts[pt.UUID]; !ok || !cur.set.Contains(pt.Set) {
					changed = true
					break
				}
			}
		}
		if !changed {
			return
		}
		next := &uuidStability{srv: p, serverID: sid, parts: make(map[[16]byte]stablePart, len(parts))}
		if same {
			for u, cur := range old.parts {
				next.parts[u] = cur
			}
		}
		for _, pt := range parts {
			if cur, ok := next.parts[pt.UUID]; ok && cur.set.Contains(pt.Set) {
				continue // unchanged, or an older view of it
			}
			next.parts[pt.UUID] = stablePart{set: pt.Set, since: now}
		}
		if ts.stable.CompareAndSwap(old, next) {
			return
		}
	}
}

// compactCapture keeps of a MySQL capture on primary p what a reader of the
// writes it covers, the first of which began at first, must wait for: the
// GTIDs of p's own uuid, of its Group Replication group, and of every uuid
// not proven unchanged since before first (its GTIDs in the capture equal
// to those of a read of p noted before first). Without such a read every
// uuid is kept. The rest (MariaDB, whose position holds one GTID per
// domain and does not grow with failovers) is kept as it is.
func (db *DB) compactCapture(t gtid.Token, p *Server, uuid string, first time.Time) gtid.Token {
	st := db.tokens().stable.Load()
	if t.Flavor != dialect.MySQL || first.IsZero() || st == nil || st.srv != p || st.serverID != p.serverID.Load() {
		return t
	}
	own, _ := gtid.ParseUUID(uuid)
	var group [16]byte
	if m := p.member.Load(); m != nil && m.Group != "" {
		group, _ = gtid.ParseUUID(m.Group)
	}
	var drop map[[16]byte]bool
	for _, pt := range t.MySQL.ByUUID() {
		if pt.UUID == own || pt.UUID == group {
			continue
		}
		if base, ok := st.parts[pt.UUID]; ok && base.since.Before(first) && base.set.Equal(pt.Set) {
			if drop == nil {
				drop = make(map[[16]byte]bool)
			}
			drop[pt.UUID] = true
		}
	}
	if drop != nil {
		t.MySQL = t.MySQL.KeepUUIDs(func(u [16]byte) bool { return !drop[u] })
	}
	return t
}

// Token safety at wait time. A token may come from a client, and claim
// anything: a GTID no server has, a binlog position far ahead, a position of
// another primary. A read never waits for more than the primary has
// executed: its target is clamped to the primary's executed set (read once
// when what the DB knows of it does not cover the target, the query shared
// by concurrent readers), and a binlog position is waited for only on the
// primary it was read from, on replicas that replicate from that primary.

// tokenState is a DB's token safety state.
type tokenState struct {
	// key signs and verifies the DB's tokens (FormatToken, ParseToken);
	// nil: unsigned.
	key *tokenKey
	// known is what the current primary is known to have executed, from
	// captures, clamp reads and the monitor (notePrimaryExecuted).
	known atomic.Pointer[primaryKnown]
	// fresh is the read of the primary's executed set in flight.
	fresh freshReads
	// stable is, per server uuid, since when the current primary's GTIDs
	// of that uuid are known not to have changed (see compactCapture).
	stable atomic.Pointer[uuidStability]
	// idents reads a primary's identity (server_id, server_uuid) when the
	// monitor has not yet; identFail is the last failure, not retried for
	// identRetry.
	idents    flights[*Server, primaryIdent]
	identFail atomic.Pointer[identFailure]
	// clamps counts wait targets cut down to what the primary has (GTIDs
	// it lacks, a position beyond its own); checks counts the reads of the
	// primary's executed set made to check targets (readExecuted).
	clamps, checks atomic.Uint64
	// backlog is the last check that the primary applies no backlog, lost
	// what it was found to lack for good (writesafety.go).
	backlog atomic.Pointer[backlogCheck]
	lost    atomic.Pointer[lostKnown]
}

// tokens returns db's token state.
func (db *DB) tokens() *tokenState {
	return &db.safety
}

// primaryKnown is what a primary is known to have executed.
type primaryKnown struct {
	srv      *Server
	serverID int64      // srv's server_id when it was noted (0: unknown)
	tok      gtid.Token // its GTIDs and binlog position (Time unused)
}

// notePrimaryExecuted records that primary p has executed tok (its GTIDs
// and, if set, its binlog position): the monitor calls it each time it reads
// the primary's executed set, and captures do. A read whose target this
// covers needs no query of the primary to be clamped. Knowledge of another
// Server, or of p under another server_id, is replaced. No I/O.
func (db *DB) notePrimaryExecuted(p *Server, tok gtid.Token) {
	if p == nil {
		return
	}
	tok.Time = 0
	ts := db.tokens()
	sid := p.serverID.Load()
	for {
		old := ts.known.Load()
		next := &primaryKnown{srv: p, serverID: sid, tok: tok}
		if old != nil && old.srv == p && old.serverID == sid {
			if m, err := gtid.Merge(old.tok, tok); err == nil {
				next.tok = m
			}
		}
		if ts.known.CompareAndSwap(old, next) {
			break
		}
	}
	ts.noteStable(p, sid, tok, time.Now())
}

// knownExecuted returns what p is known to have executed, if anything is
// known of it under its current server_id.
func (ts *tokenState) knownExecuted(p *Server) (gtid.Token, bool) {
	k := ts.known.Load()
	if k == nil || k.srv != p || k.serverID != p.serverID.Load() {
		return gtid.Token{}, false
	}
	return k.tok, true
}

// freshReads shares reads of the primary's executed set among concurrent
// readers: scope captures (resolve), token clamps, Latest and Monotonic.
type freshReads struct {
	mu   sync.Mutex
	cur  *freshRead // the latest read in flight
	last *freshRead // the latest read that succeeded
}

// freshRead is one read of a primary's executed set.
type freshRead struct {
	srv        *Server
	began      time.Time
	gtids, pos bool          // the parts it reads (once done: the parts it read)
	done       chan struct{} // closed when tok, id and err are set
	tok        gtid.Token
	id         primaryIdent // srv's identity, as captureOn returns it
	err        error
}

// readExecuted reads what primary p has executed (with gtids its GTIDs,
// with pos its binlog position) for a reader whose target existed at since
// and is valid if enough says so of the result: see sharedRead. The read,
// if this reader runs it, counts as a token check (Stats.ExecutedReads).
func (db *DB) readExecuted(ctx context.Context, p *Server, since time.Time, gtids, pos bool, enough func(gtid.Token) bool) (gtid.Token, error) {
	r, err := db.sharedRead(ctx, p, since, gtids, pos, enough, &db.tokens().checks)
	if err != nil {
		return gtid.Token{}, err
	}
	return r.tok, nil
}

// sharedRead returns a read of what primary p has executed (with gtids its
// GTIDs, with pos its binlog position) that serves a reader whose target
// existed at since and is valid if enough says so of the result. Reads are
// shared by every caller on the DB, whatever its scope or purpose: the
// result of one in flight, or of the latest that ended, serves a reader if
// it began after since (then it covers every write completed before since);
// a read in flight that began earlier serves it if enough holds of its
// result; otherwise the reader needs a newer read, which the readers in the
// same case share in turn (as a group commit does): such a reader waits for
// the read in flight, then for the next, so it may take up to two of the
// primary's round trips where a read of its own would take one, and in
// exchange a burst of readers costs the primary at most two queries (plus
// one for its identity when the monitor has not read it yet) and concurrent
// writers' sessions share their captures. A read that failed for its
// leader's context is shared again by the waiters whose own contexts are
// live; one that failed otherwise is retried once by each waiter on its own.
// A read this caller runs and that succeeds is added to count. The result
// is noted as known.
func (db *DB) sharedRead(ctx context.Context, p *Server, since time.Time, gtids, pos bool, enough func(gtid.Token) bool, count *atomic.Uint64) (*freshRead, error) {
	ts := db.tokens()
	own := false // a shared read failed: run one of this reader's own
	serves := func(c *freshRead) bool { return c != nil && c.srv == p && (c.gtids || !gtids) && (c.pos || !pos) }
	for {
		ts.fresh.mu.Lock()
		if l := ts.fresh.last; !own && serves(l) && l.began.After(since) {
			ts.fresh.mu.Unlock()
			return l, nil
		}
		c := ts.fresh.cur
		if own || !serves(c) {
			break // with the lock held
		}
		ts.fresh.mu.Unlock()
		select {
		case <-c.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		switch {
		case c.err != nil && ctx.Err() == nil &&
			(errors.Is(c.err, context.Canceled) || errors.Is(c.err, context.DeadlineExceeded)):
			continue // its leader's context ended: share a new read
		case c.err != nil:
			own = true // the read itself failed: try once more on this reader's own
		case c.began.After(since) || enough(c.tok):
			return c, nil
		}
		// Began too early to tell: a newer read (cur has moved on, or
		// this reader starts one).
	}
	c := &freshRead{srv: p, began: time.Now(), gtids: gtids, pos: pos, done: make(chan struct{})}
	ts.fresh.cur = c
	ts.fresh.mu.Unlock()
	tok, id, gotG, gotP, err := db.captureOn(ctx, p, gtids, pos)
	if err == nil {
		count.Add(1)
		if h := db.hooks; h != nil && h.afterCapture != nil {
			h.afterCapture()
		}
	}
	ts.fresh.mu.Lock()
	c.tok, c.id, c.err = tok, id, err
	c.gtids, c.pos = c.gtids || gotG, c.pos || gotP
	if ts.fresh.cur == c {
		ts.fresh.cur = nil
	}
	if l := ts.fresh.last; c.err == nil && (l == nil || l.began.Before(c.began)) {
		ts.fresh.last = c
	}
	ts.fresh.mu.Unlock()
	close(c.done)
	return c, c.err
}

// errOtherPrimary is why a WaitPosition read goes to the primary: the
// position it would wait for was read on another primary than the current
// one (or on a log the primary no longer writes), and it has no GTIDs to
// wait for instead.
var errOtherPrimary = errors.New("rwsplit: the binlog position to wait for is not the current primary's")

// errNoDirectReplica is why a WaitPosition read goes to the primary: no
// usable replica replicates directly from the primary the position was read
// from (a position means nothing on a replica of a replica).
var errNoDirectReplica = errors.New("rwsplit: no usable replica replicates from the primary the binlog position was read on")

// safeTarget returns what a read must wait for, given its scope's token full
// (Token.WaitTarget picks the part: the GTIDs when byGTID, else the position),
// cut down to what the primary has executed: never a GTID it lacks, never a
// position beyond its own, never another primary's position (then the
// GTIDs instead when gtidsFresh says they cover every write, else
// errOtherPrimary). When what the DB knows of the primary does not cover
// the target it reads the primary once (see readExecuted), within half of
// budget; if that read fails the target is waited for as it is.
//
// Under discovery a target the primary lacks may also mean that the DB's
// view is out of date (another DB wrote the token on a primary promoted
// since): before cutting it, the monitor is asked to look again, and a new
// primary found within that half of budget is checked instead. GTIDs cut
// that were lost with a former primary (see ErrWritesLost) come back as a
// *lostError with the cut target: the caller reports them and goes on.
func (db *DB) safeTarget(ctx context.Context, full gtid.Token, byGTID, gtidsFresh bool, budget time.Duration) (gtid.Token, error) {
	rctx, cancel := context.WithTimeout(ctx, max(budget/2, 10*time.Millisecond))
	defer cancel()
	// The whole of it, the check for lost writes included, within budget.
	bctx, bcancel := context.WithTimeout(ctx, max(budget, 10*time.Millisecond))
	defer bcancel()
	t, err := db.safeTargetOn(bctx, rctx, db.primaryServer(), full, byGTID, gtidsFresh, db.discover)
	if ctx.Err() != nil {
		return t, ctx.Err()
	}
	return t, err
}

// safeTargetOn is safeTarget against primary p, its primary queries under
// rctx; with refresh, a cut first looks for a newer primary.
func (db *DB) safeTargetOn(ctx, rctx context.Context, p *Server, full gtid.Token, byGTID, gtidsFresh, refresh bool) (gtid.Token, error) {
	t := full.WaitTarget(byGTID)
	if p == nil || !t.HasTarget() {
		// No primary known (discovery, between primaries): nothing to
		// clamp by; the wait's own timeout bounds it.
		return t, nil
	}
	again := func() (gtid.Token, bool, error) {
		if !refresh {
			return t, false, nil
		}
		np := db.awaitNewPrimary(rctx, p, false)
		if np == nil {
			return t, false, nil
		}
		nt, err := db.safeTargetOn(ctx, rctx, np, full, byGTID, gtidsFresh, false)
		return nt, true, err
	}
	if !t.Pos.IsZero() {
		pt, ok, cut, err := db.clampPosition(rctx, p, t)
		switch {
		case ctx.Err() != nil:
			return t, ctx.Err()
		case err != nil:
			return t, nil // the primary did not answer: wait as asked
		case !ok || cut:
			if nt, moved, err := again(); moved {
				return nt, err
			}
		}
		if ok {
			if cut {
				db.tokens().clamps.Add(1)
			}
			return pt, nil
		}
		// Another primary's position: its GTIDs, if they cover every write.
		g := full.WaitTarget(true)
		if !gtidsFresh || !g.Pos.IsZero() || !g.HasTarget() {
			return t, errOtherPrimary
		}
		t = g
	}
	ct, e, cut, err := db.clampGTIDsRead(rctx, p, t)
	if ctx.Err() != nil {
		return t, ctx.Err()
	}
	if err != nil {
		return t, nil // the primary did not answer: wait as asked
	}
	if !cut {
		return ct, nil
	}
	np, lost := db.newerOrLost(ctx, rctx, p, t, e, refresh)
	if np != nil {
		return db.safeTargetOn(ctx, rctx, np, full, byGTID, gtidsFresh, false)
	}
	db.tokens().clamps.Add(1)
	if lost.HasTarget() {
		// Never waited for: the read goes on with the rest.
		return gtid.IntersectGTIDs(t, e), &lostError{primary: p, lost: lost}
	}
	return ct, nil
}

// newerOrLost explains GTIDs of target that primary p lacks (executed,
// read fresh, is what it has): either the DB's view is out of date and
// another primary has them (with refresh, it waits within rctx for the
// monitor to find it: np), or they were lost with a former primary (lost;
// checked once a monitor round begun after the call found no newer
// primary, and never while the server that wrote them is writable), or
// neither (a claim: the target is clamped silently).
func (db *DB) newerOrLost(ctx, rctx context.Context, p *Server, target, executed gtid.Token, refresh bool) (np *Server, lost gtid.Token) {
	if lost = db.knownLost(p, target, executed); lost.HasTarget() {
		return nil, lost // told before: no round, no query
	}
	if refresh {
		if np = db.awaitNewPrimary(rctx, p, true); np != nil {
			return np, gtid.Token{}
		}
		// A round found none: read p again, then judge. Its own bound:
		// the round may have used up rctx.
		lctx, cancel := context.WithTimeout(ctx, identTimeout)
		defer cancel()
		_, e, cut, err := db.clampGTIDsRead(lctx, p, target)
		if err == nil && !cut {
			return nil, gtid.Token{}
		}
		if err == nil {
			executed = e
		}
		if lost = db.lostWrites(lctx, p, target, executed); lost.HasTarget() {
			return nil, lost
		}
		// Not lost: a newer primary the monitor has not seen yet, maybe.
		return db.awaitNewPrimary(rctx, p, false), gtid.Token{}
	}
	lctx, cancel := context.WithTimeout(ctx, identTimeout)
	defer cancel()
	return nil, db.lostWrites(lctx, p, target, executed)
}

// awaitNewPrimary asks the monitor for a round now and waits, until ctx
// ends, for a primary other than p; nil if none came. With oneRound it also
// stops once a round begun after the call has ended with p still the
// primary: the DB's view is then as fresh as the monitor can make it.
func (db *DB) awaitNewPrimary(ctx context.Context, p *Server, oneRound bool) *Server {
	target := db.rounds.started.Load() + 1
	db.kick()
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for {
		done := db.rounds.done.Load()
		if np := db.primaryServer(); np != nil && np != p {
			return np
		}
		if db.closed.Load() {
			return nil
		}
		if oneRound && done >= target {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// clampGTIDs cuts t's GTIDs down to those primary p has executed; cut says
// whether it dropped any.
func (db *DB) clampGTIDs(ctx context.Context, p *Server, t gtid.Token) (ct gtid.Token, cut bool, err error) {
	ct, _, cut, err = db.clampGTIDsRead(ctx, p, t)
	return ct, cut, err
}

// clampGTIDsRead is clampGTIDs, also returning the executed set that cut
// t, read fresh (zero when nothing was cut).
func (db *DB) clampGTIDsRead(ctx context.Context, p *Server, t gtid.Token) (ct, executed gtid.Token, cut bool, err error) {
	since := time.Now()
	ts := db.tokens()
	if k, ok := ts.knownExecuted(p); ok && gtid.Covers(k, t) {
		return t, gtid.Token{}, false, nil
	}
	e, err := db.readExecuted(ctx, p, since, true, false, func(e gtid.Token) bool { return gtid.Covers(e, t) })
	if err != nil {
		return t, gtid.Token{}, false, err
	}
	if gtid.Covers(e, t) {
		return t, gtid.Token{}, false, nil
	}
	return gtid.IntersectGTIDs(t, e), e, true, nil
}

// clampPosition checks t's binlog position against primary p's: ok with the
// position to wait for (t's, or p's own when t's is beyond it), or not ok
// when t's position is another server's. A position of unknown origin
// (format 1 tokens) is taken as p's if its file belongs to p's log.
func (db *DB) clampPosition(ctx context.Context, p *Server, t gtid.Token) (pt gtid.Token, ok, cut bool, err error) {
	since := time.Now()
	ts := db.tokens()
	if pid, cur := int64(t.Pos.ServerID), p.serverID.Load(); pid != 0 && cur != 0 && pid != cur {
		return t, false, false, nil
	}
	if k, ok := ts.knownExecuted(p); ok && !k.Pos.IsZero() {
		if c, ok := gtid.ComparePrimaryPos(k.Pos, t.Pos); ok && c >= 0 {
			return t, true, false, nil
		}
	}
	e, err := db.readExecuted(ctx, p, since, false, true, func(e gtid.Token) bool {
		c, ok := gtid.ComparePrimaryPos(e.Pos, t.Pos)
		return ok && c >= 0
	})
	if err != nil {
		return t, false, false, err
	}
	if e.Pos.IsZero() {
		return t, true, false, nil // binary log off or unreadable: nothing to clamp by
	}
	c, ok := gtid.ComparePrimaryPos(e.Pos, t.Pos)
	switch {
	case !ok:
		return t, false, false, nil
	case c < 0:
		t.Pos = e.Pos
		return t, true, true, nil
	}
	return t, true, false, nil
}

// directReplicas returns the candidates that may answer a wait for a binlog
// position of the primary with server_id pid (0: unknown; then the current
// primary's): those whose source, as the monitor saw it, is that primary,
// or unknown.
func (db *DB) directReplicas(cands []*Server, pid uint32) []*Server {
	want := int64(pid)
	if want == 0 {
		if p := db.primaryServer(); p != nil {
			want = p.serverID.Load()
		}
	}
	if want == 0 {
		return cands
	}
	var out []*Server
	for i, s := range cands {
		if src := s.sourceID.Load(); src != 0 && src != want {
			if out == nil {
				out = append(make([]*Server, 0, len(cands)), cands[:i]...)
			}
			continue
		}
		if out != nil {
			out = append(out, s)
		}
	}
	if out == nil {
		return cands
	}
	return out
}

// primaryIdent is a primary's identity: @@server_id and (MySQL)
// @@server_uuid; zero values when unknown.
type primaryIdent struct {
	serverID uint32
	uuid     string
	// fresh is @@server_uuid as read in a capture's own statement ("" if
	// it was not).
	fresh string
}

// identFailure is a failed identity read.
type identFailure struct {
	srv *Server
	at  time.Time
}

// identRetry is how long a failed identity read is not tried again.
const identRetry = 30 * time.Second

// identTimeout bounds an identity read.
const identTimeout = 5 * time.Second

// primaryIdentity returns p's identity: as the monitor last read it (each
// round), else read once (one query, shared by concurrent callers; see
// identify) and kept on p. Unknown parts are zero if the read fails.
func (db *DB) primaryIdentity(ctx context.Context, p *Server, v *dialect.Version) primaryIdent {
	id := p.knownIdent()
	if id.serverID != 0 && (v.Flavor != dialect.MySQL || id.uuid != "") {
		return id
	}
	ts := db.tokens()
	if f := ts.identFail.Load(); f != nil && f.srv == p && time.Since(f.at) < identRetry {
		return id
	}
	got, err := ts.idents.do(ctx, p, func() (primaryIdent, error) {
		ictx, cancel := context.WithTimeout(ctx, identTimeout)
		defer cancel()
		if _, err := db.identify(ictx, p); err != nil { // records it on p
			return primaryIdent{}, err
		}
		return p.knownIdent(), nil
	})
	if err != nil {
		if ctx.Err() == nil {
			ts.identFail.Store(&identFailure{srv: p, at: time.Now()})
		}
		return id
	}
	return got
}

// knownIdent is s's identity as last recorded (by the monitor or
// primaryIdentity).
func (s *Server) knownIdent() primaryIdent {
	var id primaryIdent
	if sid := s.serverID.Load(); sid > 0 && sid <= math.MaxUint32 {
		id.serverID = uint32(sid)
	}
	if u := s.uuid.Load(); u != nil {
		id.uuid = *u
	}
	return id
}

// flight is one network call that concurrent callers share instead of each
// making their own, without holding a lock across the network (version
// detection, statement preparation). A caller that finds it in flight waits
// for it or for its own context, whichever ends first.
type flight[T any] struct {
	done chan struct{} // closed when val and err are set
	val  T
	err  error
}

// flights is a set of flights by key, guarded by its own mutex (held only
// to look a flight up, never across the call).
type flights[K comparable, T any] struct {
	mu sync.Mutex
	m  map[K]*flight[T]
	// joined counts the callers that found a flight in flight (tests).
	joined atomic.Int64
}

// do returns the result of call for key: a flight already in flight for it,
// or a new one this caller runs. A caller whose context ends first returns
// its context's error; the flight goes on for the others. A failed flight is
// not kept: the next caller tries again, and so does a waiting caller whose
// own context is live when the flight failed for its runner's context.
func (fs *flights[K, T]) do(ctx context.Context, key K, call func() (T, error)) (T, error) {
	for {
		fs.mu.Lock()
		f, ok := fs.m[key]
		if !ok {
			f = &flight[T]{done: make(chan struct{})}
			if fs.m == nil {
				fs.m = map[K]*flight[T]{}
			}
			fs.m[key] = f
		}
		fs.mu.Unlock()
		if ok {
			fs.joined.Add(1)
		} else {
			f.val, f.err = call()
			fs.mu.Lock()
			delete(fs.m, key)
			fs.mu.Unlock()
			close(f.done)
			return f.val, f.err
		}
		select {
		case <-f.done:
		case <-ctx.Done():
			var zero T
			return zero, ctx.Err()
		}
		if f.err == nil || ctx.Err() != nil ||
			!errors.Is(f.err, context.Canceled) && !errors.Is(f.err, context.DeadlineExceeded) {
			return f.val, f.err
		}
	}
}

// scopeToken returns what a read in mode must wait for: the part of its
// scope's token the mode waits on (the binlog position under WaitPosition,
// the GTIDs under the other modes, the other part when that one is
// unknown), first read from the primary when writes recorded since are
// pending, then cut down to what the primary has executed (see safeTarget).
func (db *DB) scopeToken(ctx context.Context, mode Consistency) (gtid.Token, error) {
	// A binlog position means nothing across the members of a group
	// (Group Replication, Galera): WaitPosition waits for the GTIDs of the
	// same writes there, which is exact.
	byGTID := mode.kind != kindWaitPosition || db.grouped(ctx)
	tok, gtidsFresh, err := db.boundedScope(ctx, mode, byGTID)
	if err != nil {
		return tok, err
	}
	t, err := db.safeTarget(ctx, tok, byGTID, gtidsFresh, mode.d)
	if err == nil && !byGTID && !t.Pos.IsZero() && gtidsFresh {
		t = db.positionGTIDs(ctx, t, tok, mode.d)
	}
	return t, err
}

// positionGTIDs adds to t, a WaitPosition target (a binlog position of the
// current primary, already checked by safeTarget), the GTIDs of full, its
// scope's token, when waiting for them is as strong as waiting for the
// position: MySQL GTIDs that cover every write of the scope (on MySQL a
// position capture reads both in one statement, SHOW BINARY LOG STATUS,
// and the writes had committed before it began), on a primary whose
// gtid_mode is ON (every write it commits has a GTID), all of them executed
// on it (cut to what it has, they are not used: the position alone is
// waited for, as before). A replica with gtid_mode ON then waits for the
// GTIDs instead of the position (see waitFor): WAIT_FOR_EXECUTED_GTID_SET
// returns as the applier commits them, where SOURCE_POS_WAIT on MySQL's
// multi-threaded applier returns at the coordinator's next checkpoint, up
// to replica_checkpoint_period (300 ms by default) later. Usually no I/O:
// the capture noted what the primary has executed; else one read of the
// primary's executed set (shared), within half of budget.
func (db *DB) positionGTIDs(ctx context.Context, t, full gtid.Token, budget time.Duration) gtid.Token {
	g := full.WaitTarget(true)
	p := db.primaryServer()
	if g.Flavor != dialect.MySQL || g.MySQL.IsEmpty() || p == nil || !p.gtidsOn() {
		return t
	}
	if pid, cur := int64(t.Pos.ServerID), p.serverID.Load(); pid != 0 && pid != cur {
		return t // another primary's position (safeTarget kept it: unknown identity)
	}
	rctx, cancel := context.WithTimeout(ctx, max(budget/2, 10*time.Millisecond))
	defer cancel()
	if _, cut, err := db.clampGTIDs(rctx, p, g); err != nil || cut {
		return t
	}
	t.Flavor, t.MySQL = dialect.MySQL, g.MySQL
	return t
}

// resolvedScope returns the token of ctx's scope with the part a read needs
// (its GTIDs when byGTID, else its binlog position) covering every write
// recorded before the call: read from the primary first when some are
// pending (one query, shared; see resolve). gtidsFresh reports whether the
// GTIDs cover every such write.
func (db *DB) resolvedScope(ctx context.Context, byGTID bool) (tok gtid.Token, gtidsFresh bool, err error) {
	s := db.scope(ctx)
	v := s.view()
	tok = v.tok
	if v.writes > v.gtidAt && byGTID || v.writes > v.posAt && !byGTID {
		owner := v.owner
		if owner == nil || owner.closed.Load() {
			owner = db
		}
		if tok, err = owner.resolve(ctx, s, v, byGTID, !byGTID); err != nil {
			return tok, false, err
		}
	}
	// The GTIDs cover every write the read waits for if no write recorded
	// before it began is still pending for them.
	return tok, s.view().gtidAt >= v.writes, nil
}

// boundedScope is resolvedScope within mode's budget for reading the
// primary (see positionBudget): a hung primary does not hold the read past
// it, and the read follows its fallback rule (OrFail fails then).
func (db *DB) boundedScope(ctx context.Context, mode Consistency, byGTID bool) (gtid.Token, bool, error) {
	budget := positionBudget(mode)
	rctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	tok, fresh, err := db.resolvedScope(rctx, byGTID)
	if err != nil && ctx.Err() == nil && rctx.Err() != nil {
		err = fmt.Errorf("%w (within %v)", errPositionTimeout, budget)
	}
	return tok, fresh, err
}

// positionBudget bounds a read's reading of the primary's position: the
// mode's timeout (at least 10 ms), or, for a mode without one (Fast), 1 s.
func positionBudget(mode Consistency) time.Duration {
	if mode.d > 0 {
		return max(mode.d, 10*time.Millisecond)
	}
	return time.Second
}

// lostOrFail reports writes lost with a former primary (err an
// ErrWritesLost, see safeTarget) and returns what the read does next: nil
// to go on without them, or err under OrFail. Other errors pass.
func (db *DB) lostOrFail(ctx context.Context, mode Consistency, err error) error {
	if err == nil || !errors.Is(err, ErrWritesLost) {
		return err
	}
	db.reportLost(ctx, err)
	if mode.fail {
		return err
	}
	return nil
}
