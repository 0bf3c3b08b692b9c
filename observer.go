package rwsplit

import (
	"context"
	"errors"
	"time"
)

// Observability hooks. A DB given an Observer (WithObserver) tells it what
// the pipeline decides and what the monitor sees: the route of each call and
// why, each replica wait's start and end, fallbacks, retries, hedges, health
// changes and topology changes. Without one, each hook point costs one nil
// check and builds nothing.
//
// Observers are called synchronously, on the goroutine that made the
// decision (the caller's for routes, waits, fallbacks and retries; a timer's
// for a hedge; the monitor's, or the caller's after a failed read, for
// health and topology): they must be quick and must not block. A slow
// observer slows the calls it observes. OnTopology is called while the DB
// holds its topology lock: it must not call AddReplica, RemoveReplica or
// ReplacePrimary (reading Stats or Servers is fine).

// Observer receives a DB's routing and health events. Embed NopObserver to
// implement only some of its methods, or use ObserverFuncs.
type Observer interface {
	// OnRoute: the server a call was routed to, and why (once per call and
	// per retry; a fallback or a hedge that moves the call reports its own
	// event).
	OnRoute(ctx context.Context, e RouteEvent)
	// OnWaitStart: a wait for the scope's writes begins on a replica.
	OnWaitStart(ctx context.Context, e WaitEvent)
	// OnWaitEnd: that wait ended (or was skipped: the replica was known to
	// have applied the writes), with its outcome and duration. A wait sent
	// with its query whose read was answered by a hedge has no end: the
	// hedge's event reports the read. Sleep's sleep is reported as a wait
	// with no Server (it comes before the choice); CaughtUp's polling is
	// not reported as a wait.
	OnWaitEnd(ctx context.Context, e WaitEvent)
	// OnFallback: a read no replica could serve in time goes to the
	// primary, or fails under OrFail.
	OnFallback(ctx context.Context, e FallbackEvent)
	// OnRetry: a call that failed without running runs once more
	// elsewhere (a replica read after a connection error; under discovery,
	// a primary read after a connection error, and a write refused as
	// read-only or never sent, on the primary the monitor finds or sees
	// answer).
	OnRetry(ctx context.Context, e RetryEvent)
	// OnHedge: a read was hedged (sent to a second server), or its hedge
	// won.
	OnHedge(ctx context.Context, e HedgeEvent)
	// OnHealth: a replica's health state or usability changed (monitor
	// verdict, or marked suspect after a failed read).
	OnHealth(e HealthEvent)
	// OnTopology: the set of servers, the primary or the usable replicas
	// changed (health, AddReplica, RemoveReplica, ReplacePrimary,
	// discovery's role changes).
	OnTopology(e TopologyEvent)
	// OnWritesLost: a read's scope names writes a former primary
	// acknowledged and the current primary lacks for good (see
	// ErrWritesLost).
	OnWritesLost(ctx context.Context, e WritesLostEvent)
}

// RouteEvent is a call's route: where it goes and why.
type RouteEvent struct {
	// Server is where the call runs (nil when it fails before running,
	// with Err set).
	Server *Server
	// Read: the call reads (on a replica, or on the primary by rule or
	// mode); Write: the classifier says it may write.
	Read, Write bool
	// Mode is the consistency mode in force (for reads).
	Mode Consistency
	// Reason says why, in a short constant phrase: the classifier's reason
	// for a statement sent to the primary by rule (sqlclass's Reason, e.g.
	// "locking read"), else one of "pinned", "exec", "mode Primary", "no
	// replica", "no usable replica", "replica", "replica, wait to send with
	// the query", "fallback", "begin" (a transaction, on the primary),
	// "begin read-only" (on the server planned for its reads).
	Reason string
	// Query is the statement's text ("" for a prepared statement); never
	// its arguments.
	Query string
	// Err is the routing error when the call could not be routed
	// (ErrNoPrimary, ErrNoReplica, ErrReplicaNotCaughtUp, ...).
	Err error
}

// Wait outcomes, as WaitEvent.Outcome reports them.
const (
	WaitOK       = "ok"        // the replica applied the writes in time
	WaitTimedOut = "timed out" // it had not when the timeout ran out
	WaitSkipped  = "skipped"   // no wait: the replica was known to have applied them
	WaitFailed   = "failed"    // the wait's query failed (Err), or returned NULL
	WaitCanceled = "canceled"  // the caller's context ended
)

