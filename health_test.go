package rwsplit_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/rwsplit/rwsplit"
	"github.com/rwsplit/rwsplit/internal/fakedb"
)

func TestCloseStopsGoroutines(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	db, err := rwsplit.Open("mysql", "u:p@tcp(127.0.0.1:1)/x?timeout=100ms",
		[]string{"u:p@tcp(127.0.0.1:2)/x?timeout=100ms", "u:p@tcp(127.0.0.1:3)/x?timeout=100ms"},
		rwsplit.WithMonitorInterval(20*time.Millisecond))
	require.NoError(t, err)
	time.Sleep(150 * time.Millisecond)
	for _, st := range rwsplit.ReplicaStatus(db) {
		assert.Equal(t, rwsplit.StateDown, st.State, "an unreachable replica is down")
		assert.False(t, st.Usable)
		assert.NotEmpty(t, st.LastError)
	}
	require.NoError(t, db.Close())
}

// TestServers: Servers lists the primary, then the replicas in order, as a
// snapshot that later changes leave alone; each server's Health reports its
// last check (the primary's too), its version and its calls.
func TestServers(t *testing.T) {
	cl := fakedb.NewCluster(fakedb.MariaDB, 2)
	db := fakeDB(t, cl, false, rwsplit.WithWeights(3, 1), rwsplit.WithMonitorInterval(20*time.Millisecond))
	checked(t, db)
	srv := db.Servers()
	require.Len(t, srv, 3)
	assert.Same(t, db.Primary(), srv[0].DB())
	assert.Equal(t, db.Replicas(), []*sql.DB{srv[1].DB(), srv[2].DB()})
	assert.Equal(t, []int{-1, 0, 1}, []int{srv[0].Index(), srv[1].Index(), srv[2].Index()})
	assert.Equal(t, []string{"primary", "replica 0", "replica 1"}, []string{srv[0].Name(), srv[1].Name(), srv[2].Name()})
	for i, s := range srv {
		h := s.Health()
		assert.Equal(t, rwsplit.StateUp, h.State, s.Name())
		assert.True(t, h.Usable, s.Name())
		assert.False(t, h.LastCheck.IsZero(), s.Name())
		assert.Empty(t, h.LastError, s.Name())
		assert.Contains(t, h.Version, "MariaDB", s.Name())
		assert.Equal(t, rwsplit.ClusterAsync, h.Kind, s.Name())
		assert.EqualValues(t, -1, h.Queue, s.Name())
		assert.Equal(t, []int{1, 3, 1}[i], h.Weight, s.Name())
	}

	cl.Write(1, 1)
	calls := srv[1].Health().Calls + srv[2].Health().Calls
	reads := srv[1].Health().Reads + srv[2].Health().Reads
	readKV(t, context.Background(), db, 1)
	assert.Equal(t, reads+1, srv[1].Health().Reads+srv[2].Health().Reads, "one read on a replica")
	assert.Equal(t, calls+1, srv[1].Health().Calls+srv[2].Health().Calls)

	cl.Replicas()[1].SetDown(true)
	require.Eventually(t, func() bool { return srv[2].Health().State == rwsplit.StateDown }, 5*time.Second, 5*time.Millisecond)
	h := srv[2].Health()
	assert.False(t, h.Usable)
	assert.NotEmpty(t, h.LastError)
	assert.Empty(t, h.Kind, "the failed check read no member state")

	require.NoError(t, db.RemoveReplica(srv[1].DB()))
	t.Cleanup(func() { _ = srv[1].DB().Close() })
	assert.Len(t, srv, 3, "an earlier answer is a snapshot")
	assert.Equal(t, []*rwsplit.Server{srv[0], srv[2]}, db.Servers())
	assert.Equal(t, 0, srv[2].Index())
}

func TestHealthOptions(t *testing.T) {
	_, err := rwsplit.Open("mysql", "u:p@tcp(127.0.0.1:1)/x", nil, rwsplit.WithMonitorInterval(time.Millisecond))
	assert.ErrorContains(t, err, "WithMonitorInterval(1ms)")
	_, err = rwsplit.Open("mysql", "u:p@tcp(127.0.0.1:1)/x", nil, rwsplit.WithMaxReplicationLag(-time.Second))
	assert.ErrorContains(t, err, "negative")
}
