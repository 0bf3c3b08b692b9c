package rwsplit_test

import (
	"context"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rwsplit/rwsplit"
	"github.com/rwsplit/rwsplit/rwsplittest"
)

// writeLog is what the writers of a failover test saw: each acknowledged
// write's id and time, and the failed ones.
type writeLog struct {
	mu     sync.Mutex
	acked  []time.Time
	ids    []int64
	failed []string
}

// writeLoad runs n writers, each inserting a row every 20 ms, until stop.
func writeLoad(db *rwsplit.DB, n int, stop <-chan struct{}) (*writeLog, *sync.WaitGroup) {
	log := &writeLog{}
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				case <-time.After(20 * time.Millisecond):
				}
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				res, err := db.ExecContext(ctx, "INSERT INTO app.failover (server_id) VALUES (@@server_id)")
				cancel()
				log.mu.Lock()
				if err != nil {
					log.failed = append(log.failed, err.Error())
				} else if id, err := res.LastInsertId(); err == nil {
					log.acked = append(log.acked, time.Now())
					log.ids = append(log.ids, id)
				}
				log.mu.Unlock()
			}
		}()
	}
	return log, &wg
}

// longestGap is the longest time between two acknowledged writes.
func (l *writeLog) longestGap() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	ts := append([]time.Time(nil), l.acked...)
	sort.Slice(ts, func(i, j int) bool { return ts[i].Before(ts[j]) })
	var gap time.Duration
	for i := 1; i < len(ts); i++ {
		gap = max(gap, ts[i].Sub(ts[i-1]))
	}
	return gap
}

// TestFailoverUnderLoad: under discovery and a mixed read/write load, a
// replica is promoted with rwsplittest's Promote (the old primary fenced
// read-only). Writes resume on the new primary with no restart and no
// ReplacePrimary; no write lands on the old primary after it was fenced;
// every acknowledged write is on the new primary; reads never fail. Then the
// pair flips back the active–passive way (DemoteOldPrimary), and discovery
// follows again. The write-unavailability window and failed writes are
// logged.
func TestFailoverUnderLoad(t *testing.T) {
	if testing.Short() && !rwsplittest.InCI() {
		t.Skip("integration test: skipped in -short mode")
	}
	for _, f := range rwsplittest.Flavors {
		t.Run(string(f), func(t *testing.T) {
			c := rwsplittest.Start(t, f, rwsplittest.WithReplicas(2))
			ctx := context.Background()
			_, err := c.Primary.Admin().ExecContext(ctx,
				"CREATE TABLE app.failover (id BIGINT AUTO_INCREMENT PRIMARY KEY, server_id INT NOT NULL)")
			require.NoError(t, err)
			require.NoError(t, c.WaitCaughtUp(ctx))

			// Every server, the primary last: discovery finds it.
			dsns := append(c.ReplicaDSNs(), c.Primary.DSN())
			db, err := rwsplit.Open("mysql", dsns[0], dsns[1:], rwsplit.WithDiscovery(),
				rwsplit.WithMonitorInterval(200*time.Millisecond))
			require.NoError(t, err)
			defer db.Close()
			require.NotNil(t, db.Primary(), "found when Open returned")
			require.Equal(t, c.Primary.ServerID, serverIDOf(t, db.Primary()))
			rs := faultReaders(t, db)

			for round, step := range []struct {
				to  *rwsplittest.Node
				how rwsplittest.PromoteMode
			}{
				{c.Replicas[0], rwsplittest.ReadOnlyOldPrimary},
				{c.Replicas[1], rwsplittest.DemoteOldPrimary},
			} {
				old := c.Primary
				stop := make(chan struct{})
				writes, wwg := writeLoad(db, 4, stop)
				readFailures, reads := readLoad(rs, 50*time.Millisecond, stop)
				time.Sleep(time.Second)
				p, err := c.Promote(ctx, step.to, step.how)
				require.NoError(t, err, "round %d: promote %s (%s)", round, step.to.Name, step.how)
				var oldExecuted string
				require.NoError(t, old.Admin().QueryRowContext(ctx, gtidExecutedSQL(f)).Scan(&oldExecuted))
				require.Eventually(t, func() bool {
					return db.Primary() != nil && serverIDOf(t, db.Primary()) == step.to.ServerID
				}, 10*time.Second, 20*time.Millisecond, "round %d: writes move to %s", round, step.to.Name)
				time.Sleep(time.Second) // writes on the new primary
				close(stop)
				wwg.Wait()
				failures := readFailures()

				var after string
				require.NoError(t, old.Admin().QueryRowContext(ctx, gtidExecutedSQL(f)).Scan(&after))
				if step.how == rwsplittest.ReadOnlyOldPrimary {
					assert.Equal(t, oldExecuted, after, "round %d: no write landed on the fenced old primary", round)
				}
				var onNew int
				require.NoError(t, step.to.Admin().QueryRowContext(ctx,
					"SELECT COUNT(*) FROM app.failover WHERE server_id = ?", step.to.ServerID).Scan(&onNew))
				assert.Positive(t, onNew, "round %d: writes resumed on the new primary", round)
				writes.mu.Lock()
				ids, failed := append([]int64(nil), writes.ids...), append([]string(nil), writes.failed...)
				writes.mu.Unlock()
				missing := 0
				for _, id := range ids {
					var n int
					require.NoError(t, step.to.Admin().QueryRowContext(ctx, "SELECT COUNT(*) FROM app.failover WHERE id = ?", id).Scan(&n))
					if n == 0 {
						missing++
					}
				}
				assert.Zero(t, missing, "round %d: every acknowledged write is on the new primary", round)
				kinds := map[string]int{}
				for _, e := range failed {
					kinds[e]++
					assert.True(t, isFailoverWriteError(e), "round %d: a write failed with an unexpected error: %s", round, e)
				}
				t.Logf("round %d: write errors: %v", round, kinds)
				assert.Empty(t, failures, "round %d: no read fails", round)
				t.Logf("round %d (%s to %s): promote took %v (write downtime %v); writes: %d acknowledged, %d failed, longest gap between acknowledged writes %v; %d reads, 0 failed",
					round, step.how, step.to.Name, p.Total.Round(time.Millisecond), p.WriteDowntime.Round(time.Millisecond),
					len(ids), len(failed), writes.longestGap().Round(time.Millisecond), reads())
			}
			// The demoted primary serves reads once it replicates.
			require.Eventually(t, func() bool {
				for _, st := range rwsplit.ReplicaStatus(db) {
					if st.Usable && serverIDOf(t, db.Replicas()[st.Index]) == c.Replicas[len(c.Replicas)-1].ServerID {
						return true
					}
				}
				return false
			}, 15*time.Second, 50*time.Millisecond, "the demoted primary serves reads: %+v", rwsplit.ReplicaStatus(db))
		})
	}
}

// isFailoverWriteError reports whether a write failed the way a write may
// during a failover: refused as read-only by the fenced primary, or at once
// while no primary was known.
func isFailoverWriteError(msg string) bool {
	return msg == rwsplit.ErrNoPrimary.Error() || strings.Contains(msg, "1290") || strings.Contains(msg, "1836") || strings.Contains(msg, "read-only") || strings.Contains(msg, "read_only")
}
