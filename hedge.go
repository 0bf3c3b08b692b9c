package rwsplit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/rwsplit/rwsplit/internal/dialect"
	"github.com/rwsplit/rwsplit/internal/prefetch"
	"github.com/rwsplit/rwsplit/internal/replay"
)

// Hedged reads. A read outside a transaction that a replica has not answered
// within a bound is sent once more to another server (it is "hedged"); the
// first answer wins and the other attempt is cancelled and cleaned up: its
// rows closed, its connection released, its context cancelled. The first
// attempt runs on the caller's goroutine; a timer starts the hedge on its
// own goroutine, which ends with the hedge.
//
// What is hedged: the run step of a routed replica read (DB, Stmt and
// rwsplitx reads; a one-round-trip wait with its query) and the BEGIN of a
// read-only transaction. Never a write, never a statement pinned to a Tx or
// a Conn, never a read on the primary. Reads are hedged on pools known to
// read ahead (Open's, known once a pool has served a read): an attempt's rows release its context when they
// close, and under a caller's context that cannot be cancelled only the
// driver calls see the attempt's (so database/sql starts no goroutine per
// read to watch it). Read-only BEGINs are hedged on every pool: the
// transaction releases its context when it ends.
//
// The bound is TCP's retransmission timeout (RFC 6298) over the answers of
// replica reads: a smoothed latency plus four times its mean deviation, kept
// between a floor and a ceiling (the ceiling until the first answer). A
// one-round-trip wait adds its mode's timeout. The hedge is sent once the
// attempt has run for the bound and the server has shown no sign of life for
// the last bound: no call on it has answered (an error from the server
// counts, a connection or context error does not). A slow query on a server
// that keeps answering other calls is not run twice; a hung server's reads
// are hedged within about one bound of their start or of its last answer.
// When the timer fires late (this process did not run for over half a
// bound) the hedge waits one bound more: nothing was seen of the server
// meanwhile, and an overloaded client is the worst place to double reads.
//
// Where the hedge goes never weakens the read's consistency: Eventual and
// Sleep reads (whose sleep is over) to another usable replica, else the
// primary; WaitGTID and WaitPosition reads to a replica known to have applied
// the scope's token (with no write pending, no round trip), else the primary;
// Fast reads to a replica known to have the scope's writes, MaxStaleness
// reads to a replica within the bound, else the primary; CaughtUp, Latest
// and Monotonic reads to the primary. The primary serves a hedge only when reads
// may fall back to it: WithPrimaryFallback (the default) and, for the waiting
// modes, no OrFail. With nowhere safe to go the read waits on.
//
// When the hedge answers first the replica that did not is marked suspect,
// as after a connection error: reads avoid it until the monitor next sees it
// healthy.
//
// Limits: the first attempt is abandoned through its context, so the driver
// must honour cancellation (go-sql-driver/mysql does); and under a caller's
// context that cannot be cancelled, a first attempt that waits in
// database/sql for a free connection (at the pool's MaxOpenConns) is not
// abandoned until it gets one (and then returns at once).

// Hedge bound defaults: adaptive between 100 ms and 1 s.
const (
	defaultHedgeFloor   = 100 * time.Millisecond
	defaultHedgeCeiling = time.Second
)

// hedgeConfig is the bound's floor and ceiling; a zero ceiling turns hedging
// off.
type hedgeConfig struct{ floor, ceiling time.Duration }

var defaultHedge = hedgeConfig{floor: defaultHedgeFloor, ceiling: defaultHedgeCeiling}

// newHedgeConfig checks WithHedge's arguments.
func newHedgeConfig(floor, ceiling time.Duration) (hedgeConfig, error) {
	switch {
	case floor < 0 || ceiling < 0:
		return hedgeConfig{}, fmt.Errorf("rwsplit: hedge bound (%v, %v): negative", floor, ceiling)
	case floor > ceiling:
		return hedgeConfig{}, fmt.Errorf("rwsplit: hedge bound (%v, %v): floor above ceiling", floor, ceiling)
	case ceiling == 0:
		return hedgeConfig{}, nil // off
	case floor == 0:
		floor = time.Millisecond
	}
	return hedgeConfig{floor: floor, ceiling: ceiling}, nil
}

// setHedge replaces the hedge bound (tests); reads already running keep the
// bound they started with.
func (db *DB) setHedge(floor, ceiling time.Duration) error {
	cfg, err := newHedgeConfig(floor, ceiling)
	if err != nil {
		return err
	}
	db.hedge.cfg.Store(&cfg)
	return nil
}

