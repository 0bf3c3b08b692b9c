package rwsplitotel_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"strings"
	"testing"
	"time"

	"github.com/XSAM/otelsql"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/rwsplit/rwsplit"
	rwsplitotel "github.com/rwsplit/rwsplit/examples/otel"
)

// TestComposesWithOtelsql: driver-level instrumentation goes under the
// pools rwsplit routes between (here otelsql.OpenDB over each server's
// connector, given to rwsplit.New; with rwsplit.Open, pass the driver name
// otelsql.Register returns). In one request's trace, otelsql's spans
// show each statement sent, rwsplit's own (the capture of the primary's
// position, the wait on the replica) included, and the Observer's
// attributes and wait span show where rwsplit sent the call and why.
func TestComposesWithOtelsql(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	pool := func(k driver.Connector) *sql.DB {
		return otelsql.OpenDB(k, otelsql.WithTracerProvider(tp))
	}
	db := openStalled(t, pool, rwsplit.WithObserver(rwsplitotel.New(tp)))
	exp.Reset() // the monitor's statements

	ctx, req := tp.Tracer("test").Start(rwsplit.WithConsistency(context.Background(), rwsplit.WaitGTID(time.Second)), "request")
	_, err := db.ExecContext(ctx, "INSERT INTO kv (k, v) VALUES (1, 42)")
	require.NoError(t, err)
	var v int
	require.NoError(t, db.QueryRowContext(ctx, "SELECT v FROM kv WHERE k = 1").Scan(&v))
	assert.Equal(t, 42, v, "the replica caught up on the write")
	req.End()

	var reqSpan tracetest.SpanStub
	for _, s := range exp.GetSpans() {
		if s.Name == "request" {
			reqSpan = s
		}
	}
	require.Equal(t, "request", reqSpan.Name)
	var statements []string
	var waitSpans int
	for _, s := range exp.GetSpans() {
		if s.Parent.SpanID() != reqSpan.SpanContext.SpanID() {
			continue
		}
		if s.Name == "rwsplit.wait" {
			waitSpans++
			continue
		}
		for _, kv := range s.Attributes {
			if text := kv.Value.Emit(); strings.Contains(text, "SELECT") || strings.Contains(text, "INSERT") {
				statements = append(statements, s.Name+": "+text)
			}
		}
	}
	t.Logf("statements otelsql saw under the request: %q", statements)
	joined := strings.Join(statements, "\n")
	assert.Contains(t, joined, "INSERT INTO kv", "the write")
	assert.Contains(t, joined, "gtid_binlog_pos", "rwsplit's capture of the primary's position")
	assert.Contains(t, joined, "MASTER_GTID_WAIT", "rwsplit's wait on the replica")
	assert.Contains(t, joined, "SELECT v FROM kv", "the read")
	assert.Equal(t, 1, waitSpans, "the Observer's wait span")
	ra := attrs(reqSpan.Snapshot())
	assert.Equal(t, "replica 0", ra[rwsplitotel.KeyServer].AsString())
}
