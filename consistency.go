package rwsplit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/rwsplit/rwsplit/internal/dialect"
	"github.com/rwsplit/rwsplit/internal/gtid"
)

type kind uint8

const (
	kindUnset kind = iota
	kindEventual
	kindPrimary
	kindSleep
	kindCaughtUp
	kindWaitPosition
	kindWaitGTID
	kindFast
	kindLatest
	kindMonotonic
	kindMaxStaleness
)

// Consistency says how fresh a replica read must be. Choose it per call with
// WithConsistency, or per DB with WithDefaultConsistency. The zero value means
// "not set": the DB's default applies.
//
// The modes, from weakest to strongest, are the five remedies for stale reads
// (read-your-writes): Eventual, Sleep, CaughtUp, WaitPosition, WaitGTID, and
// Primary. The waiting modes read from the primary when no replica catches up
// in time, unless OrFail says to fail with ErrReplicaNotCaughtUp instead.
//
// Four more modes trade differently (below): Fast reads your writes
// without ever waiting (a replica known to have them, else the primary);
// Latest sees every write committed before the read began, whoever made it;
// Monotonic never reads older data than the scope has already read (and
// reads its writes); MaxStaleness bounds how old the data read may be.
type Consistency struct {
	kind kind
	d    time.Duration // Sleep's duration, the wait's timeout, or the staleness bound
	fail bool          // fail with ErrReplicaNotCaughtUp instead of reading the primary
}

var (
	// Eventual reads any usable replica, however far behind (the default).
	Eventual = Consistency{kind: kindEventual}
	// Primary sends the read to the primary.
	Primary = Consistency{kind: kindPrimary}
)

// Sleep reads a replica only once d has passed since the write being waited
// for, sleeping only the remainder (no sleep when the write is older). It is
// the crudest remedy: a replica lagging more than d still serves stale data.
func Sleep(d time.Duration) Consistency { return Consistency{kind: kindSleep, d: max(d, 0)} }

// CaughtUp reads a replica that reports it has applied everything it has
// received, waiting up to timeout for one. It cannot see a write the replica
// has not received yet, so a read right after a write may still be stale:
// use WaitPosition or WaitGTID to read your own writes.
func CaughtUp(timeout time.Duration) Consistency {
	return Consistency{kind: kindCaughtUp, d: max(timeout, 0)}
}

// WaitPosition captures the primary's binlog file and position after each
// write and, before a read, waits up to timeout on the replica until it has
// applied that position (SOURCE_POS_WAIT / MASTER_POS_WAIT).
//
// On MySQL with gtid_mode ON on the primary and the replica, it waits
// instead for the GTIDs the same capture read (SHOW BINARY LOG STATUS gives
// both), with WAIT_FOR_EXECUTED_GTID_SET: as exact, and as fast as
// WaitGTID. Without it the position wait costs more on MySQL 8.0.27+: the
// multi-threaded applier (any replica_parallel_workers ≥ 1, the default;
// MySQL 9.7 takes 0 as 1) moves the position SOURCE_POS_WAIT watches only
// at its checkpoints, replica_checkpoint_period apart (300 ms by default),
// so a read right after a write waits about that long (302 ms at the
// median on MySQL 9.7, against 1 ms by GTID; 2.5 ms with
// replica_checkpoint_period = 1, which costs the replica more frequent
// checkpoints), and a lagging replica's wait up to one period more than
// its lag. MariaDB's MASTER_POS_WAIT returns as each transaction commits.
func WaitPosition(timeout time.Duration) Consistency {
	return Consistency{kind: kindWaitPosition, d: max(timeout, 0)}
}

// WaitGTID captures the GTID of each write and, before a read, waits up to
// timeout on the replica until it has executed it (WAIT_FOR_EXECUTED_GTID_SET
// on MySQL, MASTER_GTID_WAIT on MariaDB). It is the most precise mode.
func WaitGTID(timeout time.Duration) Consistency {
	return Consistency{kind: kindWaitGTID, d: max(timeout, 0)}
}

// The modes beyond the five remedies: Fast, Latest, Monotonic and
// MaxStaleness. Each is planned here (planRead hands over) and served by the
// same pipeline as the others; Latest and Monotonic wait as WaitGTID does
// (waitOn), and every mode that may fall back does so through fallback.

