package rwsplit

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/rwsplit/rwsplit/internal/cluster"
	"github.com/rwsplit/rwsplit/internal/dialect"
	"github.com/rwsplit/rwsplit/internal/gtid"
	"github.com/rwsplit/rwsplit/internal/prefetch"
)

// Write safety through a change of primary: a write that finds no primary,
// or a primary that refuses it as read-only, is held until the monitor
// finds the new one (within WithWriteHold's bound); it runs again only when
// nothing of it can have run; every other write that did not succeed says
// whether it may have run (WriteError); a transaction the change
// interrupted says it may be begun again (ErrBeginAgain, RunTx).

// defaultWriteHold is how long, by default, a call that must reach the
// primary waits for one while none is known (see WithWriteHold): long
// enough for a planned switchover.
const defaultWriteHold = 5 * time.Second

// RunTx runs fn in a transaction begun with opts and commits it. When the
// transaction is cut off by a change of primary (its error is
// ErrBeginAgain: nothing of it committed) it is begun again, once the
// monitor has found the primary to run it on (within two monitor rounds or
// the write hold, whichever is shorter), and fn runs again: at most 5 times
// in all, within ctx. Any other error, fn's own included, is returned after
// a rollback (so is a panic of fn, after a rollback). A COMMIT whose outcome
// is unknown (a WriteError, not NotRun) is never run again. fn must not keep
// tx, and must be safe to run again: what it does outside the transaction
// is not undone. An ErrBeginAgain that fn returns from another transaction
// makes this one begin again too.
//
// Cost: what the transaction costs; a retry adds the wait for the primary.
func (db *DB) RunTx(ctx context.Context, opts *sql.TxOptions, fn func(tx *Tx) error) error {
	const attempts = 5
	var err error
	for i := 0; i < attempts; i++ {
		p := db.primaryServer()
		var tx *Tx
		if tx, err = db.BeginTx(ctx, opts); err == nil {
			p = tx.server
			err = runTxOnce(tx, fn)
		}
		if err == nil || !errors.Is(err, ErrBeginAgain) || ctx.Err() != nil || i == attempts-1 {
			return err
		}
		if p != nil && db.holding() {
			_, _ = db.hold(ctx, p, min(db.writeHold, 2*db.interval))
		}
	}
	return err
}

// runTxOnce runs fn in tx and commits it, or rolls it back when fn fails or
// panics.
func runTxOnce(tx *Tx, fn func(tx *Tx) error) (err error) {
	done := false
	defer func() {
		if !done {
			_ = tx.Rollback()
		}
	}()
	if err = fn(tx); err != nil {
		return err
	}
	done = true
	return tx.Commit()
}

// holding reports whether calls that must reach the primary wait for one
// (WithDiscovery, and a write hold).
func (db *DB) holding() bool { return db.discover && db.writeHold > 0 }

// primary returns the primary for a call that must reach it: the current
// one, unless (under discovery) none is known or a connection to it was
// just lost; then the one the monitor finds (or sees answer) within the
// write hold, else ErrNoPrimary, or ctx's error.
func (db *DB) primary(ctx context.Context) (*Server, error) {
	return db.primaryWithin(ctx, db.writeHold)
}

// primaryWithin is primary with the hold bounded by budget.
func (db *DB) primaryWithin(ctx context.Context, budget time.Duration) (*Server, error) {
	p := db.primaryServer()
	if d := db.doubt.Load(); p != nil && (d == nil || d.srv != p) {
		return p, nil
	}
	if !db.holding() || budget <= 0 {
		if p != nil {
			return p, nil
		}
		return nil, ErrNoPrimary
	}
	return db.hold(ctx, nil, budget)
}

// primaryFor is primary for call c, whose holds share one write hold.
func (db *DB) primaryFor(c *call) (*Server, error) {
	if p := db.primaryServer(); p != nil && db.doubt.Load() == nil {
		return p, nil // no clock read on the common path
	}
	t0 := time.Now()
	p, err := db.primaryWithin(c.ctx, db.writeHold-c.held)
	c.held += time.Since(t0)
	return p, err
}

// hold waits, within budget and ctx, for a primary the DB trusts: one known
// and not in doubt (a connection to it lost, or a call it failed, since the
// monitor last saw it answer writable). With s, the primary a call just
// failed on for want of a usable primary, s is put in doubt first: the
// monitor looks at once, and the wait ends when it has seen s answer
// writable, or found another primary. The call and its wait count in
// Stats. It returns ErrNoPrimary when budget ran out, ctx's error when ctx
// ended first, ErrClosed when the DB was closed.
func (db *DB) hold(ctx context.Context, s *Server, budget time.Duration) (*Server, error) {
	if s != nil {
		db.doubtPrimary(s)
	}
	db.stats.holds.Add(1)
	t0 := time.Now()
	defer func() { db.stats.holdNanos.Add(uint64(time.Since(t0))) }()
	hctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for {
		if db.closed.Load() {
			return nil, ErrClosed
		}
		cur := db.primaryServer()
		if d := db.doubt.Load(); cur != nil && (d == nil || d.srv != cur) {
			return cur, nil
		}
		select {
		case <-hctx.Done():
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			return nil, ErrNoPrimary
		case <-t.C:
		}
	}
}

