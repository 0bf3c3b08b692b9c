package rwsplit_test

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rwsplit/rwsplit"
	"github.com/rwsplit/rwsplit/rwsplittest"
)

func TestOpenErrors(t *testing.T) {
	const p = "app:pw@tcp(127.0.0.1:3306)/app"
	const r = "app:pw@tcp(127.0.0.1:3307)/app"
	for _, tc := range []struct {
		name     string
		driver   string
		primary  string
		replicas []string
		want     string
	}{
		{"no driver", "", p, nil, "driver name is empty"},
		{"empty primary", "mysql", "", nil, "primary DSN is empty"},
		{"empty replica", "mysql", p, []string{r, ""}, "replica DSN 1 is empty"},
		{"bad primary", "mysql", "app:pw@tcp(127.0.0.1:3306", nil, "primary DSN does not parse"},
		{"bad replica", "mysql", p, []string{"nonsense"}, "replica DSN 0 does not parse"},
		{"primary as replica", "mysql", p, []string{r, p}, "primary DSN and replica DSN 1 name the same server"},
		{"replica twice", "mysql", p, []string{r, "other:x@tcp(127.0.0.1:3307)/app?parseTime=true"}, "replica DSN 0 and replica DSN 1 name the same server"},
		{"unknown driver", "nodriver", p, nil, `unknown driver "nodriver"`},
		{"wrapper driver, same server", "otelmysql", p, []string{p}, "primary DSN and replica DSN 0 name the same server (tcp(127.0.0.1:3306)/app)"},
		{"other DSN format, same DSN", "other", "host=db password=pw", []string{"host=db password=pw"}, "primary DSN and replica DSN 0 name the same server"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, err := rwsplit.Open(tc.driver, tc.primary, tc.replicas)
			assert.Nil(t, db)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.NotContains(t, err.Error(), "pw", "error must not leak the password")
		})
	}

	db, err := rwsplit.Open("mysql", p, nil)
	require.NoError(t, err, "zero replicas is valid")
	require.NoError(t, db.Close())
}

func TestNewErrors(t *testing.T) {
	a, err := sql.Open("mysql", "u:p@tcp(127.0.0.1:1)/x")
	require.NoError(t, err)
	b, err := sql.Open("mysql", "u:p@tcp(127.0.0.1:2)/x")
	require.NoError(t, err)
	defer a.Close()
	defer b.Close()

	_, err = rwsplit.New(nil, nil)
	assert.ErrorContains(t, err, "primary is nil")
	_, err = rwsplit.New(a, []*sql.DB{b, nil})
	assert.ErrorContains(t, err, "replica 1 is nil")
	_, err = rwsplit.New(a, []*sql.DB{a})
	assert.ErrorContains(t, err, "replica 0 is the same *sql.DB as the primary")
	_, err = rwsplit.New(a, []*sql.DB{b, b})
	assert.ErrorContains(t, err, "replica 1 is the same *sql.DB as replica 0")
	_, err = rwsplit.New(a, []*sql.DB{b}, rwsplit.WithWeights(1, 2))
	assert.ErrorContains(t, err, "2 weights for 1 replicas")
	_, err = rwsplit.New(a, []*sql.DB{b}, rwsplit.WithWeights(-1))
	assert.ErrorContains(t, err, "negative")
	_, err = rwsplit.New(a, []*sql.DB{b}, rwsplit.WithBalancer(nil))
	assert.ErrorContains(t, err, "WithBalancer(nil)")
	_, err = rwsplit.New(a, []*sql.DB{b}, rwsplit.WithDefaultConsistency(rwsplit.Consistency{}))
	assert.ErrorContains(t, err, "zero Consistency")
}

