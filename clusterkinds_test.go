package rwsplit_test

// Cluster kinds on the in-memory driver: what the monitor reads of Group
// Replication members and Galera nodes, which one discovery makes the
// writer, and what happens when a member leaves. The same on real servers:
// clusterkinds_integration_test.go.

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rwsplit/rwsplit"
	"github.com/rwsplit/rwsplit/internal/fakedb"
)

// writerID is the server_id of the server a Primary read reaches.
func writerID(t *testing.T, db *rwsplit.DB) int {
	t.Helper()
	id, err := writerIDNow(db)
	require.NoError(t, err)
	return id
}

// writerIDNow is writerID for a require.Eventually condition: while no
// primary is known (an election under WithWriteHold(0)) the read fails,
// which is not the test's failure.
func writerIDNow(db *rwsplit.DB) (int, error) {
	var id int
	err := db.QueryRowContext(rwsplit.WithConsistency(context.Background(), rwsplit.Primary), "SELECT @@server_id").Scan(&id)
	return id, err
}

// writerIs reports whether a Primary read reaches the server with id want.
func writerIs(db *rwsplit.DB, want int) bool {
	id, err := writerIDNow(db)
	return err == nil && id == want
}

// TestClusterKindDiscovery: on every kind, discovery finds one writer and
// every other member serves reads, reported with its kind and state:
// asynchronous replication's one writable server, Group Replication's
// primary, a multi-primary group's member of lowest member id, Galera's
// node of lowest name. No write fails for want of a primary.
func TestClusterKindDiscovery(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func() *fakedb.Cluster
		kind  rwsplit.ClusterKind
		state string
	}{
		{"async", func() *fakedb.Cluster { return fakedb.NewCluster(fakedb.MySQL, 2) }, rwsplit.ClusterAsync, ""},
		{"group-replication", func() *fakedb.Cluster {
			c := fakedb.NewCluster(fakedb.MySQL, 2)
			c.SetKind(fakedb.GroupReplication)
			return c
		}, rwsplit.ClusterGroupReplication, "ONLINE"},
		{"group-replication-multi-primary", func() *fakedb.Cluster {
			c := fakedb.NewCluster(fakedb.MySQL, 2)
			c.SetKind(fakedb.GroupReplication)
			c.SetMultiPrimary(true)
			return c
		}, rwsplit.ClusterGroupReplication, "ONLINE"},
		{"galera", func() *fakedb.Cluster {
			c := fakedb.NewCluster(fakedb.MariaDB, 2)
			c.SetKind(fakedb.Galera)
			return c
		}, rwsplit.ClusterGalera, "Synced"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cl := tc.setup()
			db, _ := discoveryDB(t, cl, rwsplit.WithMonitorInterval(10*time.Millisecond))
			// The writer: the fakedb primary (server id 1), which is also
			// the member of lowest member uuid and of lowest node name.
			assert.Equal(t, cl.Primary().ID(), writerID(t, db))
			names := map[string]bool{}
			for _, st := range rwsplit.ReplicaStatus(db) {
				assert.Equal(t, tc.kind, st.Kind, st.Name)
				assert.Equal(t, tc.state, st.MemberState, st.Name)
				assert.True(t, st.Usable, "%s: %s %s", st.Name, st.State, st.LastError)
				assert.False(t, names[st.Name], "unique names: %s", st.Name)
				names[st.Name] = true
			}
			for k := int64(1); k <= 12; k++ {
				_, err := db.ExecContext(context.Background(), insertKV, k, k)
				require.NoError(t, err, "write %d", k)
			}
			served := map[int]int{}
			for range 40 {
				var id int
				require.NoError(t, db.QueryRowContext(context.Background(), "SELECT @@server_id").Scan(&id))
				served[id]++
			}
			assert.Zero(t, served[cl.Primary().ID()], "Eventual reads stay off the writer: %v", served)
			assert.Len(t, served, 2, "both other members serve: %v", served)
		})
	}
}