// The fates of a write that failed, by its error.
const (
	fateOwn       = iota // the write's own error: it ran, or the server judged it
	fateNotSent          // it never reached a server: run it again, whatever it is
	fateRefused          // refused before it ran: none of it, if it is one statement
	fateUnknown          // cut off after it was sent: it may have run
	fateCancelled        // the caller's context ended
)

// writeFate classifies the error of a write.
func writeFate(err error) int {
	var me *mysql.MySQLError
	var oe *net.OpError
	switch {
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		return fateCancelled
	case errors.As(err, &oe) && oe.Op == "dial",
		errors.As(err, &me) && me.Number == 1040: // too many connections: at connect
		return fateNotSent
	case errors.Is(err, prefetch.ErrConnLost):
		return fateUnknown // sent; it wraps driver.ErrBadConn
	case isReadOnlyError(err), errors.As(err, &me) && me.Number == 1047,
		// database/sql's: the driver said it was not sent; also what
		// go-sql-driver's rejectReadOnly makes of a refusal, which may
		// come after the first statements of a text ran.
		errors.Is(err, driver.ErrBadConn):
		return fateRefused
	case isConnError(err):
		return fateUnknown
	}
	return fateOwn
}

// notSent reports whether nothing of the statement that failed with err
// can have run (see writeFate), for a statement of one or several.
func notSent(err error) bool { return writeFate(err) == fateNotSent }

// rerunnable reports whether c, refused as read-only, ran none of itself:
// one statement, not a CALL (see sqlclass's Rerunnable). A prepared
// statement is always one statement.
func (db *DB) rerunnable(c *call) bool {
	return db.classifier.Rerunnable(c.query)
}

// opaque returns err, or, when its chain holds driver.ErrBadConn, an error
// with its text only: database/sql (the Connector's pool, a caller's
// wrapper) runs a statement again by itself on driver.ErrBadConn, which a
// write that may have run must never be.
func opaque(err error) error {
	if errors.Is(err, driver.ErrBadConn) {
		return errors.New(err.Error())
	}
	return err
}

// writeFailed judges a routed write (not pinned) that failed with err on s:
// the server to run it again on (the primary the monitor finds, or sees
// answer, within what is left of the call's write hold, when nothing of the
// write ran and last is unset), or the error to return: a WriteError saying
// whether it may have run, or err itself (the write's own error, or the
// caller's context: the write may then have run).
func (db *DB) writeFailed(c *call, s *Server, err error, last bool) (*Server, error) {
	notRun := true
	switch writeFate(err) {
	case fateOwn, fateCancelled:
		return nil, err
	case fateRefused:
		notRun = db.rerunnable(c)
	case fateUnknown:
		notRun = false
	}
	if !notRun {
		if isConnError(err) {
			db.doubtPrimary(s)
		}
		return nil, &WriteError{Server: s, Err: opaque(err)}
	}
	if last || !db.holding() || db.writeHold-c.held <= 0 {
		return nil, &WriteError{Server: s, NotRun: true, Err: err}
	}
	t0 := time.Now()
	np, herr := db.hold(c.ctx, s, db.writeHold-c.held)
	c.held += time.Since(t0)
	if np == nil {
		if errors.Is(herr, ErrNoPrimary) {
			herr = fmt.Errorf("%w (after %w)", ErrNoPrimary, err)
		}
		return nil, &WriteError{Server: s, NotRun: true, Err: herr}
	}
	db.stats.retries.Add(1)
	db.observeRetry(c, s, np, err)
	return np, nil
}

