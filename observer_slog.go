package rwsplit

import (
	"context"
	"log/slog"
)

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
