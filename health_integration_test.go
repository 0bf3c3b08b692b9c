package rwsplit_test

import (
	"context"
	"database/sql"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rwsplit/rwsplit"
	"github.com/rwsplit/rwsplit/rwsplittest"
)

const interval = 250 * time.Millisecond

// load reads @@server_id from workers goroutines until stop is closed,
// recording failures and, per server id, when it last answered.
type load struct {
	db      *rwsplit.DB
	reads   atomic.Int64
	mu      sync.Mutex
	fails   []error
	lastBy  map[int]time.Time
	countBy map[int]int
	wg      sync.WaitGroup
	stop    chan struct{}
}

func startLoad(db *rwsplit.DB, workers int) *load {
	l := &load{db: db, lastBy: map[int]time.Time{}, countBy: map[int]int{}, stop: make(chan struct{})}
	for range workers {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for {
				select {
				case <-l.stop:
					return
				default:
				}
				var id int
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				err := db.QueryRowContext(ctx, "SELECT @@server_id").Scan(&id)
				cancel()
				l.reads.Add(1)
				l.mu.Lock()
				if err != nil {
					l.fails = append(l.fails, err)
				} else {
					l.lastBy[id] = time.Now()
					l.countBy[id]++
				}
				l.mu.Unlock()
			}
		}()
	}
	return l
}

func (l *load) end() {
	close(l.stop)
	l.wg.Wait()
}

func (l *load) last(id int) time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lastBy[id]
}

func (l *load) failures() []error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]error(nil), l.fails...)
}