// pinnedFailed is the pipeline's judgement of a statement of a Tx or Conn
// pinned to the primary (c.pin) that failed with err: inside a
// transaction, a read-only refusal or a lost connection is ErrBeginAgain
// (nothing of the transaction committed); on a Conn, a write refused as
// read-only is ErrBeginAgain when nothing of it ran, else a WriteError of
// unknown outcome, as is a write cut off by a lost connection. Other errors,
// and those of routed calls or of a transaction on a replica (which may be
// begun again elsewhere, see Tx.restart), are returned as they are.
func (db *DB) pinnedFailed(c *call, write bool, err error) error {
	s := c.pin
	if err == nil || s == nil || !s.primary || c.ctx.Err() != nil {
		return err
	}
	fate := writeFate(err)
	switch {
	case c.inTx && (fate == fateRefused || fate == fateUnknown || errors.Is(err, sql.ErrConnDone)):
		if fate == fateUnknown {
			db.doubtPrimary(s)
		}
		return &beginAgainError{err: opaque(err)}
	case !write || fate != fateRefused && fate != fateUnknown:
		return err
	case fate == fateRefused && isReadOnlyError(err) && db.rerunnable(c):
		return &beginAgainError{err: &WriteError{Server: s, NotRun: true, Err: err}}
	case fate == fateRefused && errors.Is(err, driver.ErrBadConn) && db.rerunnable(c):
		return err // not sent: database/sql may run it again, as it would
	}
	if isConnError(err) {
		db.doubtPrimary(s)
	}
	return &WriteError{Server: s, Err: opaque(err)}
}

// primaryDoubt is a primary a call just failed on for want of a usable
// primary (a connection lost, a write refused or never sent): calls that
// must reach it wait until the monitor has seen it answer writable, or
// found another primary (see hold).
type primaryDoubt struct{ srv *Server }

// doubtPrimary puts s, if it is the primary, in doubt (under discovery) and
// asks the monitor to look now.
func (db *DB) doubtPrimary(s *Server) {
	if !db.discover || s == nil || s != db.primaryServer() {
		return
	}
	db.doubt.Store(&primaryDoubt{srv: s})
	db.kick()
}

// trustPrimary ends the doubt on p: the monitor saw it answer.
func (db *DB) trustPrimary(p *Server) {
	if d := db.doubt.Load(); d != nil && d.srv == p {
		db.doubt.CompareAndSwap(d, nil)
	}
}

// Writes lost with a former primary. Under asynchronous replication a
// primary acknowledges a write before any replica has it: if it dies then
// and a replica is promoted, the write is gone. A token naming it cannot be
// waited for on any server; rwsplit says so rather than clamp it silently.

func lostText(t gtid.Token) string {
	if t.Flavor == dialect.MariaDB {
		return t.MariaDB.String()
	}
	return t.MySQL.String()
}

// WritesLostEvent reports writes named by a read's scope that the current
// primary lacks for good (see ErrWritesLost).
type WritesLostEvent struct {
	// Primary is the current primary, which lacks them.
	Primary *Server
	// GTIDs are the lost writes' GTIDs as the scope's token names them
	// (MySQL GTID set or MariaDB GTID position).
	GTIDs string
}

// lostWrites returns the part of target (GTIDs) that primary p, whose
// executed set executed was read fresh, lacks for good: GTIDs written by
// another server the DB knows (a former primary; GTIDs of a server it never
// saw are a claim, clamped silently as before), on an asynchronous
// cluster, while p applies no backlog (it has no replica status). Empty
// when none, or when that cannot be confirmed.
func (db *DB) lostWrites(ctx context.Context, p *Server, target, executed gtid.Token) gtid.Token {
	lost := db.lostCandidates(p, target, executed)
	if !lost.HasTarget() {
		return gtid.Token{}
	}
	if k := p.kind(); k.Grouped() || !db.notApplying(ctx, p) {
		return gtid.Token{}
	}
	if lost.Flavor == dialect.MariaDB {
		// A MariaDB primary's executed set is its binary log's position,
		// which lacks what it applied as a replica without
		// log_slave_updates: its current position has it.
		var s string
		if err := scanOne(ctx, p.db, "SELECT @@GLOBAL.gtid_current_pos", &s); err != nil {
			return gtid.Token{}
		}
		cur, err := gtid.ParseMariaDBPos(s)
		if err != nil {
			return gtid.Token{}
		}
		e, err := gtid.Merge(executed, gtid.Token{Flavor: dialect.MariaDB, MariaDB: cur})
		if err != nil {
			return gtid.Token{}
		}
		if lost = db.lostCandidates(p, target, e); !lost.HasTarget() {
			return gtid.Token{}
		}
	}
	db.tokens().noteLost(p, lost)
	return lost
}

// lostCandidates is the part of target that p, having executed executed,
// lacks and that another server the DB knows wrote (see missingElsewhere),
// but for the servers its latest check saw answer writable: a former
// primary is one of the others; a writable one may be a newer primary the
// DB has not switched to yet. No I/O.
func (db *DB) lostCandidates(p *Server, target, executed gtid.Token) gtid.Token {
	var others []primaryIdent
	for _, r := range db.topology().replicas {
		if m := r.member.Load(); r != p && (m == nil || !m.Writable || !r.answered.Load()) {
			others = append(others, r.knownIdent())
		}
	}
	return missingElsewhere(target, executed, p.knownIdent(), others)
}

