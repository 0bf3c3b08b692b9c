package rwsplit_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"fmt"
	"sync"
	"sync/atomic"

	"github.com/rwsplit/rwsplit"
	"github.com/rwsplit/rwsplit/internal/dialect"
	"github.com/rwsplit/rwsplit/internal/fakedb"
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

// readAt reads k through db.QueryRowContext and reports the value, whether
// the row was there, and where the read ran.
func readAt(t *testing.T, ctx context.Context, db *rwsplit.DB, k int64) (v int64, found bool, at string) {
	t.Helper()
	before := routedOf(db)
	found, err := scanFound(db.QueryRowContext(ctx, selectKV, k).Scan(&v))
	require.NoError(t, err)
	return v, found, where(before, routedOf(db))
}

// waitStatements counts the wait statements the replicas of c received.
func waitStatements(c *fakedb.Cluster) int {
	n := 0
	for _, r := range c.Replicas() {
		n += r.Count("WAIT")
	}
	return n
}

// primaryQueries counts the queries db made on its primary for its reads'
// sake: reads of the primary's executed set (Latest, Monotonic, token
// checks) and captures of pending writes.
func primaryQueries(db *rwsplit.DB) int {
	return int(rwsplit.TokenChecks(db) + db.Stats().Captures)
}

// prefer returns a balancer that picks the replica whose index *idx holds
// when it is a candidate, else the first candidate: the tests choose which
// replica a read that is free to go anywhere goes to.
func prefer(idx *atomic.Int32) rwsplit.Balancer {
	return balancerFunc(func(c []*rwsplit.Server) *rwsplit.Server {
		if len(c) == 0 {
			return nil
		}
		for _, s := range c {
			if s.Index() == int(idx.Load()) {
				return s
			}
		}
		return c[0]
	})
}

// TestFast: Fast never sends a wait. Right after a write no replica is known
// to have it and the read goes to the primary (one capture); once a replica
// is known to have it (the monitor saw it, or a wait there succeeded) Fast
// reads it there at no round trip. Eventual, the control, reads the same
// replicas stale; under OrFail Fast fails rather than read the primary.
func TestFast(t *testing.T) {
	for _, f := range fakeFlavors {
		t.Run(f.String(), func(t *testing.T) {
			c := fakedb.NewCluster(f, 2)
			stalled(c)
			var pref atomic.Int32 // replica 0 when free to choose
			db := fakeDB(t, c, true, rwsplit.WithBalancer(prefer(&pref)))
			ctx := rwsplit.WithSession(context.Background(), rwsplit.NewSession(rwsplit.Token{}))
			fast := rwsplit.WithConsistency(ctx, rwsplit.Fast)

			// Nothing written: any replica, as Eventual.
			c.Write(1, 1)
			_, found, at := readAt(t, fast, db, 1)
			assert.False(t, found, "nothing written in the scope: a replica, however stale")
			assert.Contains(t, at, "replica")

			_, err := db.ExecContext(ctx, insertKV, 2, 2)
			require.NoError(t, err)
			_, found, at = readAt(t, rwsplit.WithConsistency(ctx, rwsplit.Eventual), db, 2)
			assert.False(t, found, "control: Eventual reads the replica stale")
			assert.Contains(t, at, "replica")

			st0 := db.Stats()
			for range 5 {
				v, found, at := readAt(t, fast, db, 2)
				assert.True(t, found && v == 2, "Fast read its write")
				assert.Equal(t, "primary", at, "no replica is known to have the write")
			}
			st := db.Stats()
			assert.Equal(t, uint64(1), st.Captures-st0.Captures, "one capture for the pending write, then none")
			assert.Equal(t, uint64(5), st.Fallbacks-st0.Fallbacks)
			_, err = db.QueryContext(rwsplit.WithConsistency(ctx, rwsplit.Fast.OrFail()), selectKV, 2)
			assert.ErrorIs(t, err, rwsplit.ErrReplicaNotCaughtUp, "OrFail: fails rather than read the primary")

			// The monitor sees replica 1 has applied it: Fast reads there.
			c.Replicas()[1].ApplyAll()
			rwsplit.MonitorRound(db)
			st0 = db.Stats()
			for range 6 {
				v, found, at := readAt(t, fast, db, 2)
				assert.True(t, found && v == 2)
				assert.Equal(t, "replica 1", at, "the replica known to have the write")
			}
			st = db.Stats()
			assert.Equal(t, uint64(6), st.WaitsSkipped-st0.WaitsSkipped)
			assert.Zero(t, st.Waits-st0.Waits)

			// A wait there teaches it too: a WaitGTID read waits on replica
			// 0, then Fast reads go to replica 0 or 1, never to the primary.
			_, err = db.ExecContext(ctx, insertKV, 3, 3)
			require.NoError(t, err)
			var v int64
			require.NoError(t, db.QueryRowContext(rwsplit.WithConsistency(ctx, rwsplit.WaitGTID(time.Second)), selectKV, 3).Scan(&v))
			st0 = db.Stats()
			for range 6 {
				v, found, at := readAt(t, fast, db, 3)
				assert.True(t, found && v == 3)
				assert.Equal(t, "replica 0", at, "the replica whose wait succeeded")
			}
			st = db.Stats()
			assert.Zero(t, st.Captures-st0.Captures+st.Waits-st0.Waits+st.Fallbacks-st0.Fallbacks)
			assert.Equal(t, 1, waitStatements(c), "Fast never sent a wait; the one wait is WaitGTID's")
			t.Logf("%s: captures %d, waits sent %d, fallbacks %d, waits skipped %d", f, st.Captures, waitStatements(c), st.Fallbacks, st.WaitsSkipped)
		})
	}
}

