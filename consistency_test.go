package rwsplit_test

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rwsplit/rwsplit"
	"github.com/rwsplit/rwsplit/rwsplittest"
)

func TestWithConsistencyLastWins(t *testing.T) {
	ctx := rwsplit.WithConsistency(context.Background(), rwsplit.Primary)
	ctx = rwsplit.WithConsistency(ctx, rwsplit.WaitGTID(time.Second))
	c, ok := rwsplit.ConsistencyFrom(ctx)
	require.True(t, ok)
	assert.Equal(t, "WaitGTID(1s)", c.String())
	_, ok = rwsplit.ConsistencyFrom(context.Background())
	assert.False(t, ok)
	assert.Equal(t, "Sleep(0s).OrFail()", rwsplit.Sleep(-time.Second).OrFail().String())
}

// runPairs runs rwsplittest.Pairs and fails the test on any other error.
func runPairs(t *testing.T, writer, reader *rwsplit.DB, mode rwsplit.Consistency, n, workers int, viaQuery bool) rwsplittest.PairsResult {
	t.Helper()
	r := rwsplittest.Pairs(context.Background(), rwsplittest.PairsConfig{
		Writer: writer, Reader: reader, Mode: mode, N: n, Workers: workers, ViaQuery: viaQuery,
	})
	require.Empty(t, r.Errors)
	require.Len(t, r.Latencies, n)
	return r
}

// prepareRW (re)creates the table the pairs use.
func prepareRW(t *testing.T, c *rwsplittest.Cluster, db *rwsplit.DB) {
	t.Helper()
	require.NoError(t, rwsplittest.CreatePairsTable(context.Background(), c, db))
}

// setDelay gives every replica a replication delay, and takes it away when
// the test ends.
func setDelay(t *testing.T, c *rwsplittest.Cluster, d time.Duration) {
	t.Helper()
	ctx := context.Background()
	for _, r := range c.Replicas {
		require.NoError(t, r.SetDelay(ctx, d))
	}
	t.Cleanup(func() {
		for _, r := range c.Replicas {
			assert.NoError(t, r.SetDelay(ctx, 0))
		}
		assert.NoError(t, c.WaitCaughtUp(ctx))
	})
}

// stopAppliers stops every replica's applier, and restarts them when the
// test ends.
func stopAppliers(t *testing.T, c *rwsplittest.Cluster) {
	t.Helper()
	ctx := context.Background()
	for _, r := range c.Replicas {
		require.NoError(t, r.StopApplier(ctx))
	}
	t.Cleanup(func() {
		for _, r := range c.Replicas {
			assert.NoError(t, r.StartApplier(ctx))
		}
		assert.NoError(t, c.WaitCaughtUp(ctx))
	})
}

const pairs = 1000

// TestConsistencyUnderDelay injects a replication delay on every replica and
// makes 1,000 write→read pairs per mode: Eventual must show stale reads (the
// test can see them), the waiting modes and Primary none, Sleep none when it
// sleeps past the delay and stale reads when it does not.
func TestConsistencyUnderDelay(t *testing.T) {
	forEachFlavor(t, func(t *testing.T, c *rwsplittest.Cluster) {
		db := openRouter(t, c)
		// A second DB, as a second process would have, whose replica DSNs
		// let a wait ride with the read in one round trip.
		other, err := rwsplit.Open("mysql", c.Primary.DSN(), c.ReplicaDSNs("multiStatements=true", "interpolateParams=true"))
		require.NoError(t, err)
		defer other.Close()
		prepareRW(t, c, db)

		// Replication delay is set in whole seconds, and both servers
		// round it: under this load a MySQL replica with a 1 s delay shows
		// a write 1-2 s after its commit (2 s at the median), a MariaDB
		// replica with a 2 s delay 1-2 s after. The write load adds its own
		// lag on a loaded machine (seconds at the p99 on two busy cores), so
		// the sleep that must not see stale data leaves a wide margin.
		delay := time.Second
		if c.Flavor == rwsplittest.MariaDB {
			delay = 2 * time.Second
		}
		setDelay(t, c, delay)

		for _, tc := range []struct {
			name      string
			reader    *rwsplit.DB
			mode      rwsplit.Consistency
			viaQuery  bool
			wantStale bool
		}{
			{"Eventual", db, rwsplit.Eventual, false, true},
			{"Primary", db, rwsplit.Primary, false, false},
			{"Sleep shorter than the delay", db, rwsplit.Sleep(delay / 5), false, true},
			{"Sleep longer than the delay", db, rwsplit.Sleep(5 * time.Second), false, false},
			{"WaitPosition", db, rwsplit.WaitPosition(30 * time.Second), false, false},
			{"WaitGTID", db, rwsplit.WaitGTID(30 * time.Second), false, false},
			{"WaitGTID, token to another DB, one round trip", other, rwsplit.WaitGTID(30 * time.Second), true, false},
			{"WaitPosition, token to another DB, one round trip", other, rwsplit.WaitPosition(30 * time.Second), true, false},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before := tc.reader.Stats()
				r := runPairs(t, db, tc.reader, tc.mode, pairs, 100, tc.viaQuery)
				after := tc.reader.Stats()
				t.Logf("%s: %d/%d stale, read p50 %v p99 %v; waits %d, skipped %d, fallbacks %d",
					tc.mode, r.Stale, pairs, r.Percentile(0.5), r.Percentile(0.99),
					after.Waits-before.Waits, after.WaitsSkipped-before.WaitsSkipped, after.Fallbacks-before.Fallbacks)
				if tc.wantStale {
					assert.Greater(t, r.Stale, pairs/2, "most reads must be stale under a %v delay", delay)
				} else {
					assert.Zero(t, r.Stale, "stale reads")
				}
				assert.Zero(t, after.Fallbacks-before.Fallbacks, "replicas catch up within the timeout")
			})
		}
	})
}