// lostKnown is what a primary was found to lack for good (lostWrites).
type lostKnown struct {
	srv  *Server
	lost gtid.Token
}

// noteLost records that p lacks lost for good: later reads naming only
// such GTIDs are told at once (knownLost), without a monitor round.
func (ts *tokenState) noteLost(p *Server, lost gtid.Token) {
	next := &lostKnown{srv: p, lost: lost}
	if old := ts.lost.Load(); old != nil && old.srv == p {
		if m, err := gtid.Merge(old.lost, lost); err == nil {
			next.lost = m
		}
	}
	ts.lost.Store(next)
}

// knownLost returns the part of target p lacks (executed is what it has)
// when all of it is already known lost on p; empty otherwise. No I/O.
func (db *DB) knownLost(p *Server, target, executed gtid.Token) gtid.Token {
	k := db.tokens().lost.Load()
	if k == nil || k.srv != p {
		return gtid.Token{}
	}
	lost := db.lostCandidates(p, target, executed)
	if !lost.HasTarget() || !gtid.Covers(k.lost, lost) {
		return gtid.Token{}
	}
	// All of what p lacks: nothing else (a newer primary's) either.
	if rest := gtid.IntersectGTIDs(target, executed); !gtid.Covers(gtid.Token{Flavor: lost.Flavor, MySQL: rest.MySQL.Union(lost.MySQL), MariaDB: rest.MariaDB.Merge(lost.MariaDB)}, target) {
		return gtid.Token{}
	}
	return lost
}

// missingElsewhere returns the GTIDs of t that executed lacks and that were
// written by one of the servers others, not by own: MySQL GTIDs of their
// server uuids, MariaDB GTIDs of their server_ids beyond executed's
// sequence number in their domain.
func missingElsewhere(t, executed gtid.Token, own primaryIdent, others []primaryIdent) gtid.Token {
	out := gtid.Token{Flavor: t.Flavor}
	switch t.Flavor {
	case dialect.MySQL:
		u, ok := gtid.ParseUUID(own.uuid)
		if !ok {
			return out
		}
		isOther := func(x [16]byte) bool {
			for _, o := range others {
				if ou, ok := gtid.ParseUUID(o.uuid); ok && ou == x && x != u {
					return true
				}
			}
			return false
		}
		out.MySQL = t.MySQL.KeepUUIDs(isOther).Subtract(executed.MySQL)
	case dialect.MariaDB:
		if own.serverID == 0 {
			return out
		}
		have := map[uint32]uint64{}
		for _, g := range executed.MariaDB.GTIDs() {
			have[g.Domain] = g.Seq
		}
		var lost []gtid.MariaDBGTID
		isOther := func(id uint32) bool {
			for _, o := range others {
				if o.serverID == id && id != own.serverID {
					return true
				}
			}
			return false
		}
		for _, g := range t.MariaDB.GTIDs() {
			if isOther(g.Server) && g.Seq > have[g.Domain] {
				lost = append(lost, g)
			}
		}
		out.MariaDB, _ = gtid.NewMariaDBPos(lost...)
	}
	return out
}

// notApplyingFor is how long a primary's "no replica status" verdict is
// kept for lost-write checks.
const notApplyingFor = time.Second

// backlogCheck is the last verdict of notApplying.
type backlogCheck struct {
	srv *Server
	at  time.Time
	ok  bool
}

// notApplying reports whether primary p has no replica status (it applies
// no backlog from a former primary): one query, its verdict kept for
// notApplyingFor.
func (db *DB) notApplying(ctx context.Context, p *Server) bool {
	ts := db.tokens()
	if c := ts.backlog.Load(); c != nil && c.srv == p && time.Since(c.at) < notApplyingFor {
		return c.ok
	}
	v, err := p.version(ctx)
	if err != nil {
		return false
	}
	cctx, cancel := context.WithTimeout(ctx, identTimeout)
	defer cancel()
	m, err := cluster.Check(cctx, p.db, *v, cluster.Identity{Kind: cluster.Async})
	if err != nil {
		return false
	}
	ts.backlog.Store(&backlogCheck{srv: p, at: time.Now(), ok: !m.Replica})
	return !m.Replica
}

// reportLost counts and reports a read's lost writes.
func (db *DB) reportLost(ctx context.Context, err error) {
	var le *lostError
	if !errors.As(err, &le) {
		return
	}
	db.stats.lost.Add(1)
	if len(db.obs.writesLost) > 0 {
		e := WritesLostEvent{Primary: le.primary, GTIDs: lostText(le.lost)}
		for _, f := range db.obs.writesLost {
			f(ctx, e)
		}
	}
}
