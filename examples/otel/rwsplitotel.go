// Package rwsplitotel is an example rwsplit.Observer that records rwsplit's
// routing in OpenTelemetry traces: the server a call went to, its
// consistency mode and why, each replica wait as a span of its own, and
// each move of a call (fallback, retry, hedge) as a span event.
//
// It lives in its own module so that rwsplit's go.mod gains no dependency.
// Copy it, or use it as it is:
//
//	obs := rwsplitotel.New(otel.GetTracerProvider())
//	db, err := rwsplit.Open("mysql", primaryDSN, replicaDSNs, rwsplit.WithObserver(obs))
//
// Driver-level instrumentation (for example github.com/XSAM/otelsql
// wrapping the connector of each pool given to rwsplit.New) composes with
// it: otelsql makes a span per statement on each server's pool, and this
// observer tags the caller's span with where rwsplit sent the call and why.
package rwsplitotel

import (
	"context"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/rwsplit/rwsplit"
	"github.com/rwsplit/rwsplit/examples/internal/waitoutcome"
)

// Attribute keys set by the Observer.
const (
	KeyServer  = attribute.Key("rwsplit.server")       // "primary", "replica 0", ...
	KeyMode    = attribute.Key("rwsplit.mode")         // e.g. "WaitGTID(1s)"
	KeyRead    = attribute.Key("rwsplit.read")         // the call is a read
	KeyReason  = attribute.Key("rwsplit.reason")       // why it went there
	KeyFrom    = attribute.Key("rwsplit.from")         // the server a move left
	KeyCause   = attribute.Key("rwsplit.cause")        // why the call moved
	KeyOutcome = attribute.Key("rwsplit.wait.outcome") // "ok", "skipped", "timed out", "canceled", "failed"
	KeyOneTrip = attribute.Key("rwsplit.wait.one_trip")
)

// New returns an Observer whose spans come from tp. It turns rwsplit's
// events into OpenTelemetry data:
//
//   - a route sets rwsplit.server, rwsplit.mode, rwsplit.read and
//     rwsplit.reason on the span in the call's context (the last route
//     wins: a retry's, a fallback's or a winning hedge's; a hedge sent
//     does not set them), and adds an "rwsplit.route" event, with
//     rwsplit.from and rwsplit.cause for a move; with no recording span
//     in the context it records a short "rwsplit.route" span of its own;
//   - a wait becomes an "rwsplit.wait" span, a child of the call's span,
//     from the wait's start to its end, with the server, the mode and the
//     outcome (an error status unless it succeeded or was skipped).
//
// Health and topology changes have no call to attach to: use logs or
// metrics for them (rwsplit.SlogObserver, the Prometheus example).
//
// Cost: with a sampled span, a few attributes and one event per route, and
// one span per wait; otherwise a check that the span is recording.
func New(tp trace.TracerProvider) rwsplit.Observer {
	o := observer{tracer: tp.Tracer("github.com/rwsplit/rwsplit/examples/otel")}
	return rwsplit.Observer{Route: o.route, WaitEnd: o.waitEnd}
}

type observer struct {
	tracer trace.Tracer
}

func name(s *rwsplit.Server) string {
	if s == nil {
		return ""
	}
	return s.Name()
}

// route tags the call's span with the route.
func (o observer) route(ctx context.Context, e rwsplit.RouteEvent) {
	attrs := []attribute.KeyValue{
		KeyServer.String(name(e.Server)), KeyRead.Bool(e.Read), KeyReason.String(e.Reason),
	}
	if e.Read {
		attrs = append(attrs, KeyMode.String(e.Mode.String()))
	}
	tags := len(attrs) // the span's own attributes; a move's go on its event
	if e.From != nil {
		attrs = append(attrs, KeyFrom.String(e.From.Name()))
	}
	if e.Cause != nil {
		attrs = append(attrs, KeyCause.String(e.Cause.Error()))
	}
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		_, span = o.tracer.Start(ctx, "rwsplit.route", trace.WithAttributes(attrs...))
		if e.Err != nil {
			span.SetStatus(codes.Error, e.Err.Error())
		}
		span.End()
		return
	}
	if e.Reason != "hedge" { // a hedge sent may lose: its win is reported apart
		span.SetAttributes(attrs[:tags]...)
	}
	span.AddEvent("rwsplit.route", trace.WithAttributes(attrs...))
}

// waitEnd records the wait as a span from its start to its end.
func (o observer) waitEnd(ctx context.Context, e rwsplit.WaitEvent) {
	out := waitoutcome.Of(e)
	_, span := o.tracer.Start(ctx, "rwsplit.wait", trace.WithTimestamp(e.Start), trace.WithAttributes(
		KeyServer.String(name(e.Server)), KeyMode.String(e.Mode.String()),
		KeyOutcome.String(out), KeyOneTrip.Bool(e.OneTrip),
	))
	if e.Err != nil {
		span.SetStatus(codes.Error, e.Err.Error())
	}
	span.End(trace.WithTimestamp(e.Start.Add(max(e.Duration, time.Duration(0)))))
}