// hedger is a DB's hedging state (per server: Server.lastAnswer and
// Server.noReadAhead).
type hedger struct {
	cfg atomic.Pointer[hedgeConfig] // nil: defaultHedge
	// srtt and rttvar are the smoothed latency and its mean deviation, in
	// nanoseconds; srtt 0 before the first sample.
	srtt, rttvar atomic.Int64
	hedges, wins atomic.Uint64
	// rowsRaces and rowRaces keep races of rows ops (of Query and QueryRow)
	// that are over, for reuse with their timer (see race.put).
	rowsRaces, rowRaces sync.Pool
}

func (h *hedger) config() hedgeConfig {
	if c := h.cfg.Load(); c != nil {
		return *c
	}
	return defaultHedge
}

// bound is the current bound; 0 when hedging is off.
func (h *hedger) bound() time.Duration {
	c := h.config()
	if c.ceiling == 0 {
		return 0
	}
	srtt := h.srtt.Load()
	if srtt == 0 || c.floor == c.ceiling {
		return c.ceiling
	}
	return min(max(time.Duration(srtt+4*h.rttvar.Load()), c.floor), c.ceiling)
}

// observe folds one latency sample into the estimate (RFC 6298: gains 1/8
// and 1/4). Concurrent samples may overwrite each other; an estimate loses
// nothing by it.
func (h *hedger) observe(d time.Duration) {
	r := max(int64(d), 1)
	srtt := h.srtt.Load()
	if srtt == 0 {
		h.rttvar.Store(r / 2)
		h.srtt.Store(r)
		return
	}
	dev := srtt - r
	if dev < 0 {
		dev = -dev
	}
	v := h.rttvar.Load()
	h.rttvar.Store(v + (dev-v)/4)
	h.srtt.Store(srtt + (r-srtt)/8)
}

// isAnswer reports whether a call that returned err was answered by its
// server: it succeeded or the server reported an error. A connection error
// or a context's error is no answer.
func isAnswer(err error) bool {
	if err == nil {
		return true
	}
	var me *mysql.MySQLError
	return errors.As(err, &me) && !isConnError(err)
}

// noteRun records, with sample, the latency d (as Server.end returned it)
// of a replica read that returned err (Server.end has recorded the server's
// sign of life).
func (db *DB) noteRun(s *Server, d time.Duration, err error, sample bool) {
	if sample && err == nil && !s.primary {
		db.hedge.observe(d)
	}
}

// hedgeBound returns the bound for c's run on r's server, 0 when it is not
// to be hedged: only a routed read on a replica, outside a transaction, on a
// pool that reads ahead.
func (db *DB) hedgeBound(c *call, r route) time.Duration {
	s := r.server
	if c.pin != nil || c.inTx || !r.read || s == nil || s.primary || !c.cls.Replica || c.cls.Write || !s.readsAhead.Load() {
		return 0
	}
	return db.hedge.bound()
}

// probe returns c's context with a close hook that tells whether r's pool
// reads ahead, while that is unknown and hedging is on (else c's context
// and nil): a pool given to New is known to read ahead once one of its
// queries claimed a hook, and known not to once one returned rows without.
func (db *DB) probe(c *call, r route) (context.Context, *prefetch.Hook) {
	s := r.server
	if !r.read || s == nil || s.readsAhead.Load() || db.hedge.bound() == 0 || s.noReadAhead.Load() {
		return c.ctx, nil
	}
	return prefetch.WithCloseHook(c.ctx, func() {})
}

// probed records what a probe found (nothing when the query failed).
func (db *DB) probed(s *Server, hook *prefetch.Hook, err error) {
	switch {
	case hook == nil || err != nil:
	case hook.Claimed():
		s.readsAhead.Store(true)
	default:
		s.noReadAhead.Store(true)
	}
}

