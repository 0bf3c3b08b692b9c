// Package rwsplitprom is an example rwsplit.Observer that exports rwsplit's
// routing as Prometheus metrics: calls routed per server and reason, replica
// wait times per server, mode and outcome, fallbacks, retries, hedges,
// replica health changes and which replicas serve reads.
//
// It lives in its own module so that rwsplit's go.mod gains no dependency.
//
//	m := rwsplitprom.New(prometheus.DefaultRegisterer)
//	db, err := rwsplit.Open("mysql", primaryDSN, replicaDSNs, rwsplit.WithObserver(m))
//	http.Handle("/metrics", promhttp.Handler())
//
// Labels are bounded: server names ("primary", "replica N"), the modes your
// code uses (e.g. "WaitGTID(1s)"), and rwsplit's constant reasons and
// outcomes. db.Stats() has the same counts as totals, for a pull of its own.
package rwsplitprom

import (
	"context"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rwsplit/rwsplit"
)

// Metrics is an rwsplit.Observer that updates Prometheus collectors. Cost
// per call: one labelled counter increment per route (a map lookup and an
// atomic add), one histogram observation per wait.
type Metrics struct {
	rwsplit.NopObserver
	routes    *prometheus.CounterVec
	waits     *prometheus.HistogramVec
	fallbacks *prometheus.CounterVec
	retries   *prometheus.CounterVec
	hedges    *prometheus.CounterVec
	health    *prometheus.CounterVec
	usable    *prometheus.GaugeVec
	primaries prometheus.Counter
}

// New returns Metrics registered with reg (prometheus.DefaultRegisterer,
// or a registry of your own). It panics if they are registered twice, as
// prometheus.MustRegister does.
func New(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		routes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rwsplit_routes_total", Help: "Calls routed, by server, kind (read or write) and reason.",
		}, []string{"server", "kind", "reason"}),
		waits: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "rwsplit_wait_seconds", Help: "Replica waits for the scope's writes, by server, mode and outcome.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"server", "mode", "outcome"}),
		fallbacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rwsplit_fallbacks_total", Help: "Reads no replica served in time: to the primary, or failed under OrFail.",
		}, []string{"mode", "failed"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rwsplit_retries_total", Help: "Calls run once more elsewhere after failing without running, by the server that failed.",
		}, []string{"from", "write"}),
		hedges: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rwsplit_hedges_total", Help: "Hedged reads (won=false) and hedges whose answer was returned (won=true).",
		}, []string{"from", "won"}),
		health: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rwsplit_replica_health_changes_total", Help: "Replica health changes, by server and new state.",
		}, []string{"server", "state"}),
		usable: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "rwsplit_replica_usable", Help: "1 while the replica serves reads, else 0.",
		}, []string{"server"}),
		primaries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rwsplit_primary_changes_total", Help: "Times the primary changed (ReplacePrimary, discovery).",
		}),
	}
	reg.MustRegister(m.routes, m.waits, m.fallbacks, m.retries, m.hedges, m.health, m.usable, m.primaries)
	return m
}

func name(s *rwsplit.Server) string {
	if s == nil {
		return "none"
	}
	return s.Name()
}

// OnRoute counts the call.
func (m *Metrics) OnRoute(_ context.Context, e rwsplit.RouteEvent) {
	kind := "write"
	if e.Read {
		kind = "read"
	}
	m.routes.WithLabelValues(name(e.Server), kind, e.Reason).Inc()
}

// OnWaitEnd observes the wait's duration.
func (m *Metrics) OnWaitEnd(_ context.Context, e rwsplit.WaitEvent) {
	m.waits.WithLabelValues(name(e.Server), e.Mode.String(), e.Outcome).Observe(e.Duration.Seconds())
}

// OnFallback counts the fallback.
func (m *Metrics) OnFallback(_ context.Context, e rwsplit.FallbackEvent) {
	m.fallbacks.WithLabelValues(e.Mode.String(), strconv.FormatBool(e.Failed)).Inc()
}

// OnRetry counts the retry.
func (m *Metrics) OnRetry(_ context.Context, e rwsplit.RetryEvent) {
	m.retries.WithLabelValues(name(e.From), strconv.FormatBool(e.Write)).Inc()
}

// OnHedge counts the hedge or its win.
func (m *Metrics) OnHedge(_ context.Context, e rwsplit.HedgeEvent) {
	m.hedges.WithLabelValues(name(e.From), strconv.FormatBool(e.Won)).Inc()
}

// OnHealth counts the change.
func (m *Metrics) OnHealth(e rwsplit.HealthEvent) {
	state := string(e.State)
	if e.Suspect {
		state = "suspect"
	}
	m.health.WithLabelValues(name(e.Server), state).Inc()
}

// OnTopology sets which replicas serve reads, and counts primary changes.
func (m *Metrics) OnTopology(e rwsplit.TopologyEvent) {
	if e.PrimaryChanged {
		m.primaries.Inc()
	}
	usable := map[*rwsplit.Server]bool{}
	for _, s := range e.Usable {
		usable[s] = true
	}
	for _, s := range e.Replicas {
		v := 0.0
		if usable[s] {
			v = 1
		}
		m.usable.WithLabelValues(s.Name()).Set(v)
	}
}
