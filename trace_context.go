package rwsplit

import (
	"context"
	"fmt"
	"strings"
	"sync"
)

// A trace recorded into the context of real calls: which server answered
// each one, and why (the answer to "which server ran this query?").

// Trace collects the routing events of the calls made with a context that
// carries it (WithTrace), on a DB whose observers include TraceObserver.
// It is safe for concurrent use (a hedge reports from another goroutine).
type Trace struct {
	mu        sync.Mutex
	routes    []RouteEvent
	waits     []WaitEvent
	fallbacks []FallbackEvent
	retries   []RetryEvent
	hedges    []HedgeEvent
}

type traceKey struct{}

// WithTrace returns a context whose calls record their routing in t, on a
// DB opened with WithObserver(TraceObserver()) (or an Observers list that
// includes it). Costs nothing beyond the context value itself.
func WithTrace(ctx context.Context, t *Trace) context.Context {
	return context.WithValue(ctx, traceKey{}, t)
}

// TraceFrom returns the Trace set on ctx by WithTrace, or nil.
func TraceFrom(ctx context.Context) *Trace {
	t, _ := ctx.Value(traceKey{}).(*Trace)
	return t
}

// Routes returns the routes recorded so far, in order (a call that was
// retried or fell back has several: the last is where it ran).
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

// Fallbacks returns the fallbacks recorded, in order.
func (t *Trace) Fallbacks() []FallbackEvent {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]FallbackEvent(nil), t.fallbacks...)
}

// Retries returns the retries recorded, in order.
func (t *Trace) Retries() []RetryEvent {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]RetryEvent(nil), t.retries...)
}

// Hedges returns the hedges recorded, in order.
func (t *Trace) Hedges() []HedgeEvent {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]HedgeEvent(nil), t.hedges...)
}

// Server is where the latest call recorded ran: its last route's server,
// or the winning hedge's when a hedge answered after it; nil before any.
func (t *Trace) Server() *Server {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.routes) == 0 {
		return nil
	}
	if n := len(t.hedges); n > 0 && t.hedges[n-1].Won && t.hedges[n-1].From == t.routes[len(t.routes)-1].Server {
		return t.hedges[n-1].To
	}
	return t.routes[len(t.routes)-1].Server
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
		if r.Err != nil {
			fmt.Fprintf(&b, " error: %v", r.Err)
		}
		b.WriteByte('\n')
	}
	for _, w := range t.waits {
		fmt.Fprintf(&b, "wait %s %s: %s in %v\n", serverName(w.Server), modeName(w.Mode), w.Outcome, w.Duration)
	}
	for _, f := range t.fallbacks {
		fmt.Fprintf(&b, "fallback %s (failed: %v)\n", modeName(f.Mode), f.Failed)
	}
	for _, r := range t.retries {
		fmt.Fprintf(&b, "retry from %s: %v\n", serverName(r.From), r.Err)
	}
	for _, h := range t.hedges {
		fmt.Fprintf(&b, "hedge %s -> %s (won: %v)\n", serverName(h.From), serverName(h.To), h.Won)
	}
	return b.String()
}

// TraceObserver returns an Observer that records each call's routing in
// the Trace of its context (WithTrace), and ignores calls without one.
// Cost per event: one context lookup; with a Trace, an append under its
// lock.
func TraceObserver() Observer { return traceObserver{} }

type traceObserver struct{ NopObserver }

func (traceObserver) OnRoute(ctx context.Context, e RouteEvent) {
	if t := TraceFrom(ctx); t != nil {
		t.mu.Lock()
		t.routes = append(t.routes, e)
		t.mu.Unlock()
	}
}

func (traceObserver) OnWaitEnd(ctx context.Context, e WaitEvent) {
	if t := TraceFrom(ctx); t != nil {
		t.mu.Lock()
		t.waits = append(t.waits, e)
		t.mu.Unlock()
	}
}

func (traceObserver) OnFallback(ctx context.Context, e FallbackEvent) {
	if t := TraceFrom(ctx); t != nil {
		t.mu.Lock()
		t.fallbacks = append(t.fallbacks, e)
		t.mu.Unlock()
	}
}

func (traceObserver) OnRetry(ctx context.Context, e RetryEvent) {
	if t := TraceFrom(ctx); t != nil {
		t.mu.Lock()
		t.retries = append(t.retries, e)
		t.mu.Unlock()
	}
}

func (traceObserver) OnHedge(ctx context.Context, e HedgeEvent) {
	if t := TraceFrom(ctx); t != nil {
		t.mu.Lock()
		t.hedges = append(t.hedges, e)
		t.mu.Unlock()
	}
}

// Observers returns an Observer that passes each event to every one of os,
// in order (nil entries are skipped; none at all is nil): to use several
// with WithObserver.
func Observers(os ...Observer) Observer {
	var list multiObserver
	for _, o := range os {
		if o != nil {
			list = append(list, o)
		}
	}
	if len(list) == 0 {
		return nil // no observer: the hooks cost a nil check
	}
	return list
}

type multiObserver []Observer

func (m multiObserver) OnRoute(ctx context.Context, e RouteEvent) {
	for _, o := range m {
		o.OnRoute(ctx, e)
	}
}

func (m multiObserver) OnWaitStart(ctx context.Context, e WaitEvent) {
	for _, o := range m {
		o.OnWaitStart(ctx, e)
	}
}

func (m multiObserver) OnWaitEnd(ctx context.Context, e WaitEvent) {
	for _, o := range m {
		o.OnWaitEnd(ctx, e)
	}
}

func (m multiObserver) OnFallback(ctx context.Context, e FallbackEvent) {
	for _, o := range m {
		o.OnFallback(ctx, e)
	}
}

func (m multiObserver) OnRetry(ctx context.Context, e RetryEvent) {
	for _, o := range m {
		o.OnRetry(ctx, e)
	}
}

func (m multiObserver) OnHedge(ctx context.Context, e HedgeEvent) {
	for _, o := range m {
		o.OnHedge(ctx, e)
	}
}

func (m multiObserver) OnHealth(e HealthEvent) {
	for _, o := range m {
		o.OnHealth(e)
	}
}

func (m multiObserver) OnTopology(e TopologyEvent) {
	for _, o := range m {
		o.OnTopology(e)
	}
}

func (m multiObserver) OnWritesLost(ctx context.Context, e WritesLostEvent) {
	for _, o := range m {
		o.OnWritesLost(ctx, e)
	}
}
