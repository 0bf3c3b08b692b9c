package rwsplit

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/rwsplit/rwsplit/internal/cluster"
	"github.com/rwsplit/rwsplit/internal/dialect"
	"github.com/rwsplit/rwsplit/internal/prefetch"
	"github.com/rwsplit/rwsplit/internal/replay"
	"github.com/rwsplit/rwsplit/internal/sqlclass"
)

// The call pipeline. Every way in (DB, Tx, Stmt, Conn, and rwsplitx over
// DB and Tx) describes its statement as a call and hands it to execCall,
// queryCall or queryRowCall, which take the same steps in the same order:
//
//  1. classify: the surface's classifier result (Exec is always a write);
//  2. plan: the server (pinned, the primary, or a replica under the
//     context's consistency mode) and any wait, run here or carried with
//     the query (one round trip);
//  3. run: the surface's runner sends the statement to that server; a
//     routed replica read that the replica has not answered within the
//     hedge bound is also sent to another server that serves its mode, and
//     the first answer wins (hedge.go);
//  4. record: a write made outside a transaction marks the DB's process
//     scope, and the context's Session if any, as having a write whose
//     position is still to be read (no round trip); a transaction's writes
//     are recorded by Commit. The mark always follows the write's
//     completion: a write through Query is recorded when its rows close;
//  5. count: Stats and the server's load figures.
//
// A read that fails on a replica for want of a connection is retried once on
// another server. A surface cannot skip a step: it only supplies a runner.

// runner is how one surface sends a statement to a server it was given.
type runner interface {
	query(ctx context.Context, s *Server, query string, args []any) (*sql.Rows, error)
	queryRow(ctx context.Context, s *Server, query string, args []any) *sql.Row
	exec(ctx context.Context, s *Server, query string, args []any) (sql.Result, error)
	// oneTrip reports whether a wait may be sent in the same round trip as
	// the query (the text is the surface's own, not a prepared statement).
	oneTrip() bool
}

// pinnedRunner runs statements on the one handle a Tx or Conn holds, on its
// server whatever the route says (the route is the pinned server).
type pinnedRunner struct {
	h interface {
		QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
		QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
		ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	}
}

func (r pinnedRunner) query(ctx context.Context, _ *Server, q string, args []any) (*sql.Rows, error) {
	return r.h.QueryContext(ctx, q, args...)
}

func (r pinnedRunner) queryRow(ctx context.Context, _ *Server, q string, args []any) *sql.Row {
	return r.h.QueryRowContext(ctx, q, args...)
}

func (r pinnedRunner) exec(ctx context.Context, _ *Server, q string, args []any) (sql.Result, error) {
	return r.h.ExecContext(ctx, q, args...)
}

func (pinnedRunner) oneTrip() bool { return false }

// call is one statement on its way through the pipeline.
type call struct {
	ctx   context.Context
	query string // "" for a prepared statement
	args  []any
	cls   sqlclass.Result
	run   runner
	pin   *Server // Tx and Conn: every statement runs here
	inTx  bool    // writes are recorded by the transaction's Commit
	// held is how long the call has waited for a primary: its holds
	// share one write hold (writesafety.go).
	held time.Duration
}

// route is where one call goes.
type route struct {
	server *Server
	read   bool      // a read (on a replica, or on the primary by rule or mode)
	wait   *waitSpec // a wait to send in the same round trip as the query
	// fell is the plan's fallback, when it fell back and is observed
	// (see planReadNoted).
	fell *fallbackNote
}

// plan chooses the server for c (step 2); with allowWait a replica that takes
// the wait and the query in one round trip is returned with the wait to send.
func (db *DB) plan(c *call, allowWait bool) (route, error) {
	if db.closed.Load() {
		return route{}, ErrClosed
	}
	switch {
	case c.pin != nil:
		return route{server: c.pin, read: !c.cls.Write}, nil
	case !c.cls.Replica && c.cls.Write:
		s, err := db.primaryFor(c)
		return route{server: s}, err
	case !c.cls.Replica:
		s, err := db.readerOnPrimary(c.ctx)
		return route{server: s, read: true}, err
	}
	s, wait, fell, err := db.planReadNoted(c.ctx, allowWait && c.run.oneTrip())
	return route{server: s, read: true, wait: wait, fell: fell}, err
}