// WaitEvent is one wait on a replica for what the read's scope (or, under
// Latest and Monotonic, the primary) has written.
type WaitEvent struct {
	// Server is the replica waited on (nil for Sleep's sleep).
	Server *Server
	Mode   Consistency
	// OneTrip: the wait rides in the read's own round trip.
	OneTrip bool
	// Outcome (OnWaitEnd only): WaitOK, WaitTimedOut, WaitSkipped,
	// WaitFailed or WaitCanceled.
	Outcome string
	// Start is when the wait began; Duration (OnWaitEnd only) how long it
	// took (for a one-round-trip wait, the wait and the query together).
	Start    time.Time
	Duration time.Duration
	Err      error
}

// FallbackEvent is a read that no replica could serve in time.
type FallbackEvent struct {
	Mode Consistency
	// Cause is why (the last wait's error, ...); may be nil.
	Cause error
	// Failed: under OrFail the read fails with ErrReplicaNotCaughtUp
	// instead of reading the primary.
	Failed bool
}

// RetryEvent is a call run once more elsewhere after it failed without
// running.
type RetryEvent struct {
	// From is the server that failed; To, when known, where the retry
	// runs (a read's retry is routed afresh, and reported by OnRoute).
	From, To *Server
	Err      error
	// Write: a write refused as read-only, retried on the new primary.
	Write bool
}

// HedgeEvent is a hedge: a read sent to a second server (Won false), or a
// hedge whose answer was the one returned (Won true).
type HedgeEvent struct {
	From, To *Server
	Bound    time.Duration
	Won      bool
}

// HealthEvent is a replica's change of health.
type HealthEvent struct {
	Server *Server
	// OldState and State are StateUp, StateDown, ... (see Health.State).
	OldState, State State
	// WasUsable and Usable: whether it served reads before and after.
	WasUsable, Usable bool
	// Suspect: it was marked suspect after a failed read (its State is
	// unchanged).
	Suspect bool
	Lag     time.Duration
	Err     error
}

// TopologyEvent is a new snapshot of the servers behind a DB.
type TopologyEvent struct {
	// Primary is nil while no primary is known (under discovery).
	Primary *Server
	// OldPrimary is the primary before the change; PrimaryChanged reports
	// whether it is another server now.
	OldPrimary     *Server
	PrimaryChanged bool
	Replicas       []*Server
	Usable         []*Server
}

// NopObserver implements Observer with methods that do nothing; embed it
// to implement only the events you need.
type NopObserver struct{}

// OnRoute does nothing.
func (NopObserver) OnRoute(context.Context, RouteEvent) {}

// OnWaitStart does nothing.
func (NopObserver) OnWaitStart(context.Context, WaitEvent) {}

// OnWaitEnd does nothing.
func (NopObserver) OnWaitEnd(context.Context, WaitEvent) {}

// OnFallback does nothing.
func (NopObserver) OnFallback(context.Context, FallbackEvent) {}

// OnRetry does nothing.
func (NopObserver) OnRetry(context.Context, RetryEvent) {}

// OnHedge does nothing.
func (NopObserver) OnHedge(context.Context, HedgeEvent) {}

// OnHealth does nothing.
func (NopObserver) OnHealth(HealthEvent) {}

// OnTopology does nothing.
func (NopObserver) OnTopology(TopologyEvent) {}

// OnWritesLost does nothing.
func (NopObserver) OnWritesLost(context.Context, WritesLostEvent) {}

// ObserverFuncs is an Observer made of optional functions: a nil field
// ignores its event.
type ObserverFuncs struct {
	Route     func(context.Context, RouteEvent)
	WaitStart func(context.Context, WaitEvent)
	WaitEnd   func(context.Context, WaitEvent)
	Fallback  func(context.Context, FallbackEvent)
	Retry     func(context.Context, RetryEvent)
	Hedge     func(context.Context, HedgeEvent)
	Health    func(HealthEvent)
	Topology  func(TopologyEvent)
	Lost      func(context.Context, WritesLostEvent)
}

// OnRoute calls f.Route if set.
func (f ObserverFuncs) OnRoute(ctx context.Context, e RouteEvent) {
	if f.Route != nil {
		f.Route(ctx, e)
	}
}

// OnWaitStart calls f.WaitStart if set.
func (f ObserverFuncs) OnWaitStart(ctx context.Context, e WaitEvent) {
	if f.WaitStart != nil {
		f.WaitStart(ctx, e)
	}
}

// OnWaitEnd calls f.WaitEnd if set.
func (f ObserverFuncs) OnWaitEnd(ctx context.Context, e WaitEvent) {
	if f.WaitEnd != nil {
		f.WaitEnd(ctx, e)
	}
}