// hedgeTarget chooses where the hedge of a read in ctx that s has not
// answered goes, or nil when nowhere keeps the read's consistency. With
// rows, only servers known to read ahead qualify.
func (db *DB) hedgeTarget(ctx context.Context, s *Server, rows bool) *Server {
	mode := db.consistency(ctx)
	top := db.topology()
	var cands []*Server
	primaryOK := db.primaryFallback
	switch mode.kind {
	case kindEventual, kindSleep:
		cands = top.usable
	case kindWaitGTID, kindWaitPosition:
		cands = db.appliedReplicas(ctx, mode, top.usable)
		primaryOK = primaryOK && !mode.fail
	case kindCaughtUp, kindLatest, kindMonotonic:
		primaryOK = primaryOK && !mode.fail
	case kindFast:
		cands = db.fastReplicas(ctx, top.usable)
		primaryOK = primaryOK && !mode.fail
	case kindMaxStaleness:
		cands = withinStaleness(top.usable, mode.d, time.Now())
		primaryOK = primaryOK && !mode.fail
	default:
		return nil
	}
	failed := retried(ctx).from
	var out []*Server
	for _, r := range cands {
		if r != s && r != failed && (!rows || r.readsAhead.Load()) {
			out = append(out, r)
		}
	}
	if len(out) > 0 {
		return db.pick(out)
	}
	if p := db.primaryServer(); primaryOK && p != nil && p != s && (!rows || p.readsAhead.Load()) {
		return p
	}
	return nil
}

// appliedReplicas returns the replicas among cands known to have applied
// what a read in mode waits for, without a round trip: none while a write
// of the scope is pending (its position not read yet). The scope's token now
// covers at least what the read waited for when it began.
func (db *DB) appliedReplicas(ctx context.Context, mode Consistency, cands []*Server) []*Server {
	v := db.scope(ctx).view()
	// As scopeToken: WaitPosition waits by GTID on a group (a binlog
	// position means nothing across Group Replication members or Galera
	// nodes, which all share one server_id there).
	byGTID := mode.kind == kindWaitGTID || db.clusterKind().Grouped()
	if byGTID && v.writes > v.gtidAt || !byGTID && v.writes > v.posAt {
		return nil
	}
	tok := v.tok.WaitTarget(byGTID)
	if !tok.HasTarget() {
		return cands
	}
	if p := db.primaryServer(); !byGTID && v.writes <= v.gtidAt && tok.Flavor == dialect.MySQL &&
		!v.tok.MySQL.IsEmpty() && p != nil && p.gtidsOn() {
		// As positionGTIDs: the GTIDs read with the position name the
		// same writes, and a replica known to have either has them.
		tok.MySQL = v.tok.MySQL
	}
	if !tok.Pos.IsZero() {
		cands = db.directReplicas(cands, tok.Pos.ServerID)
	}
	var out []*Server
	for _, r := range cands {
		if r.hasApplied(tok) {
			out = append(out, r)
		}
	}
	return out
}

// errNoAnswer is why a replica whose read was hedged is marked suspect.
var errNoAnswer = errors.New("rwsplit: no answer within the hedge bound")

// attempt is one try of a hedged statement on one server.
type attempt[T any] struct {
	s      *Server
	ctx    context.Context
	cancel context.CancelFunc
	hook   *prefetch.Hook // releases ctx when the rows close (rows ops)
	hc     prefetch.HookContext
	own    *attemptCtx // the driver's context of a rows op under a caller's that cannot be cancelled (never pooled: a driver may keep it)
	t0     time.Time
	v      T
	err    error
}

// outcome is what the caller of a race gets of the attempt that won it.
type outcome[T any] struct {
	s      *Server
	v      T
	t0     time.Time
	err    error
	cancel context.CancelFunc
}

func (a *attempt[T]) outcome() outcome[T] {
	return outcome[T]{s: a.s, v: a.v, t0: a.t0, err: a.err, cancel: a.cancel}
}

// attemptCtx is the context the driver calls of a rows op's attempt see
// when the caller's context cannot be cancelled: the caller's values, and an
// end of the attempt's own. It is context.WithCancel's context at a third of
// its allocations (its Done channel is made only when a driver asks for it).
// It is never reused: a driver may hold on to it past its call (a dial's
// context.WithTimeout watches it from a goroutine of its own). On a pool whose
// connections Open dialled it is an Interrupter: the driver sees the
// caller's context, which it need not watch (go-sql-driver/mysql hands a
// context it can watch to a goroutine of its own at every call), and the
// attempt's end interrupts the I/O of the connection its call runs on.
type attemptCtx struct {
	context.Context // the caller's (its Done is nil)
	mu              sync.Mutex
	done            chan struct{} // made on first use
	err             error
	on              prefetch.Interruptible // the connection a call runs on (Bind)
	hit             bool                   // on was interrupted
}