// execCall runs a statement that returns no rows. Exec is always a write: it
// runs on the primary (or the pinned server) and is recorded. A routed write
// that finds no primary, or that the primary did not run (refused as
// read-only, or never sent), waits for the new one (writesafety.go) and runs
// there when nothing of it ran; any other failure for want of a primary is a
// WriteError saying whether it may have run.
func (db *DB) execCall(c *call) (sql.Result, error) {
	if db.closed.Load() {
		return nil, ErrClosed
	}
	r := route{server: c.pin}
	if r.server == nil {
		var err error
		if r.server, err = db.primaryFor(c); err != nil {
			return nil, err
		}
	}
	db.observeExec(c, r.server)
	db.count(r)
	began := time.Time{}
	var res sql.Result
	var err error
	for try := 0; ; try++ {
		t0 := r.server.begin()
		if try == 0 {
			began = t0
		}
		res, err = c.run.exec(c.ctx, r.server, c.query, c.args)
		r.server.end(t0, err)
		if err == nil || c.pin != nil {
			break
		}
		np, ferr := db.writeFailed(c, r.server, err, try == maxWriteTries-1)
		if np == nil {
			err = ferr
			break
		}
		r.server = np
	}
	db.record(c, r, began)
	return res, db.pinnedFailed(c, true, err)
}

// maxWriteTries bounds how many primaries one routed write is tried on.
const maxWriteTries = 3

// queryCall runs a query and returns its rows.
func (db *DB) queryCall(c *call) (*sql.Rows, error) { return readCall[*sql.Rows, rowsOp](db, c) }

// queryRowCall runs a query for at most one row; errors are deferred to the
// Row's Scan, as with *sql.DB.
func (db *DB) queryRowCall(c *call) *sql.Row {
	row, _ := readCall[*sql.Row, rowOp](db, c)
	return row
}

// A readOp is one kind of read result, *sql.Rows (rowsOp) or *sql.Row
// (rowOp, whose error waits for Scan): what the pipeline needs to run, hedge,
// fail and write through either.
type readOp[T any, O any] interface {
	hedgeOp[T]
	// with is the op for c's query sent as q with args (the one-round-trip
	// form, or the query itself). It takes c by value: a pointer passed to
	// a type parameter's method escapes, and the call would then be
	// allocated on the heap.
	with(c call, q string, args []any) O
	// failed is the result of a call that failed with err.
	failed(db *DB, err error) T
	// writeOn is one try of a write through Query on r's server.
	writeOn(db *DB, c *call, r route) (T, error)
}

// readCall runs a query: once, and once more elsewhere when it failed
// without running (see DB.retry).
func readCall[T any, O readOp[T, O]](db *DB, c *call) (T, error) {
	var k O
	v, r, err := readOnce[T, O](db, c, true)
	if err != nil && db.retry(c, r, err) {
		v, r, err = readOnce[T, O](db, c.elsewhere(r.server, err), false)
	}
	db.readDone(c.ctx, r, err)
	if ferr := db.pinnedFailed(c, c.cls.Write, err); ferr != err {
		return k.failed(db, ferr), ferr
	}
	return v, err
}

// elsewhere is c for a retry after err on s: the server that failed is not
// a candidate.
func (c *call) elsewhere(s *Server, err error) *call {
	c2 := *c
	c2.ctx = withoutServer(c.ctx, s, err)
	return &c2
}