// TestLatest: a reader on a second DB that shares nothing with the writer
// (no Session, no token) sees the write under Latest, on a replica after a
// wait; Eventual and WaitGTID, the controls, read it stale. Concurrent
// Latest readers share the read of the primary's executed set; a replica
// that does not catch up in time sends the read to the primary.
func TestLatest(t *testing.T) {
	for _, f := range fakeFlavors {
		t.Run(f.String(), func(t *testing.T) {
			c := fakedb.NewCluster(f, 2)
			stalled(c)
			a := fakeDB(t, c, true)
			b := fakeDB(t, c, false)
			_, err := a.Exec(insertKV, 1, 1)
			require.NoError(t, err)
			bg := context.Background()
			_, found, _ := readAt(t, rwsplit.WithConsistency(bg, rwsplit.Eventual), b, 1)
			assert.False(t, found, "control: Eventual reads stale")
			_, found, at := readAt(t, rwsplit.WithConsistency(bg, rwsplit.WaitGTID(time.Second)), b, 1)
			assert.False(t, found, "control: WaitGTID waits only for what its scope wrote: nothing on b")
			assert.Contains(t, at, "replica")

			q0 := primaryQueries(b)
			latest := rwsplit.WithConsistency(bg, rwsplit.Latest(5*time.Second))
			v, found, at := readAt(t, latest, b, 1)
			assert.True(t, found && v == 1, "Latest sees a write it was never told about")
			assert.Contains(t, at, "replica")
			assert.Equal(t, 1, primaryQueries(b)-q0, "one read of the primary's executed set")

			// 32 concurrent readers share it: the primary hangs while they
			// arrive, so they all wait for the read in flight or the one
			// after it.
			_, err = a.Exec(insertKV, 2, 2)
			require.NoError(t, err)
			q0 = primaryQueries(b)
			st0 := b.Stats()
			c.Primary().Hang()
			var wg sync.WaitGroup
			var fresh atomic.Int32
			for range 32 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					var v int64
					if err := b.QueryRowContext(latest, selectKV, 2).Scan(&v); err == nil && v == 2 {
						fresh.Add(1)
					}
				}()
			}
			time.Sleep(200 * time.Millisecond)
			c.Primary().Unhang()
			wg.Wait()
			st := b.Stats()
			assert.Equal(t, int32(32), fresh.Load(), "every reader saw the write")
			assert.Zero(t, st.PrimaryReads-st0.PrimaryReads, "all on replicas")
			q := primaryQueries(b) - q0
			assert.LessOrEqual(t, q, 2, "32 readers, at most two reads of the primary")
			t.Logf("%s: 32 concurrent Latest reads: %d primary queries, %d waits, %d skipped (replica known to have the set)",
				f, q, st.Waits-st0.Waits, st.WaitsSkipped-st0.WaitsSkipped)

			// A replica that does not catch up in time: the primary, or
			// ErrReplicaNotCaughtUp under OrFail.
			for _, r := range c.Replicas() {
				r.ApplyOnWait(false)
			}
			_, err = a.Exec(insertKV, 3, 3)
			require.NoError(t, err)
			st0 = b.Stats()
			v, found, at = readAt(t, rwsplit.WithConsistency(bg, rwsplit.Latest(50*time.Millisecond)), b, 3)
			assert.True(t, found && v == 3)
			assert.Equal(t, "primary", at)
			assert.Equal(t, uint64(1), b.Stats().Fallbacks-st0.Fallbacks)
			_, err = b.QueryContext(rwsplit.WithConsistency(bg, rwsplit.Latest(50*time.Millisecond).OrFail()), selectKV, 3)
			assert.ErrorIs(t, err, rwsplit.ErrReplicaNotCaughtUp)
			var we *rwsplit.WaitError
			assert.ErrorAs(t, err, &we)
		})
	}
}

