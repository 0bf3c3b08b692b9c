package rwsplitprom_test

import (
	"context"
	"database/sql"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rwsplit/rwsplit"
	rwsplitprom "github.com/rwsplit/rwsplit/examples/prometheus"
	"github.com/rwsplit/rwsplit/internal/fakedb"
)

// TestScrape: after a write, a WaitGTID read that waits, one that skips
// its wait and a read forced to the primary, one scrape of /metrics shows
// the routes per server and reason, the wait-time histogram per outcome and
// the usable replica.
func TestScrape(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := rwsplitprom.New(reg)
	// An in-memory MariaDB primary and replica (internal/fakedb: importable
	// here, under the root's module path). The replica applies only what a
	// wait asks for, so the first WaitGTID read after the write waits.
	cl := fakedb.NewCluster(fakedb.MariaDB, 1)
	replica := cl.Replicas()[0]
	replica.StopApplier()
	replica.ApplyOnWait(true)
	db, err := rwsplit.New(cl.Primary().OpenDB(false), []*sql.DB{replica.OpenDB(false)},
		rwsplit.WithMonitorInterval(time.Hour), rwsplit.WithObserver(m.Observer()))
	require.NoError(t, err)
	defer db.Close()
	require.Eventually(t, func() bool { return db.Servers()[1].Health().State == rwsplit.StateUp },
		5*time.Second, time.Millisecond, "the monitor's first round finds the replica up")

	ctx := rwsplit.WithConsistency(context.Background(), rwsplit.WaitGTID(time.Second))
	_, err = db.ExecContext(ctx, "INSERT INTO kv (k, v) VALUES (1, 42)")
	require.NoError(t, err)
	var v int
	require.NoError(t, db.QueryRowContext(ctx, "SELECT v FROM kv WHERE k = 1").Scan(&v)) // waits
	assert.Equal(t, 42, v, "the replica caught up on the write")
	require.NoError(t, db.QueryRowContext(ctx, "SELECT v FROM kv WHERE k = 1").Scan(&v)) // skips
	require.NoError(t, db.QueryRowContext(rwsplit.WithConsistency(ctx, rwsplit.Primary), "SELECT 1").Scan(&v))

	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	body := string(b)
	t.Log(body)

	for _, want := range []string{
		`rwsplit_routes_total{kind="write",reason="exec",server="primary"} 1`,
		`rwsplit_routes_total{kind="read",reason="replica",server="replica 0"} 2`,
		`rwsplit_routes_total{kind="read",reason="mode Primary",server="primary"} 1`,
		`rwsplit_wait_seconds_count{mode="WaitGTID(1s)",outcome="ok",server="replica 0"} 1`,
		`rwsplit_wait_seconds_count{mode="WaitGTID(1s)",outcome="skipped",server="replica 0"} 1`,
		`rwsplit_wait_seconds_bucket{mode="WaitGTID(1s)",outcome="ok",server="replica 0",le="5"} 1`,
		`rwsplit_replica_usable{server="replica 0"} 1`,
		`rwsplit_replica_health_changes_total{server="replica 0",state="up"} 1`,
	} {
		assert.Contains(t, body, want)
	}
	assert.NotContains(t, body, "rwsplit_fallbacks_total{", "no fallback")
}