var (
	// Fast reads your writes without ever waiting: on a replica already
	// known to have applied the scope's writes (by the monitor's last look
	// at its applied GTIDs, or by an earlier wait there), otherwise on the
	// primary (counted in Stats.Fallbacks; with Fast.OrFail() the read
	// fails with ErrReplicaNotCaughtUp instead). With nothing written in its
	// scope it reads any usable replica, as Eventual does. This is
	// MaxScale's "fast" causal reads.
	//
	// Cost: no wait, ever. Choosing the replica is a lookup; the first Fast
	// read after writes whose position is still pending reads it on the
	// primary (one round trip, shared with the scope's other readers, as
	// every waiting mode does). Right after a write the read usually goes to
	// the primary: a replica becomes known to have the write at the
	// monitor's next look (WithMonitorInterval) or when a waiting read
	// waited for it there. A token naming GTIDs no server has sends the
	// reads of its scope to the primary: sign tokens (WithTokenKey) when
	// clients can forge them.
	Fast = Consistency{kind: kindFast}
)

// Latest reads everything the primary had committed when the read began,
// whoever wrote it: clients that share no Session or token see each
// other's writes (MaxScale's "universal" causal reads). It reads the
// primary's executed GTID set (within timeout), then reads on a replica
// known to have applied it or one that applies it within timeout, else on
// the primary (or fails under OrFail). It ignores the scope: what the scope
// wrote before the read began is part of what the primary had committed.
//
// Cost: one query on the primary per read, shared by the Latest reads that
// begin while it is in flight (a burst of concurrent reads costs the
// primary at most two), plus the wait on the replica, in the read's own
// round trip where the replica's DSN allows it (Open, multiStatements and
// interpolateParams), unless the replica is known to have applied the set
// already.
func Latest(timeout time.Duration) Consistency {
	return Consistency{kind: kindLatest, d: max(timeout, 0)}
}

// Monotonic reads never go back in time within the scope (the context's
// Session, else the DB's process scope): a Monotonic read shows at least
// everything any earlier Monotonic read of the scope showed, once that read
// has returned, whichever servers served them. It also reads the scope's
// writes, as WaitGTID(timeout) does, with the same fallback to the primary
// (or ErrReplicaNotCaughtUp under OrFail).
//
// Monotonic reads of a scope stay on the replica that served its latest one
// while it is usable: a replica never un-applies, so they need no wait for
// what was read (only for the scope's writes, as WaitGTID). When they must
// move (that replica is down, suspect, lagging or removed, or the latest
// read was served by the primary), the next read waits on its new replica
// for what the primary had executed after the earlier reads returned, read
// once on the primary (on MySQL after the commits it had in progress have
// ended: MySQL shows a commit a moment before gtid_executed names it).
//
// Cost: nothing while the reads stay on one replica beyond WaitGTID's own
// cost for the scope's writes (none when there are none). A move costs one
// query on the primary (shared with concurrent readers, and none when
// another read of the primary's executed set began after the earlier reads
// returned; on MySQL one more, of @@GLOBAL.gtid_owned, and under a write
// load a wait on the primary for the commits in progress, usually
// microseconds, at most 50 ms) and usually a wait. Reads under other modes neither move the
// scope's floor nor are held by it. The floor is kept in the Session value,
// not in its Token: a Session resumed elsewhere from a Token reads its
// writes but starts a new monotonic history. Under the process scope every
// Monotonic read of the DB without a Session shares one history, and so one
// replica at a time: give each client its own Session to spread them.
func Monotonic(timeout time.Duration) Consistency {
	return Consistency{kind: kindMonotonic, d: max(timeout, 0)}
}

// MaxStaleness reads any usable replica whose data is at most d old, as far
// as the monitor knows: its measured lag (Health.Lag) plus the time since
// that measure (Health.LastCheck) is at most d. With none, the
// read goes to the primary (counted in Stats.Fallbacks), or fails with
// ErrReplicaNotCaughtUp under OrFail; it never waits, since a replica's lag
// is measured only once per monitor interval. A replica not checked yet is
// not within any bound.
//
// It bounds staleness, not causality: it does not wait for the scope's
// writes (use WaitGTID, Fast or Monotonic for that). The monitor measures
// lag against its snapshots of the primary, one per interval, so a
// replica's true staleness may exceed the bound by up to about one monitor
// interval; and a healthy replica looks up to one interval old between
// checks. Choose d of at least twice the interval (WithMonitorInterval,
// default 1 s), or lower the interval.
//
// Cost: no round trip; a lookup of each replica's last measure.
func MaxStaleness(d time.Duration) Consistency {
	return Consistency{kind: kindMaxStaleness, d: max(d, 0)}
}