// readOnce plans c and runs it: with its wait in the same round trip when
// the plan has one (then, if the wait missed, the fallback's plan), hedged
// where the hedge rule allows.
func readOnce[T any, O readOp[T, O]](db *DB, c *call, allowWait bool) (T, route, error) {
	var k O
	r, err := db.plan(c, allowWait)
	db.observePlan(c, r, err)
	if err != nil {
		return k.failed(db, err), r, err
	}
	if r.wait != nil {
		q, args := r.wait.wrap(c.query, c.args)
		op := k.with(*c, q, args)
		var v T
		var t0 time.Time
		if bound := db.hedgeBound(c, r); bound > 0 {
			var w route
			v, w, t0, err = hedgedRead[T](db, c, r, op, r.wait.mode.d, bound)
			if w.server != r.server {
				return v, w, err // the hedge answered: a fresh read, no wait
			}
		} else {
			t0 = r.server.begin()
			v, err = op.send(c.ctx, r.server, false)
			d := r.server.end(t0, err)
			db.noteRun(r.server, d, err, false)
		}
		if err = db.waitOutcome(c, r, t0, err); err == nil {
			db.count(r)
			return v, r, nil
		}
		if db.splitWait(c, err) || errors.Is(err, errNotCaughtUp) && r.wait.missedEarly(t0) {
			return readOnce[T, O](db, c, false)
		}
		if r, err = db.missedWait(c, r, err); err != nil {
			return k.failed(db, err), r, err
		}
	}
	if db.isQueryWrite(c, r) {
		v, err := queryWrite[T, O](db, c, r)
		return v, r, err
	}
	db.count(r)
	op := k.with(*c, c.query, c.args)
	if bound := db.hedgeBound(c, r); bound > 0 {
		v, w, _, err := hedgedRead[T](db, c, r, op, 0, bound)
		return v, w, err
	}
	ctx, probe := db.probe(c, r)
	t0 := r.server.begin()
	v, err := op.send(ctx, r.server, false)
	d := r.server.end(t0, err)
	db.noteRun(r.server, d, err, r.read)
	db.probed(r.server, probe, err)
	return v, r, err
}

// isQueryWrite reports whether c is a write through Query outside a
// transaction: it is recorded only once complete, when its rows are closed
// (the statement, and its autocommit, end after its last row is sent), so
// that a concurrent read cannot take a position from before its commit as
// covering it.
func (db *DB) isQueryWrite(c *call, r route) bool { return !r.read && !c.inTx }

// queryWrite runs a write through Query. On a pool that reads ahead (Open's)
// its rows stream and the write is recorded when they close; on another its
// results are read in full, and it is recorded, before they are returned
// from memory. A routed write the primary did not run is run again on the
// new one, as Exec is (see execCall).
func queryWrite[T any, O readOp[T, O]](db *DB, c0 *call, r route) (T, error) {
	var k O
	db.count(r)
	c := new(call) // see readOp.with: a copy, not c0, goes to the heap (writes only)
	*c = *c0
	for try := 0; ; try++ {
		v, err := k.writeOn(db, c, r)
		if err == nil || c.pin != nil {
			return v, err
		}
		np, ferr := db.writeFailed(c, r.server, err, try == maxWriteTries-1)
		if np == nil {
			return k.failed(db, ferr), ferr
		}
		r.server = np
	}
}

func (o rowsOp) with(c call, q string, args []any) rowsOp {
	return rowsOp{run: c.run, q: q, plain: c.query, args: args, pargs: c.args}
}

func (rowsOp) failed(*DB, error) *sql.Rows { return nil }

// writeOn runs the write once on r's server: streamed on a pool that reads
// ahead, else read in full and replayed from memory.
func (rowsOp) writeOn(db *DB, c *call, r route) (*sql.Rows, error) {
	var t0 time.Time // the write's start, set before the hook can run
	ctx, hook := prefetch.WithCloseHook(c.ctx, db.recordLater(c, r, &t0))
	t0 = r.server.begin()
	rows, err := c.run.query(ctx, r.server, c.query, c.args)
	if err == nil && hook.Claimed() {
		r.server.readsAhead.Store(true)
		r.server.end(t0, nil)
		return rows, nil
	}
	var sets []replay.Set
	if err == nil {
		sets, err = replay.Read(rows)
	}
	r.server.end(t0, err)
	db.record(c, r, t0)
	if err != nil {
		return nil, err
	}
	return replay.Rows(db.replay, sets)
}