// TestConsistencyFallback stops every applier: waiting reads must fall back
// to the primary (or fail under OrFail), exactly as often as they could not
// catch up, and never read stale data.
func TestConsistencyFallback(t *testing.T) {
	forEachFlavor(t, func(t *testing.T, c *rwsplittest.Cluster) {
		db := openRouter(t, c)
		prepareRW(t, c, db)

		t.Run("caught up: no fallback", func(t *testing.T) {
			before := db.Stats()
			r := runPairs(t, db, db, rwsplit.WaitGTID(5*time.Second), 200, 20, false)
			assert.Zero(t, r.Stale)
			assert.Zero(t, db.Stats().Fallbacks-before.Fallbacks)
		})

		stopAppliers(t, c)
		for _, mode := range []rwsplit.Consistency{
			rwsplit.WaitGTID(50 * time.Millisecond),
			rwsplit.WaitPosition(50 * time.Millisecond),
		} {
			t.Run(mode.String(), func(t *testing.T) {
				before := db.Stats()
				r := runPairs(t, db, db, mode, pairs, 100, false)
				st := db.Stats()
				assert.Zero(t, r.Stale, "a fallback reads the primary")
				assert.EqualValues(t, pairs, st.Fallbacks-before.Fallbacks, "every read fell back")
				assert.Zero(t, r.NotCaughtUp)
			})
			t.Run(mode.OrFail().String(), func(t *testing.T) {
				before := db.Stats()
				r := runPairs(t, db, db, mode.OrFail(), 200, 20, false)
				assert.Equal(t, 200, r.NotCaughtUp, "every read failed with ErrReplicaNotCaughtUp")
				assert.Zero(t, r.Stale)
				assert.EqualValues(t, 200, db.Stats().NotCaughtUp-before.NotCaughtUp)
				assert.Zero(t, db.Stats().Fallbacks-before.Fallbacks)
			})
		}
		t.Run("CaughtUp never picks a replica that stopped applying", func(t *testing.T) {
			before := db.Stats()
			r := runPairs(t, db, db, rwsplit.CaughtUp(50*time.Millisecond), 100, 10, false)
			assert.Zero(t, r.Stale)
			assert.EqualValues(t, 100, db.Stats().Fallbacks-before.Fallbacks)
		})
	})
}

// TestProcessScope: without a Session, waiting reads wait for the last write
// made through the same DB.
func TestProcessScope(t *testing.T) {
	forEachFlavor(t, func(t *testing.T, c *rwsplittest.Cluster) {
		db := openRouter(t, c) // no option: every write records itself
		prepareRW(t, c, db)
		require.NoError(t, c.Replicas[0].StopApplier(context.Background()))
		require.NoError(t, c.Replicas[1].StopApplier(context.Background()))
		defer func() {
			// Starting a running applier is a no-op (a note, not an error).
			for _, r := range c.Replicas {
				assert.NoError(t, r.StartApplier(context.Background()))
			}
		}()
		ctx := rwsplit.WithConsistency(context.Background(), rwsplit.WaitGTID(2*time.Second))
		var stale int
		var wg sync.WaitGroup
		for i := range 20 {
			id := 1_000_000_000 + i
			_, err := db.ExecContext(context.Background(), "INSERT INTO "+rwsplittest.PairsTable+" (id, v) VALUES (?, ?)", id, id)
			require.NoError(t, err)
			if i == 5 {
				// Let the appliers go while reads wait.
				wg.Add(1)
				go func() {
					defer wg.Done()
					time.Sleep(200 * time.Millisecond)
					for _, r := range c.Replicas {
						assert.NoError(t, r.StartApplier(context.Background()))
					}
				}()
			}
			var v int64
			if err := db.QueryRowContext(ctx, "SELECT v FROM "+rwsplittest.PairsTable+" WHERE id = ?", id).Scan(&v); errors.Is(err, sql.ErrNoRows) {
				stale++
			} else {
				require.NoError(t, err)
			}
		}
		wg.Wait()
		assert.Zero(t, stale)
		assert.Positive(t, db.Stats().Waits)
	})
}
