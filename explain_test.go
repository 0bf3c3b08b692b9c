package rwsplit_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rwsplit/rwsplit"
	"github.com/rwsplit/rwsplit/internal/dialect"
	"github.com/rwsplit/rwsplit/internal/fakedb"
)

// statementCount is how many statements every server of c received.
func statementCount(c *fakedb.Cluster) int {
	n := 0
	for _, s := range c.Servers() {
		n += len(s.Statements())
	}
	return n
}

// TestExplain: Explain names the server or the candidates and why (the
// classifier's verdict, the mode, whether a wait is needed, skipped or
// depends on a read of the primary), and sends nothing to any server.
func TestExplain(t *testing.T) {
	for _, f := range fakeFlavors {
		t.Run(f.String(), func(t *testing.T) {
			c := fakedb.NewCluster(f, 2)
			stalled(c)
			db := fakeDB(t, c, false) // monitor: its first round only
			checked(t, db)
			quiet(t, c, db) // connector_test.go: the first round is over
			bg := context.Background()
			p, r0, r1 := rwsplit.PrimaryServer(db), rwsplit.ReplicaServers(db)[0], rwsplit.ReplicaServers(db)[1]
			explain := func(ctx context.Context, q string) rwsplit.RouteExplanation {
				t.Helper()
				before := statementCount(c)
				e := db.Explain(ctx, q)
				assert.Equal(t, before, statementCount(c), "Explain sent a statement")
				t.Log(e)
				return e
			}

			e := explain(bg, insertKV)
			assert.True(t, e.Primary)
			assert.Same(t, p, e.Server)
			assert.True(t, e.Write)
			assert.False(t, e.ReplicaSafe)
			assert.NotEmpty(t, e.Reason)
			assert.Equal(t, []*rwsplit.Server{p, r0, r1}, db.Servers(), "the servers whose Health Explain weighs")

			e = explain(bg, "SELECT v FROM kv WHERE k = 1 FOR UPDATE")
			assert.True(t, e.Primary)
			assert.False(t, e.Write)
			assert.NotEmpty(t, e.Reason, "the classifier's reason")
			assert.Contains(t, e.String(), "primary: the classifier sends it to the primary: "+e.Reason)

			e = explain(bg, selectKV)
			assert.False(t, e.Primary)
			assert.True(t, e.ReplicaSafe)
			assert.Empty(t, e.Reason)
			assert.Equal(t, rwsplit.Eventual, e.Mode)
			assert.ElementsMatch(t, []*rwsplit.Server{r0, r1}, e.Candidates)
			assert.Nil(t, e.Server, "the balancer picks when the call runs")
			assert.Equal(t, "none", e.Wait)
			assert.Equal(t, "primary", e.Fallback)

			e = explain(rwsplit.WithConsistency(bg, rwsplit.Primary), selectKV)
			assert.True(t, e.Primary)
			assert.Same(t, p, e.Server)

			sess := rwsplit.NewSession(rwsplit.Token{})
			mode := rwsplit.WaitGTID(5 * time.Second)
			ctx := rwsplit.WithConsistency(rwsplit.WithSession(bg, sess), mode)
			e = explain(ctx, selectKV)
			assert.True(t, e.Session)
			assert.Equal(t, "none", e.Wait, "the session has written nothing")

			_, err := db.ExecContext(ctx, insertKV, 1, 1)
			require.NoError(t, err)
			e = explain(ctx, selectKV)
			assert.True(t, e.Capture, "the write's position is pending")
			assert.Equal(t, "after a read of the primary", e.Wait)
			assert.Equal(t, mode, e.Mode)

			_ = sess.Token() // reads the position: no write pending now
			e = explain(ctx, selectKV)
			assert.False(t, e.Capture)
			assert.Equal(t, "wait", e.Wait, "no replica has applied the write (appliers stopped)")
			assert.ElementsMatch(t, []*rwsplit.Server{r0, r1}, e.Candidates)

			e = explain(rwsplit.WithConsistency(rwsplit.WithSession(bg, sess), rwsplit.Fast), selectKV)
			assert.True(t, e.Primary, "Fast: no replica known to have the write")
			e = explain(rwsplit.WithConsistency(rwsplit.WithSession(bg, sess), rwsplit.Fast.OrFail()), selectKV)
			assert.ErrorIs(t, e.Err, rwsplit.ErrReplicaNotCaughtUp)
			assert.Equal(t, "error", e.Fallback)

			// A real read waits on one replica, which is then known to
			// have the write: Explain says the wait is skipped there.
			v, found := readKV(t, ctx, db, 1)
			require.True(t, found)
			require.EqualValues(t, 1, v)
			e = explain(ctx, selectKV)
			assert.Equal(t, "skip", e.Wait)
			require.Len(t, e.Candidates, 1)
			assert.NotNil(t, e.Server)
			assert.Same(t, e.Candidates[0], e.Server)
			assert.Contains(t, e.String(), "wait: skip")

			e = explain(rwsplit.WithConsistency(bg, rwsplit.Latest(time.Second)), selectKV)
			assert.Equal(t, "after a read of the primary", e.Wait)
			e = explain(rwsplit.WithConsistency(bg, rwsplit.CaughtUp(time.Second)), selectKV)
			assert.Equal(t, "poll", e.Wait)
			e = explain(rwsplit.WithConsistency(bg, rwsplit.Sleep(time.Hour)), selectKV)
			assert.Equal(t, "sleep", e.Wait, "the process scope wrote just now")
			assert.Greater(t, e.Sleep, 59*time.Minute)
			e = explain(rwsplit.WithConsistency(bg, rwsplit.MaxStaleness(time.Hour)), selectKV)
			// The monitor's first round measured the replicas against
			// New's look at the primary, before any write: 0 lag then,
			// within an hour since.
			assert.Len(t, e.Candidates, 2)
			assert.False(t, e.Primary, "both replicas measured fresh at the first round")
			e = explain(rwsplit.WithConsistency(bg, rwsplit.MaxStaleness(time.Nanosecond)), selectKV)
			assert.True(t, e.Primary, "no replica within 1ns")

			require.NoError(t, db.Close())
			assert.ErrorIs(t, db.Explain(bg, selectKV).Err, rwsplit.ErrClosed)
		})
	}
}