func (o rowOp) with(c call, q string, args []any) rowOp { return rowOp(rowsOp{}.with(c, q, args)) }

func (rowOp) failed(db *DB, err error) *sql.Row { return db.errRow(err) }

// writeOn runs the write once on r's server: on a pool that does not read
// ahead, as rowsOp does, its first row then read from memory.
func (rowOp) writeOn(db *DB, c *call, r route) (*sql.Row, error) {
	if !r.server.readsAhead.Load() {
		rows, err := rowsOp{}.writeOn(db, c, r)
		if err != nil {
			return db.errRow(err), err
		}
		row := replay.RowOf(db.replay, rows) // from memory, unless the pool turned out to read ahead
		return row, row.Err()
	}
	var t0 time.Time // the write's start, set before the hook can run
	ctx, hook := prefetch.WithCloseHook(c.ctx, db.recordLater(c, r, &t0))
	t0 = r.server.begin()
	row := c.run.queryRow(ctx, r.server, c.query, c.args)
	r.server.end(t0, row.Err())
	if !hook.Claimed() {
		db.record(c, r, t0) // it failed before returning rows
	}
	return row, row.Err()
}

// errRow returns a *sql.Row whose Scan reports err.
func (db *DB) errRow(err error) *sql.Row {
	if db.closed.Load() {
		return replay.ErrRow(err)
	}
	return replay.Row(db.replay, nil, err)
}

// splitWait reports whether a one-round-trip statement that failed with err
// (not the wait's marker) is to run again with the wait in a round trip of
// its own: only when err is one the wait itself raises (see waitErrors), and
// the caller's context is live. The query's own errors (a statement killed
// by max_execution_time, a subquery of several rows) come back as the
// read's, the query sent once. Apart, a failed wait moves on to another
// replica or the fallback.
func (db *DB) splitWait(c *call, err error) bool {
	return !errors.Is(err, errNotCaughtUp) && isWaitError(err) && c.ctx.Err() == nil
}

// missedWait ends a one-round-trip wait that did not succeed: the fallback
// (primary, or the error under OrFail), or the call's own error.
func (db *DB) missedWait(c *call, r route, err error) (route, error) {
	if !errors.Is(err, errNotCaughtUp) {
		return r, err
	}
	if cerr := c.ctx.Err(); cerr != nil {
		return r, cerr
	}
	s, _, ferr := db.fallback(c.ctx, db.consistency(c.ctx), err)
	db.observeFallback(c, r.server, s, err, ferr)
	if ferr != nil {
		return r, ferr
	}
	return route{server: s, read: true}, nil
}

// recordLater returns a close hook that records c once its rows close, as
// begun at *t0. It keeps a copy of what record needs of c, so that c itself
// does not outlive its call (a read's call then stays on its caller's stack).
func (db *DB) recordLater(c *call, r route, t0 *time.Time) func() {
	ctx, inTx := c.ctx, c.inTx
	return func() { db.record(&call{ctx: ctx, inTx: inTx}, r, *t0) }
}

// record is step 4: a write made outside a transaction is recorded (see
// recordWrite). It is recorded whether or not it reported an error (a write
// may commit and then lose its connection): at worst the scope's next
// waiting read reads the primary's position once more.
func (db *DB) record(c *call, r route, began time.Time) {
	if r.read || c.inTx {
		return
	}
	db.recordWrite(c.ctx, began)
}

// recordWrite records a completed write made with ctx that began (was sent)
// at began: in the DB's process scope, always, and in the context's Session
// when it carries one. Neither costs a round trip.
func (db *DB) recordWrite(ctx context.Context, began time.Time) {
	var now time.Time
	if began.IsZero() {
		now = time.Now()
	} else {
		now = began.Add(time.Since(began)) // one clock read, not time.Now's two
	}
	db.process.markWrite(db, began, now)
	if s := SessionFrom(ctx); s != nil {
		s.markWrite(db, began, now)
	}
}

