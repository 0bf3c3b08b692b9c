package rwsplit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// Observability hooks. A DB given an Observer (WithObserver) tells it what
// the pipeline decides and what the monitor sees: the route of each call and
// each move of it (fallback, retry, hedge) and why, each replica wait's start
// and end, health changes and topology changes. A context given a Trace
// (WithTrace) records its calls' routes and waits, with or without an
// Observer. Without either, each hook point costs a length check and a
// context lookup, and builds nothing.
//
// Observers are called synchronously, on the goroutine that made the
// decision (the caller's for routes, waits, fallbacks and retries; a timer's
// for a hedge sent; the monitor's, or the caller's after a failed read, for
// health and topology): they must be quick and must not block. A slow
// observer slows the calls it observes. Topology is called while the DB
// holds its topology lock: it must not call AddReplica, RemoveReplica or
// ReplacePrimary (reading Stats or Servers is fine).

// Observer receives a DB's routing and health events: each field, when set,
// is called with its event; a nil field ignores it. Give it with
// WithObserver.
type Observer struct {
	// Route: where a call goes and why: once per call, and once more for
	// each move of it (a fallback to the primary, a retry elsewhere, a
	// hedge sent and a hedge that won: see RouteEvent.Reason).
	Route func(ctx context.Context, e RouteEvent)
	// WaitStart: a wait for the scope's writes begins on a replica.
	WaitStart func(ctx context.Context, e WaitEvent)
	// WaitEnd: that wait ended (or was skipped: the replica was known to
	// have applied the writes), with its error and duration. A wait sent
	// with its query whose read was answered by a hedge has no end: the
	// hedge's route reports the read. Sleep's sleep is reported as a wait
	// with no Server (it comes before the choice); CaughtUp's polling is
	// not reported as a wait.
	WaitEnd func(ctx context.Context, e WaitEvent)
	// Health: a replica's health state or usability changed (monitor
	// verdict, or marked suspect after a failed read).
	Health func(e HealthEvent)
	// Topology: the set of servers, the primary or the usable replicas
	// changed (health, AddReplica, RemoveReplica, ReplacePrimary,
	// discovery's role changes).
	Topology func(e TopologyEvent)
	// WritesLost: a read's scope names writes a former primary
	// acknowledged and the current primary lacks for good (see
	// ErrWritesLost).
	WritesLost func(ctx context.Context, e WritesLostEvent)
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
	// the query", "begin" (a transaction, on the primary), "begin
	// read-only" (on the server planned for its reads), or a move: "fallback"
	// (no replica served the read in time: it goes to the primary, or fails
	// under OrFail with Err wrapping ErrReplicaNotCaughtUp), "retry" (it
	// failed without running and runs once more elsewhere: a replica read
	// or read-only BEGIN after a connection error; under discovery, a
	// primary read after a connection error, and a write refused as
	// read-only or never sent, on the primary the monitor finds or sees
	// answer), "hedge" (a read the first server has not answered is sent to
	// Server too) and "hedge won" (Server's answer is the one returned). A
	// retry whose new route falls back reports "fallback".
	Reason string
	// Query is the statement's text ("" for a prepared statement or a
	// BEGIN); never its arguments.
	Query string
	// From is the server a move leaves: a retry's failed server, a hedge's
	// first server, a one-round-trip wait's replica before its fallback;
	// nil on a call's first route.
	From *Server
	// Cause is why the call moved: the last wait's error (or the reason no
	// replica qualified) for a fallback, the connection error for a retry;
	// nil otherwise.
	Cause error
	// HedgeBound is a hedge's ("hedge", "hedge won"): how long the first
	// server had answered nothing when the hedge was sent (see
	// WithHedge); zero otherwise.
	HedgeBound time.Duration
	// Err is the routing error when the call could not be routed
	// (ErrNoPrimary, ErrNoReplica, ErrReplicaNotCaughtUp, ...).
	Err error
}

