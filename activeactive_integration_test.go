package rwsplit_test

// The asynchronous active–active (master–master) pair on real servers: two
// servers, both writable, each a replica of the other ("High Performance
// MySQL"). Under discovery rwsplit writes to the one of lowest server_id,
// whichever DSN comes first, and reads from the other; read-your-writes
// holds there.

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rwsplit/rwsplit"
	"github.com/rwsplit/rwsplit/rwsplittest"
)

// openPair opens a DB under discovery over first and second, in that order,
// and waits until the monitor chose writer (the primary answers with its
// server_id) and sees the other server serving reads.
func openPair(t *testing.T, writer, first, second *rwsplittest.Node) *rwsplit.DB {
	t.Helper()
	params := []string{"multiStatements=true", "interpolateParams=true"}
	db, err := rwsplit.Open("mysql", first.DSN(params...), []string{second.DSN(params...)},
		rwsplit.WithDiscovery(), rwsplit.WithMonitorInterval(100*time.Millisecond))
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	var id int
	var qerr error
	require.Eventually(t, func() bool {
		st := rwsplit.ReplicaStatus(db)
		qerr = db.QueryRowContext(rwsplit.WithConsistency(context.Background(), rwsplit.Primary), "SELECT @@server_id").Scan(&id)
		return qerr == nil && id == writer.ServerID && len(st) == 1 && st[0].Usable && st[0].State == rwsplit.StateUp
	}, 30*time.Second, 50*time.Millisecond, "writer %s (server_id %d) found (the primary answers server_id %d, %v), the other serving: %+v",
		writer.Name, writer.ServerID, id, qerr, rwsplit.ReplicaStatus(db))
	return db
}

// TestActiveActivePair: on both flavors, an active–active pair under
// discovery, its DSNs given in either order: the writer is the server of
// lowest server_id, every write succeeds there, Eventual reads go to the
// other server, WaitGTID reads read their writes there, and the Eventual
// control reads stale data while that server's applier is stopped.
func TestActiveActivePair(t *testing.T) {
	if testing.Short() && !rwsplittest.InCI() {
		t.Skip("integration test: skipped in -short mode")
	}
	for _, f := range rwsplittest.Flavors {
		t.Run(string(f), func(t *testing.T) {
			ctx := context.Background()
			c := rwsplittest.Start(t, f, rwsplittest.WithReplicas(1))
			createKV(t, c)
			require.NoError(t, c.MakeActiveActive(ctx))
			// The writer every process must agree on: the lowest server_id.
			writer, other := c.Primary, c.Replicas[0]
			require.Less(t, writer.ServerID, other.ServerID)
			for _, n := range c.Nodes() {
				var ro int
				require.NoError(t, n.Admin().QueryRowContext(ctx, "SELECT @@GLOBAL.read_only").Scan(&ro))
				require.Zero(t, ro, "%s is writable", n.Name)
			}

			for _, order := range []struct {
				name          string
				first, second *rwsplittest.Node
			}{
				{"non-writer-first", other, writer},
				{"writer-first", writer, other},
			} {
				t.Run(order.name, func(t *testing.T) {
					db := openPair(t, writer, order.first, order.second)

					st := rwsplit.ReplicaStatus(db)
					require.Len(t, st, 1, "one replica: %+v", st)
					assert.Equal(t, other.Addr(), st[0].Name, "the replica is the other server")
					assert.Equal(t, rwsplit.ClusterAsync, st[0].Kind)
					assert.True(t, st[0].Usable)

					// Writes: all succeed, all on the writer (the row
					// records the server_id of the server that ran it).
					base := time.Now().UnixNano() % 1e12 * 1000
					const writes = 12
					failed := 0
					var firstErr error
					for i := range writes {
						if _, err := db.ExecContext(ctx, "INSERT INTO app.kv (k, v) VALUES (?, @@server_id)", base+int64(i)); err != nil {
							failed++
							if firstErr == nil {
								firstErr = err
							}
						}
					}
					require.Zero(t, failed, "%d of %d writes failed, the first with %v; status %+v", failed, writes, firstErr, rwsplit.ReplicaStatus(db))
					var wrong int
					require.NoError(t, writer.Admin().QueryRowContext(ctx,
						"SELECT COUNT(*) FROM app.kv WHERE k BETWEEN ? AND ? AND v <> ?", base, base+writes-1, writer.ServerID).Scan(&wrong))
					assert.Zero(t, wrong, "every write ran on %s", writer.Name)

					for range 10 {
						var id int
						require.NoError(t, db.QueryRowContext(rwsplit.WithConsistency(ctx, rwsplit.Primary), "SELECT @@server_id").Scan(&id))
						assert.Equal(t, writer.ServerID, id, "Primary reads the writer")
					}
					eventual := map[int]int{}
					for range 30 {
						var id int
						require.NoError(t, db.QueryRowContext(rwsplit.WithConsistency(ctx, rwsplit.Eventual), "SELECT @@server_id").Scan(&id))
						eventual[id]++
					}
					assert.Equal(t, 30, eventual[other.ServerID], "Eventual reads go to %s: %v", other.Name, eventual)

					const pairs = 30
					g := writeThenRead(t, db, rwsplit.WaitGTID(5*time.Second), pairs)
					assert.Zero(t, g.stale, "WaitGTID reads its writes")
					assert.GreaterOrEqual(t, g.served[other.ServerID], pairs*9/10, "WaitGTID served by %s: %v", other.Name, g.served)

					// The control: with the other server's applier
					// stopped, Eventual reads there are stale; WaitGTID
					// still reads its writes (on the writer).
					require.NoError(t, other.StopApplier(ctx))
					e := writeThenRead(t, db, rwsplit.Eventual, 20)
					w := writeThenRead(t, db, rwsplit.WaitGTID(200*time.Millisecond), 5)
					require.NoError(t, other.StartApplier(ctx))
					require.NoError(t, c.WaitCaughtUp(ctx))
					assert.Positive(t, e.stale, "Eventual (the control) reads stale data with %s's applier stopped: served %v", other.Name, e.served)
					assert.Zero(t, w.stale, "WaitGTID with %s's applier stopped", other.Name)
					t.Logf("%s, %s: writer %s (server_id %d); %d/%d writes ok; Eventual on %s %d/30; WaitGTID %d pairs: %d stale, served %v; applier stopped: Eventual %d/20 stale (served %v), WaitGTID %d/5 stale (served %v)",
						f, order.name, writer.Name, writer.ServerID, writes-failed, writes, other.Name, eventual[other.ServerID],
						pairs, g.stale, g.served, e.stale, e.served, w.stale, w.served)
				})
			}
		})
	}
}