// monoCluster returns a stalled cluster where k=1 is 1 on replica 1 and 2
// on replica 0 (transactions 1 and 2), and a DB over it whose balancer
// picks the replica pref names; the monitor has seen both replicas at
// transaction 1 only (replica 0 applied the second after it looked).
func monoCluster(t *testing.T, f dialect.Flavor, pref *atomic.Int32) (*fakedb.Cluster, *rwsplit.DB) {
	c := fakedb.NewCluster(f, 2)
	stalled(c)
	c.Write(1, 1)
	for _, r := range c.Replicas() {
		r.ApplyAll()
	}
	db := fakeDB(t, c, true, rwsplit.WithBalancer(prefer(pref)))
	rwsplit.MonitorRound(db)
	c.Write(1, 2)
	c.Replicas()[0].ApplyAll()
	return c, db
}

// TestMonotonic: replicas at different points. A Session's Eventual reads,
// the control, go back in time as the balancer moves between them;
// Monotonic reads stay on the replica of the first read at no round trip,
// and when it goes away, or after a read on the primary, the next replica
// first waits for what the primary had once the earlier reads returned. The
// monitor's view of replica 0 (transaction 1) is below what it showed (2):
// a floor built from it would let replica 1 serve 1.
func TestMonotonic(t *testing.T) {
	requireReadHook(t)
	for _, f := range fakeFlavors {
		t.Run(f.String(), func(t *testing.T) {
			var pref atomic.Int32
			c, db := monoCluster(t, f, &pref)
			sess := rwsplit.WithSession(context.Background(), rwsplit.NewSession(rwsplit.Token{}))

			// Control: Eventual goes 2, then 1.
			ev := rwsplit.WithConsistency(sess, rwsplit.Eventual)
			pref.Store(0)
			v0, _, _ := readAt(t, ev, db, 1)
			pref.Store(1)
			v1, _, _ := readAt(t, ev, db, 1)
			assert.Equal(t, []int64{2, 1}, []int64{v0, v1}, "control: Eventual went back in time")

			// Monotonic: stays on replica 0, whatever the balancer says.
			mono := rwsplit.WithConsistency(sess, rwsplit.Monotonic(time.Second))
			q0, waits0 := primaryQueries(db), waitStatements(c)
			var got []int64
			for i := range 10 {
				pref.Store(int32(i % 2))
				v, _, at := readAt(t, mono, db, 1)
				got = append(got, v)
				assert.Equal(t, "replica 0", at, "read %d", i)
			}
			assert.Equal(t, []int64{2, 2, 2, 2, 2, 2, 2, 2, 2, 2}, got)
			assert.Zero(t, primaryQueries(db)-q0, "staying costs the primary nothing")
			assert.Zero(t, waitStatements(c)-waits0, "and no wait")

			// Replica 0 goes down: the read moves to replica 1, which first
			// waits for transaction 2 (one read of the primary, one wait).
			c.Replicas()[0].SetDown(true)
			reads0 := rwsplit.ReplicaReads(db)
			v, _, _ := readAt(t, mono, db, 1)
			assert.Equal(t, int64(2), v, "not back in time after the move")
			assert.Equal(t, uint64(1), rwsplit.ReplicaReads(db)[1]-reads0[1], "read on replica 1")
			assert.Equal(t, 1, primaryQueries(db)-q0, "one read of the primary's executed set")
			assert.Equal(t, 1, waitStatements(c)-waits0, "one wait")
			assert.Equal(t, 2, c.Replicas()[1].Applied())
			c.Replicas()[0].SetDown(false)

			// A read the primary serves (a locking read) shows 3; the next
			// Monotonic read waits on a replica for it. Eventual, the
			// control, reads 2 there.
			c.Write(1, 3)
			var locked int64
			require.NoError(t, db.QueryRowContext(mono, selectKV+" FOR UPDATE", 1).Scan(&locked))
			require.Equal(t, int64(3), locked)
			ctl, _, _ := readAt(t, ev, db, 1)
			assert.Equal(t, int64(2), ctl, "control: Eventual reads 2 after the primary showed 3")
			q0, waits0 = primaryQueries(db), waitStatements(c)
			v, _, at := readAt(t, mono, db, 1)
			assert.Equal(t, int64(3), v, "Monotonic after a read of the primary")
			assert.Contains(t, at, "replica")
			assert.Equal(t, 1, primaryQueries(db)-q0)
			assert.Equal(t, 1, waitStatements(c)-waits0)

			// The primary shows a commit before its gtid_executed names it
			// (MySQL adds the GTID in the commit stage, after InnoDB made the
			// commit visible, and a loaded server may take a while): the
			// next Monotonic read still waits for it, learnt from
			// @@GLOBAL.gtid_owned, once the primary's commit has ended.
			c.Write(1, 4)
			c.Primary().SetExecutedBehind(1, 3)
			require.NoError(t, db.QueryRowContext(mono, selectKV+" FOR UPDATE", 1).Scan(&locked))
			require.Equal(t, int64(4), locked)
			v, _, at = readAt(t, mono, db, 1)
			assert.Equal(t, int64(4), v, "Monotonic after a read of a commit not yet in gtid_executed")
			assert.Contains(t, at, "replica")
			c.Primary().SetExecutedBehind(0, 0)

			// And it reads the session's own writes, on its replica.
			_, err := db.ExecContext(mono, insertKV, 9, 9)
			require.NoError(t, err)
			v, found, at := readAt(t, mono, db, 9)
			assert.True(t, found && v == 9, "reads its writes")
			assert.Contains(t, at, "replica")
		})
	}
}