func healthDB(t *testing.T, c *rwsplittest.Cluster, opts ...rwsplit.Option) *rwsplit.DB {
	t.Helper()
	opts = append([]rwsplit.Option{rwsplit.WithMonitorInterval(interval)}, opts...)
	db, err := rwsplit.Open("mysql", c.Primary.DSN(), c.ReplicaDSNs("readTimeout=2s", "timeout=1s"), opts...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// TestReplicaFaults cuts one replica three ways under a concurrent read load:
// no read fails, and the replica serves again within two monitor intervals of
// its return.
func TestReplicaFaults(t *testing.T) {
	forEachFlavor(t, func(t *testing.T, c *rwsplittest.Cluster) {
		ctx := context.Background()
		db := healthDB(t, c)
		n := c.Replicas[0]
		type fault struct {
			name      string
			cut, mend func(*rwsplittest.Node, context.Context) error
		}
		for _, f := range []fault{
			{"stop", (*rwsplittest.Node).Stop, (*rwsplittest.Node).Start},
			{"pause", (*rwsplittest.Node).Pause, (*rwsplittest.Node).Unpause},
			{"disconnect", (*rwsplittest.Node).Disconnect, (*rwsplittest.Node).Reconnect},
		} {
			t.Run(f.name, func(t *testing.T) {
				l := startLoad(db, 16)
				time.Sleep(time.Second)
				require.NoError(t, f.cut(n, ctx))
				time.Sleep(3 * time.Second)
				cutReads := l.reads.Load()
				require.NoError(t, f.mend(n, ctx))
				back := time.Now()
				require.Eventually(t, func() bool { return l.last(n.ServerID).After(back) }, 10*time.Second, 10*time.Millisecond,
					"replica serves again after it returns")
				served := l.last(n.ServerID).Sub(back)
				time.Sleep(time.Second)
				l.end()
				t.Logf("%s: %d reads (%d before it returned), served again %v after it returned; by server: %v; retries %d",
					f.name, l.reads.Load(), cutReads, served.Round(time.Millisecond), l.countBy, db.Stats().Retries)
				assert.Empty(t, l.failures(), "no read fails while a replica is cut")
				assert.LessOrEqual(t, served, 2*interval+200*time.Millisecond, "back within two monitor intervals")
				assert.Positive(t, l.countBy[c.Replicas[1].ServerID], "the other replica served")
			})
		}
	})
}

// TestLagLimit stops one replica's applier under a write load: once its lag
// exceeds the limit it gets no reads; when it catches up it gets them again.
func TestLagLimit(t *testing.T) {
	forEachFlavor(t, func(t *testing.T, c *rwsplittest.Cluster) {
		ctx := context.Background()
		db := healthDB(t, c, rwsplit.WithMaxReplicationLag(time.Second))
		prepareRW(t, c, db)
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { // a write every 50 ms
			defer wg.Done()
			for i := int64(2_000_000_000); ; i++ {
				select {
				case <-stop:
					return
				case <-time.After(50 * time.Millisecond):
				}
				_, err := db.ExecContext(ctx, "INSERT INTO "+rwsplittest.PairsTable+" (id, v) VALUES (?, ?)", i, i)
				assert.NoError(t, err)
			}
		}()
		defer func() { close(stop); wg.Wait() }()

		// Reads flow throughout: a DB that reads nothing checks its
		// replicas less often (the idle back-off), and lag exclusion is
		// promised while reads flow.
		read := func() {
			var id int
			require.NoError(t, db.QueryRowContext(ctx, "SELECT @@server_id").Scan(&id))
		}
		n := c.Replicas[0]
		require.Eventually(t, func() bool { read(); return rwsplit.ReplicaStatus(db)[0].State == rwsplit.StateUp }, 5*time.Second, 50*time.Millisecond)
		require.NoError(t, n.StopApplier(ctx))
		defer func() { _ = n.StartApplier(ctx) }()
		require.Eventually(t, func() bool { read(); return rwsplit.ReplicaStatus(db)[0].State == rwsplit.StateLagging }, 5*time.Second, 50*time.Millisecond,
			"a replica more than 1 s behind is lagging")
		st := rwsplit.ReplicaStatus(db)[0]
		assert.Greater(t, st.Lag, time.Second)
		assert.False(t, st.Usable)
		for range 20 {
			var id int
			require.NoError(t, db.QueryRowContext(ctx, "SELECT @@server_id").Scan(&id))
			assert.NotEqual(t, n.ServerID, id, "a lagging replica gets no reads")
		}
		require.NoError(t, n.StartApplier(ctx))
		require.Eventually(t, func() bool { read(); return rwsplit.ReplicaStatus(db)[0].Usable }, 5*time.Second, 50*time.Millisecond,
			"back in rotation once caught up: %+v", rwsplit.ReplicaStatus(db)[0])
		seen := false
		for range 20 {
			var id int
			require.NoError(t, db.QueryRowContext(ctx, "SELECT @@server_id").Scan(&id))
			seen = seen || id == n.ServerID
		}
		assert.True(t, seen, "it gets reads again")
	})
}

// TestAllReplicasDown: reads go to the primary, or fail with ErrNoReplica
// when the primary is to be protected.
func TestAllReplicasDown(t *testing.T) {
	forEachFlavor(t, func(t *testing.T, c *rwsplittest.Cluster) {
		ctx := context.Background()
		db := healthDB(t, c)
		strict := healthDB(t, c, rwsplit.WithPrimaryFallback(false))
		for _, r := range c.Replicas {
			require.NoError(t, r.Disconnect(ctx))
		}
		defer func() {
			for _, r := range c.Replicas {
				assert.NoError(t, r.Reconnect(ctx))
			}
		}()
		for _, d := range []*rwsplit.DB{db, strict} {
			require.Eventually(t, func() bool {
				for _, st := range rwsplit.ReplicaStatus(d) {
					if st.Usable {
						return false
					}
				}
				return true
			}, 10*time.Second, 50*time.Millisecond)
		}
		for range 10 {
			var id int
			require.NoError(t, db.QueryRowContext(ctx, "SELECT @@server_id").Scan(&id))
			assert.Equal(t, c.Primary.ServerID, id)
		}
		var id int
		err := strict.QueryRowContext(ctx, "SELECT @@server_id").Scan(&id)
		assert.ErrorIs(t, err, rwsplit.ErrNoReplica)
		_, err = strict.ExecContext(ctx, "DO 1")
		assert.NoError(t, err, "writes still go to the primary")
	})
}

// TestTopologyChanges removes, adds and replaces servers under a read and
// write load without losing a call.
func TestTopologyChanges(t *testing.T) {
	forEachFlavor(t, func(t *testing.T, c *rwsplittest.Cluster) {
		ctx := context.Background()
		db := healthDB(t, c)
		prepareRW(t, c, db)
		l := startLoad(db, 16)
		var wfails atomic.Int64
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int64(3_000_000_000); ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := db.ExecContext(ctx, "INSERT INTO "+rwsplittest.PairsTable+" (id, v) VALUES (?, ?)", i, i); err != nil {
					wfails.Add(1)
				}
			}
		}()
		r0 := db.Replicas()[0]
		time.Sleep(500 * time.Millisecond)
		require.NoError(t, db.RemoveReplica(r0))
		assert.Len(t, db.Replicas(), 1)
		time.Sleep(500 * time.Millisecond)
		require.NoError(t, db.AddReplica(r0, 1))
		assert.Len(t, db.Replicas(), 2)
		assert.Error(t, db.AddReplica(r0, 1), "a replica cannot be added twice")
		// Fail over to "another" primary: a new pool to the same server,
		// as after promoting a replica.
		newPrimary, err := sql.Open("mysql", c.Primary.DSN())
		require.NoError(t, err)
		time.Sleep(500 * time.Millisecond)
		old, err := db.ReplacePrimary(newPrimary)
		require.NoError(t, err)
		assert.Same(t, newPrimary, db.Primary())
		time.Sleep(500 * time.Millisecond)
		close(stop)
		wg.Wait()
		l.end()
		require.NoError(t, old.Close())
		assert.Empty(t, l.failures(), "no read lost")
		assert.Zero(t, wfails.Load(), "no write lost")
		t.Logf("%d reads by server %v", l.reads.Load(), l.countBy)
	})
}

