package rwsplitotel_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/rwsplit/rwsplit"
	rwsplitotel "github.com/rwsplit/rwsplit/examples/otel"
	"github.com/rwsplit/rwsplit/internal/fakedb"
)

// openStalled returns a DB over an in-memory MariaDB primary and replica
// (internal/fakedb: importable here, under the root's module path), with
// pools made by pool from each server's connector, once the monitor has
// found the replica up. The replica applies nothing by itself: only a wait
// makes it catch up, so a WaitGTID read after a write always waits.
func openStalled(t *testing.T, pool func(driver.Connector) *sql.DB, opts ...rwsplit.Option) *rwsplit.DB {
	t.Helper()
	cl := fakedb.NewCluster(fakedb.MariaDB, 1)
	replica := cl.Replicas()[0]
	replica.StopApplier()
	replica.ApplyOnWait(true)
	opts = append([]rwsplit.Option{rwsplit.WithMonitorInterval(time.Hour)}, opts...)
	db, err := rwsplit.New(pool(cl.Primary().Connector(false)), []*sql.DB{pool(replica.Connector(false))}, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	require.Eventually(t, func() bool { return db.Servers()[1].Health().State == rwsplit.StateUp },
		5*time.Second, time.Millisecond, "the monitor's first round")
	return db
}

func attrs(s sdktrace.ReadOnlySpan) map[attribute.Key]attribute.Value {
	m := map[attribute.Key]attribute.Value{}
	for _, kv := range s.Attributes() {
		m[kv.Key] = kv.Value
	}
	return m
}

func spanNamed(t *testing.T, spans tracetest.SpanStubs, name string) []tracetest.SpanStub {
	t.Helper()
	var out []tracetest.SpanStub
	for _, s := range spans {
		if s.Name == name {
			out = append(out, s)
		}
	}
	return out
}

// TestSpans: a request span gets the server, the mode and the reason of
// its calls; a WaitGTID read after a write has an "rwsplit.wait" child span
// on the replica with its outcome; a call outside any span gets a short
// "rwsplit.route" span.
func TestSpans(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	db := openStalled(t, sql.OpenDB, rwsplit.WithObserver(rwsplitotel.New(tp)))
	tracer := tp.Tracer("test")

	mode := rwsplit.WaitGTID(time.Second)
	ctx, req := tracer.Start(rwsplit.WithConsistency(context.Background(), mode), "request")
	_, err := db.ExecContext(ctx, "INSERT INTO kv (k, v) VALUES (1, 42)")
	require.NoError(t, err)
	var v int
	require.NoError(t, db.QueryRowContext(ctx, "SELECT v FROM kv WHERE k = 1").Scan(&v))
	assert.Equal(t, 42, v, "the replica caught up on the write")
	req.End()

	spans := exp.GetSpans()
	reqs := spanNamed(t, spans, "request")
	require.Len(t, reqs, 1)
	ra := attrs(reqs[0].Snapshot())
	assert.Equal(t, "replica 0", ra[rwsplitotel.KeyServer].AsString(), "the last route: the read's")
	assert.Equal(t, "WaitGTID(1s)", ra[rwsplitotel.KeyMode].AsString())
	assert.True(t, ra[rwsplitotel.KeyRead].AsBool())
	assert.Equal(t, "replica", ra[rwsplitotel.KeyReason].AsString())
	var routes []string
	for _, ev := range reqs[0].Events {
		if ev.Name == "rwsplit.route" {
			for _, kv := range ev.Attributes {
				if kv.Key == rwsplitotel.KeyServer {
					routes = append(routes, kv.Value.AsString())
				}
			}
		}
	}
	assert.Equal(t, []string{"primary", "replica 0"}, routes, "one event per route: the write, the read")

	waits := spanNamed(t, spans, "rwsplit.wait")
	require.Len(t, waits, 1)
	w := waits[0]
	assert.Equal(t, reqs[0].SpanContext.SpanID(), w.Parent.SpanID(), "a child of the request")
	wa := attrs(w.Snapshot())
	assert.Equal(t, "replica 0", wa[rwsplitotel.KeyServer].AsString())
	assert.Equal(t, "WaitGTID(1s)", wa[rwsplitotel.KeyMode].AsString())
	assert.Equal(t, "ok", wa[rwsplitotel.KeyOutcome].AsString())
	assert.False(t, w.EndTime.Before(w.StartTime))
	assert.NotEqual(t, codes.Error, w.Status.Code)

	// The replica now has the write: the next read skips its wait.
	exp.Reset()
	ctx, req = tracer.Start(rwsplit.WithConsistency(context.Background(), mode), "again")
	require.NoError(t, db.QueryRowContext(ctx, "SELECT v FROM kv WHERE k = 1").Scan(&v))
	req.End()
	waits = spanNamed(t, exp.GetSpans(), "rwsplit.wait")
	require.Len(t, waits, 1)
	assert.Equal(t, "skipped", attrs(waits[0].Snapshot())[rwsplitotel.KeyOutcome].AsString())

	// No span in the context: a span of its own.
	exp.Reset()
	require.NoError(t, db.QueryRowContext(rwsplit.WithConsistency(context.Background(), rwsplit.Primary), "SELECT 1").Scan(&v))
	own := spanNamed(t, exp.GetSpans(), "rwsplit.route")
	require.Len(t, own, 1)
	oa := attrs(own[0].Snapshot())
	assert.Equal(t, "primary", oa[rwsplitotel.KeyServer].AsString())
	assert.Equal(t, "Primary", oa[rwsplitotel.KeyMode].AsString())
	assert.Equal(t, "mode Primary", oa[rwsplitotel.KeyReason].AsString())
}
