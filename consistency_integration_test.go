package rwsplit_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"sync/atomic"

	"github.com/rwsplit/rwsplit"
	"github.com/rwsplit/rwsplit/rwsplittest"
)

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
				// Every read ends on the primary: by the wait's fallback, or,
				// on a loaded machine, for want of a usable replica when the
				// hedge rule set a replica that answered nothing aside.
				fell, aside := st.Fallbacks-before.Fallbacks, st.NoReplica-before.NoReplica
				why := fmt.Sprintf("fallbacks %d, no usable replica %d, waits %d, retries %d, primary reads %d",
					fell, aside, st.Waits-before.Waits, st.Retries-before.Retries, st.PrimaryReads-before.PrimaryReads)
				assert.EqualValues(t, pairs, fell+aside, "every read fell back: %s", why)
				assert.Greater(t, fell, uint64(pairs/2), "most by the wait's fallback: %s", why)
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

const (
	realInsertKV = "INSERT INTO app.kv (k, v) VALUES (?, ?)"
	realSelectKV = "SELECT v FROM app.kv WHERE k = ?"
	realUpdateKV = "UPDATE app.kv SET v = ? WHERE k = ?"
)

// realRead reads key k through db and reports the value, whether the row
// was there, and where the read ran.
func realRead(t *testing.T, ctx context.Context, db *rwsplit.DB, k int64) (v int64, found bool, at string) {
	t.Helper()
	before := routedOf(db)
	found, err := scanFound(db.QueryRowContext(ctx, realSelectKV, k).Scan(&v))
	require.NoError(t, err)
	return v, found, where(before, routedOf(db))
}