// TestMonotonicHistory: a writer commits k=1 := 1, 2, 3 ... while replicas
// apply 1 ms and 15 ms behind and take turns going down; readers on one DB
// read k=1 concurrently for 300 ms, under the process scope (one history
// for all) and with a Session each (one per reader). Under Monotonic no read
// shows less than a read of its scope that returned before it began;
// Eventual, the control, goes back in time.
func TestMonotonicHistory(t *testing.T) {
	requireReadHook(t)
	for _, f := range fakeFlavors {
		for _, scope := range []string{scopeProcess, scopeSession} {
			for _, mode := range []rwsplit.Consistency{rwsplit.Monotonic(time.Second), rwsplit.Eventual} {
				t.Run(fmt.Sprintf("%s/%s/%s", f, scope, mode), func(t *testing.T) {
					c := fakedb.NewCluster(f, 2)
					c.Replicas()[0].SetLag(time.Millisecond)
					c.Replicas()[1].SetLag(15 * time.Millisecond)
					c.Write(1, 0)
					db := fakeDB(t, c, true, rwsplit.WithMonitorInterval(10*time.Millisecond))
					run := 300 * time.Millisecond
					if mode == rwsplit.Eventual {
						run = 1500 * time.Millisecond // the control needs a chance on a loaded machine
					}
					ctx, cancel := context.WithTimeout(context.Background(), run)
					defer cancel()
					var wg sync.WaitGroup
					wg.Add(2)
					go func() { // the writer
						defer wg.Done()
						for i := int64(1); ctx.Err() == nil; i++ {
							c.Write(1, i)
							time.Sleep(200 * time.Microsecond)
						}
					}()
					go func() { // replicas go down in turn, 20 ms each
						defer wg.Done()
						for i := 0; ctx.Err() == nil; i++ {
							r := c.Replicas()[i%2]
							r.SetDown(true)
							time.Sleep(20 * time.Millisecond)
							r.SetDown(false)
							time.Sleep(30 * time.Millisecond)
						}
					}()
					const readers = 4
					hist := make([][]obs, readers)
					for i := range readers {
						wg.Add(1)
						go func() {
							defer wg.Done()
							rctx := rwsplit.WithConsistency(context.Background(), mode)
							if scope == scopeSession {
								rctx = rwsplit.WithSession(rctx, rwsplit.NewSession(rwsplit.Token{}))
							}
							for ctx.Err() == nil {
								var o obs
								o.start = time.Now()
								err := db.QueryRowContext(rctx, selectKV, 1).Scan(&o.v)
								o.end = time.Now()
								if err == nil {
									hist[i] = append(hist[i], o)
								}
							}
						}()
					}
					wg.Wait()
					var all []obs
					bad := 0
					for _, h := range hist {
						all = append(all, h...)
						bad += backwards(h)
					}
					if scope == scopeProcess {
						bad = backwards(all)
					}
					st := db.Stats()
					t.Logf("%d reads, %d back in time; replica reads %v, primary %d, waits %d, retries %d, fallbacks %d, primary reads of its executed set %d",
						len(all), bad, rwsplit.ReplicaReads(db), st.PrimaryReads, st.Waits, st.Retries, st.Fallbacks, rwsplit.TokenChecks(db))
					require.NotEmpty(t, all)
					if mode == rwsplit.Eventual {
						assert.Positive(t, bad, "control: Eventual went back in time")
					} else {
						assert.Zero(t, bad, "Monotonic went back in time")
					}
				})
			}
		}
	}
}