// OrFail returns c with fail-instead: when no replica is fresh enough in
// time, the read fails with ErrReplicaNotCaughtUp rather than going to the
// primary (protecting the primary from a flood of fallbacks).
func (c Consistency) OrFail() Consistency {
	c.fail = true
	return c
}

// String describes the mode, e.g. "WaitGTID(200ms)" or "Sleep(1s).OrFail()".
func (c Consistency) String() string {
	var s string
	switch c.kind {
	case kindUnset:
		return "unset"
	case kindEventual:
		s = "Eventual"
	case kindPrimary:
		s = "Primary"
	case kindSleep:
		s = fmt.Sprintf("Sleep(%v)", c.d)
	case kindCaughtUp:
		s = fmt.Sprintf("CaughtUp(%v)", c.d)
	case kindWaitPosition:
		s = fmt.Sprintf("WaitPosition(%v)", c.d)
	case kindWaitGTID:
		s = fmt.Sprintf("WaitGTID(%v)", c.d)
	case kindFast:
		s = "Fast"
	case kindLatest:
		s = fmt.Sprintf("Latest(%v)", c.d)
	case kindMonotonic:
		s = fmt.Sprintf("Monotonic(%v)", c.d)
	case kindMaxStaleness:
		s = fmt.Sprintf("MaxStaleness(%v)", c.d)
	}
	if c.fail {
		s += ".OrFail()"
	}
	return s
}

type consistencyKey struct{}

// WithConsistency returns a context whose reads use mode c. The innermost
// setting wins.
func WithConsistency(ctx context.Context, c Consistency) context.Context {
	return context.WithValue(ctx, consistencyKey{}, c)
}

// consistencyFrom returns the mode set on ctx by WithConsistency, and whether
// one was set.
func consistencyFrom(ctx context.Context) (Consistency, bool) {
	c, ok := ctx.Value(consistencyKey{}).(Consistency)
	return c, ok && c.kind != kindUnset
}

// consistency is the mode in force for a call on db.
func (db *DB) consistency(ctx context.Context) Consistency {
	c, ok := consistencyFrom(ctx)
	if !ok {
		c = db.mode
	}
	if h := db.hooks; h != nil && h.breakWaits && c.kind != kindPrimary {
		return Eventual
	}
	return c
}

// planRead chooses the server for a replica-safe read under the context's
// consistency mode. With deferWait, a replica that takes the wait and the
// read in one round trip may be returned with the wait still to send (see
// QueryContext); otherwise every wait has been run when it returns.
func (db *DB) planRead(ctx context.Context, deferWait bool) (*Server, *waitSpec, error) {
	mode := db.consistency(ctx)
	top := db.topology()
	cands := top.usable
	if mode.kind == kindPrimary || len(top.replicas) == 0 {
		s, err := db.readerOnPrimary(ctx)
		return s, nil, err
	}
	db.noteReplicaRead()
	failed := retried(ctx).from
	if failed != nil {
		cands = without(cands, failed)
	}
	if len(cands) == 0 {
		if top.primary == nil && mode.kind == kindEventual {
			if s := lastResort(top, failed); s != nil {
				return s, nil, nil
			}
		}
		if !db.primaryFallback {
			return nil, nil, ErrNoReplica
		}
		db.stats.noReplica.Add(1)
		s, err := db.readerOnPrimary(ctx)
		return s, nil, err
	}
	switch mode.kind {
	case kindSleep:
		if err := db.sleep(ctx, mode); err != nil {
			return nil, nil, err
		}
	case kindCaughtUp:
		return db.caughtUp(ctx, cands, mode)
	case kindWaitPosition, kindWaitGTID:
		return db.waitRead(ctx, cands, mode, deferWait)
	case kindFast:
		return db.fastRead(ctx, cands, mode)
	case kindLatest:
		return db.latestRead(ctx, cands, mode, deferWait)
	case kindMonotonic:
		return db.monotonicRead(ctx, cands, mode, deferWait)
	case kindMaxStaleness:
		return db.boundedRead(ctx, cands, mode)
	}
	return db.pick(cands), nil, nil
}