// openModes opens a DB over c; oneTrip lets waits ride with the reads.
func openModes(t *testing.T, c *rwsplittest.Cluster, oneTrip bool, opts ...rwsplit.Option) *rwsplit.DB {
	t.Helper()
	var params []string
	if oneTrip {
		params = []string{"multiStatements=true", "interpolateParams=true"}
	}
	db, err := rwsplit.Open("mysql", c.Primary.DSN(), c.ReplicaDSNs(params...), opts...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// TestModesReal runs the four modes against real replication.
func TestModesReal(t *testing.T) {
	forEachFlavor(t, func(t *testing.T, c *rwsplittest.Cluster) {
		createKV(t, c)
		var next atomic.Int64
		next.Store(time.Now().UnixNano() % 1e12 * 1000)
		t.Run("Latest", func(t *testing.T) { realLatest(t, c, next.Add(1)) })
		t.Run("Fast", func(t *testing.T) { realFast(t, c, &next) })
		t.Run("Monotonic", func(t *testing.T) { realMonotonic(t, c, next.Add(1), next.Add(1)) })
		t.Run("MaxStaleness", func(t *testing.T) { realMaxStaleness(t, c, next.Add(1)) })
	})
}

// realLatest: writer a and reader b are separate DBs that share no Session
// or token; the appliers are stopped. b sees a's write under Latest (from
// the primary once the wait times out, from a replica once the appliers
// resume during the wait), and not under Eventual or WaitGTID.
func realLatest(t *testing.T, c *rwsplittest.Cluster, k int64) {
	ctx := context.Background()
	a := openModes(t, c, false)
	b := openModes(t, c, true)
	stopAppliers(t, c)
	_, err := a.ExecContext(ctx, realInsertKV, k, 1)
	require.NoError(t, err)

	_, found, at := realRead(t, rwsplit.WithConsistency(ctx, rwsplit.Eventual), b, k)
	assert.False(t, found, "control: Eventual reads stale")
	assert.Contains(t, at, "replica")
	_, found, at = realRead(t, rwsplit.WithConsistency(ctx, rwsplit.WaitGTID(100*time.Millisecond)), b, k)
	assert.False(t, found, "control: WaitGTID waits only for b's own writes: none")
	assert.Contains(t, at, "replica")

	st0, checks0 := b.Stats(), rwsplit.TokenChecks(b)
	v, found, at := realRead(t, rwsplit.WithConsistency(ctx, rwsplit.Latest(300*time.Millisecond)), b, k)
	assert.True(t, found && v == 1, "Latest sees a's write")
	assert.Equal(t, "primary", at, "the appliers are stopped: after the wait, the primary")
	st := b.Stats()
	assert.Equal(t, uint64(1), st.Fallbacks-st0.Fallbacks)
	assert.Equal(t, uint64(1), rwsplit.TokenChecks(b)-checks0, "one read of the primary's executed set")

	// The appliers resume while a Latest read waits: a replica serves it.
	timer := time.AfterFunc(500*time.Millisecond, func() {
		for _, r := range c.Replicas {
			assert.NoError(t, r.StartApplier(ctx))
		}
	})
	defer timer.Stop()
	start := time.Now()
	v, found, at = realRead(t, rwsplit.WithConsistency(ctx, rwsplit.Latest(10*time.Second)), b, k)
	assert.True(t, found && v == 1)
	assert.Contains(t, at, "replica", "served by a replica once it applied the set")
	t.Logf("%s: Latest: a's write seen by b; with appliers stopped from the primary (1 fallback), then from %s after %v of wait",
		c.Flavor, at, time.Since(start).Round(time.Millisecond))
}

// realFast: writes under a Session, each followed by a Fast read: every
// read fresh, no wait ever sent; right after a write the primary serves it,
// and a replica once it is known to have the write (the monitor saw it, or
// a WaitGTID read waited for it there).
func realFast(t *testing.T, c *rwsplittest.Cluster, next *atomic.Int64) {
	ctx := context.Background()
	db := openModes(t, c, true)
	sess := rwsplit.WithSession(ctx, rwsplit.NewSession(rwsplit.Token{}))
	fast := rwsplit.WithConsistency(sess, rwsplit.Fast)
	st0 := db.Stats()
	const pairs = 30
	fresh, onPrimary := 0, 0
	var k int64
	for i := range pairs {
		k = next.Add(1)
		_, err := db.ExecContext(sess, realInsertKV, k, i)
		require.NoError(t, err)
		v, found, at := realRead(t, fast, db, k)
		if found && v == int64(i) {
			fresh++
		}
		if at == "primary" {
			onPrimary++
		}
	}
	st := db.Stats()
	assert.Equal(t, pairs, fresh, "every Fast read saw its write")
	assert.Zero(t, st.Waits-st0.Waits, "no wait sent")

	// After the monitor's next round the replicas are known to have k.
	require.NoError(t, c.WaitCaughtUp(ctx))
	time.Sleep(1500 * time.Millisecond) // the default monitor interval is 1 s
	v, found, at := realRead(t, fast, db, k)
	assert.True(t, found && v == pairs-1)
	assert.Contains(t, at, "replica", "a replica the monitor saw apply the write")

	// A WaitGTID read teaches the replica it waited on.
	k2 := next.Add(1)
	_, err := db.ExecContext(sess, realInsertKV, k2, 7)
	require.NoError(t, err)
	var got int64
	require.NoError(t, db.QueryRowContext(rwsplit.WithConsistency(sess, rwsplit.WaitGTID(5*time.Second)), realSelectKV, k2).Scan(&got))
	st1 := db.Stats()
	replicaReads := 0
	for range 10 {
		v, found, at := realRead(t, fast, db, k2)
		assert.True(t, found && v == 7)
		if at != "primary" {
			replicaReads++
		}
	}
	st2 := db.Stats()
	assert.Positive(t, replicaReads, "the replica known from the wait serves Fast")
	assert.Zero(t, st2.Waits-st1.Waits, "still no wait from Fast")
	t.Logf("%s: Fast: %d write→read pairs, %d fresh, %d on the primary, %d waits; after a WaitGTID read %d of 10 on replicas",
		c.Flavor, pairs, fresh, onPrimary, st.Waits-st0.Waits, replicaReads)
}

// realMonotonic: replica 0 holds k=1 and replica 1 k=2 (appliers stopped
// one after the other). A Session's Eventual reads, the control, go back
// and forth; Monotonic reads never go back, nor after a read the primary
// served (3). Then a concurrent history: a writer counts up while replica
// 0's applier stops and starts, and readers with a Session each read under
// Monotonic and, the control, Eventual, a locking read (on the primary) now
// and then.
func realMonotonic(t *testing.T, c *rwsplittest.Cluster, k, kh int64) {
	requireReadHook(t)
	ctx := context.Background()
	admin := c.Primary.Admin()
	r0, r1 := c.Replicas[0], c.Replicas[1]
	defer func() {
		for _, r := range c.Replicas {
			assert.NoError(t, r.StartApplier(ctx))
		}
		assert.NoError(t, c.WaitCaughtUp(ctx))
	}()
	_, err := admin.ExecContext(ctx, realInsertKV, k, 1)
	require.NoError(t, err)
	require.NoError(t, c.WaitCaughtUp(ctx))
	require.NoError(t, r0.StopApplier(ctx))
	_, err = admin.ExecContext(ctx, realUpdateKV, 2, k)
	require.NoError(t, err)
	require.NoError(t, r1.WaitCaughtUp(ctx))
	require.NoError(t, r1.StopApplier(ctx))

	db := openModes(t, c, true)
	sess := rwsplit.WithSession(ctx, rwsplit.NewSession(rwsplit.Token{}))
	ev := rwsplit.WithConsistency(sess, rwsplit.Eventual)
	var evSeen []int64
	for range 6 {
		v, _, _ := realRead(t, ev, db, k)
		evSeen = append(evSeen, v)
	}
	assert.Contains(t, evSeen, int64(1))
	assert.Contains(t, evSeen, int64(2), "control: Eventual reads both points: %v", evSeen)

	mono := rwsplit.WithConsistency(sess, rwsplit.Monotonic(300*time.Millisecond))
	st0 := db.Stats()
	var seen []int64
	for range 10 {
		v, _, _ := realRead(t, mono, db, k)
		seen = append(seen, v)
	}
	st := db.Stats()
	assert.Zero(t, backwards(values(seen)), "Monotonic went back: %v", seen)
	assert.Zero(t, st.Waits-st0.Waits, "staying on one replica waits for nothing")

	// The primary shows 3 (a locking read); the replicas still have 1 and 2.
	_, err = admin.ExecContext(ctx, realUpdateKV, 3, k)
	require.NoError(t, err)
	var locked int64
	require.NoError(t, db.QueryRowContext(mono, realSelectKV+" FOR UPDATE", k).Scan(&locked))
	require.Equal(t, int64(3), locked)
	ctl, _, _ := realRead(t, ev, db, k)
	assert.Less(t, ctl, int64(3), "control: Eventual reads a replica's older value")
	v, _, at := realRead(t, mono, db, k)
	assert.Equal(t, int64(3), v, "Monotonic after the primary showed 3 (the replicas cannot: %s)", at)
	t.Logf("%s: Monotonic: Eventual read %v; Monotonic read %v, then 3 after a locking read (on %s)", c.Flavor, evSeen, seen, at)

	for _, r := range c.Replicas {
		require.NoError(t, r.StartApplier(ctx))
	}
	require.NoError(t, c.WaitCaughtUp(ctx))
	realMonotonicHistory(t, c, db, kh)
}

// values makes a history of sequential reads out of their values.
func values(vs []int64) []obs {
	h := make([]obs, len(vs))
	t0 := time.Now()
	for i, v := range vs {
		h[i] = obs{start: t0.Add(time.Duration(2*i) * time.Second), end: t0.Add(time.Duration(2*i+1) * time.Second), v: v}
	}
	return h
}

// realMonotonicHistory is the concurrent history of realMonotonic, for 3 s.
func realMonotonicHistory(t *testing.T, c *rwsplittest.Cluster, db *rwsplit.DB, k int64) {
	ctx := context.Background()
	admin := c.Primary.Admin()
	_, err := admin.ExecContext(ctx, realInsertKV, k, 0)
	require.NoError(t, err)
	require.NoError(t, c.WaitCaughtUp(ctx))
	run, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { // the writer
		defer wg.Done()
		for i := int64(1); run.Err() == nil; i++ {
			if _, err := admin.ExecContext(ctx, realUpdateKV, i, k); err != nil {
				t.Errorf("write: %v", err)
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	go func() { // replica 0 stops and resumes applying, 300 ms each
		defer wg.Done()
		r0 := c.Replicas[0]
		for i := 0; run.Err() == nil; i++ {
			if i%2 == 0 {
				assert.NoError(t, r0.StopApplier(ctx))
			} else {
				assert.NoError(t, r0.StartApplier(ctx))
			}
			select {
			case <-run.Done():
			case <-time.After(300 * time.Millisecond):
			}
		}
		assert.NoError(t, r0.StartApplier(ctx))
	}()
	modes := []rwsplit.Consistency{rwsplit.Monotonic(200 * time.Millisecond), rwsplit.Eventual}
	const perMode = 3
	hist := make([][]obs, len(modes)*perMode)
	var errs atomic.Int32
	for i := range hist {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rctx := rwsplit.WithConsistency(rwsplit.WithSession(ctx, rwsplit.NewSession(rwsplit.Token{})), modes[i/perMode])
			for n := 0; run.Err() == nil; n++ {
				q := realSelectKV
				if n%7 == 6 {
					q += " FOR UPDATE"
				}
				var o obs
				o.start = time.Now()
				err := db.QueryRowContext(rctx, q, k).Scan(&o.v)
				o.end = time.Now()
				if err != nil {
					errs.Add(1)
					continue
				}
				hist[i] = append(hist[i], o)
			}
		}()
	}
	wg.Wait()
	require.NoError(t, c.WaitCaughtUp(ctx))
	assert.Zero(t, errs.Load(), "reads failed")
	for m, mode := range modes {
		reads, bad := 0, 0
		for _, h := range hist[m*perMode : (m+1)*perMode] {
			reads += len(h)
			bad += backwards(h)
		}
		t.Logf("%s: %s: %d reads by %d sessions, %d back in time", c.Flavor, mode, reads, perMode, bad)
		assert.Positive(t, reads)
		if mode == rwsplit.Eventual {
			assert.Positive(t, bad, "control: Eventual went back in time")
		} else {
			assert.Zero(t, bad, "Monotonic went back in time")
		}
	}
}

// realMaxStaleness: replica 1 applies 2 s late (SOURCE_DELAY / MASTER_DELAY)
// under a write every 100 ms; the monitor looks every 100 ms.
// MaxStaleness(500ms) never reads replica 1, MaxStaleness(5s) does, as
// Eventual, the control, does. The rows read carry their write time, so the
// staleness of each read is measured.
func realMaxStaleness(t *testing.T, c *rwsplittest.Cluster, k int64) {
	ctx := context.Background()
	admin := c.Primary.Admin()
	r1 := c.Replicas[1]
	_, err := admin.ExecContext(ctx, realInsertKV, k, time.Now().UnixMilli())
	require.NoError(t, err)
	require.NoError(t, c.WaitCaughtUp(ctx))
	require.NoError(t, r1.SetDelay(ctx, 2*time.Second))
	defer func() {
		assert.NoError(t, r1.SetDelay(ctx, 0))
		assert.NoError(t, c.WaitCaughtUp(ctx))
	}()
	db := openModes(t, c, false, rwsplit.WithMonitorInterval(100*time.Millisecond))
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			if _, err := admin.ExecContext(ctx, realUpdateKV, time.Now().UnixMilli(), k); err != nil {
				t.Errorf("write: %v", err)
				return
			}
		}
	}()
	defer func() { close(stop); wg.Wait() }()
	require.Eventually(t, func() bool {
		st := rwsplit.ReplicaStatus(db)
		return st[1].Lag > time.Second && st[0].Lag < 300*time.Millisecond
	}, 20*time.Second, 50*time.Millisecond, "replica 1 measured 2 s behind, replica 0 not")

	reads := func(mode rwsplit.Consistency) (perReplica []uint64, primary uint64, worst time.Duration) {
		rctx := rwsplit.WithConsistency(ctx, mode)
		st0, reads0 := db.Stats(), rwsplit.ReplicaReads(db)
		for range 40 {
			var written int64
			start := time.Now()
			require.NoError(t, db.QueryRowContext(rctx, realSelectKV, k).Scan(&written))
			// The row is replaced every 100 ms: it is stale by at most
			// its age less that period.
			worst = max(worst, start.Sub(time.UnixMilli(written))-100*time.Millisecond)
			time.Sleep(10 * time.Millisecond)
		}
		st, reads := db.Stats(), rwsplit.ReplicaReads(db)
		for i := range reads {
			perReplica = append(perReplica, reads[i]-reads0[i])
		}
		return perReplica, st.PrimaryReads - st0.PrimaryReads, worst
	}
	tight, tp, tw := reads(rwsplit.MaxStaleness(500 * time.Millisecond))
	loose, lp, lw := reads(rwsplit.MaxStaleness(5 * time.Second))
	ev, _, ew := reads(rwsplit.Eventual)
	st := rwsplit.ReplicaStatus(db)
	t.Logf("%s: measured lag %v / %v; 40 reads each on replicas 0, 1 (primary), worst staleness: MaxStaleness(500ms) %v (%d) %v; MaxStaleness(5s) %v (%d) %v; Eventual %v %v",
		c.Flavor, st[0].Lag.Round(time.Millisecond), st[1].Lag.Round(time.Millisecond), tight, tp, tw.Round(time.Millisecond),
		loose, lp, lw.Round(time.Millisecond), ev, ew.Round(time.Millisecond))
	assert.Zero(t, tight[1], "MaxStaleness(500ms) read the replica 2 s behind")
	assert.Less(t, tw, 1500*time.Millisecond, "MaxStaleness(500ms) read data 2 s old")
	assert.Positive(t, loose[1], "MaxStaleness(5s) reads the replica 2 s behind")
	assert.Positive(t, ev[1], "control: Eventual reads it")
	assert.Greater(t, ew, 1500*time.Millisecond, "control: Eventual read data 2 s old")
}
