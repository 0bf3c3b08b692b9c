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

// lastServer is where the latest call a Trace recorded ran: its last
// route's server (nil before any).
func lastServer(tr *rwsplit.Trace) *rwsplit.Server {
	rs := tr.Routes()
	if len(rs) == 0 {
		return nil
	}
	return rs[len(rs)-1].Server
}

// TestTrace: a context carrying a Trace records where its calls ran and
// why (routes, waits), on a DB with no observer as on one with several;
// calls without one record nothing; the observers see every call.
func TestTrace(t *testing.T) {
	for _, observed := range []bool{false, true} {
		t.Run(map[bool]string{false: "no observer", true: "observers"}[observed], func(t *testing.T) {
			c := fakedb.NewCluster(fakedb.MySQL, 2)
			stalled(c)
			rec, rec2 := new(recorder), new(recorder)
			var opts []rwsplit.Option
			if observed {
				opts = append(opts, rwsplit.WithObserver(rec.observer()), rwsplit.WithObserver(rec2.observer()))
			}
			db := fakeDB(t, c, false, opts...)
			checked(t, db)
			bg := context.Background()
			mode := rwsplit.WaitGTID(5 * time.Second)

			var tr rwsplit.Trace
			assert.Nil(t, lastServer(&tr))
			ctx := rwsplit.WithTrace(rwsplit.WithConsistency(bg, mode), &tr)
			_, err := db.ExecContext(ctx, insertKV, 1, 1)
			require.NoError(t, err)
			assert.Same(t, rwsplit.PrimaryServer(db), lastServer(&tr))
			readKV(t, ctx, db, 1)
			routes := tr.Routes()
			require.Len(t, routes, 2)
			assert.Equal(t, "exec", routes[0].Reason)
			assert.Contains(t, rwsplit.ReplicaServers(db), lastServer(&tr))
			assert.Equal(t, mode, routes[1].Mode)
			waits := tr.Waits()
			require.Len(t, waits, 1)
			assert.NoError(t, waits[0].Err)
			assert.False(t, waits[0].Skipped)
			assert.Contains(t, tr.String(), "route primary: exec\n")
			assert.Contains(t, tr.String(), "wait "+lastServer(&tr).Name()+" WaitGTID(5s): ok in ")
			for _, r := range routes {
				assert.NotContains(t, []string{"fallback", "retry", "hedge", "hedge won"}, r.Reason, "no move")
				assert.Nil(t, r.From)
				assert.NoError(t, r.Cause)
			}

			readKV(t, bg, db, 1) // no trace in its context
			assert.Len(t, tr.Routes(), 2)
			if observed {
				assert.Len(t, rec.snapshot().routes, 3, "the observers saw every call")
				assert.Len(t, rec2.snapshot().routes, 3)
				assert.Len(t, rec.snapshot().ends, 1)
			}
		})
	}
}

// TestTraceHedge: a hedged read's trace records the hedge and its win: its
// last route names the server whose answer was returned.
func TestTraceHedge(t *testing.T) {
	c := fakedb.NewCluster(fakedb.MySQL, 2)
	db := hedgeDB(t, c, false, true, testBound)
	defer db.Close()
	hung := c.Replicas()[0]
	hung.Hang()
	defer hung.Unhang()
	var tr rwsplit.Trace
	ctx, cancel := context.WithTimeout(rwsplit.WithTrace(context.Background(), &tr), 10*time.Second)
	defer cancel()
	readKV(t, ctx, db, 1)
	routes := tr.Routes()
	require.Len(t, routes, 3)
	assert.Same(t, rwsplit.ReplicaServers(db)[0], routes[0].Server)
	assert.Equal(t, "hedge", routes[1].Reason)
	assert.Equal(t, "hedge won", routes[2].Reason)
	assert.Same(t, rwsplit.ReplicaServers(db)[1], lastServer(&tr), "the hedge answered")
	assert.Contains(t, tr.String(), "route replica 1: hedge won (Eventual) from replica 0")
}