var _ prefetch.Interrupter = (*attemptCtx)(nil)

// reset makes c a live child of parent; c must not be in use.
func (c *attemptCtx) reset(parent context.Context) {
	c.Context, c.done, c.err, c.on, c.hit = parent, nil, nil, nil, false
}

// Done returns the channel closed when the attempt is cancelled.
func (c *attemptCtx) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done == nil {
		c.done = make(chan struct{})
		if c.err != nil {
			close(c.done)
		}
	}
	return c.done
}

// Err returns context.Canceled once the attempt is cancelled.
func (c *attemptCtx) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Bind makes the attempt's end interrupt conn, until Unbind.
func (c *attemptCtx) Bind(conn prefetch.Interruptible) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return false
	}
	c.on, c.hit = conn, false
	return true
}

// Unbind ends Bind; it reports whether the connection was interrupted.
func (c *attemptCtx) Unbind() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	hit := c.hit
	c.on, c.hit = nil, false
	return hit
}

// Values returns the caller's context: c's values, without its end.
func (c *attemptCtx) Values() context.Context { return c.Context }

// cancel ends the attempt's context (as a context.CancelFunc does), and
// interrupts the connection a call of it runs on.
func (c *attemptCtx) cancel() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return
	}
	c.err = context.Canceled
	if c.done != nil {
		close(c.done)
	}
	if c.on != nil {
		c.on.Interrupt()
		c.hit = true
	}
}

// hedgeOp is a statement that a hedge may send twice.
type hedgeOp[T any] interface {
	// send sends it to s (hedge: the hedge's form of it).
	send(ctx context.Context, s *Server, hedge bool) (T, error)
	// discard releases a result that lost the race.
	discard(v T)
	// detach makes a won result independent of its attempt's context, on a
	// pool that does not read ahead (rows ops).
	detach(db *DB, a *attempt[T])
	// rows reports whether the result holds rows (a read, counted as one),
	// whose close releases the attempt's context.
	rows() bool
	// query is the statement's text, for route events ("" for a BEGIN).
	query() string
	// pool is where h keeps races of this op that are over, for reuse; nil
	// when they are not reused.
	pool(h *hedger) *sync.Pool
}

// race is a hedged statement: its first attempt, run by the caller, and the
// hedge, run by the timer's goroutine.
type race[T any, O hedgeOp[T]] struct {
	db     *DB
	ctx    context.Context // the caller's
	op     O
	bound  time.Duration
	extra  time.Duration // the first attempt's wait's timeout
	sample bool          // the first attempt's latency is a sample
	// since is the first attempt's start plus extra, and due when the
	// timer is due: both guarded by mu, and set by the timer's first
	// firing (see sinceDue), not at every read.
	since, due time.Time
	first      attempt[T]

	mu         sync.Mutex
	timer      *time.Timer
	firstDone  bool        // the caller has the first attempt's outcome
	second     *attempt[T] // the hedge, once sent
	secondDone bool
	abandoned  bool          // the caller will not take the hedge: it discards itself
	done       chan struct{} // closed when the hedge has its outcome

	// A race of a rows op under a caller's context that cannot be
	// cancelled comes from, and goes back to, pool (nil otherwise) with its
	// timer, so that a read that needs no hedge allocates nothing for it.
	// fired: the timer's function has run (the race is then not reused);
	// reuse: the first attempt won alone, and closed (its rows' close hook,
	// made once) puts the race back; cancelFirst cancels rc.first.own,
	// made once.
	pool        *sync.Pool
	fired       atomic.Bool
	reuse       bool
	closed      func()
	cancelFirst context.CancelFunc
}

// hedged runs op on s under ctx, and once more on another server if s has
// not answered after extra (a wait's timeout) plus bound; it returns the
// outcome of the attempt the caller gets. The first attempt runs on the
// caller's goroutine; the hedge on the timer's.
func hedged[T any, O hedgeOp[T]](db *DB, ctx context.Context, s *Server, op O, extra, bound time.Duration) outcome[T] {
	rc := newRace[T](db, ctx, op)
	rc.bound, rc.sample = bound, extra == 0
	a := &rc.first
	rc.prepare(a, s)
	rc.start(a)
	rc.extra = extra
	rc.mu.Lock()
	rc.due = time.Time{} // see sinceDue
	if rc.timer == nil {
		rc.timer = time.AfterFunc(extra+bound, rc.fire)
	} else {
		rc.timer.Reset(extra + bound)
	}
	rc.mu.Unlock()
	rc.run(a, false)
	if !rc.timer.Stop() {
		return rc.finish().outcome()
	}
	rc.keep(a) // answered in time: no hedge
	out := a.outcome()
	switch {
	case rc.pool == nil || rc.fired.Load():
	case a.err != nil:
		rc.put() // keep released its context
	case a.hook.Claimed():
		rc.reuse = true // put back when its rows close
	}
	return out
}