// TestClusterKindMemberLeaves: a Group Replication member that is not ONLINE
// and a Galera node that left the primary component stop serving; a read
// that meets the Galera node first (error 1047) is retried elsewhere. When
// the writer itself leaves (a GR election, the Galera writer out of the
// primary component), writes follow the new writer within 2 monitor rounds.
func TestClusterKindMemberLeaves(t *testing.T) {
	t.Run("group-replication", func(t *testing.T) {
		cl := fakedb.NewCluster(fakedb.MySQL, 2)
		cl.SetKind(fakedb.GroupReplication)
		db, _ := discoveryDB(t, cl, rwsplit.WithMonitorInterval(10*time.Millisecond), rwsplit.WithWriteHold(0))
		r0 := cl.Replicas()[0]
		r0.SetMemberState(fakedb.MemberRecovering)
		require.Eventually(t, func() bool { return usable(db) == 1 }, 5*time.Second, time.Millisecond, "%+v", rwsplit.ReplicaStatus(db))
		r0.SetMemberState(fakedb.MemberOnline)
		require.Eventually(t, func() bool { return usable(db) == 2 }, 5*time.Second, time.Millisecond, "%+v", rwsplit.ReplicaStatus(db))

		// An election: the group makes replica 1 the primary.
		next := cl.Replicas()[1]
		cl.Promote(next)
		require.Eventually(t, func() bool { return writerIs(db, next.ID()) }, 5*time.Second, time.Millisecond)
		_, err := db.ExecContext(context.Background(), insertKV, 1, 1)
		require.NoError(t, err)
		v, ok := next.Value(1)
		assert.True(t, ok && v == 1, "the write went to the new primary")

		// The primary cut off in a minority (it still says ONLINE and
		// PRIMARY; the others are UNREACHABLE from where it stands): it
		// takes no more writes, and no member in the minority serves.
		for _, r := range cl.Replicas() {
			r.SetMemberState(fakedb.MemberUnreachable)
		}
		require.Eventually(t, func() bool {
			_, err := db.ExecContext(context.Background(), insertKV, 2, 2)
			return errors.Is(err, rwsplit.ErrNoPrimary) && usable(db) == 0
		}, 5*time.Second, time.Millisecond, "%+v", rwsplit.ReplicaStatus(db))
		for _, r := range cl.Replicas() {
			r.SetMemberState(fakedb.MemberOnline)
		}
		require.Eventually(t, func() bool {
			var id int
			err := db.QueryRowContext(rwsplit.WithConsistency(context.Background(), rwsplit.Primary), "SELECT @@server_id").Scan(&id)
			return err == nil && id == next.ID() && usable(db) == 2
		}, 5*time.Second, time.Millisecond, "%+v", rwsplit.ReplicaStatus(db))
	})
	t.Run("galera", func(t *testing.T) {
		cl := fakedb.NewCluster(fakedb.MariaDB, 2)
		cl.SetKind(fakedb.Galera)
		db, _ := discoveryDB(t, cl, rwsplit.WithMonitorInterval(10*time.Millisecond))
		r0 := cl.Replicas()[0]
		// Out of the primary component: the monitor takes it out.
		r0.SetGaleraState(fakedb.GaleraNonPrimary)
		require.Eventually(t, func() bool { return usable(db) == 1 }, 5*time.Second, time.Millisecond, "%+v", rwsplit.ReplicaStatus(db))
		r0.SetGaleraState(fakedb.GaleraSynced)
		require.Eventually(t, func() bool { return usable(db) == 2 }, 5*time.Second, time.Millisecond, "%+v", rwsplit.ReplicaStatus(db))

		// The writer leaves: the node of next lowest name takes the writes.
		p := cl.Primary()
		p.SetGaleraState(fakedb.GaleraNonPrimary)
		require.Eventually(t, func() bool { return writerIs(db, r0.ID()) }, 5*time.Second, time.Millisecond)
		_, err := db.ExecContext(context.Background(), insertKV, 2, 2)
		require.NoError(t, err)
		// It comes back: the writer stays where it is (sticky).
		p.SetGaleraState(fakedb.GaleraSynced)
		require.Eventually(t, func() bool { return usable(db) == 2 }, 5*time.Second, time.Millisecond, "%+v", rwsplit.ReplicaStatus(db))
		assert.Equal(t, r0.ID(), writerID(t, db), "no failback")

		// The writer desynced (a backup's FLUSH TABLES WITH READ LOCK):
		// the writes move to a synced node; with every node desynced they
		// stay where they are rather than fail.
		r0.SetGaleraState(fakedb.GaleraDesynced)
		require.Eventually(t, func() bool { return writerIs(db, p.ID()) }, 5*time.Second, time.Millisecond)
		for _, s := range cl.Servers() {
			s.SetGaleraState(fakedb.GaleraDesynced)
		}
		for k := int64(10); k < 20; k++ {
			_, err := db.ExecContext(context.Background(), insertKV, k, k)
			require.NoError(t, err, "no write fails while a node takes writes")
		}
		assert.Equal(t, p.ID(), writerID(t, db))
	})
}

