package rwsplit_test

import (
	"context"
	"database/sql"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"fmt"
	"sync"
	"sync/atomic"

	"github.com/rwsplit/rwsplit"
	"github.com/rwsplit/rwsplit/rwsplittest"
)

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
			assert.Equal(t, -1, rwsplit.TxServer(tx).Index(), "read-write transaction on the primary")
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
				assert.GreaterOrEqual(t, rwsplit.TxServer(tx).Index(), 0)
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

// TestReadYourWritesReal runs the write→read matrix of the unit tests against
// real replication with both replicas' appliers stopped: every surface ×
// scope × waiting mode × where the mode is set (with and without the one
// round trip) reads its own write (the wait times out and the read goes to
// the primary); Eventual, the control, reads stale data on a replica.
func TestReadYourWritesReal(t *testing.T) {
	forEachFlavor(t, func(t *testing.T, c *rwsplittest.Cluster) {
		createKV(t, c)
		stopAppliers(t, c)
		var next atomic.Int64
		next.Store(time.Now().UnixNano() % 1e12 * 1000)
		modes := []rwsplit.Consistency{rwsplit.WaitGTID(100 * time.Millisecond), rwsplit.WaitPosition(100 * time.Millisecond)}
		var mu sync.Mutex
		stale, control, cases := 0, 0, 0
		sem := make(chan struct{}, 8)
		var wg sync.WaitGroup
		i := 0
		for wi, ws := range writeSurfaces {
			if c.Flavor == rwsplittest.MySQL && strings.Contains(ws.name, "RETURNING") {
				continue // MariaDB only
			}
			for si, scope := range scopes {
				for mi, mode := range append(modes, rwsplit.Eventual) {
					for pi, placement := range []string{onRead, onBoth, onDefault} {
						if mode == rwsplit.Eventual && placement != onRead {
							continue
						}
						i++
						pc := pairCase{write: ws, read: readSurfaces[(wi+si+mi+pi)%len(readSurfaces)],
							scope: scope, mode: mode, placement: placement, oneTrip: i%2 == 0}
						k := next.Add(1)
						wg.Add(1)
						sem <- struct{}{}
						go func() {
							defer wg.Done()
							defer func() { <-sem }()
							found, onReplica, err := realPair(c, pc, k)
							mu.Lock()
							defer mu.Unlock()
							name := fmt.Sprintf("%s→%s/%s/%s/%s/onetrip=%v", pc.write.name, pc.read.name, pc.scope, pc.mode, pc.placement, pc.oneTrip)
							if err != nil {
								t.Errorf("%s: %v", name, err)
								return
							}
							if pc.mode == rwsplit.Eventual {
								if found || !onReplica {
									t.Errorf("%s: the control saw the write (found %v, on a replica %v)", name, found, onReplica)
								} else {
									control++
								}
								return
							}
							cases++
							if !found {
								stale++
								t.Errorf("%s: stale read", name)
							}
						}()
					}
				}
			}
		}
		wg.Wait()
		t.Logf("%s: %d write→read cases, %d stale; %d Eventual controls, all stale", c.Flavor, cases, stale, control)
		assert.Positive(t, cases)
		assert.Positive(t, control)
	})
}

// TestNewPoolsLearnOneTrip: pools given to New (their DSNs unseen) get the
// one-round-trip wait where their DSN allows it, learnt by the monitor's
// first check with one probe query: a WaitGTID read right after a write
// sends its wait with the query on pools opened with multiStatements and
// interpolateParams, and apart on pools without them; both read the write.
func TestNewPoolsLearnOneTrip(t *testing.T) {
	forEachFlavor(t, func(t *testing.T, c *rwsplittest.Cluster) {
		createKV(t, c)
		for _, multi := range []bool{true, false} {
			t.Run(fmt.Sprintf("multiStatements=%v", multi), func(t *testing.T) {
				var params []string
				if multi {
					params = []string{"multiStatements=true", "interpolateParams=true"}
				}
				var pools []*sql.DB
				for _, dsn := range append([]string{c.Primary.DSN(params...)}, c.ReplicaDSNs(params...)...) {
					p, err := sql.Open("mysql", dsn)
					require.NoError(t, err)
					t.Cleanup(func() { _ = p.Close() })
					pools = append(pools, p)
				}
				db, err := rwsplit.New(pools[0], pools[1:], rwsplit.WithMonitorInterval(100*time.Millisecond))
				require.NoError(t, err)
				t.Cleanup(func() { _ = db.Close() })
				for _, s := range db.Servers()[1:] {
					require.Eventually(t, func() bool { return !s.Health().LastCheck.IsZero() }, 10*time.Second, 10*time.Millisecond)
				}
				k := time.Now().UnixNano() % 1e12
				var tr rwsplit.Trace
				ctx := rwsplit.WithTrace(rwsplit.WithSession(context.Background(), rwsplit.NewSession(rwsplit.Token{})), &tr)
				ctx = rwsplit.WithConsistency(ctx, rwsplit.WaitGTID(5*time.Second))
				_, err = db.ExecContext(ctx, "INSERT INTO kv (k, v) VALUES (?, ?)", k, 7)
				require.NoError(t, err)
				var v int64
				require.NoError(t, db.QueryRowContext(ctx, "SELECT v FROM kv WHERE k = ?", k).Scan(&v))
				assert.EqualValues(t, 7, v)
				waits := tr.Waits()
				require.Len(t, waits, 1, "one wait: %s", tr.String())
				assert.Equal(t, multi, waits[0].OneTrip, "%s", tr.String())
				assert.NoError(t, waits[0].Err)
			})
		}
	})
}