// TestExplainMonotonicAndHealth: Monotonic stays on its replica; a replica
// the monitor sees down leaves the candidates, and with none usable the
// read goes to the primary, or fails under WithPrimaryFallback(false).
func TestExplainMonotonicAndHealth(t *testing.T) {
	c := fakedb.NewCluster(fakedb.MySQL, 2)
	db := fakeDB(t, c, false, rwsplit.WithMonitorInterval(20*time.Millisecond))
	checked(t, db)
	bg := context.Background()
	sess := rwsplit.NewSession(rwsplit.Token{})
	ctx := rwsplit.WithConsistency(rwsplit.WithSession(bg, sess), rwsplit.Monotonic(time.Second))
	readKV(t, ctx, db, 1)
	e := db.Explain(ctx, selectKV)
	require.NotNil(t, e.Server)
	assert.Contains(t, e.Steps, "stays on the replica of the scope's latest Monotonic read")

	c.Replicas()[0].SetDown(true)
	require.Eventually(t, func() bool { return len(db.Explain(bg, selectKV).Candidates) == 1 }, 5*time.Second, 5*time.Millisecond)
	e = db.Explain(bg, selectKV)
	assert.Equal(t, []*rwsplit.Server{rwsplit.ReplicaServers(db)[1]}, e.Candidates)
	assert.Same(t, rwsplit.ReplicaServers(db)[1], e.Server)
	assert.False(t, rwsplit.ReplicaServers(db)[0].Health().Usable)

	c.Replicas()[1].SetDown(true)
	require.Eventually(t, func() bool { return db.Explain(bg, selectKV).Primary }, 5*time.Second, 5*time.Millisecond)
	e = db.Explain(bg, selectKV)
	assert.True(t, e.Primary)
	assert.Contains(t, e.Steps, "no usable replica")

	strict := fakeDB(t, c, false, rwsplit.WithMonitorInterval(20*time.Millisecond), rwsplit.WithPrimaryFallback(false))
	require.Eventually(t, func() bool { return len(strict.Explain(bg, selectKV).Candidates) == 0 }, 5*time.Second, 5*time.Millisecond)
	assert.ErrorIs(t, strict.Explain(bg, selectKV).Err, rwsplit.ErrNoReplica)
}

// TestExplainWaitPosition: Explain says which wait a WaitPosition read
// sends: the GTIDs read with the position where the primary and the
// replicas report gtid_mode ON, else the position, with what the position
// wait costs on MySQL's multi-threaded applier; MariaDB's position wait.
func TestExplainWaitPosition(t *testing.T) {
	for _, tc := range []struct {
		name   string
		flavor dialect.Flavor
		mode   string // the primary's gtid_mode as reported; "" is ON
		want   string
	}{
		{"mysql", fakedb.MySQL, "", "WAIT_FOR_EXECUTED_GTID_SET"},
		{"mysql ON_PERMISSIVE", fakedb.MySQL, "ON_PERMISSIVE", "replica_checkpoint_period"},
		{"mariadb", fakedb.MariaDB, "", "MASTER_POS_WAIT"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := fakedb.NewCluster(tc.flavor, 2)
			stalled(c)
			if tc.mode != "" {
				c.Primary().SetGTIDMode(tc.mode)
			}
			db := fakeDB(t, c, false)
			checked(t, db)
			quiet(t, c, db)
			rwsplit.MonitorRound(db)
			for _, r := range rwsplit.ReplicaServers(db) {
				_, err := rwsplit.DetectVersion(context.Background(), r)
				require.NoError(t, err)
			}
			sess := rwsplit.NewSession(rwsplit.Token{})
			ctx := rwsplit.WithConsistency(rwsplit.WithSession(context.Background(), sess), rwsplit.WaitPosition(time.Second))
			_, err := db.ExecContext(ctx, insertKV, 1, 1)
			require.NoError(t, err)
			e := db.Explain(ctx, selectKV)
			assert.Equal(t, "after a read of the primary", e.Wait)
			assert.Contains(t, e.String(), tc.want, "a write pending")
			_ = sess.Token()
			e = db.Explain(ctx, selectKV)
			t.Log(e)
			assert.Equal(t, "wait", e.Wait)
			assert.Contains(t, e.String(), tc.want)
		})
	}
}
