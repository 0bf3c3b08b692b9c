package rwsplit

import (
	"context"
	"fmt"
	"strings"
	"sync"
)

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
