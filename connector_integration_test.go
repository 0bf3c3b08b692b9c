package rwsplit_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rwsplit/rwsplit"
	"github.com/rwsplit/rwsplit/rwsplittest"
)

// intValuer is a driver.Valuer argument: the server pools' driver converts
// it (the Connector passes it on unchanged).
type intValuer int64

func (h intValuer) Value() (driver.Value, error) { return int64(h), nil }

// TestConnectorReal runs the Connector's *sql.DB against real replication,
// on both flavors: reads on the replicas and writes on the primary, by
// @@server_id; transactions; session state (a user variable, a temporary
// table, a user-level lock) kept on one primary connection while pinned and
// gone with it afterwards; prepared statements; and, with both replicas'
// appliers stopped, reads that see their own writes under WaitGTID (the wait
// times out, the read goes to the primary) while Eventual, the control, reads
// stale data on a replica, directly and through every Connector surface of
// the pipeline matrix.
func TestConnectorReal(t *testing.T) {
	forEachFlavor(t, func(t *testing.T, c *rwsplittest.Cluster) {
		createKV(t, c)
		ctx := context.Background()
		db := openRouter(t, c)
		sdb, _ := connectorDB(t, db)
		primaryID := c.Primary.ServerID
		var replicaIDs []int
		for _, r := range c.Replicas {
			replicaIDs = append(replicaIDs, r.ServerID)
		}
		k0 := time.Now().UnixNano() % 1e12 * 1000
		var next atomic.Int64
		next.Store(k0)

		t.Run("routing", func(t *testing.T) {
			seen := map[int]bool{}
			for range 2 * len(replicaIDs) {
				id := answeredBy(t, ctx, sdb)
				assert.Contains(t, replicaIDs, id, "a read off the replicas")
				seen[id] = true
			}
			assert.Len(t, seen, len(replicaIDs), "reads spread over the replicas")
			// The write stores the @@server_id of the server that ran it.
			k := next.Add(1)
			_, err := sdb.ExecContext(ctx, "INSERT INTO kv (k, v) VALUES (?, @@server_id)", k)
			noReadOnlyError(t, err)
			var v int
			require.NoError(t, c.Primary.Admin().QueryRowContext(ctx, "SELECT v FROM app.kv WHERE k = ?", k).Scan(&v))
			assert.Equal(t, primaryID, v, "the write ran off the primary")

			tx, err := sdb.BeginTx(ctx, nil)
			require.NoError(t, err)
			assert.Equal(t, primaryID, answeredBy(t, ctx, tx))
			require.NoError(t, tx.Commit())
			ro, err := sdb.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
			require.NoError(t, err)
			assert.Contains(t, replicaIDs, answeredBy(t, ctx, ro))
			require.NoError(t, ro.Commit())
		})

		t.Run("session state", func(t *testing.T) {
			conn, err := sdb.Conn(ctx)
			require.NoError(t, err)
			assert.Contains(t, replicaIDs, answeredBy(t, ctx, conn))
			_, err = conn.ExecContext(ctx, "SET @rwsplit_x = 42")
			require.NoError(t, err)
			assert.Equal(t, primaryID, answeredBy(t, ctx, conn), "pinned to the primary")
			var x sql.NullInt64
			require.NoError(t, conn.QueryRowContext(ctx, "SELECT @rwsplit_x").Scan(&x))
			assert.EqualValues(t, 42, x.Int64)
			_, err = conn.ExecContext(ctx, "CREATE TEMPORARY TABLE tmp_connector (a INT)")
			require.NoError(t, err)
			_, err = conn.ExecContext(ctx, "INSERT INTO tmp_connector VALUES (1), (2)")
			require.NoError(t, err)
			var n int
			require.NoError(t, conn.QueryRowContext(ctx, "SELECT COUNT(*) FROM tmp_connector").Scan(&n),
				"a read of a temporary table off its connection")
			assert.Equal(t, 2, n)
			lock := fmt.Sprintf("rwsplit_connector_%s", c.Flavor)
			var got int
			require.NoError(t, conn.QueryRowContext(ctx, "SELECT GET_LOCK(?, 0)", lock).Scan(&got))
			assert.Equal(t, 1, got)
			tx, err := conn.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
			require.NoError(t, err)
			require.NoError(t, tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM tmp_connector").Scan(&n),
				"a read-only transaction off the pinned connection")
			require.NoError(t, tx.Commit())
			require.NoError(t, conn.Close())

			// The pinned connection was closed, not pooled: the lock is free,
			// and neither the variable nor the table is seen elsewhere.
			assert.Eventually(t, func() bool {
				var free int
				err := c.Primary.Admin().QueryRowContext(ctx, "SELECT IS_FREE_LOCK(?)", lock).Scan(&free)
				return err == nil && free == 1
			}, 5*time.Second, 10*time.Millisecond, "the lock outlived its virtual connection")
			for range 4 {
				require.NoError(t, sdb.QueryRowContext(ctx, "SELECT @rwsplit_x").Scan(&x))
				assert.False(t, x.Valid, "a user variable reached another caller")
				rows, err := db.QueryContext(rwsplit.WithConsistency(ctx, rwsplit.Primary), "SELECT COUNT(*) FROM tmp_connector")
				if err == nil {
					_ = rows.Close()
				}
				assert.Error(t, err, "a temporary table reached the primary's pool")
			}
		})

		t.Run("prepared statements and arguments", func(t *testing.T) {
			k := next.Add(1)
			ins, err := sdb.PrepareContext(ctx, insertKV)
			require.NoError(t, err)
			defer ins.Close()
			_, err = ins.ExecContext(ctx, k, intValuer(7))
			noReadOnlyError(t, err)
			require.NoError(t, c.WaitCaughtUp(ctx))
			sel, err := sdb.PrepareContext(ctx, "SELECT v, @@server_id FROM kv WHERE k = ?")
			require.NoError(t, err)
			defer sel.Close()
			for range 2 * len(replicaIDs) {
				var v, id int
				require.NoError(t, sel.QueryRowContext(ctx, uint64(k)).Scan(&v, &id))
				assert.Equal(t, 7, v)
				assert.Contains(t, replicaIDs, id)
			}
			tx, err := sdb.BeginTx(ctx, nil)
			require.NoError(t, err)
			var v, id int
			require.NoError(t, tx.StmtContext(ctx, sel).QueryRowContext(ctx, k).Scan(&v, &id))
			assert.Equal(t, primaryID, id, "a prepared read in a read-write transaction")
			require.NoError(t, tx.Rollback())
			bad, err := sdb.PrepareContext(ctx, "SELEC nothing")
			require.NoError(t, err, "Prepare is lazy")
			_, err = bad.ExecContext(ctx)
			assert.Error(t, err, "the error shows at the first execution")
			require.NoError(t, bad.Close())
			err = sdb.QueryRowContext(ctx, selectKV, sql.Named("k", k)).Scan(&v)
			assert.Error(t, err, "go-sql-driver/mysql takes no named arguments")
		})

		t.Run("read your writes, appliers stopped", func(t *testing.T) {
			stopAppliers(t, c)
			for _, mode := range []rwsplit.Consistency{rwsplit.WaitGTID(100 * time.Millisecond), rwsplit.Eventual} {
				mctx := rwsplit.WithConsistency(ctx, mode)
				stale := 0
				for range 5 {
					k := next.Add(1)
					_, err := sdb.ExecContext(mctx, insertKV, k, k)
					require.NoError(t, err)
					before := sumReplicaReads(db)
					var v int64
					found, err := scanFound(sdb.QueryRowContext(mctx, selectKV, k).Scan(&v))
					require.NoError(t, err)
					if !found {
						stale++
						assert.EqualValues(t, 1, sumReplicaReads(db)-before, "a stale read off the replicas")
					}
				}
				if mode == rwsplit.Eventual {
					assert.Equal(t, 5, stale, "the control saw the writes: the setup cannot show staleness")
				} else {
					assert.Zero(t, stale, "stale reads under %s", mode)
				}
			}
			// Every Connector surface of the pipeline matrix, with a Session,
			// a token carried to a second DB, and the process scope.
			cases, controls := 0, 0
			for wi, ws := range connectorWriteSurfaces {
				for ri, rs := range connectorReadSurfaces {
					for si, scope := range scopes {
						for _, mode := range []rwsplit.Consistency{rwsplit.WaitGTID(100 * time.Millisecond), rwsplit.Eventual} {
							pc := pairCase{write: ws, read: rs, scope: scope, mode: mode, placement: onBoth,
								oneTrip: (wi+ri+si)%2 == 0}
							found, onReplica, err := realPair(c, pc, next.Add(1))
							name := fmt.Sprintf("%s→%s/%s/%s/onetrip=%v", ws.name, rs.name, scope, mode, pc.oneTrip)
							require.NoError(t, err, name)
							if mode == rwsplit.Eventual {
								controls++
								assert.True(t, !found && onReplica, "%s: the control saw the write (found %v, on a replica %v)", name, found, onReplica)
							} else {
								cases++
								assert.True(t, found, "%s: stale read", name)
							}
						}
					}
				}
			}
			t.Logf("%s: %d Connector write→read cases, %d Eventual controls", c.Flavor, cases, controls)
		})
	})
}