// newRace returns a race of op under ctx: a pooled one (see race.pool) when
// op's races are reused and ctx cannot be cancelled.
func newRace[T any, O hedgeOp[T]](db *DB, ctx context.Context, op O) *race[T, O] {
	pool := op.pool(&db.hedge)
	if pool == nil || ctx.Done() != nil {
		return &race[T, O]{db: db, ctx: ctx, op: op}
	}
	rc, _ := pool.Get().(*race[T, O])
	if rc == nil {
		rc = &race[T, O]{pool: pool}
		rc.closed = rc.firstClosed
		rc.cancelFirst = rc.cancelFirstOwn
	}
	rc.db, rc.ctx, rc.op = db, ctx, op
	return rc
}

// cancelFirstOwn cancels the driver's context of a pooled race's first
// attempt (its cancelFirst).
func (rc *race[T, O]) cancelFirstOwn() {
	if o := rc.first.own; o != nil {
		o.cancel()
	}
}

// firstClosed is the close hook of a pooled race's first attempt: it
// releases the attempt's context and, when the race is over, puts it back.
func (rc *race[T, O]) firstClosed() {
	rc.first.cancel()
	if rc.reuse {
		rc.put()
	}
}

// put clears a pooled race that is over (its timer stopped before it
// fired, its first attempt's context released, nothing of it held by its
// caller) and puts it back in its pool.
func (rc *race[T, O]) put() {
	var zero T
	var op O
	a := &rc.first
	a.s, a.ctx, a.hook, a.v, a.err, a.t0 = nil, nil, nil, zero, nil, time.Time{}
	a.hc.Init(nil, nil)
	a.own = nil
	rc.db, rc.ctx, rc.op, rc.reuse = nil, nil, op, false
	rc.pool.Put(rc)
}

// prepare gives a its server and a context of its own, which its rows
// release when they close. Under a caller's context that cannot be
// cancelled, database/sql sees that context (and starts no goroutine to
// watch it) and only the driver calls see the attempt's (an attemptCtx):
// the pool reads ahead, so its wrapper applies it (see
// prefetch.HookContext).
func (rc *race[T, O]) prepare(a *attempt[T], s *Server) {
	a.s = s
	if !rc.op.rows() {
		a.ctx, a.cancel = context.WithCancel(rc.ctx)
		return
	}
	release := a.cancel
	if rc.ctx.Done() == nil {
		a.own = &attemptCtx{}
		a.own.reset(rc.ctx)
		if a == &rc.first && rc.cancelFirst != nil {
			a.cancel, release = rc.cancelFirst, rc.closed
		} else {
			a.cancel = a.own.cancel
			release = a.cancel
		}
		a.hc.Init(rc.ctx, release)
		a.hc.SetDriverContext(a.own)
	} else {
		ctx, cancel := context.WithCancel(rc.ctx)
		a.cancel = cancel
		a.hc.Init(ctx, cancel)
	}
	a.ctx, a.hook = &a.hc, a.hc.Hook()
}

// sinceDue sets since and due, at the timer's first firing; rc.mu is held.
// The timer was armed after the first attempt started, for extra+bound.
func (rc *race[T, O]) sinceDue() {
	if rc.due.IsZero() {
		rc.since = rc.first.t0.Add(rc.extra)
		rc.due = rc.since.Add(rc.bound)
	}
}

// start marks attempt a as started on its server.
func (rc *race[T, O]) start(a *attempt[T]) { a.t0 = a.s.begin() }

// run sends the statement of attempt a, started.
func (rc *race[T, O]) run(a *attempt[T], hedge bool) {
	a.v, a.err = rc.op.send(a.ctx, a.s, hedge)
	d := a.s.end(a.t0, a.err)
	rc.db.noteRun(a.s, d, a.err, hedge || rc.sample)
}