// TestMaxStaleness: replica 1 applies 300 ms behind a steady write load,
// replica 0 at once. MaxStaleness(100ms) never reads replica 1;
// MaxStaleness(2s) does, as Eventual, the control, does. With no replica
// within the bound the read goes to the primary, or fails under OrFail.
func TestMaxStaleness(t *testing.T) {
	for _, f := range fakeFlavors {
		t.Run(f.String(), func(t *testing.T) {
			c := fakedb.NewCluster(f, 2)
			c.Replicas()[1].SetLag(300 * time.Millisecond)
			db := fakeDB(t, c, false, rwsplit.WithMonitorInterval(10*time.Millisecond))
			stop := make(chan struct{})
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := int64(1); ; i++ {
					select {
					case <-stop:
						return
					case <-time.After(2 * time.Millisecond):
					}
					c.Write(1, i)
				}
			}()
			defer func() { close(stop); wg.Wait() }()
			require.Eventually(t, func() bool {
				st := rwsplit.ReplicaStatus(db)
				return st[1].Lag >= 200*time.Millisecond && st[0].Lag < 50*time.Millisecond
			}, 5*time.Second, 5*time.Millisecond, "replica 1 measured behind, replica 0 not")
			reads := func(mode rwsplit.Consistency) (replica []uint64, primary uint64) {
				ctx := rwsplit.WithConsistency(context.Background(), mode)
				st0 := routedOf(db)
				for range 40 {
					var v int64
					_, err := scanFound(db.QueryRowContext(ctx, selectKV, 1).Scan(&v))
					require.NoError(t, err)
				}
				st := routedOf(db)
				return []uint64{st.replicaReads[0] - st0.replicaReads[0], st.replicaReads[1] - st0.replicaReads[1]}, st.primaryReads - st0.primaryReads
			}
			// The DB read nothing so far: its replicas are checked less
			// often (backoff.go), and a look older than the bound is not
			// within it. Reads bring the checks back to each interval.
			require.Eventually(t, func() bool {
				r, _ := reads(rwsplit.MaxStaleness(100 * time.Millisecond))
				return r[0] > 0
			}, 5*time.Second, time.Millisecond, "MaxStaleness(100ms) reads replica 0 once reads flow")
			tight, tp := reads(rwsplit.MaxStaleness(100 * time.Millisecond))
			loose, _ := reads(rwsplit.MaxStaleness(2 * time.Second))
			ev, _ := reads(rwsplit.Eventual)
			t.Logf("%s: lag %v / %v; reads on replicas 0, 1 (primary): MaxStaleness(100ms) %v (%d), MaxStaleness(2s) %v, Eventual %v",
				f, rwsplit.ReplicaStatus(db)[0].Lag, rwsplit.ReplicaStatus(db)[1].Lag, tight, tp, loose, ev)
			assert.Zero(t, tight[1], "MaxStaleness(100ms) read the replica 300 ms behind")
			assert.Positive(t, tight[0])
			assert.Positive(t, loose[1], "MaxStaleness(2s) reads it")
			assert.Positive(t, ev[1], "control: Eventual reads it")

			st0 := db.Stats()
			_, primary := reads(rwsplit.MaxStaleness(0))
			assert.Equal(t, uint64(40), primary, "no replica within 0: the primary")
			assert.Equal(t, uint64(40), db.Stats().Fallbacks-st0.Fallbacks)
			_, err := db.QueryContext(rwsplit.WithConsistency(context.Background(), rwsplit.MaxStaleness(0).OrFail()), selectKV, 1)
			assert.ErrorIs(t, err, rwsplit.ErrReplicaNotCaughtUp)
		})
	}
}

// TestModeStrings: the modes print as they are written.
func TestModeStrings(t *testing.T) {
	for m, want := range map[rwsplit.Consistency]string{
		rwsplit.Fast:                              "Fast",
		rwsplit.Fast.OrFail():                     "Fast.OrFail()",
		rwsplit.Latest(time.Second):               "Latest(1s)",
		rwsplit.Monotonic(200 * time.Millisecond): "Monotonic(200ms)",
		rwsplit.MaxStaleness(5 * time.Second):     "MaxStaleness(5s)",
		rwsplit.MaxStaleness(-time.Second):        "MaxStaleness(0s)",
	} {
		assert.Equal(t, want, m.String())
	}
}
