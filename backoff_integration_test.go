package rwsplit_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rwsplit/rwsplit"
	"github.com/rwsplit/rwsplit/rwsplittest"
)

// questions is n's Questions counter (statements clients sent), less the
// one that reads it.
func questions(t *testing.T, n *rwsplittest.Node) int64 {
	t.Helper()
	var name string
	var v int64
	require.NoError(t, n.Admin().QueryRowContext(context.Background(), "SHOW GLOBAL STATUS LIKE 'Questions'").Scan(&name, &v))
	return v - 1
}

// TestIdleFleetCost: 50 DBs (standing for 50 instances) idle on one cluster
// send a replica at most a tenth of the check queries the monitor sent
// before its back-off (every replica each second: 2 queries a check on
// MySQL, 3 on MariaDB), counted by the replica itself. The figure
// (200 DBs idle for 60 s) is bench/monitor.go's.
func TestIdleFleetCost(t *testing.T) {
	forEachFlavor(t, func(t *testing.T, c *rwsplittest.Cluster) {
		const n, window = 50, 15 * time.Second
		old := int64(2) // queries per check before the back-off
		if c.Flavor == rwsplittest.MariaDB {
			old = 3
		}
		for range n {
			openRouter(t, c)
		}
		// Past each DB's first checks (at once, then 4 intervals later).
		time.Sleep(6 * time.Second)
		r := c.Replicas[0]
		q0 := questions(t, r)
		time.Sleep(window)
		got := questions(t, r) - q0 - 1 // less the first count's own SHOW
		before := int64(n) * old * int64(window/time.Second)
		t.Logf("%s: %d idle DBs sent replica1 %d queries in %v; before the back-off, %d (%.1f%%)",
			c.Flavor, n, got, window, before, 100*float64(got)/float64(before))
		assert.LessOrEqual(t, got, before/10, "an idle fleet's checks")
	})
}

// TestLagExclusionWhileReading: while reads flow, a replica whose applier
// stopped while the primary takes writes is out of rotation within 2 s of
// its lag crossing the limit (asserted with a margin for a loaded machine;
// the figure is logged).
func TestLagExclusionWhileReading(t *testing.T) {
	forEachFlavor(t, func(t *testing.T, c *rwsplittest.Cluster) {
		ctx := context.Background()
		const limit = time.Second
		db := openRouter(t, c, rwsplit.WithMaxReplicationLag(limit))
		_, err := db.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS lagprobe (id INT AUTO_INCREMENT PRIMARY KEY, at BIGINT)")
		require.NoError(t, err)
		require.NoError(t, c.WaitCaughtUp(ctx))
		r := db.Servers()[1] // replica1
		require.Eventually(t, func() bool { return r.Health().State == rwsplit.StateUp }, 10*time.Second, 10*time.Millisecond)

		stop := make(chan struct{})
		var wg sync.WaitGroup
		defer wg.Wait()
		defer close(stop)
		wg.Add(2)
		go func() { // reads flow
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				case <-time.After(20 * time.Millisecond):
				}
				var one int
				_ = db.QueryRowContext(ctx, "SELECT 1").Scan(&one)
			}
		}()
		require.NoError(t, c.Replicas[0].StopApplier(ctx))
		t.Cleanup(func() {
			assert.NoError(t, c.Replicas[0].StartApplier(ctx))
			assert.NoError(t, c.WaitCaughtUp(ctx))
		})
		first := make(chan time.Time, 1)
		go func() { // writes the stopped applier does not apply
			defer wg.Done()
			for i := 0; ; i++ {
				t0 := time.Now()
				if _, err := db.ExecContext(ctx, "INSERT INTO lagprobe (at) VALUES (?)", t0.UnixNano()); err == nil && i == 0 {
					first <- t0
				}
				select {
				case <-stop:
					return
				case <-time.After(100 * time.Millisecond):
				}
			}
		}()
		crossed := (<-first).Add(limit)
		require.Eventually(t, func() bool { return r.Health().State == rwsplit.StateLagging }, 20*time.Second, 5*time.Millisecond)
		took := time.Since(crossed)
		t.Logf("%s: replica1 out of rotation %v after its lag crossed %v", c.Flavor, took.Round(time.Millisecond), limit)
		assert.False(t, r.Health().Usable)
		assert.Less(t, took, 3*time.Second, "lag exclusion while reads flow (2 s, plus a margin for a loaded machine)")
	})
}
