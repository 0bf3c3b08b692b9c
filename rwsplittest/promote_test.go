package rwsplittest_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rwsplit/rwsplit/rwsplittest"
)

// insert writes row id on n through a fresh app connection (a handle opened
// before a fault may hold dead connections).
func insert(t *testing.T, n *rwsplittest.Node, id int) {
	t.Helper()
	_, err := open(t, n.DSN("readTimeout=30s")).Exec("INSERT INTO kit VALUES (?, ?)", id, n.Name)
	require.NoError(t, err, "write on %s", n.Name)
}

// has reports how many rows with id n holds.
func has(t *testing.T, n *rwsplittest.Node, id int) int {
	t.Helper()
	return count(t, open(t, n.DSN("readTimeout=30s")), id)
}

// assertEveryReplicaHas waits until every replica of c caught up and checks
// that each holds row id.
func assertEveryReplicaHas(t *testing.T, ctx context.Context, c *rwsplittest.Cluster, id int) {
	t.Helper()
	require.NoError(t, c.WaitCaughtUp(ctx))
	for _, r := range c.Replicas {
		assert.Equal(t, 1, has(t, r, id), "%s (replicating from %s) must have row %d", r.Name, r.Source.Name, id)
	}
}

// assertRefusesWrites checks that the app user cannot write on n: the
// read-only error, ER_OPTION_PREVENTS_STATEMENT.
func assertRefusesWrites(t *testing.T, n *rwsplittest.Node) {
	t.Helper()
	_, err := open(t, n.DSN("readTimeout=30s")).Exec("INSERT INTO kit VALUES (?, 'refused')", 999000+n.ServerID)
	var me *mysql.MySQLError
	require.True(t, errors.As(err, &me), "%s: want a MySQL error, got %v", n.Name, err)
	assert.Equal(t, uint16(1290), me.Number, "%s: want the read-only error: %v", n.Name, err)
}

// receiving reports whether n's receiver (IO thread) is connected to its
// source.
func receiving(t *testing.T, ctx context.Context, n *rwsplittest.Node) bool {
	t.Helper()
	st, err := n.ReplicaStatus(ctx)
	require.NoError(t, err)
	return st["Replica_IO_Running"] == "Yes" || st["Slave_IO_Running"] == "Yes"
}