// TestWeightedReads: weights 3:1 give the first replica 75% ± 5% of 10,000
// real reads.
func TestWeightedReads(t *testing.T) {
	forEachFlavor(t, func(t *testing.T, c *rwsplittest.Cluster) {
		db := healthDB(t, c, rwsplit.WithBalancer(rwsplit.Weighted()), rwsplit.WithWeights(3, 1))
		l := startLoad(db, 8)
		require.Eventually(t, func() bool { return l.reads.Load() >= 10_000 }, 2*time.Minute, 10*time.Millisecond)
		l.end()
		require.Empty(t, l.failures())
		first, second := l.countBy[c.Replicas[0].ServerID], l.countBy[c.Replicas[1].ServerID]
		share := float64(first) / float64(first+second)
		t.Logf("weighted 3:1: %d vs %d reads (%.1f%%)", first, second, 100*share)
		assert.InDelta(t, 0.75, share, 0.05)
	})
}

// TestSlowReplicaGetsFewerReads pauses one replica for a second under load:
// least-in-flight and latency-aware send it fewer reads than round-robin.
func TestSlowReplicaGetsFewerReads(t *testing.T) {
	forEachFlavor(t, func(t *testing.T, c *rwsplittest.Cluster) {
		ctx := context.Background()
		slow := c.Replicas[0]
		share := map[string]float64{}
		for _, b := range []struct {
			name string
			bal  rwsplit.Balancer
		}{
			{"round-robin", rwsplit.RoundRobin()},
			{"least-in-flight", rwsplit.LeastInFlight()},
			{"latency-aware", rwsplit.LatencyAware()},
		} {
			// A long monitor interval and no hedging (which would take the
			// paused replica out of rotation for every balancer): the
			// balancer alone must steer.
			db := healthDB(t, c, rwsplit.WithBalancer(b.bal), rwsplit.WithMonitorInterval(time.Minute), rwsplit.WithHedge(0, 0))
			l := startLoad(db, 16)
			time.Sleep(500 * time.Millisecond)
			before := rwsplit.ReplicaStatus(db)
			require.NoError(t, slow.Pause(ctx))
			time.Sleep(time.Second)
			require.NoError(t, slow.Unpause(ctx))
			after := rwsplit.ReplicaStatus(db)
			time.Sleep(200 * time.Millisecond)
			l.end()
			calls := func(st []rwsplit.ReplicaHealth, i int) float64 { return float64(st[i].Calls) }
			toSlow := calls(after, 0) - calls(before, 0)
			toOther := calls(after, 1) - calls(before, 1)
			share[b.name] = toSlow / (toSlow + toOther)
			t.Logf("%s: %.0f reads sent to the paused replica, %.0f to the other (%.1f%%)", b.name, toSlow, toOther, 100*share[b.name])
			require.NoError(t, db.Close())
		}
		assert.Less(t, share["least-in-flight"], share["round-robin"])
		assert.Less(t, share["latency-aware"], share["round-robin"])
	})
}
