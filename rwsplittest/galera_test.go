package rwsplittest_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rwsplit/rwsplit/rwsplittest"
)

// TestGalera starts a three-node MariaDB Galera cluster on MariaDB 10.11 and
// 11.8 and checks that a write on any node reaches every node under the
// same GTID, that HoldApplier holds one node back (desynced) without
// holding the writer, and that a stopped node rejoins.
func TestGalera(t *testing.T) {
	if testing.Short() && !rwsplittest.InCI() {
		t.Skip("integration test: skipped in -short mode (make unit)")
	}
	for _, tc := range []struct{ name, image, version string }{
		{"10.11", rwsplittest.MariaDB.Image(), "10.11."},
		{"11.8", rwsplittest.MariaDB118Image(), "11.8."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := rwsplittest.Start(t, rwsplittest.MariaDB, rwsplittest.WithKind(rwsplittest.Galera), rwsplittest.WithImage(tc.image))
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			if strings.HasPrefix(tc.image, "rwsplit/") {
				assert.True(t, strings.HasPrefix(c.Version, tc.version), "VERSION() = %q, want %s*", c.Version, tc.version)
			}
			require.Equal(t, rwsplittest.Galera, c.Kind)
			require.Len(t, c.Replicas, 2)
			require.Equal(t, "galera0", c.Primary.Name)

			_, err := open(t, c.Primary.DSN()).Exec("CREATE TABLE kit (id INT PRIMARY KEY, v VARCHAR(20))")
			require.NoError(t, err)
			insert(t, c.Primary, 1)
			insert(t, c.Replicas[1], 2) // every node is writable
			require.NoError(t, c.WaitCaughtUp(ctx))
			var want string
			for i, n := range c.Nodes() {
				assert.Equal(t, 1, has(t, n, 1), n.Name)
				assert.Equal(t, 1, has(t, n, 2), n.Name)
				state, err := n.State(ctx)
				require.NoError(t, err)
				assert.Equal(t, rwsplittest.StateSynced, state, n.Name)
				var pos string
				var serverID int
				require.NoError(t, n.Admin().QueryRowContext(ctx, "SELECT @@GLOBAL.gtid_binlog_pos, @@server_id").Scan(&pos, &serverID))
				assert.Equal(t, rwsplittest.GaleraServerID, serverID, n.Name)
				if i == 0 {
					want = pos
					assert.True(t, strings.HasPrefix(pos, "9-1-"), "GTIDs in the wsrep domain: %s", pos)
				}
				assert.Equal(t, want, pos, "%s logs the same GTIDs", n.Name)
			}

			t.Run("hold applier", func(t *testing.T) {
				n := c.Replicas[0]
				release, err := n.HoldApplier(ctx)
				require.NoError(t, err)
				state, err := n.State(ctx)
				assert.NoError(t, err)
				assert.Equal(t, "Donor/Desynced", state, "FLUSH TABLES WITH READ LOCK desyncs the node")
				require.NoError(t, release(ctx))
				assertHeld(t, ctx, c, n, 3)
				require.Eventually(t, func() bool {
					s, err := n.State(ctx)
					return err == nil && s == rwsplittest.StateSynced
				}, 10*time.Second, 50*time.Millisecond, "synced again after release")
			})

			t.Run("applier controls refuse", func(t *testing.T) {
				assert.ErrorContains(t, c.Replicas[0].StopApplier(ctx), "use HoldApplier")
				assert.ErrorContains(t, c.SetPrimary(ctx, c.Replicas[0]), "no elected primary")
			})

			t.Run("stop/start a node", func(t *testing.T) {
				n := c.Replicas[1]
				require.NoError(t, n.Stop(ctx))
				insert(t, c.Primary, 4)
				require.NoError(t, n.Start(ctx))
				require.NoError(t, n.WaitCaughtUp(ctx))
				assert.Equal(t, 1, has(t, n, 4))
			})

			if tc.name != "10.11" {
				return
			}
			t.Run("kill/start the first node", func(t *testing.T) {
				// galera0 bootstrapped the cluster; restarted, it must join
				// the running cluster, not bootstrap another.
				n := c.Primary
				require.NoError(t, n.Kill(ctx))
				insert(t, c.Replicas[0], 5)
				require.NoError(t, n.Start(ctx))
				require.NoError(t, n.WaitCaughtUp(ctx))
				assert.Equal(t, 1, has(t, n, 5))
				var size string
				require.NoError(t, n.Admin().QueryRowContext(ctx,
					"SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'WSREP_CLUSTER_SIZE'").Scan(&size))
				assert.Equal(t, "3", size)
			})

			t.Run("disconnect/reconnect", func(t *testing.T) {
				n := c.Replicas[1]
				require.NoError(t, n.Disconnect(ctx))
				insert(t, c.Primary, 6)
				require.NoError(t, n.Reconnect(ctx))
				require.NoError(t, n.WaitCaughtUp(ctx))
				assert.Equal(t, 1, has(t, n, 6))
			})
		})
	}
}

// TestPlainMariaDBHasNoWsrep records what the library's topology detection
// sees on the kit's plain (asynchronous) MariaDB primary: wsrep off, its
// status rows there but saying nothing.
func TestPlainMariaDBHasNoWsrep(t *testing.T) {
	if testing.Short() && !rwsplittest.InCI() {
		t.Skip("integration test: skipped in -short mode (make unit)")
	}
	c := rwsplittest.Start(t, rwsplittest.MariaDB, rwsplittest.WithReplicas(0))
	db := open(t, c.Primary.DSN())
	var name, on string
	require.NoError(t, db.QueryRow("SHOW VARIABLES LIKE 'wsrep_on'").Scan(&name, &on))
	assert.Equal(t, "OFF", on)
	// The wsrep status rows exist on every MariaDB server: wsrep_ready
	// alone does not tell a Galera node.
	var ready string
	require.NoError(t, db.QueryRow("SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'WSREP_READY'").Scan(&ready))
	assert.Equal(t, "OFF", ready)
	var state int
	err := db.QueryRow("SELECT COUNT(*) FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'WSREP_LOCAL_STATE'").Scan(&state)
	require.NoError(t, err)
	assert.Zero(t, state, "no wsrep_local_state row without a provider")
}
