package rwsplittest_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rwsplit/rwsplit/rwsplittest"
)

func open(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("mysql", dsn)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// reachable reports whether a fresh connection to n answers within 2 s.
func reachable(t *testing.T, n *rwsplittest.Node) bool {
	t.Helper()
	db, err := sql.Open("mysql", n.DSN("timeout=2s", "readTimeout=2s"))
	require.NoError(t, err)
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	return db.PingContext(ctx) == nil
}

func count(t *testing.T, db *sql.DB, id int) int {
	t.Helper()
	var n int
	require.NoError(t, db.QueryRow("SELECT COUNT(*) FROM kit WHERE id = ?", id).Scan(&n))
	return n
}

func TestCluster(t *testing.T) {
	if testing.Short() && !rwsplittest.InCI() {
		t.Skip("integration test: skipped in -short mode (make unit)")
	}
	for _, flavor := range rwsplittest.Flavors {
		t.Run(string(flavor), func(t *testing.T) {
			c := rwsplittest.Start(t, flavor)
			ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
			defer cancel()
			require.Len(t, c.Replicas, 2)

			primary := open(t, c.Primary.DSN())
			replicas := make([]*sql.DB, len(c.Replicas))
			for i, r := range c.Replicas {
				replicas[i] = open(t, r.DSN())
			}
			_, err := primary.Exec("CREATE TABLE kit (id INT PRIMARY KEY, v VARCHAR(20))")
			require.NoError(t, err)

			t.Run("server ids", func(t *testing.T) {
				for i, n := range c.Nodes() {
					db := primary
					if i > 0 {
						db = replicas[i-1]
					}
					var id int
					require.NoError(t, db.QueryRow("SELECT @@server_id").Scan(&id))
					assert.Equal(t, n.ServerID, id, n.Name)
				}
			})

			t.Run("row replicates to every replica", func(t *testing.T) {
				_, err := primary.Exec("INSERT INTO kit VALUES (1, 'one')")
				require.NoError(t, err)
				require.NoError(t, c.WaitCaughtUp(ctx))
				for i, r := range replicas {
					assert.Equal(t, 1, count(t, r, 1), c.Replicas[i].Name)
				}
			})

			t.Run("stopped applier holds rows back", func(t *testing.T) {
				r := c.Replicas[0]
				require.NoError(t, r.StopApplier(ctx))
				_, err := primary.Exec("INSERT INTO kit VALUES (2, 'two')")
				require.NoError(t, err)
				require.NoError(t, c.Replicas[1].WaitCaughtUp(ctx))
				assert.Equal(t, 1, count(t, replicas[1], 2), "the other replica applies")
				time.Sleep(500 * time.Millisecond)
				assert.Equal(t, 0, count(t, replicas[0], 2), "the stopped replica must not apply")
				require.NoError(t, r.StartApplier(ctx))
				require.NoError(t, r.WaitCaughtUp(ctx))
				assert.Equal(t, 1, count(t, replicas[0], 2))
			})

			t.Run("delay holds rows back for the delay", func(t *testing.T) {
				r := c.Replicas[1]
				require.NoError(t, r.SetDelay(ctx, 2*time.Second))
				start := time.Now()
				_, err := primary.Exec("INSERT INTO kit VALUES (3, 'three')")
				require.NoError(t, err)
				assert.Equal(t, 0, count(t, replicas[1], 3), "delayed replica applied at once")
				require.NoError(t, r.WaitCaughtUp(ctx))
				// The delay counts from the event's timestamp, which has whole
				// seconds: a write at x.9 s with a 2 s delay is applied at x+2,
				// 1.1 s later. So at least d - 1 s (with a margin).
				assert.GreaterOrEqual(t, time.Since(start), 900*time.Millisecond)
				require.NoError(t, r.SetDelay(ctx, 0))
			})

			t.Run("write on a replica fails read-only", func(t *testing.T) {
				for i, r := range replicas {
					_, err := r.Exec("INSERT INTO kit VALUES (100, 'misrouted')")
					var me *mysql.MySQLError
					require.True(t, errors.As(err, &me), "%s: want a MySQL error, got %v", c.Replicas[i].Name, err)
					assert.Equal(t, uint16(1290), me.Number, "ER_OPTION_PREVENTS_STATEMENT (read-only): %v", err)
				}
			})

			type fault struct {
				name      string
				cut, mend func(*rwsplittest.Node, context.Context) error
			}
			for _, f := range []fault{
				{"stop/start", (*rwsplittest.Node).Stop, (*rwsplittest.Node).Start},
				{"pause/unpause", (*rwsplittest.Node).Pause, (*rwsplittest.Node).Unpause},
				{"disconnect/reconnect", (*rwsplittest.Node).Disconnect, (*rwsplittest.Node).Reconnect},
			} {
				t.Run(f.name, func(t *testing.T) {
					n := c.Replicas[0]
					require.True(t, reachable(t, n))
					require.NoError(t, f.cut(n, ctx))
					assert.False(t, reachable(t, n), "%s must be unreachable", n.Name)
					id := 1000 + len(f.name)
					_, err := primary.Exec("INSERT INTO kit VALUES (?, ?)", id, f.name)
					require.NoError(t, err)
					require.NoError(t, f.mend(n, ctx))
					require.Eventually(t, func() bool { return reachable(t, n) }, time.Minute, 200*time.Millisecond)
					// It catches up with what it missed while cut off.
					require.NoError(t, n.WaitCaughtUp(ctx))
					assert.Equal(t, 1, count(t, replicas[0], id))
				})
			}
		})
	}
}

func TestStartClusterErrors(t *testing.T) {
	_, err := rwsplittest.StartCluster(context.Background(), "postgres")
	assert.ErrorContains(t, err, `unknown flavor "postgres"`)
	_, err = rwsplittest.StartCluster(context.Background(), rwsplittest.MySQL, rwsplittest.WithReplicas(-1))
	assert.ErrorContains(t, err, "WithReplicas(-1)")
	for _, tc := range []struct {
		flavor rwsplittest.Flavor
		opts   []rwsplittest.Option
		want   string
	}{
		{rwsplittest.MySQL, []rwsplittest.Option{rwsplittest.WithCascadedReplicas(-1)}, "WithCascadedReplicas(-1)"},
		{rwsplittest.MySQL, []rwsplittest.Option{rwsplittest.WithReplicas(0), rwsplittest.WithCascadedReplicas(1)}, "a first-tier replica"},
		{rwsplittest.MySQL, []rwsplittest.Option{rwsplittest.WithSemiSync(-1)}, "WithSemiSync(-1)"},
		{rwsplittest.MySQL, []rwsplittest.Option{rwsplittest.WithSemiSync(3)}, "more acknowledgements than there are first-tier replicas"},
		{rwsplittest.MariaDB, []rwsplittest.Option{rwsplittest.WithSemiSync(2)}, "MariaDB waits for one acknowledgement only"},
		{rwsplittest.MySQL, []rwsplittest.Option{rwsplittest.WithKind("ring")}, `unknown kind "ring"`},
		{rwsplittest.MariaDB, []rwsplittest.Option{rwsplittest.WithKind(rwsplittest.GroupReplication)}, "needs the mysql flavor"},
		{rwsplittest.MySQL, []rwsplittest.Option{rwsplittest.WithKind(rwsplittest.Galera)}, "needs the mariadb flavor"},
		{rwsplittest.MySQL, []rwsplittest.Option{rwsplittest.WithMultiPrimary()}, "WithMultiPrimary needs WithKind(GroupReplication)"},
		{rwsplittest.MariaDB, []rwsplittest.Option{rwsplittest.WithKind(rwsplittest.Galera), rwsplittest.WithMultiPrimary()}, "WithMultiPrimary needs"},
		{rwsplittest.MySQL, []rwsplittest.Option{rwsplittest.WithKind(rwsplittest.GroupReplication), rwsplittest.WithSemiSync(1)}, "takes neither"},
	} {
		_, err := rwsplittest.StartCluster(context.Background(), tc.flavor, tc.opts...)
		assert.ErrorContains(t, err, tc.want)
	}
}

func ExampleStartCluster() {
	ctx := context.Background()
	c, err := rwsplittest.StartCluster(ctx, rwsplittest.MariaDB, rwsplittest.WithReplicas(2))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Terminate(ctx)

	// Hold replica1 back while the primary takes writes.
	_ = c.Replicas[0].StopApplier(ctx)
	_ = c.Replicas[0].StartApplier(ctx)
	_ = c.WaitCaughtUp(ctx)
	fmt.Println(c.Primary.DSN(), c.ReplicaDSNs())
}