// lastResort is the server an Eventual read uses when no replica is usable
// and no primary is known (under discovery, mid-failover: the replica being
// promoted has stopped replicating and is not writable yet): a server the
// monitor last reached, whatever else it said of it, other than failed.
// Eventual promises no freshness; the read is served rather than failed.
func lastResort(top *topology, failed *Server) *Server {
	for _, r := range top.replicas {
		if v := r.verdict(); r != failed && v.state != StateDown && !v.suspect {
			return r
		}
	}
	return nil
}

// sleep serves Sleep: it waits until mode.d has passed since the scope's
// last write.
func (db *DB) sleep(ctx context.Context, mode Consistency) error {
	last := db.scope(ctx).view().tok.Time
	if last <= 0 {
		return nil
	}
	wait := time.Until(time.UnixMilli(last).Add(mode.d))
	if wait <= 0 {
		return nil
	}
	db.stats.sleeps.Add(1)
	t := time.NewTimer(wait)
	defer t.Stop()
	w0 := db.observeSleep(ctx, mode)
	select {
	case <-ctx.Done():
		db.observeSlept(ctx, mode, w0, ctx.Err())
		return ctx.Err()
	case <-t.C:
		db.observeSlept(ctx, mode, w0, nil)
		return nil
	}
}

// fallback ends a read no replica could serve in time: the primary, or an
// error wrapping ErrReplicaNotCaughtUp and the cause under OrFail. The
// caller's own context error is returned as itself, and counts as neither.
func (db *DB) fallback(ctx context.Context, mode Consistency, cause error) (*Server, *waitSpec, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	noteFallback(ctx, cause)
	if mode.fail {
		db.stats.notCaughtUp.Add(1)
		if cause != nil {
			return nil, nil, fmt.Errorf("%w: %w", ErrReplicaNotCaughtUp, cause)
		}
		return nil, nil, ErrReplicaNotCaughtUp
	}
	db.stats.fallbacks.Add(1)
	s, err := db.readerOnPrimary(ctx)
	return s, nil, err
}

// caughtUp serves CaughtUp: a replica that reports it has applied all it
// received, polled until the timeout.
func (db *DB) caughtUp(ctx context.Context, cands []*Server, mode Consistency) (*Server, *waitSpec, error) {
	deadline := time.Now().Add(mode.d)
	var lastErr error
	for {
		start := position(cands, db.pick(cands))
		for i := range cands {
			s := cands[(start+i)%len(cands)]
			// The status query is bounded by the mode's timeout (at least
			// 50 ms): a hung replica does not hold the read past it.
			qctx, cancel := context.WithTimeout(ctx, max(time.Until(deadline), 50*time.Millisecond))
			ok, err := s.reportsCaughtUp(qctx)
			cancel()
			if ok {
				return s, nil, nil
			}
			if err != nil {
				lastErr = err
			}
			if ctx.Err() != nil {
				return nil, nil, ctx.Err()
			}
		}
		if time.Until(deadline) <= 0 {
			return db.fallback(ctx, mode, lastErr)
		}
		t := time.NewTimer(min(20*time.Millisecond, time.Until(deadline)))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, nil, ctx.Err()
		case <-t.C:
		}
	}
}

// position is the index of s in cands (0 when absent).
func position(cands []*Server, s *Server) int {
	for i, c := range cands {
		if c == s {
			return i
		}
	}
	return 0
}

// contains reports whether s is among servers.
func contains(servers []*Server, s *Server) bool {
	for _, c := range servers {
		if c == s {
			return true
		}
	}
	return false
}

// without returns cands less s (a copy, only when s is among them).
func without(cands []*Server, s *Server) []*Server {
	for i, c := range cands {
		if c == s {
			return append(append([]*Server(nil), cands[:i]...), cands[i+1:]...)
		}
	}
	return cands
}

// fastRead serves Fast: a replica among cands known to have applied the
// scope's writes, else the fallback.
func (db *DB) fastRead(ctx context.Context, cands []*Server, mode Consistency) (*Server, *waitSpec, error) {
	tok, _, err := db.boundedScope(ctx, mode, true)
	if err != nil {
		return db.fallback(ctx, mode, err)
	}
	t := tok.WaitTarget(true)
	if !t.HasTarget() {
		return db.pick(cands), nil, nil
	}
	known := db.knownApplied(cands, t)
	if len(known) == 0 {
		return db.fallback(ctx, mode, errNotKnownApplied)
	}
	db.stats.waitsSkipped.Add(1)
	return db.pick(known), nil, nil
}

