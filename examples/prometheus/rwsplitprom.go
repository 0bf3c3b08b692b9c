// Package rwsplitprom is an example of an rwsplit.Observer that exports rwsplit's
// routing as Prometheus metrics: calls routed per server and reason, replica
// wait times per server, mode and outcome, fallbacks, retries, hedges,
// replica health changes and which replicas serve reads.
//
// It lives in its own module so that rwsplit's go.mod gains no dependency.
//
//	m := rwsplitprom.New(prometheus.DefaultRegisterer)
//	db, err := rwsplit.Open("mysql", primaryDSN, replicaDSNs, rwsplit.WithObserver(m.Observer()))
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
	"github.com/rwsplit/rwsplit/examples/internal/waitoutcome"
)

// Metrics updates Prometheus collectors from rwsplit's events (see
// Observer). Cost per call: one labelled counter increment per route (a map
// lookup and an atomic add), one histogram observation per wait.
type Metrics struct {
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
			Name: "rwsplit_routes_total", Help: "Calls routed and their moves (fallback, retry, hedge), by server, kind (read or write) and reason.",
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

// Observer returns the rwsplit.Observer that updates m, for
// rwsplit.WithObserver.
func (m *Metrics) Observer() rwsplit.Observer {
	return rwsplit.Observer{Route: m.route, WaitEnd: m.waitEnd, Health: m.healthChange, Topology: m.topology}
}

// route counts the call or its move (and the fallback, retry or hedge).
func (m *Metrics) route(_ context.Context, e rwsplit.RouteEvent) {
	kind := "write"
	if e.Read {
		kind = "read"
	}
	m.routes.WithLabelValues(name(e.Server), kind, e.Reason).Inc()
	switch e.Reason {
	case "fallback":
		m.fallbacks.WithLabelValues(e.Mode.String(), strconv.FormatBool(e.Err != nil)).Inc()
	case "retry":
		m.retries.WithLabelValues(name(e.From), strconv.FormatBool(e.Write)).Inc()
	case "hedge", "hedge won":
		m.hedges.WithLabelValues(name(e.From), strconv.FormatBool(e.Reason == "hedge won")).Inc()
	}
}

// waitEnd observes the wait's duration.
func (m *Metrics) waitEnd(_ context.Context, e rwsplit.WaitEvent) {
	m.waits.WithLabelValues(name(e.Server), e.Mode.String(), waitoutcome.Of(e)).Observe(e.Duration.Seconds())
}

// healthChange counts the change.
func (m *Metrics) healthChange(e rwsplit.HealthEvent) {
	state := string(e.State)
	if e.Suspect {
		state = "suspect"
	}
	m.health.WithLabelValues(name(e.Server), state).Inc()
}

// topology sets which replicas serve reads, and counts primary changes.
func (m *Metrics) topology(e rwsplit.TopologyEvent) {
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