// count is step 5.
func (db *DB) count(r route) {
	switch {
	case !r.read:
		db.stats.writes.Add(1)
	case !r.server.primary:
		r.server.reads.Add(1)
	default:
		db.stats.primaryReads.Add(1)
	}
}

type excludeKey struct{}

// withoutServer marks a retry after err on s: the server that failed is not
// a candidate.
func withoutServer(ctx context.Context, s *Server, err error) context.Context {
	return context.WithValue(ctx, excludeKey{}, &move{from: s, cause: err})
}

// retried returns the retry ctx is marked for (see withoutServer); zero
// when it is not.
func retried(ctx context.Context) move {
	if m, _ := ctx.Value(excludeKey{}).(*move); m != nil {
		return *m
	}
	return move{}
}

// retry reports whether a read that failed with err on r's server should be
// tried once more elsewhere: a routed read (not pinned) that failed for want
// of a connection (so it returned no rows), while the caller's context is
// live: on a replica, which it marks suspect so the retry goes elsewhere; on
// the primary, under discovery, once the monitor has seen it answer or found
// another within the write hold.
func (db *DB) retry(c *call, r route, err error) bool {
	if c.pin != nil || r.server == nil || !r.read || c.ctx.Err() != nil || !isConnError(err) {
		return false
	}
	if r.server.primary {
		// Under discovery, a primary that went away: once more on the one
		// the monitor finds within the write hold.
		if !db.holding() {
			return false
		}
		np, _ := db.hold(c.ctx, r.server, db.writeHold)
		if np == nil {
			return false
		}
		db.stats.retries.Add(1)
		return true
	}
	db.markSuspect(r.server, err)
	db.stats.retries.Add(1)
	return true
}

// scope is the session a call's writes advance and its reads wait for: the
// context's Session, or the DB's process scope.
func (db *DB) scope(ctx context.Context) *Session {
	if s := SessionFrom(ctx); s != nil {
		return s
	}
	return db.process
}

// testHooks are interleaving points for unit tests; nil in production.
type testHooks struct {
	// afterCapture runs after each successful shared read of the primary's
	// position (a capture, a token check, a Latest or Monotonic read),
	// before it is published to its waiters and merged into any scope.
	afterCapture func()
	// breakWaits breaks the library on purpose, for the history checker to
	// prove it sees staleness: every mode but Primary reads as Eventual.
	breakWaits bool
}

// classify is step 1: the statement's verdict for the cluster's flavor, once
// the primary's version is known (before that, and while no primary is
// known, a function name counts as a built-in only if it is one on both
// MySQL and MariaDB).
// Verdicts are cached by text (classcache.go).
func (db *DB) classify(query string) sqlclass.Result {
	f := dialect.Unknown
	if p := db.primaryServer(); p != nil {
		if v := p.ver.Load(); v != nil {
			switch v.Flavor {
			case dialect.MySQL:
				f = dialect.MySQL
			case dialect.MariaDB:
				f = dialect.MariaDB
			}
		}
	}
	if r, ok := db.classes.get(query, f); ok {
		return r
	}
	r := db.classifier.ClassifyFlavor(query, f)
	db.classes.put(query, f, r)
	return r
}

// SQL helpers shared by the capture, the monitor and the waits.

// querier is what these helpers need of a pool, a pinned connection or a tx.
type querier = cluster.Querier

// scanOne runs query and scans its single row into dest.
func scanOne(ctx context.Context, q querier, query string, dest any) error {
	return cluster.ScanRow(ctx, q, query, nil, dest)
}

// showRow runs a SHOW statement and returns its first row by column name
// (an empty row when it returns none, as SHOW REPLICA STATUS on a primary).
func showRow(ctx context.Context, q querier, query string) (cluster.Row, error) {
	return cluster.ShowRow(ctx, q, query)
}
