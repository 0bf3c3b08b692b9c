package rwsplit_test

import (
	"context"

	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rwsplit/rwsplit"
	"github.com/rwsplit/rwsplit/rwsplittest"
)

// TestCascadedReplica: a second-tier replica (a replica of replica1) serves
// WaitGTID reads with 0 stale reads, is never used to answer a WaitPosition
// read (its executed position refers to replica1's binary log), and its lag
// is measured against the primary: it grows while replica1 stops applying.
func TestCascadedReplica(t *testing.T) {
	if testing.Short() && !rwsplittest.InCI() {
		t.Skip("integration test: skipped in -short mode")
	}
	for _, f := range rwsplittest.Flavors {
		t.Run(string(f), func(t *testing.T) {
			c := rwsplittest.Start(t, f, rwsplittest.WithReplicas(1), rwsplittest.WithCascadedReplicas(1))
			mid, leaf := c.Replicas[0], c.Replicas[1]
			require.Same(t, mid, leaf.Source)
			createKV(t, c)
			ctx := context.Background()
			// The leaf is the only replica: every read that may use a
			// replica goes to it.
			db, err := rwsplit.Open("mysql", c.Primary.DSN(), []string{leaf.DSN()},
				rwsplit.WithMonitorInterval(100*time.Millisecond), rwsplit.WithMaxReplicationLag(time.Second))
			require.NoError(t, err)
			defer db.Close()
			require.Eventually(t, func() bool { return rwsplit.ReplicaStatus(db)[0].State == rwsplit.StateUp },
				30*time.Second, 20*time.Millisecond, "leaf up: %+v", rwsplit.ReplicaStatus(db))

			const n = 40
			g := writeThenRead(t, db, rwsplit.WaitGTID(5*time.Second), n)
			assert.Zero(t, g.stale, "WaitGTID on the leaf: 0 stale")
			assert.Positive(t, g.served[leaf.ServerID], "the leaf served WaitGTID reads: %v", g.served)

			p := writeThenRead(t, db, rwsplit.WaitPosition(5*time.Second), n)
			assert.Zero(t, p.stale, "WaitPosition: 0 stale")
			assert.Zero(t, p.served[leaf.ServerID], "the leaf never answers a WaitPosition read: %v", p.served)

			// The control: with the intermediate's applier stopped, the
			// leaf receives nothing new; Eventual reads there are stale,
			// WaitGTID reads wait in vain and go to the primary.
			require.NoError(t, mid.StopApplier(ctx))
			e := writeThenRead(t, db, rwsplit.Eventual, n)
			w := writeThenRead(t, db, rwsplit.WaitGTID(200*time.Millisecond), n/4)
			assert.Positive(t, e.stale, "Eventual (the control) reads stale data on the leaf")
			assert.Zero(t, w.stale, "WaitGTID: 0 stale")
			require.Eventually(t, func() bool { return rwsplit.ReplicaStatus(db)[0].State == rwsplit.StateLagging },
				15*time.Second, 20*time.Millisecond, "the leaf's lag is measured against the primary: %+v", rwsplit.ReplicaStatus(db))
			require.NoError(t, mid.StartApplier(ctx))
			require.NoError(t, c.WaitCaughtUp(ctx))
			t.Logf("leaf %s: WaitGTID %d reads, %d stale, served %v; WaitPosition served %v; with %s's applier stopped: Eventual %d/%d stale, WaitGTID %d/%d stale",
				leaf.Name, n, g.stale, g.served, p.served, mid.Name, e.stale, n, w.stale, n/4)
		})
	}
}

// TestSemiSyncCaughtUp shows what CaughtUp guarantees under semi-synchronous
// replication with one acknowledgement (seed 001): a replica whose
// acknowledgement the primary needed has received every write acknowledged
// to the client, so "caught up" (applied all it received) means it has the
// write: 0 stale reads. A replica whose acknowledgement was not needed (the
// primary waits for one of two) may not have received it yet and still
// report itself caught up: stale reads. The second replica's receiver is
// stopped to make that window wide; with both running it is narrow, not
// absent.
func TestSemiSyncCaughtUp(t *testing.T) {
	if testing.Short() && !rwsplittest.InCI() {
		t.Skip("integration test: skipped in -short mode")
	}
	for _, f := range rwsplittest.Flavors {
		t.Run(string(f), func(t *testing.T) {
			c := rwsplittest.Start(t, f, rwsplittest.WithReplicas(2), rwsplittest.WithSemiSync(1))
			on, clients, err := c.SemiSyncStatus(context.Background())
			require.NoError(t, err)
			require.True(t, on, "semi-sync on")
			require.Equal(t, 2, clients)
			createKV(t, c)
			ctx := context.Background()
			acker, other := c.Replicas[0], c.Replicas[1]
			// Only the acker can acknowledge: the other's receiver stops.
			_, err = other.Admin().ExecContext(ctx, stopReceiverSQL(f))
			require.NoError(t, err)
			defer func() {
				_, err := other.Admin().ExecContext(ctx, startReceiverSQL(f))
				assert.NoError(t, err)
				assert.NoError(t, c.WaitCaughtUp(ctx))
			}()

			open := func(r *rwsplittest.Node) *rwsplit.DB {
				db, err := rwsplit.Open("mysql", c.Primary.DSN(), []string{r.DSN()}, rwsplit.WithMonitorInterval(100*time.Millisecond))
				require.NoError(t, err)
				t.Cleanup(func() { _ = db.Close() })
				require.Eventually(t, func() bool { return rwsplit.ReplicaStatus(db)[0].Usable },
					30*time.Second, 20*time.Millisecond, "%s usable: %+v", r.Name, rwsplit.ReplicaStatus(db))
				return db
			}
			const n = 60
			withAck := writeThenRead(t, open(acker), rwsplit.CaughtUp(2*time.Second), n)
			assert.Zero(t, withAck.stale, "CaughtUp on the replica whose ack the primary waited for: 0 stale")
			assert.Equal(t, n, withAck.served[acker.ServerID], "all served by %s: %v", acker.Name, withAck.served)
			without := writeThenRead(t, open(other), rwsplit.CaughtUp(2*time.Second), n)
			assert.Positive(t, without.stale, "CaughtUp on a replica whose ack was not needed can be stale")
			t.Logf("semi-sync, 1 ack of 2 replicas: CaughtUp on the acking replica %d/%d stale; on the other %d/%d stale (served %v)",
				withAck.stale, n, without.stale, n, without.served)
		})
	}
}

func stopReceiverSQL(f rwsplittest.Flavor) string {
	if f == rwsplittest.MariaDB {
		return "STOP SLAVE IO_THREAD"
	}
	return "STOP REPLICA IO_THREAD"
}

func startReceiverSQL(f rwsplittest.Flavor) string {
	if f == rwsplittest.MariaDB {
		return "START SLAVE IO_THREAD"
	}
	return "START REPLICA IO_THREAD"
}