// OnFallback calls f.Fallback if set.
func (f ObserverFuncs) OnFallback(ctx context.Context, e FallbackEvent) {
	if f.Fallback != nil {
		f.Fallback(ctx, e)
	}
}

// OnRetry calls f.Retry if set.
func (f ObserverFuncs) OnRetry(ctx context.Context, e RetryEvent) {
	if f.Retry != nil {
		f.Retry(ctx, e)
	}
}

// OnHedge calls f.Hedge if set.
func (f ObserverFuncs) OnHedge(ctx context.Context, e HedgeEvent) {
	if f.Hedge != nil {
		f.Hedge(ctx, e)
	}
}

// OnHealth calls f.Health if set.
func (f ObserverFuncs) OnHealth(e HealthEvent) {
	if f.Health != nil {
		f.Health(e)
	}
}

// OnTopology calls f.Topology if set.
func (f ObserverFuncs) OnTopology(e TopologyEvent) {
	if f.Topology != nil {
		f.Topology(e)
	}
}

// OnWritesLost calls f.Lost if set.
func (f ObserverFuncs) OnWritesLost(ctx context.Context, e WritesLostEvent) {
	if f.Lost != nil {
		f.Lost(ctx, e)
	}
}

// WithObserver sends the DB's routing and health events to o (see
// Observer). Several WithObserver options: the last wins (combine
// observers in one of your own). Without it, or with nil, observing costs
// one nil check per hook point.
func WithObserver(o Observer) Option {
	return func(opts *options) error {
		opts.observer = o
		return nil
	}
}

// The hook points' helpers: each returns at once when no observer is set.

// observePlan reports the route plan chose for c (and the wait it carries).
func (db *DB) observePlan(c *call, r route, err error) {
	o := db.obs
	if o == nil {
		return
	}
	e := RouteEvent{Server: r.server, Read: r.read, Write: c.cls.Write, Query: c.query, Err: err}
	switch {
	case c.pin != nil:
		e.Reason = "pinned"
	case !c.cls.Replica:
		e.Reason = c.cls.Reason
	default:
		e.Mode = db.consistency(c.ctx)
		e.Reason = db.readReason(e.Mode, r)
	}
	o.OnRoute(c.ctx, e)
	if r.wait != nil && err == nil {
		o.OnWaitStart(c.ctx, WaitEvent{Server: r.server, Mode: r.wait.mode, OneTrip: true, Start: time.Now()})
	}
}

// readReason says why a replica-safe read went where r says.
func (db *DB) readReason(mode Consistency, r route) string {
	top := db.topology()
	switch {
	case r.server == nil:
		return "no route"
	case !r.server.primary:
		if r.wait != nil {
			return "replica, wait to send with the query"
		}
		return "replica"
	case mode.kind == kindPrimary:
		return "mode Primary"
	case len(top.replicas) == 0:
		return "no replica"
	case len(top.usable) == 0:
		return "no usable replica"
	}
	return "fallback"
}

// observeExec reports an Exec's route (always a write).
func (db *DB) observeExec(c *call, s *Server) {
	if o := db.obs; o != nil {
		reason := "exec"
		if c.pin != nil {
			reason = "pinned"
		}
		o.OnRoute(c.ctx, RouteEvent{Server: s, Write: true, Reason: reason, Query: c.query})
	}
}

// observeBegin reports the server a transaction begins on (a read-only
// one: a replica planned as a read), or the error that stops it.
func (db *DB) observeBegin(ctx context.Context, s *Server, readOnly bool, err error) {
	o := db.obs
	if o == nil {
		return
	}
	e := RouteEvent{Server: s, Read: readOnly, Reason: "begin", Err: err}
	if readOnly {
		e.Mode = db.consistency(ctx)
		e.Reason = "begin read-only"
	}
	o.OnRoute(ctx, e)
}

// observeSleep reports the start of Sleep's sleep (no server: it sleeps
// before choosing one) and returns when it began (zero without an
// observer).
func (db *DB) observeSleep(ctx context.Context, mode Consistency) time.Time {
	o := db.obs
	if o == nil {
		return time.Time{}
	}
	now := time.Now()
	o.OnWaitStart(ctx, WaitEvent{Mode: mode, Start: now})
	return now
}

// observeSlept reports the end of a sleep begun at start.
func (db *DB) observeSlept(ctx context.Context, mode Consistency, start time.Time, err error) {
	if db.obs != nil {
		db.observeWaitEnd(ctx, nil, mode, false, start, err == nil, false, err)
	}
}

