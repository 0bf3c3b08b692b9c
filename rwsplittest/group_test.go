package rwsplittest_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rwsplit/rwsplit/rwsplittest"
)

// assertHeld holds n's applier, writes row id on the writer (the write must
// commit while the hold lasts), checks that every other member of c gets the
// row and n does not, releases n and checks that n catches up.
func assertHeld(t *testing.T, ctx context.Context, c *rwsplittest.Cluster, n *rwsplittest.Node, id int) {
	t.Helper()
	release, err := n.HoldApplier(ctx)
	require.NoError(t, err)
	defer func() { _ = release(ctx) }()
	// The writer's commit returns while a member is held: a time limit turns
	// a blocked commit into a failure rather than a hang.
	wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	_, err = open(t, c.Primary.DSN()).ExecContext(wctx, "INSERT INTO kit VALUES (?, 'held')", id)
	cancel()
	require.NoError(t, err, "a write on %s must commit while %s is held", c.Primary.Name, n.Name)
	for _, m := range c.Nodes() {
		if m != n {
			require.NoError(t, m.WaitCaughtUp(ctx))
			assert.Equal(t, 1, has(t, m, id), "%s must have row %d", m.Name, id)
		}
	}
	time.Sleep(300 * time.Millisecond)
	assert.Equal(t, 0, has(t, n, id), "held %s must not have applied row %d", n.Name, id)
	require.NoError(t, release(ctx))
	require.NoError(t, n.WaitCaughtUp(ctx))
	assert.Equal(t, 1, has(t, n, id), "%s must have row %d after release", n.Name, id)
}

// TestGroupReplication starts a three-member MySQL Group Replication group,
// single- and multi-primary, and checks that writes on the primary reach
// every member, that HoldApplier holds one member back without holding the
// writer, and (single-primary) SetPrimary and the member controls.
func TestGroupReplication(t *testing.T) {
	if testing.Short() && !rwsplittest.InCI() {
		t.Skip("integration test: skipped in -short mode (make unit)")
	}
	for _, multi := range []bool{false, true} {
		name, opts := "single-primary", []rwsplittest.Option{rwsplittest.WithKind(rwsplittest.GroupReplication)}
		if multi {
			name, opts = "multi-primary", append(opts, rwsplittest.WithMultiPrimary())
		}
		t.Run(name, func(t *testing.T) {
			c := rwsplittest.Start(t, rwsplittest.MySQL, opts...)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			require.Equal(t, rwsplittest.GroupReplication, c.Kind)
			require.Equal(t, multi, c.MultiPrimary)
			require.Len(t, c.Replicas, 2)
			require.Equal(t, "gr0", c.Primary.Name)

			_, err := open(t, c.Primary.DSN()).Exec("CREATE TABLE kit (id INT PRIMARY KEY, v VARCHAR(20))")
			require.NoError(t, err)
			insert(t, c.Primary, 1)
			require.NoError(t, c.WaitCaughtUp(ctx))
			for _, n := range c.Nodes() {
				assert.Equal(t, 1, has(t, n, 1), n.Name)
				state, err := n.State(ctx)
				require.NoError(t, err)
				assert.Equal(t, rwsplittest.StateOnline, state, n.Name)
				// Every transaction carries the group's uuid.
				var executed string
				require.NoError(t, n.Admin().QueryRowContext(ctx, "SELECT @@GLOBAL.gtid_executed").Scan(&executed))
				assert.Contains(t, executed, c.GroupName+":1-", n.Name)
				assert.NotContains(t, executed, n.UUID, n.Name)
			}

			if multi {
				t.Run("every member takes writes", func(t *testing.T) {
					for i, n := range c.Replicas {
						insert(t, n, 10+i)
					}
					require.NoError(t, c.WaitCaughtUp(ctx))
					assert.Equal(t, 1, has(t, c.Primary, 11))
				})
			} else {
				t.Run("secondaries refuse writes", func(t *testing.T) {
					for _, n := range c.Replicas {
						assertRefusesWrites(t, n)
					}
				})
			}

			t.Run("hold applier", func(t *testing.T) {
				assertHeld(t, ctx, c, c.Replicas[0], 2)
			})

			t.Run("applier controls refuse", func(t *testing.T) {
				assert.ErrorContains(t, c.Replicas[0].StopApplier(ctx), "use HoldApplier")
				assert.ErrorContains(t, c.Replicas[0].SetDelay(ctx, time.Second), "use HoldApplier")
			})

			if multi {
				assert.ErrorContains(t, c.SetPrimary(ctx, c.Replicas[0]), "multi-primary")
				return
			}

			t.Run("set primary", func(t *testing.T) {
				old, next := c.Primary, c.Replicas[1]
				require.NoError(t, c.SetPrimary(ctx, next))
				assert.Same(t, next, c.Primary)
				assert.Same(t, old, c.Replicas[0], "replicas in name order")
				assertRefusesWrites(t, old)
				insert(t, next, 3)
				require.NoError(t, c.WaitCaughtUp(ctx))
				assert.Equal(t, 1, has(t, old, 3))
			})

			t.Run("stop and start group replication", func(t *testing.T) {
				n := c.Replicas[0]
				require.NoError(t, n.StopGroupReplication(ctx))
				state, err := n.State(ctx)
				require.NoError(t, err)
				assert.Equal(t, rwsplittest.StateOffline, state)
				insert(t, c.Primary, 4)
				time.Sleep(300 * time.Millisecond)
				assert.Equal(t, 0, has(t, n, 4), "%s out of the group applies nothing", n.Name)
				require.NoError(t, n.StartGroupReplication(ctx))
				require.NoError(t, n.WaitCaughtUp(ctx))
				assert.Equal(t, 1, has(t, n, 4))
			})

			t.Run("stopping the primary elects another", func(t *testing.T) {
				old := c.Primary
				require.NoError(t, old.StopGroupReplication(ctx))
				require.NotSame(t, old, c.Primary)
				insert(t, c.Primary, 5)
				require.NoError(t, old.StartGroupReplication(ctx))
				assert.NotSame(t, old, c.Primary, "the old primary rejoins as a secondary")
				require.NoError(t, old.WaitCaughtUp(ctx))
				assert.Equal(t, 1, has(t, old, 5))
			})

			t.Run("stop/start a member", func(t *testing.T) {
				n := c.Replicas[0]
				require.NoError(t, n.Stop(ctx))
				insert(t, c.Primary, 6)
				require.NoError(t, n.Start(ctx))
				require.NoError(t, n.WaitCaughtUp(ctx))
				assert.Equal(t, 1, has(t, n, 6))
			})
		})
	}
}

// TestPlainServerHasNoGroup records what the library's topology detection
// sees on the kit's plain (asynchronous) MySQL primary: no group members, no
// group name.
func TestPlainServerHasNoGroup(t *testing.T) {
	if testing.Short() && !rwsplittest.InCI() {
		t.Skip("integration test: skipped in -short mode (make unit)")
	}
	c := rwsplittest.Start(t, rwsplittest.MySQL, rwsplittest.WithReplicas(0))
	db := open(t, c.Primary.AdminDSN())
	var members int
	require.NoError(t, db.QueryRow("SELECT COUNT(*) FROM performance_schema.replication_group_members").Scan(&members))
	assert.Zero(t, members)
	var name string
	err := db.QueryRow("SELECT VARIABLE_VALUE FROM performance_schema.global_variables WHERE VARIABLE_NAME = 'group_replication_group_name'").Scan(&name)
	assert.ErrorIs(t, err, sql.ErrNoRows)
}
