// Package rwsplitotel is an example rwsplit.Observer that records rwsplit's
// routing in OpenTelemetry traces: the server a call went to, its
// consistency mode and why, each replica wait as a span of its own, and
// fallbacks, retries and hedges as span events.
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
)

// Attribute keys set by the Observer.
const (
	KeyServer   = attribute.Key("rwsplit.server") // "primary", "replica 0", ...
	KeyMode     = attribute.Key("rwsplit.mode")   // e.g. "WaitGTID(1s)"
	KeyRead     = attribute.Key("rwsplit.read")   // the call is a read
	KeyReason   = attribute.Key("rwsplit.reason") // why it went there
	KeyOutcome  = attribute.Key("rwsplit.wait.outcome")
	KeyOneTrip  = attribute.Key("rwsplit.wait.one_trip")
	KeyFailed   = attribute.Key("rwsplit.fallback.failed")
	KeyFrom     = attribute.Key("rwsplit.from")
	KeyTo       = attribute.Key("rwsplit.to")
	KeyHedgeWon = attribute.Key("rwsplit.hedge.won")
)

// Observer turns rwsplit's events into OpenTelemetry data:
//
//   - a route sets rwsplit.server, rwsplit.mode, rwsplit.read and
//     rwsplit.reason on the span in the call's context (the last route
//     wins: a retry's or a fallback's), and adds an "rwsplit.route" event;
//     with no recording span in the context it records a short
//     "rwsplit.route" span of its own;
//   - a wait becomes an "rwsplit.wait" span, a child of the call's span,
//     from the wait's start to its end, with the server, the mode and the
//     outcome (an error status unless it succeeded or was skipped);
//   - fallbacks, retries and hedges are events on the call's span.
//
// Health and topology changes have no call to attach to: use logs or
// metrics for them (rwsplit.SlogObserver, the Prometheus example).
//
// Cost: with a sampled span, a few attributes and one event per call, and
// one span per wait; otherwise a check that the span is recording.
type Observer struct {
	rwsplit.NopObserver
	tracer trace.Tracer
}

// New returns an Observer whose spans come from tp.
func New(tp trace.TracerProvider) *Observer {
	return &Observer{tracer: tp.Tracer("github.com/rwsplit/rwsplit/examples/otel")}
}

func name(s *rwsplit.Server) string {
	if s == nil {
		return ""
	}
	return s.Name()
}

// OnRoute tags the call's span with the route.
func (o *Observer) OnRoute(ctx context.Context, e rwsplit.RouteEvent) {
	attrs := []attribute.KeyValue{
		KeyServer.String(name(e.Server)), KeyRead.Bool(e.Read), KeyReason.String(e.Reason),
	}
	if e.Read {
		attrs = append(attrs, KeyMode.String(e.Mode.String()))
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
	span.SetAttributes(attrs...)
	span.AddEvent("rwsplit.route", trace.WithAttributes(attrs...))
}

// OnWaitEnd records the wait as a span from its start to its end.
func (o *Observer) OnWaitEnd(ctx context.Context, e rwsplit.WaitEvent) {
	_, span := o.tracer.Start(ctx, "rwsplit.wait", trace.WithTimestamp(e.Start), trace.WithAttributes(
		KeyServer.String(name(e.Server)), KeyMode.String(e.Mode.String()),
		KeyOutcome.String(e.Outcome), KeyOneTrip.Bool(e.OneTrip),
	))
	switch e.Outcome {
	case rwsplit.WaitOK, rwsplit.WaitSkipped:
	default:
		msg := e.Outcome
		if e.Err != nil {
			msg = e.Err.Error()
		}
		span.SetStatus(codes.Error, msg)
	}
	span.End(trace.WithTimestamp(e.Start.Add(max(e.Duration, time.Duration(0)))))
}

// OnFallback adds an "rwsplit.fallback" event to the call's span.
func (o *Observer) OnFallback(ctx context.Context, e rwsplit.FallbackEvent) {
	attrs := []attribute.KeyValue{KeyMode.String(e.Mode.String()), KeyFailed.Bool(e.Failed)}
	if e.Cause != nil {
		attrs = append(attrs, attribute.String("rwsplit.fallback.cause", e.Cause.Error()))
	}
	trace.SpanFromContext(ctx).AddEvent("rwsplit.fallback", trace.WithAttributes(attrs...))
}

// OnRetry adds an "rwsplit.retry" event to the call's span.
func (o *Observer) OnRetry(ctx context.Context, e rwsplit.RetryEvent) {
	attrs := []attribute.KeyValue{KeyFrom.String(name(e.From))}
	if e.To != nil {
		attrs = append(attrs, KeyTo.String(name(e.To)))
	}
	if e.Err != nil {
		attrs = append(attrs, attribute.String("rwsplit.retry.error", e.Err.Error()))
	}
	trace.SpanFromContext(ctx).AddEvent("rwsplit.retry", trace.WithAttributes(attrs...))
}

// OnHedge adds an "rwsplit.hedge" event to the call's span.
func (o *Observer) OnHedge(ctx context.Context, e rwsplit.HedgeEvent) {
	trace.SpanFromContext(ctx).AddEvent("rwsplit.hedge", trace.WithAttributes(
		KeyFrom.String(name(e.From)), KeyTo.String(name(e.To)), KeyHedgeWon.Bool(e.Won),
	))
}