// TestGaleraNodeNotReadyRetried: a read that meets a Galera node out of the
// primary component before the monitor does (error 1047: the statement did
// not run) is retried on another node, and the node is out of rotation.
func TestGaleraNodeNotReadyRetried(t *testing.T) {
	cl := fakedb.NewCluster(fakedb.MariaDB, 2)
	cl.SetKind(fakedb.Galera)
	db := fakeDB(t, cl, false) // monitored once, at the start
	require.Eventually(t, func() bool { return usable(db) == 2 && rwsplit.ReplicaStatus(db)[0].LastCheck != time.Time{} },
		5*time.Second, time.Millisecond)
	cl.Replicas()[0].SetGaleraState(fakedb.GaleraNonPrimary)
	for k := range int64(10) {
		var v sql.NullInt64
		err := db.QueryRowContext(context.Background(), "SELECT v FROM kv WHERE k = ?", k).Scan(&v)
		require.True(t, err == nil || errors.Is(err, sql.ErrNoRows), "read %d: %v", k, err)
	}
	assert.EqualValues(t, 1, db.Stats().Retries, "the first read on the node was retried elsewhere")
	assert.Equal(t, 1, usable(db), "the node is out: %+v", rwsplit.ReplicaStatus(db))
}

// usable counts db's replicas that serve reads.
func usable(db *rwsplit.DB) int {
	n := 0
	for _, st := range rwsplit.ReplicaStatus(db) {
		if st.Usable {
			n++
		}
	}
	return n
}

// TestGaleraLoggedNotCommitted: a Galera node's gtid_binlog_pos names a
// write set before InnoDB commits it (a new snapshot misses it meanwhile).
// A read that must see the write does not skip its wait on the strength of
// the monitor's look at that position (TestChaos/galera, seed
// 1796311044989356949: a token read on a node that had logged the write,
// not committed it): it waits, and falls back to the writer.
func TestGaleraLoggedNotCommitted(t *testing.T) {
	cl := fakedb.NewCluster(fakedb.MariaDB, 2)
	cl.SetKind(fakedb.Galera)
	db, _ := discoveryDB(t, cl, rwsplit.WithMonitorInterval(10*time.Millisecond))
	for _, r := range cl.Replicas() {
		r.SetLag(time.Hour) // nothing is committed on the other nodes...
		r.SetLoggedAhead(1) // ... but the next write set is logged there
	}
	ctx := context.Background()
	_, err := db.ExecContext(ctx, insertKV, 1, 1)
	require.NoError(t, err)
	wrote := time.Now()
	require.Eventually(t, func() bool {
		for _, st := range rwsplit.ReplicaStatus(db) {
			if !st.Usable || !st.LastCheck.After(wrote.Add(20*time.Millisecond)) {
				return false
			}
		}
		return true
	}, 5*time.Second, time.Millisecond, "the monitor looked at every node after the write: %+v", rwsplit.ReplicaStatus(db))
	for _, mode := range []rwsplit.Consistency{rwsplit.WaitGTID(100 * time.Millisecond),
		rwsplit.WaitPosition(100 * time.Millisecond), rwsplit.Fast} {
		var v int64
		found, err := scanFound(db.QueryRowContext(rwsplit.WithConsistency(ctx, mode), selectKV, 1).Scan(&v))
		require.NoError(t, err, "%v", mode)
		assert.True(t, found, "%v reads its write", mode)
	}
	assert.Zero(t, db.Stats().WaitsSkipped, "no wait skipped on a logged position")
}