// TestFailover runs, on one semi-synchronous cluster per flavor with three
// replicas and one cascaded replica, the primary's faults and then a chain
// of promotions, one of each mode, each starting from the topology the
// previous one left.
func TestFailover(t *testing.T) {
	if testing.Short() && !rwsplittest.InCI() {
		t.Skip("integration test: skipped in -short mode (make unit)")
	}
	for _, flavor := range rwsplittest.Flavors {
		t.Run(string(flavor), func(t *testing.T) {
			t.Parallel()
			c := rwsplittest.Start(t, flavor, rwsplittest.WithReplicas(3),
				rwsplittest.WithCascadedReplicas(1), rwsplittest.WithSemiSync(1))
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			require.Len(t, c.Replicas, 4)
			nodes := map[string]*rwsplittest.Node{}
			for _, n := range c.Nodes() {
				nodes[n.Name] = n
			}
			_, err := open(t, c.Primary.DSN()).Exec("CREATE TABLE kit (id INT PRIMARY KEY, v VARCHAR(20))")
			require.NoError(t, err)

			steps := []struct {
				name string
				run  func(t *testing.T)
			}{
				{"semi-sync on", func(t *testing.T) {
					assert.Equal(t, 1, c.SemiSyncAcks)
					on, clients, err := c.SemiSyncStatus(ctx)
					require.NoError(t, err)
					assert.True(t, on, "primary's semi-sync status")
					assert.Equal(t, 3, clients, "the first-tier replicas acknowledge, not the cascaded one")
				}},
				{"cascaded replica", func(t *testing.T) {
					r4 := nodes["replica4"]
					assert.Same(t, nodes["replica1"], r4.Source)
					assert.Same(t, c.Primary, nodes["replica1"].Source)
					assert.Nil(t, c.Primary.Source)
					insert(t, c.Primary, 1)
					require.NoError(t, r4.WaitCaughtUp(ctx))
					assert.Equal(t, 1, has(t, r4, 1))

					require.NoError(t, r4.StopApplier(ctx))
					insert(t, c.Primary, 2)
					require.NoError(t, nodes["replica1"].WaitCaughtUp(ctx))
					time.Sleep(300 * time.Millisecond)
					assert.Equal(t, 0, has(t, r4, 2), "a stopped applier holds the cascaded replica back")
					require.NoError(t, r4.StartApplier(ctx))
					assertEveryReplicaHas(t, ctx, c, 2)
				}},
				{"primary pause/unpause", func(t *testing.T) {
					require.NoError(t, c.Primary.Pause(ctx))
					assert.False(t, reachable(t, c.Primary), "a paused primary must not answer")
					assert.Eventually(t, func() bool { return !receiving(t, ctx, c.Replicas[0]) }, 20*time.Second, 200*time.Millisecond,
						"a replica gives the paused primary up after replica_net_timeout")
					require.NoError(t, c.Primary.Unpause(ctx))
					insert(t, c.Primary, 3)
					assertEveryReplicaHas(t, ctx, c, 3)
				}},
				{"primary disconnect/reconnect", func(t *testing.T) {
					require.NoError(t, c.Primary.Disconnect(ctx))
					assert.False(t, reachable(t, c.Primary), "a disconnected primary must not answer")
					assert.Eventually(t, func() bool { return !receiving(t, ctx, c.Replicas[0]) }, 20*time.Second, 200*time.Millisecond,
						"a replica gives the disconnected primary up after replica_net_timeout")
					require.NoError(t, c.Primary.Reconnect(ctx))
					insert(t, c.Primary, 4)
					assertEveryReplicaHas(t, ctx, c, 4)
				}},
				{"ReadOnlyOldPrimary", func(t *testing.T) {
					old, next := c.Primary, nodes["replica2"]
					p, err := c.Promote(ctx, next, rwsplittest.ReadOnlyOldPrimary)
					require.NoError(t, err)
					t.Logf("%v: writes down %v, total %v", rwsplittest.ReadOnlyOldPrimary, p.WriteDowntime, p.Total)
					assert.Same(t, next, c.Primary)
					assert.False(t, next.Replica)
					assert.Equal(t, []*rwsplittest.Node{old}, c.Retired)
					assert.False(t, old.Replica)
					assert.Nil(t, old.Source)
					assert.NotContains(t, c.Replicas, old)
					assert.Same(t, nodes["replica1"], nodes["replica4"].Source, "a cascaded replica keeps its source")

					insert(t, c.Primary, 5)
					assertEveryReplicaHas(t, ctx, c, 5)
					assertRefusesWrites(t, old)
					assert.Equal(t, 0, has(t, old, 5), "the read-only old primary replicates from nobody")
					assert.Equal(t, 1, has(t, old, 4), "it keeps what it had")
				}},
				{"DemoteOldPrimary", func(t *testing.T) {
					old, next := c.Primary, nodes["replica1"]
					p, err := c.Promote(ctx, next, rwsplittest.DemoteOldPrimary)
					require.NoError(t, err)
					t.Logf("%v: writes down %v, total %v", rwsplittest.DemoteOldPrimary, p.WriteDowntime, p.Total)
					assert.Same(t, next, c.Primary)
					assert.True(t, old.Replica)
					assert.Same(t, next, old.Source)
					assert.Same(t, old, c.Replicas[len(c.Replicas)-1], "the demoted primary is appended")
					assert.Same(t, next, nodes["replica4"].Source, "replica1's cascaded replica is first-tier now")

					insert(t, c.Primary, 6)
					assertEveryReplicaHas(t, ctx, c, 6)
					assertRefusesWrites(t, old)
				}},
				{"DemoteOldPrimary back", func(t *testing.T) {
					old, next := c.Primary, nodes["replica2"]
					_, err := c.Promote(ctx, next, rwsplittest.DemoteOldPrimary)
					require.NoError(t, err)
					assert.Same(t, next, c.Primary)
					assert.Same(t, next, old.Source)
					assert.Same(t, next, nodes["replica4"].Source)
					insert(t, c.Primary, 7)
					assertEveryReplicaHas(t, ctx, c, 7)
					assertRefusesWrites(t, old)
				}},
				{"StopOldPrimary", func(t *testing.T) {
					old, next := c.Primary, nodes["replica3"]
					p, err := c.Promote(ctx, next, rwsplittest.StopOldPrimary)
					require.NoError(t, err)
					t.Logf("%v: writes down %v, total %v", rwsplittest.StopOldPrimary, p.WriteDowntime, p.Total)
					assert.Same(t, next, c.Primary)
					assert.Contains(t, c.Retired, old)
					assert.NotContains(t, c.Replicas, old)
					assert.False(t, reachable(t, old), "the old primary is stopped")
					for _, r := range c.Replicas {
						assert.Same(t, next, r.Source, r.Name)
					}
					insert(t, c.Primary, 8)
					assertEveryReplicaHas(t, ctx, c, 8)
				}},
				{"roles survive a restart", func(t *testing.T) {
					// The new primary was created read-only, the old one
					// writable: Start must bring each back in its new role.
					old := c.Retired[len(c.Retired)-1]
					require.NoError(t, old.Start(ctx))
					assertRefusesWrites(t, old)
					_, err := old.ReplicaStatus(ctx)
					assert.Error(t, err, "the stopped old primary comes back replicating from nobody")

					require.NoError(t, c.Primary.Kill(ctx))
					require.NoError(t, c.Primary.Start(ctx))
					insert(t, c.Primary, 9)
					assertEveryReplicaHas(t, ctx, c, 9)
					on, clients, err := c.SemiSyncStatus(ctx)
					require.NoError(t, err)
					assert.True(t, on, "the restarted new primary's semi-sync status")
					assert.Positive(t, clients)
				}},
			}
			for _, s := range steps {
				if !t.Run(s.name, s.run) {
					return // each step starts from the topology the previous one left
				}
			}
		})
	}
}

