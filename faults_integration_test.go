package rwsplit_test

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rwsplit/rwsplit"
	"github.com/rwsplit/rwsplit/rwsplittest"
	"github.com/rwsplit/rwsplit/rwsplitx"
)

// faultReader reads one value through one public way in.
type faultReader struct {
	name string
	read func(ctx context.Context) error
}

// faultReaders returns a reader per read surface of db: DB.QueryRow,
// DB.Query, a Stmt, a read-only transaction and rwsplitx.
func faultReaders(t *testing.T, db *rwsplit.DB) []faultReader {
	t.Helper()
	const q = "SELECT @@server_id"
	st, err := db.PrepareContext(context.Background(), q)
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	x := rwsplitx.NewDB(db, "mysql")
	return []faultReader{
		{"DB.QueryRow", func(ctx context.Context) error { var v int64; return db.QueryRowContext(ctx, q).Scan(&v) }},
		{"DB.Query", func(ctx context.Context) error {
			var v int64
			rows, err := db.QueryContext(ctx, q)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				if err := rows.Scan(&v); err != nil {
					return err
				}
			}
			return rows.Err()
		}},
		{"Stmt.QueryRow", func(ctx context.Context) error { var v int64; return st.QueryRowContext(ctx).Scan(&v) }},
		{"ReadOnlyTx", func(ctx context.Context) error {
			var v int64
			tx, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
			if err != nil {
				return err
			}
			defer func() { _ = tx.Rollback() }()
			if err := tx.QueryRowContext(ctx, q).Scan(&v); err != nil {
				return err
			}
			return tx.Commit()
		}},
		{"rwsplitx.Get", func(ctx context.Context) error { var v int64; return x.GetContext(ctx, &v, q) }},
	}
}

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

// readLoad runs every reader of rs every period until stop is closed, and
// returns the failures (reader: error) and the count of reads.
func readLoad(rs []faultReader, period time.Duration, stop <-chan struct{}) (failures func() []string, reads func() int64) {
	all := timedLoad(rs, period, stop)
	var once sync.Once
	var got []timedRead
	wait := func() []timedRead {
		once.Do(func() { got = all() })
		return got
	}
	return func() []string {
			var failed []string
			for _, rd := range wait() {
				if rd.err != nil {
					failed = append(failed, fmt.Sprintf("%s after %v: %v", rd.surface, rd.end.Sub(rd.start).Round(time.Millisecond), rd.err))
				}
			}
			return failed
		}, func() int64 {
			return int64(len(wait()))
		}
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

// timedRead is one read of a replica-fault test.
type timedRead struct {
	surface    string
	start, end time.Time
	err        error
}

// timedLoad runs every reader of rs every period until stop is closed, and
// returns every read made.
func timedLoad(rs []faultReader, period time.Duration, stop <-chan struct{}) func() []timedRead {
	var mu sync.Mutex
	var out []timedRead
	var wg sync.WaitGroup
	for _, r := range rs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTicker(period)
			defer t.Stop()
			for {
				select {
				case <-stop:
					return
				case <-t.C:
				}
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				tr := timedRead{surface: r.name, start: time.Now()}
				tr.err = r.read(ctx)
				tr.end = time.Now()
				cancel()
				mu.Lock()
				out = append(out, tr)
				mu.Unlock()
			}
		}()
	}
	return func() []timedRead {
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		return out
	}
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