// observeWaitStart reports a wait run in its own round trip.
func (db *DB) observeWaitStart(ctx context.Context, s *Server, spec *waitSpec, start time.Time) {
	if o := db.obs; o != nil {
		o.OnWaitStart(ctx, WaitEvent{Server: s, Mode: spec.mode, Start: start})
	}
}

// observeWaitEnd reports the end of a wait begun at start (oneTrip: run
// with the query) that ended with ok, timedOut and err.
func (db *DB) observeWaitEnd(ctx context.Context, s *Server, mode Consistency, oneTrip bool, start time.Time, ok, timedOut bool, err error) {
	o := db.obs
	if o == nil {
		return
	}
	e := WaitEvent{Server: s, Mode: mode, OneTrip: oneTrip, Start: start, Duration: time.Since(start), Err: err}
	switch {
	case ok:
		e.Outcome = WaitOK
	case timedOut || errors.Is(err, errNotCaughtUp) || errors.Is(err, ErrWaitTimedOut):
		e.Outcome = WaitTimedOut
	case ctx.Err() != nil:
		e.Outcome = WaitCanceled
	default:
		e.Outcome = WaitFailed
	}
	o.OnWaitEnd(ctx, e)
}

// observeWaitSkipped reports a wait not needed on s.
func (db *DB) observeWaitSkipped(ctx context.Context, s *Server, mode Consistency) {
	if o := db.obs; o != nil {
		o.OnWaitEnd(ctx, WaitEvent{Server: s, Mode: mode, Outcome: WaitSkipped, Start: time.Now()})
	}
}

// observeFallback reports a fallback (failed: under OrFail).
func (db *DB) observeFallback(ctx context.Context, mode Consistency, cause error, failed bool) {
	if o := db.obs; o != nil {
		o.OnFallback(ctx, FallbackEvent{Mode: mode, Cause: cause, Failed: failed})
	}
}

// observeRetry reports a retry of a call that failed on from.
func (db *DB) observeRetry(ctx context.Context, from, to *Server, err error, write bool) {
	if o := db.obs; o != nil {
		o.OnRetry(ctx, RetryEvent{From: from, To: to, Err: err, Write: write})
	}
}

// observeHedge reports a hedge from one server to another, or its win.
func (db *DB) observeHedge(ctx context.Context, from, to *Server, bound time.Duration, won bool) {
	if o := db.obs; o != nil {
		o.OnHedge(ctx, HedgeEvent{From: from, To: to, Bound: bound, Won: won})
	}
}

// healthBefore is a replica's health before a check, for observeHealth.
type healthBefore struct {
	state  State
	usable bool
}

// healthOf returns s's health now (zero, and no loads, without an
// observer).
func (db *DB) healthOf(s *Server) healthBefore {
	if db.obs == nil {
		return healthBefore{}
	}
	v := s.verdict()
	return healthBefore{state: v.state, usable: v.usable()}
}

// observeHealth reports s's health if it changed since before.
func (db *DB) observeHealth(s *Server, before healthBefore, err error) {
	o := db.obs
	if o == nil {
		return
	}
	v := s.verdict()
	st, u := v.state, v.usable()
	if st == before.state && u == before.usable {
		return
	}
	o.OnHealth(HealthEvent{
		Server: s, OldState: before.state, State: st, WasUsable: before.usable, Usable: u,
		Lag: v.lag, Err: err,
	})
}

// observeSuspect reports s newly marked suspect after a failed read.
func (db *DB) observeSuspect(s *Server, err error) {
	if o := db.obs; o != nil {
		v := s.verdict()
		st := v.state
		o.OnHealth(HealthEvent{
			Server: s, OldState: st, State: st, WasUsable: st == StateUp || st == StateUnknown, Usable: v.usable(), Suspect: true,
			Lag: v.lag, Err: err,
		})
	}
}

// observeTopology reports a new snapshot t that replaced old (nil at
// first), when anything changed. Called under db.topoMu.
func (db *DB) observeTopology(old, t *topology) {
	o := db.obs
	if o == nil {
		return
	}
	if old != nil && old.primary == t.primary && sameServers(old.replicas, t.replicas) && sameServers(old.usable, t.usable) {
		return
	}
	e := TopologyEvent{Primary: t.primary, Replicas: t.replicas, Usable: t.usable}
	if old != nil {
		e.OldPrimary = old.primary
		e.PrimaryChanged = old.primary != t.primary
	}
	o.OnTopology(e)
}

// sameServers reports whether a and b hold the same servers in the same
// order.
func sameServers(a, b []*Server) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