func TestPromoteErrors(t *testing.T) {
	ctx := context.Background()
	c := &rwsplittest.Cluster{Flavor: rwsplittest.MySQL}
	_, err := c.Promote(ctx, &rwsplittest.Node{Name: "replica1"}, 0)
	assert.ErrorContains(t, err, "unknown PromoteMode(0)")
	_, err = c.Promote(ctx, nil, rwsplittest.StopOldPrimary)
	assert.ErrorContains(t, err, "nil replica")
	_, err = c.Promote(ctx, &rwsplittest.Node{Name: "replica9"}, rwsplittest.DemoteOldPrimary)
	assert.ErrorContains(t, err, "Promote(replica9, DemoteOldPrimary): not a replica of this cluster")
	assert.Equal(t, "ReadOnlyOldPrimary", rwsplittest.ReadOnlyOldPrimary.String())
}

func ExampleCluster_Promote() {
	ctx := context.Background()
	c, err := rwsplittest.StartCluster(ctx, rwsplittest.MySQL,
		rwsplittest.WithReplicas(2), rwsplittest.WithSemiSync(1))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Terminate(ctx)

	// Fail over to replica1; the old primary becomes its read-only replica.
	next := c.Replicas[0]
	p, err := c.Promote(ctx, next, rwsplittest.DemoteOldPrimary)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(c.Primary == next, c.Primary.Name, p.WriteDowntime)
}
