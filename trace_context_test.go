package rwsplit_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rwsplit/rwsplit"
	"github.com/rwsplit/rwsplit/internal/fakedb"
)

// TestTrace: a context carrying a Trace records where its calls ran and
// why (routes, waits); calls without one record nothing; Observers passes
// every event to each observer in the list.
func TestTrace(t *testing.T) {
	c := fakedb.NewCluster(fakedb.MySQL, 2)
	stalled(c)
	rec := new(recorder)
	db := fakeDB(t, c, false, rwsplit.WithObserver(rwsplit.Observers(nil, rwsplit.TraceObserver(), rec.observer())))
	checked(t, db)
	bg := context.Background()
	mode := rwsplit.WaitGTID(5 * time.Second)

	var tr rwsplit.Trace
	assert.Nil(t, tr.Server())
	ctx := rwsplit.WithTrace(rwsplit.WithConsistency(bg, mode), &tr)
	assert.Same(t, &tr, rwsplit.TraceFrom(ctx))
	_, err := db.ExecContext(ctx, insertKV, 1, 1)
	require.NoError(t, err)
	assert.Same(t, rwsplit.PrimaryServer(db), tr.Server())
	readKV(t, ctx, db, 1)
	routes := tr.Routes()
	require.Len(t, routes, 2)
	assert.Equal(t, "exec", routes[0].Reason)
	assert.Contains(t, rwsplit.ReplicaServers(db), tr.Server())
	assert.Equal(t, mode, routes[1].Mode)
	waits := tr.Waits()
	require.Len(t, waits, 1)
	assert.Equal(t, rwsplit.WaitOK, waits[0].Outcome)
	assert.Contains(t, tr.String(), "route primary: exec\n")
	assert.Contains(t, tr.String(), "wait "+tr.Server().Name()+" WaitGTID(5s): ok in ")
	assert.Empty(t, tr.Fallbacks())
	assert.Empty(t, tr.Retries())
	assert.Empty(t, tr.Hedges())

	readKV(t, bg, db, 1) // no trace in its context
	assert.Len(t, tr.Routes(), 2)
	assert.Len(t, rec.snapshot().routes, 3, "the other observer saw every call")

	assert.Nil(t, rwsplit.Observers(nil, nil), "no observer at all")
}

// TestTraceHedge: a hedged read's trace names the server whose answer was
// returned.
func TestTraceHedge(t *testing.T) {
	c := fakedb.NewCluster(fakedb.MySQL, 2)
	db := hedgeDB(t, c, false, true, testBound, rwsplit.WithObserver(rwsplit.TraceObserver()))
	defer db.Close()
	hung := c.Replicas()[0]
	hung.Hang()
	defer hung.Unhang()
	var tr rwsplit.Trace
	ctx, cancel := context.WithTimeout(rwsplit.WithTrace(context.Background(), &tr), 10*time.Second)
	defer cancel()
	readKV(t, ctx, db, 1)
	require.Len(t, tr.Routes(), 1)
	assert.Same(t, rwsplit.ReplicaServers(db)[0], tr.Routes()[0].Server)
	assert.Len(t, tr.Hedges(), 2)
	assert.Same(t, rwsplit.ReplicaServers(db)[1], tr.Server(), "the hedge answered")
	assert.Contains(t, tr.String(), "hedge replica 0 -> replica 1 (won: true)")
}
