package rwsplit_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rwsplit/rwsplit"
	"github.com/rwsplit/rwsplit/rwsplittest"
)

// warmReaders waits until every replica of db is up, then returns its
// readers (faultReaders), each having read once.
func warmReaders(t *testing.T, ctx context.Context, db *rwsplit.DB) []faultReader {
	t.Helper()
	require.Eventually(t, func() bool {
		for _, st := range rwsplit.ReplicaStatus(db) {
			if st.State != rwsplit.StateUp {
				return false
			}
		}
		return true
	}, 30*time.Second, 50*time.Millisecond, "replicas up")
	rs := faultReaders(t, db)
	for _, r := range rs {
		require.NoError(t, r.read(ctx), "warm-up read through %s", r.name)
	}
	return rs
}

// watchReplicas samples the replicas' status every 50 ms until stop is
// closed, and returns every sample in which a replica was not up and usable.
func watchReplicas(db *rwsplit.DB, stop <-chan struct{}) func() []string {
	var bad []string
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
			}
			for _, st := range rwsplit.ReplicaStatus(db) {
				if st.State != rwsplit.StateUp || !st.Usable {
					bad = append(bad, fmt.Sprintf("%s %s usable=%v: %s", st.Name, st.State, st.Usable, st.LastError))
				}
			}
		}
	}()
	return func() []string { <-done; return bad }
}

// TestPrimaryPausedReadsFlow: a hung primary (paused for 6 s) neither fails
// a read on any surface nor takes a healthy replica out of rotation. Reads
// run every 100 ms on every surface, and every 300 ms (the cadence at which
// every read failed before the monitor gave each check its own deadline).
func TestPrimaryPausedReadsFlow(t *testing.T) {
	forEachFlavor(t, func(t *testing.T, c *rwsplittest.Cluster) {
		ctx := context.Background()
		db, err := rwsplit.Open("mysql", c.Primary.DSN(), c.ReplicaDSNs())
		require.NoError(t, err)
		defer db.Close()
		rs := warmReaders(t, ctx, db)

		stop := make(chan struct{})
		watched := watchReplicas(db, stop)
		fast, fastReads := readLoad(rs, 100*time.Millisecond, stop)
		slow, slowReads := readLoad(rs, 300*time.Millisecond, stop)
		require.NoError(t, c.Primary.Pause(ctx))
		paused := time.Now()
		time.Sleep(6 * time.Second)
		require.NoError(t, c.Primary.Unpause(ctx))
		pausedFor := time.Since(paused)
		close(stop)
		failures := append(fast(), slow()...)
		n := fastReads() + slowReads()
		down := watched()
		t.Logf("primary paused %v: %d reads on %d surfaces, %d failed; %d replica samples not up",
			pausedFor.Round(time.Millisecond), n, len(rs), len(failures), len(down))
		assert.Empty(t, failures, "no read fails while the primary hangs")
		assert.Empty(t, down, "no healthy replica reported down")
		assert.Greater(t, n, int64(6*len(rs)*10), "reads kept flowing")
		require.NoError(t, c.WaitCaughtUp(ctx))
	})
}

// TestReplicaFaultsReadsFlow: with one replica paused, stopped or cut from
// the network under read load, no read fails on any surface (DB Query and
// QueryRow, Stmt, read-only Tx, rwsplitx) and no read is held much longer
// than the hedge bound (SetHedge(100ms, 500ms); the margin allows for a
// loaded 2-core machine): a read the replica does not answer is hedged to
// another server. Excused, and reported: a read-only transaction already
// running on the replica when the fault began (its statements cannot move).
func TestReplicaFaultsReadsFlow(t *testing.T) {
	forEachFlavor(t, func(t *testing.T, c *rwsplittest.Cluster) {
		ctx := context.Background()
		r := c.Replicas[0]
		faults := []struct {
			name        string
			inject, fix func(context.Context) error
		}{
			{"pause", r.Pause, r.Unpause},
			{"stop", r.Stop, r.Start},
			{"disconnect", r.Disconnect, r.Reconnect},
		}
		const ceiling = 500 * time.Millisecond
		const margin = 1500 * time.Millisecond
		for _, f := range faults {
			t.Run(f.name, func(t *testing.T) {
				db, err := rwsplit.Open("mysql", c.Primary.DSN(), c.ReplicaDSNs())
				require.NoError(t, err)
				defer db.Close()
				require.NoError(t, rwsplit.SetHedge(db, 100*time.Millisecond, ceiling))
				rs := warmReaders(t, ctx, db)
				stop := make(chan struct{})
				reads := timedLoad(rs, 50*time.Millisecond, stop)
				time.Sleep(500 * time.Millisecond)
				at := time.Now()
				require.NoError(t, f.inject(ctx))
				took := time.Now() // the fault took effect between at and took
				time.Sleep(4 * time.Second)
				require.NoError(t, f.fix(ctx))
				time.Sleep(500 * time.Millisecond)
				close(stop)
				all := reads()
				var failed, slow, excused []string
				var longest time.Duration
				for _, rd := range all {
					d := rd.end.Sub(rd.start)
					// A transaction begun on the replica before the fault
					// took effect cannot move once a statement answered.
					inFlight := rd.surface == "ReadOnlyTx" && rd.start.Before(took) && rd.end.After(at)
					line := fmt.Sprintf("%s at %+v for %v: %v", rd.surface, rd.start.Sub(at).Round(time.Millisecond), d.Round(time.Millisecond), rd.err)
					switch {
					case inFlight && (rd.err != nil || d > ceiling+margin):
						excused = append(excused, line)
					case rd.err != nil:
						failed = append(failed, line)
					case d > ceiling+margin:
						slow = append(slow, line)
					}
					if !inFlight {
						longest = max(longest, d)
					}
				}
				st := db.Stats()
				t.Logf("%s of %s for 4 s: %d reads on %d surfaces, %d failed, %d held over %v, longest %v; hedges %d (won %d), bound %v; excused (transactions in flight when it began): %v",
					f.name, r.Name, len(all), len(rs), len(failed), len(slow), ceiling+margin, longest.Round(time.Millisecond),
					st.Hedges, st.HedgeWins, st.HedgeBound, excused)
				assert.Empty(t, failed, "no read fails")
				assert.Empty(t, slow, "no read held longer than the hedge bound (plus margin)")
				require.NoError(t, c.WaitCaughtUp(ctx))
			})
		}
	})
}