// fire runs when the bound is up: it sends the hedge if the first attempt
// has not answered and its server has answered nothing for a bound, else
// looks again when it would have. A timer late by more than half the bound
// means this process did not run for a while (it saw nothing of the server
// meanwhile, and an overloaded client is the worst place to double its
// reads): it looks again a bound later.
func (rc *race[T, O]) fire() {
	rc.fired.Store(true)
	db := rc.db
	rc.mu.Lock()
	if rc.firstDone || rc.second != nil || db.closed.Load() || rc.ctx.Err() != nil {
		rc.mu.Unlock()
		return
	}
	now := time.Now()
	rc.sinceDue()
	if now.Sub(rc.due) > rc.bound/2 {
		rc.due = now.Add(rc.bound)
		rc.timer.Reset(rc.bound)
		rc.mu.Unlock()
		return
	}
	s := rc.first.s
	quiet := s.quietSince(rc.since)
	if due := quiet.Add(rc.bound); due.After(now) {
		rc.due = due // a sign of life: look again a bound after it
		rc.timer.Reset(due.Sub(now))
		rc.mu.Unlock()
		return
	}
	target := db.hedgeTarget(rc.ctx, s, rc.op.rows())
	if target == nil {
		rc.mu.Unlock()
		return
	}
	b := &attempt[T]{}
	rc.prepare(b, target)
	rc.second, rc.done = b, make(chan struct{})
	rc.mu.Unlock()

	db.hedge.hedges.Add(1)
	db.observeHedge(rc.ctx, s, target, rc.op.query(), rc.bound, false)
	if rc.op.rows() {
		db.count(route{server: target, read: true}) // a BEGIN is counted by beginOn
	}
	rc.start(b)
	rc.run(b, true)

	rc.mu.Lock()
	rc.secondDone = true
	abandoned := rc.abandoned
	cancelFirst := !abandoned && !rc.firstDone && b.err == nil
	rc.mu.Unlock()
	close(rc.done)
	switch {
	case abandoned:
		rc.drop(b)
	case cancelFirst:
		rc.first.cancel() // the hedge answered first: the caller stops waiting
	}
}

// finish settles the race once the first attempt returned, the hedge timer
// having fired: the first answer wins. A first attempt that failed without
// an answer (its connection lost) waits up to a bound for a hedge in flight,
// then returns its own error (which the caller may retry elsewhere, hedged
// again).
func (rc *race[T, O]) finish() *attempt[T] {
	a := &rc.first
	rc.mu.Lock()
	rc.firstDone = true
	rc.timer.Stop()
	b := rc.second
	switch {
	case b == nil:
		rc.mu.Unlock()
		rc.keep(a)
		return a
	case rc.secondDone:
		rc.mu.Unlock()
		return rc.settle(a, b)
	case isAnswer(a.err) || rc.ctx.Err() != nil:
		rc.abandoned = true
		rc.mu.Unlock()
		b.cancel()
		rc.keep(a)
		return a
	}
	rc.mu.Unlock()
	t := time.NewTimer(rc.bound)
	defer t.Stop()
	select {
	case <-rc.done:
	case <-rc.ctx.Done():
	case <-t.C:
	}
	rc.mu.Lock()
	if !rc.secondDone {
		rc.abandoned = true
		rc.mu.Unlock()
		b.cancel()
		rc.keep(a)
		return a
	}
	rc.mu.Unlock()
	return rc.settle(a, b)
}

// settle picks between the first attempt and a hedge that has its outcome:
// the hedge when it succeeded (it answered first, or the first failed
// without an answer), else the first.
func (rc *race[T, O]) settle(a, b *attempt[T]) *attempt[T] {
	if b.err != nil {
		rc.drop(b)
		rc.keep(a)
		return a
	}
	rc.drop(a)
	rc.keep(b)
	rc.db.hedge.wins.Add(1)
	rc.db.observeHedge(rc.ctx, a.s, b.s, rc.op.query(), rc.bound, true)
	if rc.ctx.Err() == nil && !rc.first.s.primary {
		switch {
		case errors.Is(a.err, context.Canceled):
			rc.db.markSuspect(a.s, fmt.Errorf("%w (%v)", errNoAnswer, rc.bound))
		case isConnError(a.err):
			rc.db.markSuspect(a.s, a.err)
		}
	}
	return b
}