// knownApplied returns the replicas among cands known to have applied t
// (one part, see gtid.Token.WaitTarget): for a binlog position, only replicas of its
// primary. No I/O.
func (db *DB) knownApplied(cands []*Server, t gtid.Token) []*Server {
	if !t.Pos.IsZero() {
		cands = db.directReplicas(cands, t.Pos.ServerID)
	}
	var known []*Server
	for _, s := range cands {
		if s.hasApplied(t) {
			if known == nil {
				known = make([]*Server, 0, len(cands))
			}
			known = append(known, s)
		}
	}
	return known
}

// fastReplicas returns the replicas among cands a Fast read in ctx may go
// to without a round trip (for a hedge): all of them when the scope has no
// writes, none while a write of it is pending, else those known to have
// applied its writes. No I/O.
func (db *DB) fastReplicas(ctx context.Context, cands []*Server) []*Server {
	v := db.scope(ctx).view()
	if v.writes > v.gtidAt {
		return nil
	}
	t := v.tok.WaitTarget(true)
	if !t.HasTarget() {
		return cands
	}
	return db.knownApplied(cands, t)
}

// errNotKnownApplied is why a Fast read goes to the primary.
var errNotKnownApplied = errors.New("rwsplit: no usable replica is known to have applied the writes")

// never is the enough of readExecuted for a reader that needs a read of the
// primary begun after its own moment, whatever an earlier one returned.
func never(gtid.Token) bool { return false }

// latestRead serves Latest: the primary's executed set, read once the read
// began (shared, see readExecuted), waited for on a replica.
func (db *DB) latestRead(ctx context.Context, cands []*Server, mode Consistency, deferWait bool) (*Server, *waitSpec, error) {
	p := db.primaryServer()
	if p == nil {
		return db.fallback(ctx, mode, ErrNoPrimary)
	}
	since := time.Now()
	rctx, cancel := context.WithTimeout(ctx, max(mode.d, 10*time.Millisecond))
	e, err := db.readExecuted(rctx, p, since, true, false, never)
	cancel()
	if err != nil {
		return db.fallback(ctx, mode, err)
	}
	return db.waitOn(ctx, cands, e.WaitTarget(true), mode, deferWait)
}

// monotonicRead serves Monotonic: the replica that served the scope's
// latest Monotonic read when it still may (nothing to wait for but the
// scope's writes), else any, after waiting for what the primary had
// executed once the earlier reads returned (see Monotonic).
func (db *DB) monotonicRead(ctx context.Context, cands []*Server, mode Consistency, deferWait bool) (*Server, *waitSpec, error) {
	scope := db.scope(ctx)
	w, gtidsFresh, err := db.boundedScope(ctx, mode, true)
	if err != nil {
		return db.fallback(ctx, mode, err)
	}
	floor, seen := scope.monoView()
	var last *Server
	var lastAt time.Time
	for _, r := range seen {
		if last == nil || r.at.After(lastAt) {
			last, lastAt = r.srv, r.at
		}
	}
	stay := last != nil && contains(cands, last)
	// since: when the latest read the next server cannot vouch for
	// answered; the primary's executed set read after it covers it.
	var since time.Time
	for _, r := range seen {
		if (!stay || r.srv != last) && r.at.After(since) {
			since = r.at
		}
	}
	if !since.IsZero() {
		p := db.primaryServer()
		if p == nil {
			return db.fallback(ctx, mode, ErrNoPrimary)
		}
		rctx, cancel := context.WithTimeout(ctx, max(mode.d, 10*time.Millisecond))
		u, err := db.readSeen(rctx, p, since)
		cancel()
		if err != nil {
			return db.fallback(ctx, mode, err)
		}
		if floor, err = scope.fold(u, since); err != nil {
			return db.fallback(ctx, mode, err)
		}
	}
	full, err := gtid.Merge(w, floor)
	if err != nil {
		return db.fallback(ctx, mode, err)
	}
	tok, err := db.safeTarget(ctx, full, true, gtidsFresh, mode.d)
	if err = db.lostOrFail(ctx, mode, err); err != nil {
		return db.fallback(ctx, mode, err)
	}
	if stay {
		cands = []*Server{last}
	}
	return db.waitOn(ctx, cands, tok, mode, deferWait)
}

