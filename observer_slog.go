package rwsplit

import (
	"context"
	"log/slog"
)

// SlogObserver returns an Observer that logs to l (slog.Default() when nil):
// routes, waits, fallbacks and hedges at Debug; retries, health changes
// and topology changes at Info, and at Warn when a replica stops serving
// reads or the primary changes or goes unknown. A call's own context is
// passed to the handler (for trace ids and the like).
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
	return slogObserver{l}
}

type slogObserver struct{ l *slog.Logger }

func serverName(s *Server) string {
	if s == nil {
		return ""
	}
	return s.Name()
}

func (o slogObserver) OnRoute(ctx context.Context, e RouteEvent) {
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
	if e.Err != nil {
		attrs = append(attrs, slog.String("err", e.Err.Error()))
	}
	o.l.LogAttrs(ctx, slog.LevelDebug, "rwsplit: route", attrs...)
}

// modeName is mode's text, "default" when unset (calls that are not reads).
func modeName(m Consistency) string {
	if m.kind == kindUnset {
		return "default"
	}
	return m.String()
}

func (o slogObserver) OnWaitStart(ctx context.Context, e WaitEvent) {
	if !o.l.Enabled(ctx, slog.LevelDebug) {
		return
	}
	o.l.LogAttrs(ctx, slog.LevelDebug, "rwsplit: wait start",
		slog.String("server", serverName(e.Server)), slog.String("mode", modeName(e.Mode)), slog.Bool("one_trip", e.OneTrip))
}

func (o slogObserver) OnWaitEnd(ctx context.Context, e WaitEvent) {
	if !o.l.Enabled(ctx, slog.LevelDebug) {
		return
	}
	attrs := []slog.Attr{
		slog.String("server", serverName(e.Server)), slog.String("mode", modeName(e.Mode)), slog.Bool("one_trip", e.OneTrip),
		slog.String("outcome", e.Outcome), slog.Duration("duration", e.Duration),
	}
	if e.Err != nil {
		attrs = append(attrs, slog.String("err", e.Err.Error()))
	}
	o.l.LogAttrs(ctx, slog.LevelDebug, "rwsplit: wait end", attrs...)
}

func (o slogObserver) OnFallback(ctx context.Context, e FallbackEvent) {
	if !o.l.Enabled(ctx, slog.LevelDebug) {
		return
	}
	attrs := []slog.Attr{slog.String("mode", modeName(e.Mode)), slog.Bool("failed", e.Failed)}
	if e.Cause != nil {
		attrs = append(attrs, slog.String("cause", e.Cause.Error()))
	}
	o.l.LogAttrs(ctx, slog.LevelDebug, "rwsplit: fallback", attrs...)
}

func (o slogObserver) OnRetry(ctx context.Context, e RetryEvent) {
	attrs := []slog.Attr{slog.String("from", serverName(e.From)), slog.Bool("write", e.Write)}
	if e.To != nil {
		attrs = append(attrs, slog.String("to", serverName(e.To)))
	}
	if e.Err != nil {
		attrs = append(attrs, slog.String("err", e.Err.Error()))
	}
	o.l.LogAttrs(ctx, slog.LevelInfo, "rwsplit: retry", attrs...)
}

func (o slogObserver) OnHedge(ctx context.Context, e HedgeEvent) {
	if !o.l.Enabled(ctx, slog.LevelDebug) {
		return
	}
	o.l.LogAttrs(ctx, slog.LevelDebug, "rwsplit: hedge",
		slog.String("from", serverName(e.From)), slog.String("to", serverName(e.To)),
		slog.Duration("bound", e.Bound), slog.Bool("won", e.Won))
}

func (o slogObserver) OnHealth(e HealthEvent) {
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

func (o slogObserver) OnWritesLost(ctx context.Context, e WritesLostEvent) {
	o.l.LogAttrs(ctx, slog.LevelError, "rwsplit: writes lost with a former primary",
		slog.String("primary", serverName(e.Primary)), slog.String("gtids", e.GTIDs))
}

func (o slogObserver) OnTopology(e TopologyEvent) {
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