func TestClosed(t *testing.T) {
	db, err := rwsplit.Open("mysql", "u:p@tcp(127.0.0.1:1)/x", []string{"u:p@tcp(127.0.0.1:2)/x"})
	require.NoError(t, err)
	require.NoError(t, db.Close())
	require.NoError(t, db.Close(), "Close twice is fine")
	_, err = db.Exec("INSERT INTO t VALUES (1)")
	assert.ErrorIs(t, err, rwsplit.ErrClosed)
	_, err = db.Query("SELECT 1")
	assert.ErrorIs(t, err, rwsplit.ErrClosed)
	var x int
	assert.ErrorIs(t, db.QueryRow("SELECT 1").Scan(&x), rwsplit.ErrClosed)
	_, err = db.Begin()
	assert.ErrorIs(t, err, rwsplit.ErrClosed)
	_, err = db.Prepare("SELECT 1")
	assert.ErrorIs(t, err, rwsplit.ErrClosed)
	_, err = db.Conn(context.Background())
	assert.ErrorIs(t, err, rwsplit.ErrClosed)
}

// openRouter opens a DB over the cluster and closes it when the test ends.
func openRouter(t *testing.T, c *rwsplittest.Cluster, opts ...rwsplit.Option) *rwsplit.DB {
	t.Helper()
	db, err := rwsplit.Open("mysql", c.Primary.DSN(), c.ReplicaDSNs(), opts...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// noReadOnlyError fails the test if err is the read-only error a write sent
// to a replica gets (ER_OPTION_PREVENTS_STATEMENT).
func noReadOnlyError(t *testing.T, err error) {
	t.Helper()
	var me *mysql.MySQLError
	if errors.As(err, &me) && me.Number == 1290 {
		t.Fatalf("a write reached a replica: %v", err)
	}
	require.NoError(t, err)
}

func serverID(t *testing.T, row *sql.Row) int {
	t.Helper()
	var id int
	require.NoError(t, row.Scan(&id))
	return id
}

func TestRouting(t *testing.T) {
	forEachFlavor(t, func(t *testing.T, c *rwsplittest.Cluster) {
		ctx := context.Background()
		db := openRouter(t, c)
		primaryID := c.Primary.ServerID
		replicaIDs := map[int]bool{}
		for _, r := range c.Replicas {
			replicaIDs[r.ServerID] = true
		}
		_, err := db.Exec("DROP TABLE IF EXISTS routes")
		noReadOnlyError(t, err)
		_, err = db.Exec("CREATE TABLE routes (id INT AUTO_INCREMENT PRIMARY KEY, sid INT NOT NULL, how VARCHAR(40))")
		noReadOnlyError(t, err)

		t.Run("flavor detected", func(t *testing.T) {
			v, err := rwsplit.DetectVersion(ctx, rwsplit.PrimaryServer(db))
			require.NoError(t, err)
			mariadb := c.Flavor == rwsplittest.MariaDB
			assert.Equal(t, mariadb, strings.Contains(v, "MariaDB"), v)
			assert.Equal(t, c.Version, v)
			assert.Regexp(t, `^[1-9][0-9]*\.`, v, "a major version")
			for _, r := range rwsplit.ReplicaServers(db) {
				rv, err := rwsplit.DetectVersion(ctx, r)
				require.NoError(t, err)
				assert.Equal(t, mariadb, strings.Contains(rv, "MariaDB"), rv)
			}
			require.Eventually(t, func() bool {
				for _, s := range db.Servers() {
					if s.Health().Version == "" {
						return false
					}
				}
				return true
			}, 10*time.Second, 20*time.Millisecond, "every server's Health reports its version")
			assert.Equal(t, c.Version, db.Servers()[0].Health().Version)
		})

		t.Run("plain reads spread over replicas", func(t *testing.T) {
			seen := map[int]int{}
			for range 20 {
				seen[serverID(t, db.QueryRowContext(ctx, "SELECT @@server_id"))]++
			}
			for id := range seen {
				assert.True(t, replicaIDs[id], "read answered by server %d, not a replica", id)
			}
			assert.Len(t, seen, len(c.Replicas), "round-robin reaches every replica: %v", seen)
			for _, n := range seen {
				assert.Equal(t, 20/len(c.Replicas), n, "round-robin is even: %v", seen)
			}

			rows, err := db.QueryContext(ctx, "SELECT @@server_id UNION ALL SELECT @@server_id")
			require.NoError(t, err)
			for rows.Next() {
				var id int
				require.NoError(t, rows.Scan(&id))
				assert.True(t, replicaIDs[id])
			}
			require.NoError(t, rows.Err())
			require.NoError(t, rows.Close())
		})

		t.Run("reads that must go to the primary", func(t *testing.T) {
			for _, q := range []string{
				"SELECT @@server_id FROM dual FOR UPDATE",
				"SELECT @@server_id + 0 * LAST_INSERT_ID()",
				"SELECT @@server_id + 0 * GET_LOCK('rwsplit', 0)",
				"SELECT /* rwsplit:primary */ @@server_id",
				"SELECT @@server_id FROM dual LOCK IN SHARE MODE",
			} {
				rows, err := db.QueryContext(ctx, q)
				require.NoError(t, err, q)
				require.True(t, rows.Next(), q)
				var id int
				require.NoError(t, rows.Scan(&id), q)
				assert.Equal(t, primaryID, id, q)
				require.NoError(t, rows.Close())
			}
			pctx := rwsplit.WithConsistency(ctx, rwsplit.Primary)
			assert.Equal(t, primaryID, serverID(t, db.QueryRowContext(pctx, "SELECT @@server_id")))
		})

		t.Run("writes land on the primary", func(t *testing.T) {
			res, err := db.ExecContext(ctx, "INSERT INTO routes (sid, how) SELECT @@server_id, 'exec'")
			noReadOnlyError(t, err)
			n, err := res.RowsAffected()
			require.NoError(t, err)
			assert.EqualValues(t, 1, n)

			// A write through Query (MySQL has no RETURNING; its write
			// through Query is a plain INSERT that returns no rows).
			q := "INSERT INTO routes (sid, how) SELECT @@server_id, 'query'"
			if c.Flavor == rwsplittest.MariaDB {
				q = "INSERT INTO routes (sid, how) VALUES (@@server_id, 'returning') RETURNING id, sid"
			}
			rows, err := db.QueryContext(ctx, q)
			noReadOnlyError(t, err)
			if c.Flavor == rwsplittest.MariaDB {
				require.True(t, rows.Next())
				var id, sid int
				require.NoError(t, rows.Scan(&id, &sid))
				assert.Equal(t, primaryID, sid, "RETURNING ran on the primary")
			}
			require.NoError(t, rows.Close())

			tx, err := db.BeginTx(ctx, nil)
			require.NoError(t, err)
			assert.Equal(t, -1, tx.Server().Index(), "read-write transaction on the primary")
			assert.Equal(t, primaryID, serverID(t, tx.QueryRowContext(ctx, "SELECT @@server_id")))
			_, err = tx.ExecContext(ctx, "INSERT INTO routes (sid, how) SELECT @@server_id, 'tx'")
			noReadOnlyError(t, err)
			require.NoError(t, tx.Commit())

			ins, err := db.PrepareContext(ctx, "INSERT INTO routes (sid, how) SELECT @@server_id, ?")
			require.NoError(t, err)
			for range 3 {
				_, err = ins.ExecContext(ctx, "stmt")
				noReadOnlyError(t, err)
			}
			tx, err = db.BeginTx(ctx, nil)
			require.NoError(t, err)
			txIns, err := tx.StmtContext(ctx, ins)
			require.NoError(t, err)
			_, err = txIns.ExecContext(ctx, "tx stmt")
			noReadOnlyError(t, err)
			require.NoError(t, tx.Commit())
			require.NoError(t, ins.Close())

			conn, err := db.Conn(ctx)
			require.NoError(t, err)
			assert.Equal(t, primaryID, serverID(t, conn.QueryRowContext(ctx, "SELECT @@server_id")))
			_, err = conn.ExecContext(ctx, "SET @x = 1")
			require.NoError(t, err)
			var x int
			require.NoError(t, conn.QueryRowContext(ctx, "SELECT @x").Scan(&x))
			assert.Equal(t, 1, x, "session state stays on the pinned connection")
			_, err = conn.ExecContext(ctx, "INSERT INTO routes (sid, how) SELECT @@server_id, 'conn'")
			noReadOnlyError(t, err)
			require.NoError(t, conn.Close())

			var wrong int
			pctx := rwsplit.WithConsistency(ctx, rwsplit.Primary)
			require.NoError(t, db.QueryRowContext(pctx, "SELECT COUNT(*) FROM routes WHERE sid <> ?", primaryID).Scan(&wrong))
			assert.Zero(t, wrong, "every write ran on the primary")
			var total int
			require.NoError(t, db.QueryRowContext(pctx, "SELECT COUNT(*) FROM routes").Scan(&total))
			assert.Equal(t, 8, total)
		})

		t.Run("read-only transactions run on replicas", func(t *testing.T) {
			seen := map[int]int{}
			for range 6 {
				tx, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
				require.NoError(t, err)
				assert.GreaterOrEqual(t, tx.Server().Index(), 0)
				id := serverID(t, tx.QueryRowContext(ctx, "SELECT @@server_id"))
				// Every statement stays on the transaction's server, even
				// one that alone would go to the primary.
				assert.Equal(t, id, serverID(t, tx.QueryRowContext(ctx, "SELECT @@server_id + 0 * LAST_INSERT_ID()")))
				_, err = tx.ExecContext(ctx, "INSERT INTO routes (sid) VALUES (0)")
				assert.Error(t, err, "a write in a read-only transaction fails")
				require.NoError(t, tx.Rollback())
				seen[id]++
			}
			for id := range seen {
				assert.True(t, replicaIDs[id])
			}
			assert.Len(t, seen, len(c.Replicas))
		})

		t.Run("prepared reads follow routing", func(t *testing.T) {
			st, err := db.PrepareContext(ctx, "SELECT @@server_id + ? - ?")
			require.NoError(t, err)
			seen := map[int]int{}
			for range 10 {
				seen[serverID(t, st.QueryRowContext(ctx, 1, 1))]++
			}
			for id := range seen {
				assert.True(t, replicaIDs[id])
			}
			assert.Len(t, seen, len(c.Replicas), "prepared lazily on each replica")
			pctx := rwsplit.WithConsistency(ctx, rwsplit.Primary)
			assert.Equal(t, primaryID, serverID(t, st.QueryRowContext(pctx, 1, 1)))
			require.NoError(t, st.Close())
			var id int
			assert.ErrorIs(t, st.QueryRowContext(ctx, 1, 1).Scan(&id), rwsplit.ErrStmtClosedForTest)

			_, err = db.PrepareContext(ctx, "SELEC nonsense")
			assert.Error(t, err, "Prepare checks the statement on a server")
		})

		t.Run("stats", func(t *testing.T) {
			st := db.Stats()
			assert.Positive(t, st.Writes)
			assert.Positive(t, st.PrimaryReads)
			reads := rwsplit.ReplicaReads(db)
			assert.Len(t, reads, len(c.Replicas))
			for i, n := range reads {
				assert.Positive(t, n, "replica %d", i)
			}
			assert.Positive(t, st.ReadOnlyTx)
			assert.Positive(t, st.ReadWriteTx)
		})

		require.NoError(t, db.PingContext(ctx))
	})
}

func TestZeroReplicas(t *testing.T) {
	forEachFlavor(t, func(t *testing.T, c *rwsplittest.Cluster) {
		db, err := rwsplit.Open("mysql", c.Primary.DSN(), nil)
		require.NoError(t, err)
		defer db.Close()
		assert.Equal(t, c.Primary.ServerID, serverID(t, db.QueryRow("SELECT @@server_id")))
		tx, err := db.BeginTx(context.Background(), &sql.TxOptions{ReadOnly: true})
		require.NoError(t, err)
		assert.Equal(t, c.Primary.ServerID, serverID(t, tx.QueryRowContext(context.Background(), "SELECT @@server_id")))
		require.NoError(t, tx.Rollback())
	})
}