// readSeen reads what primary p had committed once reads that returned at
// since had seen it: its executed set, read after since (see readExecuted).
// On MySQL that is not enough: MySQL makes a commit visible before it adds
// the GTID to gtid_executed (binlog group commit's commit stage), and
// meanwhile the GTID is owned. So it reads @@GLOBAL.gtid_owned first, and
// when some owned GTIDs are not known executed, waits on p until they are
// (WAIT_FOR_EXECUTED_GTID_SET, at most ownedWait) before reading the
// executed set, which then covers every commit a read could have seen.
// A GTID owned for longer (a replicated transaction applied on p, a
// session's explicit gtid_next) ends the wait at ownedWait: the executed
// set is read then, as it would be without the wait.
func (db *DB) readSeen(ctx context.Context, p *Server, since time.Time) (gtid.Token, error) {
	v, err := p.version(ctx)
	if err != nil {
		return gtid.Token{}, err
	}
	if v.Flavor == dialect.MySQL {
		db.awaitOwned(ctx, p)
		since = time.Now()
	}
	// MariaDB logs a GTID before InnoDB commits it: its binlog position is
	// never behind what a read saw.
	return db.readExecuted(ctx, p, since, true, false, never)
}

// ownedWait bounds readSeen's wait for the commits in progress on the
// primary: they end within microseconds of showing, unless a GTID is owned
// by a transaction still running.
const ownedWait = 50 * time.Millisecond

// awaitOwned waits, within ownedWait and ctx, until MySQL primary p has
// executed the GTIDs it owns now (see readSeen). It reports nothing: a
// failure leaves the floor to the executed set alone.
func (db *DB) awaitOwned(ctx context.Context, p *Server) {
	var s sql.NullString
	if err := scanOne(ctx, p.db, "SELECT @@GLOBAL.gtid_owned", &s); err != nil || s.String == "" {
		return
	}
	owned, err := gtid.ParseMySQLOwned(s.String)
	if err != nil || owned.IsEmpty() {
		return
	}
	if k, ok := db.tokens().knownExecuted(p); ok && gtid.Covers(k, gtid.Token{Flavor: dialect.MySQL, MySQL: owned}) {
		return
	}
	d := ownedWait
	if dl, ok := ctx.Deadline(); ok {
		d = min(d, time.Until(dl)/4)
	}
	if d <= 0 {
		return
	}
	var r sql.NullInt64
	_ = p.db.QueryRowContext(ctx, "SELECT WAIT_FOR_EXECUTED_GTID_SET(?, ?)", owned.String(), d.Seconds()).Scan(&r)
}

// readDone is the pipeline's last word on a read that ran (err nil: its
// statement returned without error) on r's server, the one that answered:
// under Monotonic it records that server's answer in the scope.
func (db *DB) readDone(ctx context.Context, r route, err error) {
	if err != nil || !r.read || r.server == nil || db.consistency(ctx).kind != kindMonotonic {
		return
	}
	db.scope(ctx).noteRead(r.server, time.Now())
}

// errTooStale is why a MaxStaleness read goes to the primary.
var errTooStale = errors.New("rwsplit: no usable replica is within the staleness bound")

// boundedRead serves MaxStaleness: a replica among cands within the bound,
// else the fallback.
func (db *DB) boundedRead(ctx context.Context, cands []*Server, mode Consistency) (*Server, *waitSpec, error) {
	fresh := withinStaleness(cands, mode.d, time.Now())
	if len(fresh) == 0 {
		return db.fallback(ctx, mode, errTooStale)
	}
	return db.pick(fresh), nil, nil
}

// withinStaleness returns the replicas among cands whose data is at most d
// old at now, as far as the monitor knows (see staleness). No I/O.
func withinStaleness(cands []*Server, d time.Duration, now time.Time) []*Server {
	var fresh []*Server
	for _, s := range cands {
		// d > 0: no replica is fresher than the primary (MaxStaleness(0)
		// is the primary, even when a check lands at the very moment).
		if st, ok := s.staleness(now); ok && d > 0 && st <= d {
			if fresh == nil {
				fresh = make([]*Server, 0, len(cands))
			}
			fresh = append(fresh, s)
		}
	}
	return fresh
}

// staleness is how old replica s's data may be at now, as far as the
// monitor knows: its lag when last checked plus the time since; not ok
// before its first check.
func (s *Server) staleness(now time.Time) (time.Duration, bool) {
	v := s.verdict()
	if v.at.IsZero() || v.lag < 0 {
		return 0, false // not checked yet, or lag unknown
	}
	return v.lag + max(now.Sub(v.at), 0), true
}