// keep hands a's outcome to the caller. A failed attempt's context is
// released now; rows release theirs when they close; a transaction releases
// its own when it ends.
func (rc *race[T, O]) keep(a *attempt[T]) {
	switch {
	case a.err != nil:
		a.cancel()
	case a.hook != nil && !a.hook.Claimed():
		rc.op.detach(rc.db, a) // not read ahead after all: no close to wait for
	}
}

// drop cancels an attempt that lost and releases its result.
func (rc *race[T, O]) drop(a *attempt[T]) {
	a.cancel()
	if a.err == nil {
		rc.op.discard(a.v)
	}
}

// rowsOp is a query returning *sql.Rows: q (a one-round-trip wait and the
// query) first, plain for the hedge.
type rowsOp struct {
	run         runner
	q, plain    string
	args, pargs []any
}

func (o rowsOp) send(ctx context.Context, s *Server, hedge bool) (*sql.Rows, error) {
	if hedge {
		return o.run.query(ctx, s, o.plain, o.pargs)
	}
	return o.run.query(ctx, s, o.q, o.args)
}

func (rowsOp) discard(rows *sql.Rows)    { _ = rows.Close() }
func (rowsOp) rows() bool                { return true }
func (o rowsOp) query() string           { return o.plain }
func (rowsOp) pool(h *hedger) *sync.Pool { return &h.rowsRaces }

// detach reads the rows into memory and releases the attempt's context.
// (Rows ops run only on pools known to read ahead: this is a guard, not a
// path.)
func (rowsOp) detach(db *DB, a *attempt[*sql.Rows]) {
	sets, err := replay.Read(a.v)
	a.cancel()
	a.v, a.err = nil, err
	if err == nil {
		a.v, a.err = replay.Rows(db.replay, sets)
	}
}

// rowOp is rowsOp for at most one row.
type rowOp rowsOp

func (o rowOp) send(ctx context.Context, s *Server, hedge bool) (*sql.Row, error) {
	var row *sql.Row
	if hedge {
		row = o.run.queryRow(ctx, s, o.plain, o.pargs)
	} else {
		row = o.run.queryRow(ctx, s, o.q, o.args)
	}
	return row, row.Err()
}

// discard scans nothing: it closes the row's rows.
func (rowOp) discard(row *sql.Row)      { _ = row.Scan() }
func (rowOp) rows() bool                { return true }
func (o rowOp) query() string           { return o.plain }
func (rowOp) pool(h *hedger) *sync.Pool { return &h.rowRaces }

// detach leaves the row as it is: its Scan reads from the pool under the
// attempt's context, which then stays live. (Rows ops run only on pools
// known to read ahead: this is a guard, not a path.)
func (rowOp) detach(*DB, *attempt[*sql.Row]) {}

// beginOp begins a transaction: the *sql.Tx keeps the attempt's context for
// its life, released by Tx's Commit or Rollback.
type beginOp struct{ opts *sql.TxOptions }

func (o beginOp) send(ctx context.Context, s *Server, _ bool) (*sql.Tx, error) {
	return s.db.BeginTx(ctx, o.opts)
}

func (beginOp) discard(tx *sql.Tx)            { _ = tx.Rollback() }
func (beginOp) rows() bool                    { return false }
func (beginOp) query() string                 { return "" }
func (beginOp) pool(*hedger) *sync.Pool       { return nil }
func (beginOp) detach(*DB, *attempt[*sql.Tx]) {}

// hedgedRead runs op (c's query; with a one-round-trip wait whose timeout
// is extra) on r's server under the hedge; it returns the result and the
// route of the attempt that answered, and when that attempt started.
func hedgedRead[T any, O hedgeOp[T]](db *DB, c *call, r route, op O, extra, bound time.Duration) (T, route, time.Time, error) {
	a := hedged[T](db, c.ctx, r.server, op, extra, bound)
	if a.s != r.server {
		r = route{server: a.s, read: true}
	}
	return a.v, r, a.t0, a.err
}

// hedgedBegin begins a read-only transaction on replica s under the hedge.
// It returns the transaction, the server it runs on, and the function that
// releases its context once it ends.
func (db *DB) hedgedBegin(ctx context.Context, s *Server, opts *sql.TxOptions, bound time.Duration) (*sql.Tx, *Server, context.CancelFunc, error) {
	a := hedged[*sql.Tx](db, ctx, s, beginOp{opts}, 0, bound)
	return a.v, a.s, a.cancel, a.err
}