// WaitEvent is one wait on a replica for what the read's scope (or, under
// Latest and Monotonic, the primary) has written.
type WaitEvent struct {
	// Server is the replica waited on (nil for Sleep's sleep).
	Server *Server
	Mode   Consistency
	// OneTrip: the wait rides in the read's own round trip.
	OneTrip bool
	// Skipped (WaitEnd only): no wait was sent: the replica was known to
	// have applied the writes.
	Skipped bool
	// Start is when the wait began; Duration (WaitEnd only) how long it
	// took (for a one-round-trip wait, the wait and the query together).
	Start    time.Time
	Duration time.Duration
	// Err (WaitEnd only) is nil when the replica applied the writes in time
	// (or the wait was skipped); an error wrapping ErrWaitTimedOut when it
	// had not when the timeout ran out; the context's error when the
	// caller's context ended; else the failure (the wait's query's error,
	// a position wait's NULL on a replica not replicating, ...).
	Err error
}

// outcome is e's end in a word, for logs and traces: "ok", "skipped",
// "timed out", "canceled" or "failed".
func (e WaitEvent) outcome() string {
	switch {
	case e.Skipped:
		return "skipped"
	case e.Err == nil:
		return "ok"
	case errors.Is(e.Err, ErrWaitTimedOut):
		return "timed out"
	case e.Err == context.Canceled || e.Err == context.DeadlineExceeded:
		return "canceled"
	}
	return "failed"
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

// observers are the functions of the Observers given to WithObserver, by event,
// in the order given (nil: none wants the event).
type observers struct {
	route      []func(context.Context, RouteEvent)
	waitStart  []func(context.Context, WaitEvent)
	waitEnd    []func(context.Context, WaitEvent)
	health     []func(HealthEvent)
	topology   []func(TopologyEvent)
	writesLost []func(context.Context, WritesLostEvent)
}

// add returns obs with o's functions after its own.
func (obs observers) add(o Observer) observers {
	if o.Route != nil {
		obs.route = append(obs.route, o.Route)
	}
	if o.WaitStart != nil {
		obs.waitStart = append(obs.waitStart, o.WaitStart)
	}
	if o.WaitEnd != nil {
		obs.waitEnd = append(obs.waitEnd, o.WaitEnd)
	}
	if o.Health != nil {
		obs.health = append(obs.health, o.Health)
	}
	if o.Topology != nil {
		obs.topology = append(obs.topology, o.Topology)
	}
	if o.WritesLost != nil {
		obs.writesLost = append(obs.writesLost, o.WritesLost)
	}
	return obs
}

// The hook points' helpers: each returns at once when neither an observer
// nor (for routes and waits) a Trace in the context wants the event.

// move is why a call is routed again: the server it failed on and the error
// it failed with (a retry's, see withoutServer).
type move struct {
	from  *Server
	cause error
}

// watchRoute returns ctx's Trace, and whether a route under ctx is
// observed (by it or an Observer).
func (db *DB) watchRoute(ctx context.Context) (*Trace, bool) {
	t := traceFrom(ctx)
	return t, t != nil || len(db.obs.route) > 0
}

// emitRoute passes e to the Route observers, and records it in t (if any).
func (db *DB) emitRoute(ctx context.Context, t *Trace, e RouteEvent) {
	emit(ctx, db.obs.route, t, func(t *Trace) *[]RouteEvent { return &t.routes }, e)
}

// emit passes e to the observers fs, and appends it to t's list (t nil: no
// trace) under t's lock.
func emit[E any](ctx context.Context, fs []func(context.Context, E), t *Trace, list func(*Trace) *[]E, e E) {
	for _, f := range fs {
		f(ctx, e)
	}
	if t != nil {
		t.mu.Lock()
		l := list(t)
		*l = append(*l, e)
		t.mu.Unlock()
	}
}

// fallbackNote is the record an observed read's plan keeps of a fallback
// (see DB.fallback), for its route event: whether the read fell back, and
// why. It is the plan's context (the call's, with the note as a value).
type fallbackNote struct {
	context.Context
	fell  bool
	cause error
}

type fallbackKey struct{}

// Value returns n for fallbackKey, else the call's context's value.
func (n *fallbackNote) Value(key any) any {
	if key == (fallbackKey{}) {
		return n
	}
	return n.Context.Value(key)
}

// noteFallback records in ctx's note, if it has one, that the read fell
// back because of cause.
func noteFallback(ctx context.Context, cause error) {
	if n, _ := ctx.Value(fallbackKey{}).(*fallbackNote); n != nil {
		n.fell, n.cause = true, cause
	}
}

// planReadNoted is planRead, with a note of its fallback (nil when it did
// not fall back) when the route is observed. Only modes that may fall back
// carry a note (one allocation, observed calls only).
func (db *DB) planReadNoted(ctx context.Context, deferWait bool) (*Server, *waitSpec, *fallbackNote, error) {
	if _, on := db.watchRoute(ctx); on {
		switch db.consistency(ctx).kind {
		case kindEventual, kindSleep, kindPrimary:
		default:
			n := &fallbackNote{Context: ctx}
			s, w, err := db.planRead(n, deferWait)
			if !n.fell {
				n = nil
			}
			return s, w, n, err
		}
	}
	s, w, err := db.planRead(ctx, deferWait)
	return s, w, nil, err
}

// observePlan reports the route plan chose for c (and the wait it carries).
func (db *DB) observePlan(c *call, r route, err error) {
	if t, on := db.watchRoute(c.ctx); on {
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
		if c.pin == nil {
			moved(&e, retried(c.ctx), r.fell)
		}
		db.emitRoute(c.ctx, t, e)
	}
	if r.wait != nil && err == nil && len(db.obs.waitStart) > 0 {
		e := WaitEvent{Server: r.server, Mode: r.wait.mode, OneTrip: true, Start: time.Now()}
		for _, f := range db.obs.waitStart {
			f(c.ctx, e)
		}
	}
}

// moved sets e's reason, origin and cause for a route that is a retry (m)
// or a fallback (n; it takes precedence).
func moved(e *RouteEvent, m move, n *fallbackNote) {
	switch {
	case n != nil:
		e.Reason, e.From, e.Cause = "fallback", m.from, n.cause
	case m.from != nil:
		e.Reason, e.From, e.Cause = "retry", m.from, m.cause
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
	if t, on := db.watchRoute(c.ctx); on {
		reason := "exec"
		if c.pin != nil {
			reason = "pinned"
		}
		db.emitRoute(c.ctx, t, RouteEvent{Server: s, Write: true, Reason: reason, Query: c.query})
	}
}

// observeBegin reports the server a transaction begins on (a read-only
// one: a replica planned as a read), or the error that stops it; n is the
// plan's fallback.
func (db *DB) observeBegin(ctx context.Context, s *Server, readOnly bool, err error, n *fallbackNote) {
	t, on := db.watchRoute(ctx)
	if !on {
		return
	}
	e := RouteEvent{Server: s, Read: readOnly, Reason: "begin", Err: err}
	if readOnly {
		e.Mode = db.consistency(ctx)
		e.Reason = "begin read-only"
	}
	moved(&e, retried(ctx), n)
	db.emitRoute(ctx, t, e)
}

// observeFallback reports the fallback of c's read from a one-round-trip
// wait on from: to s, or failed with err; cause is the wait's error.
func (db *DB) observeFallback(c *call, from, s *Server, cause, err error) {
	if t, on := db.watchRoute(c.ctx); on {
		db.emitRoute(c.ctx, t, RouteEvent{
			Server: s, Read: true, Write: c.cls.Write, Mode: db.consistency(c.ctx), Reason: "fallback",
			Query: c.query, From: from, Cause: cause, Err: err,
		})
	}
}

// observeRetry reports c's write, which failed with err on from, run once
// more on to.
func (db *DB) observeRetry(c *call, from, to *Server, err error) {
	if t, on := db.watchRoute(c.ctx); on {
		db.emitRoute(c.ctx, t, RouteEvent{Server: to, Write: true, Reason: "retry", Query: c.query, From: from, Cause: err})
	}
}

// observeHedge reports a hedge of query from one server to another, or
// its win.
func (db *DB) observeHedge(ctx context.Context, from, to *Server, query string, bound time.Duration, won bool) {
	if t, on := db.watchRoute(ctx); on {
		e := RouteEvent{Server: to, Read: true, Mode: db.consistency(ctx), Reason: "hedge", Query: query, From: from, HedgeBound: bound}
		if won {
			e.Reason = "hedge won"
		}
		db.emitRoute(ctx, t, e)
	}
}

// observeSleep reports the start of Sleep's sleep (no server: it sleeps
// before choosing one) and returns when it began (zero when its end is not
// observed).
func (db *DB) observeSleep(ctx context.Context, mode Consistency) time.Time {
	if len(db.obs.waitStart) == 0 && len(db.obs.waitEnd) == 0 && traceFrom(ctx) == nil {
		return time.Time{}
	}
	now := time.Now()
	for _, f := range db.obs.waitStart {
		f(ctx, WaitEvent{Mode: mode, Start: now})
	}
	return now
}

// observeSlept reports the end of a sleep begun at start.
func (db *DB) observeSlept(ctx context.Context, mode Consistency, start time.Time, err error) {
	if !start.IsZero() {
		db.observeWaitEnd(ctx, nil, mode, false, start, err)
	}
}

// observeWaitStart reports a wait run in its own round trip.
func (db *DB) observeWaitStart(ctx context.Context, s *Server, spec *waitSpec, start time.Time) {
	for _, f := range db.obs.waitStart {
		f(ctx, WaitEvent{Server: s, Mode: spec.mode, Start: start})
	}
}

// observeWaitEnd reports the end of a wait begun at start (oneTrip: run
// with the query) that ended with err (nil: it succeeded; wrapping
// ErrWaitTimedOut: it timed out).
func (db *DB) observeWaitEnd(ctx context.Context, s *Server, mode Consistency, oneTrip bool, start time.Time, err error) {
	t := traceFrom(ctx)
	if t == nil && len(db.obs.waitEnd) == 0 {
		return
	}
	if err != nil && !errors.Is(err, ErrWaitTimedOut) {
		if cerr := ctx.Err(); cerr != nil {
			err = cerr // the caller's context ended
		}
	}
	db.emitWaitEnd(ctx, t, WaitEvent{Server: s, Mode: mode, OneTrip: oneTrip, Start: start, Duration: time.Since(start), Err: err})
}

// observeWaitSkipped reports a wait not needed on s.
func (db *DB) observeWaitSkipped(ctx context.Context, s *Server, mode Consistency) {
	if t := traceFrom(ctx); t != nil || len(db.obs.waitEnd) > 0 {
		db.emitWaitEnd(ctx, t, WaitEvent{Server: s, Mode: mode, Skipped: true, Start: time.Now()})
	}
}

// emitWaitEnd passes e to the WaitEnd observers, and records it in t (if
// any).
func (db *DB) emitWaitEnd(ctx context.Context, t *Trace, e WaitEvent) {
	emit(ctx, db.obs.waitEnd, t, func(t *Trace) *[]WaitEvent { return &t.waits }, e)
}

// healthBefore is a replica's health before a check, for observeHealth.
type healthBefore struct {
	state  State
	usable bool
}

// healthOf returns s's health now (zero, and no loads, without an
// observer).
func (db *DB) healthOf(s *Server) healthBefore {
	if len(db.obs.health) == 0 {
		return healthBefore{}
	}
	v := s.verdict()
	return healthBefore{state: v.state, usable: v.usable()}
}

// observeHealth reports s's health if it changed since before.
func (db *DB) observeHealth(s *Server, before healthBefore, err error) {
	if len(db.obs.health) == 0 {
		return
	}
	v := s.verdict()
	st, u := v.state, v.usable()
	if st == before.state && u == before.usable {
		return
	}
	e := HealthEvent{
		Server: s, OldState: before.state, State: st, WasUsable: before.usable, Usable: u,
		Lag: v.lag, Err: err,
	}
	for _, f := range db.obs.health {
		f(e)
	}
}

// observeSuspect reports s newly marked suspect after a failed read.
func (db *DB) observeSuspect(s *Server, err error) {
	if len(db.obs.health) == 0 {
		return
	}
	v := s.verdict()
	st := v.state
	e := HealthEvent{
		Server: s, OldState: st, State: st, WasUsable: st == StateUp || st == StateUnknown, Usable: v.usable(), Suspect: true,
		Lag: v.lag, Err: err,
	}
	for _, f := range db.obs.health {
		f(e)
	}
}

// observeTopology reports a new snapshot t that replaced old (nil at
// first), when anything changed. Called under db.topoMu.
func (db *DB) observeTopology(old, t *topology) {
	if len(db.obs.topology) == 0 {
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
	for _, f := range db.obs.topology {
		f(e)
	}
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

// SlogObserver returns an Observer that logs to l (slog.Default() when nil):
// routes (fallbacks and hedges included) and waits at Debug; retries,
// health changes and topology changes at Info, and at Warn when a replica
// stops serving reads or the primary changes or goes unknown. A call's own
// context is passed to the handler (for trace ids and the like).
//
// Cost: per call, one l.Enabled check at Debug when Debug is off (the
// default for slog's handlers): no attribute is built and nothing is
// written. With Debug on, each call logs a record on the caller's
// goroutine: enable it to debug, not in production. Queries are logged
// without their arguments.
func SlogObserver(l *slog.Logger) Observer {
	if l == nil {
		l = slog.Default()
	}
	o := slogObserver{l}
	return Observer{
		Route: o.route, WaitStart: o.waitStart, WaitEnd: o.waitEnd,
		Health: o.health, Topology: o.topology, WritesLost: o.writesLost,
	}
}

type slogObserver struct{ l *slog.Logger }

func serverName(s *Server) string {
	if s == nil {
		return ""
	}
	return s.Name()
}

func (o slogObserver) route(ctx context.Context, e RouteEvent) {
	if e.Reason == "retry" {
		o.retry(ctx, e)
		return
	}
	if !o.l.Enabled(ctx, slog.LevelDebug) {
		return
	}
	attrs := []slog.Attr{
		slog.String("server", serverName(e.Server)),
		slog.Bool("read", e.Read),
		slog.Bool("write", e.Write),
		slog.String("reason", e.Reason),
		slog.String("query", e.Query),
	}
	if e.Read {
		attrs = append(attrs, slog.String("mode", modeName(e.Mode)))
	}
	if e.From != nil {
		attrs = append(attrs, slog.String("from", e.From.Name()))
	}
	if e.HedgeBound > 0 {
		attrs = append(attrs, slog.Duration("hedge_bound", e.HedgeBound))
	}
	if e.Cause != nil {
		attrs = append(attrs, slog.String("cause", e.Cause.Error()))
	}
	if e.Err != nil {
		attrs = append(attrs, slog.String("err", e.Err.Error()))
	}
	o.l.LogAttrs(ctx, slog.LevelDebug, "rwsplit: route", attrs...)
}

// retry logs a retry's route at Info.
func (o slogObserver) retry(ctx context.Context, e RouteEvent) {
	attrs := []slog.Attr{slog.String("from", serverName(e.From)), slog.Bool("write", e.Write)}
	if e.Server != nil {
		attrs = append(attrs, slog.String("to", e.Server.Name()))
	}
	if e.Cause != nil {
		attrs = append(attrs, slog.String("cause", e.Cause.Error()))
	}
	if e.Err != nil {
		attrs = append(attrs, slog.String("err", e.Err.Error()))
	}
	o.l.LogAttrs(ctx, slog.LevelInfo, "rwsplit: retry", attrs...)
}

// modeName is mode's text, "default" when unset (calls that are not reads).
func modeName(m Consistency) string {
	if m.kind == kindUnset {
		return "default"
	}
	return m.String()
}

func (o slogObserver) waitStart(ctx context.Context, e WaitEvent) {
	if !o.l.Enabled(ctx, slog.LevelDebug) {
		return
	}
	o.l.LogAttrs(ctx, slog.LevelDebug, "rwsplit: wait start",
		slog.String("server", serverName(e.Server)), slog.String("mode", modeName(e.Mode)), slog.Bool("one_trip", e.OneTrip))
}

func (o slogObserver) waitEnd(ctx context.Context, e WaitEvent) {
	if !o.l.Enabled(ctx, slog.LevelDebug) {
		return
	}
	attrs := []slog.Attr{
		slog.String("server", serverName(e.Server)), slog.String("mode", modeName(e.Mode)), slog.Bool("one_trip", e.OneTrip),
		slog.String("outcome", e.outcome()), slog.Duration("duration", e.Duration),
	}
	if e.Err != nil {
		attrs = append(attrs, slog.String("err", e.Err.Error()))
	}
	o.l.LogAttrs(ctx, slog.LevelDebug, "rwsplit: wait end", attrs...)
}

func (o slogObserver) health(e HealthEvent) {
	level := slog.LevelInfo
	if e.WasUsable && !e.Usable {
		level = slog.LevelWarn
	}
	attrs := []slog.Attr{
		slog.String("server", serverName(e.Server)), slog.String("old_state", string(e.OldState)), slog.String("state", string(e.State)),
		slog.Bool("usable", e.Usable), slog.Bool("suspect", e.Suspect), slog.Duration("lag", e.Lag),
	}
	if e.Err != nil {
		attrs = append(attrs, slog.String("err", e.Err.Error()))
	}
	o.l.LogAttrs(context.Background(), level, "rwsplit: replica health", attrs...)
}

func (o slogObserver) writesLost(ctx context.Context, e WritesLostEvent) {
	o.l.LogAttrs(ctx, slog.LevelError, "rwsplit: writes lost with a former primary",
		slog.String("primary", serverName(e.Primary)), slog.String("gtids", e.GTIDs))
}

func (o slogObserver) topology(e TopologyEvent) {
	level := slog.LevelInfo
	if e.PrimaryChanged || e.Primary == nil {
		level = slog.LevelWarn
	}
	names := func(ss []*Server) []string {
		out := make([]string, len(ss))
		for i, s := range ss {
			out[i] = s.Name()
		}
		return out
	}
	o.l.LogAttrs(context.Background(), level, "rwsplit: topology",
		slog.String("primary", serverName(e.Primary)), slog.Bool("primary_changed", e.PrimaryChanged),
		slog.Any("replicas", names(e.Replicas)), slog.Any("usable", names(e.Usable)))
}

// A trace recorded into the context of real calls: which server answered
// each one, and why (the answer to "which server ran this query?").

// Trace collects the routes and waits of the calls made with a context that
// carries it (WithTrace), on any DB: the events an Observer's Route and
// WaitEnd receive, recorded at the same points. The zero Trace is ready to
// use. It is safe for concurrent use (a hedge reports from another
// goroutine).
type Trace struct {
	mu     sync.Mutex
	routes []RouteEvent
	waits  []WaitEvent
}

type traceKey struct{}

// WithTrace returns a context whose calls record their routes and waits in
// t, on any DB (no Observer is needed). Cost: the context value; each call
// under it then appends its events to t under t's lock. A call whose
// context has no Trace pays a context lookup per hook point, and records
// nothing.
func WithTrace(ctx context.Context, t *Trace) context.Context {
	return context.WithValue(ctx, traceKey{}, t)
}

// traceFrom returns the Trace set on ctx by WithTrace, or nil.
func traceFrom(ctx context.Context) *Trace {
	t, _ := ctx.Value(traceKey{}).(*Trace)
	return t
}

// Routes returns the routes recorded so far, in order: each call's route,
// then each move of it (a fallback, a retry, a hedge sent, a hedge that
// won). A call's last route other than a hedge that did not win ("hedge")
// is where it ran; a hedge's may be recorded after its call returned.
func (t *Trace) Routes() []RouteEvent {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]RouteEvent(nil), t.routes...)
}

// Waits returns the waits that ended (or were skipped), in order.
func (t *Trace) Waits() []WaitEvent {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]WaitEvent(nil), t.waits...)
}

// String lists the routes and waits recorded, one per line.
func (t *Trace) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var b strings.Builder
	for _, r := range t.routes {
		fmt.Fprintf(&b, "route %s: %s", serverName(r.Server), r.Reason)
		if r.Read {
			fmt.Fprintf(&b, " (%s)", modeName(r.Mode))
		}
		if r.From != nil {
			fmt.Fprintf(&b, " from %s", r.From.Name())
		}
		if r.HedgeBound > 0 {
			fmt.Fprintf(&b, " after %v", r.HedgeBound)
		}
		if r.Cause != nil {
			fmt.Fprintf(&b, " cause: %v", r.Cause)
		}
		if r.Err != nil {
			fmt.Fprintf(&b, " error: %v", r.Err)
		}
		b.WriteByte('\n')
	}
	for _, w := range t.waits {
		fmt.Fprintf(&b, "wait %s %s: %s in %v", serverName(w.Server), modeName(w.Mode), w.outcome(), w.Duration)
		if w.Err != nil {
			fmt.Fprintf(&b, ": %v", w.Err)
		}
		b.WriteByte('\n')
	}
	return b.String()
}
