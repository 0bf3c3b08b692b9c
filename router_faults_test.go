package rwsplit_test

// Unit tests of the call pipeline's bookkeeping against internal/fakedb: the
// defects found in review, each as a test that fails when it comes back.

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/rwsplit/rwsplit"
	"github.com/rwsplit/rwsplit/internal/dialect"
	"github.com/rwsplit/rwsplit/internal/fakedb"
	"github.com/rwsplit/rwsplit/rwsplitx"
)

// TestQueryWriteRecordedAfterItsRows: a write through Query commits when its
// statement ends, after its rows were sent. It must be recorded after that,
// not when Query returns: a waiting read that captured the primary's position
// while the rows were still open must not count as having covered it.
func TestQueryWriteRecordedAfterItsRows(t *testing.T) {
	for _, f := range fakeFlavors {
		for _, prefetch := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/prefetch=%v", f, prefetch), func(t *testing.T) {
				cl := fakedb.NewCluster(f, 2)
				cl.CommitQueryWritesAtClose(true)
				stalled(cl)
				db, err := openFake(cl, false, prefetch)
				require.NoError(t, err)
				defer db.Close()
				x := rwsplitx.NewDB(db, "mysql")
				wait := rwsplit.WithConsistency(context.Background(), rwsplit.WaitGTID(5*time.Second))
				for i, open := range []func(k, v int64) (*sql.Rows, error){
					func(k, v int64) (*sql.Rows, error) { return db.QueryContext(context.Background(), returningKV, k, v) },
					func(k, v int64) (*sql.Rows, error) {
						rows, err := x.QueryxContext(context.Background(), returningKV, k, v)
						if err != nil {
							return nil, err
						}
						return rows.Rows, nil
					},
				} {
					k := int64(100 + i)
					rows, err := open(k, 1)
					require.NoError(t, err)
					readKV(t, wait, db, 999) // a waiting read while the rows are open
					require.NoError(t, rows.Close())
					v, found := readKV(t, wait, db, k)
					assert.True(t, found, "stale read after a write through Query (surface %d)", i)
					assert.EqualValues(t, 1, v)
				}
			})
		}
	}
}

// TestCaptureRacingAWrite: a write that completes while a waiting read's
// capture is in flight stays pending, so the next read waits for it.
func TestCaptureRacingAWrite(t *testing.T) {
	for _, f := range fakeFlavors {
		for _, session := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/session=%v", f, session), func(t *testing.T) {
				cl := fakedb.NewCluster(f, 2)
				stalled(cl)
				db := fakeDB(t, cl, false)
				ctx := rwsplit.WithConsistency(context.Background(), rwsplit.WaitGTID(5*time.Second))
				if session {
					ctx = rwsplit.WithSession(ctx, rwsplit.NewSession(rwsplit.Token{}))
				}
				_, err := db.ExecContext(ctx, insertKV, 1, 1)
				require.NoError(t, err)
				var once sync.Once
				rwsplit.SetAfterCaptureHook(db, func() {
					once.Do(func() {
						// The capture has read the primary; this write
						// completes before the capture is merged.
						_, err := db.ExecContext(ctx, insertKV, 2, 2)
						assert.NoError(t, err)
					})
				})
				_, found := readKV(t, ctx, db, 1)
				assert.True(t, found)
				_, found = readKV(t, ctx, db, 2)
				assert.True(t, found, "the write that raced the capture was lost")
			})
		}
	}
}

// TestMixedWaitModesInOneSession: a WaitPosition read brings only the binlog
// position up to date (on MariaDB its capture reads nothing else); a later
// WaitGTID read must still read the GTIDs of the writes since, not wait for
// older ones and believe it caught up.
func TestMixedWaitModesInOneSession(t *testing.T) {
	for _, f := range fakeFlavors {
		t.Run(f.String(), func(t *testing.T) {
			cl := fakedb.NewCluster(f, 2)
			stalled(cl)
			db := fakeDB(t, cl, false) // idle replicas take turns: successive reads alternate
			ctx := rwsplit.WithSession(context.Background(), rwsplit.NewSession(rwsplit.Token{}))
			byGTID := rwsplit.WithConsistency(ctx, rwsplit.WaitGTID(5*time.Second))
			byPos := rwsplit.WithConsistency(ctx, rwsplit.WaitPosition(5*time.Second))
			_, err := db.ExecContext(ctx, insertKV, 1, 1)
			require.NoError(t, err)
			_, found := readKV(t, byGTID, db, 1) // replica A: GTIDs of write 1
			require.True(t, found)
			_, err = db.ExecContext(ctx, insertKV, 2, 2)
			require.NoError(t, err)
			_, found = readKV(t, byPos, db, 2) // replica B: position of write 2
			require.True(t, found)
			_, found = readKV(t, byGTID, db, 2) // replica A again: must wait for write 2's GTIDs
			assert.True(t, found, "WaitGTID right after WaitPosition read stale data")
			_, err = db.ExecContext(ctx, insertKV, 3, 3)
			require.NoError(t, err)
			_, found = readKV(t, byGTID, db, 3)
			assert.True(t, found, "WaitGTID after WaitPosition read stale data")
			_, found = readKV(t, byPos, db, 3)
			assert.True(t, found)
		})
	}
}

// TestOneTripKeepsTheQuerysOwnError: a query that fails by itself with error
// 1242 (a subquery returning more than one row) after a wait that succeeded
// in the same round trip returns that error: the replica is not blamed, no
// fallback runs, and OrFail does not turn it into ErrReplicaNotCaughtUp.
func TestOneTripKeepsTheQuerysOwnError(t *testing.T) {
	for _, f := range fakeFlavors {
		for _, mode := range []rwsplit.Consistency{rwsplit.WaitGTID(5 * time.Second), rwsplit.WaitGTID(5 * time.Second).OrFail()} {
			t.Run(fmt.Sprintf("%s/%s", f, mode), func(t *testing.T) {
				cl := fakedb.NewCluster(f, 2)
				stalled(cl)
				db := fakeDB(t, cl, true)
				ctx := rwsplit.WithConsistency(context.Background(), mode)
				_, err := db.ExecContext(ctx, insertKV, 1, 1)
				require.NoError(t, err)
				const bad = "SELECT (SELECT 1 UNION ALL SELECT 1)"
				_, qerr := db.QueryContext(ctx, bad)
				var one int
				rerr := db.QueryRowContext(ctx, bad).Scan(&one)
				for _, err := range []error{qerr, rerr} {
					var me *mysql.MySQLError
					require.ErrorAs(t, err, &me)
					assert.EqualValues(t, 1242, me.Number)
					assert.NotErrorIs(t, err, rwsplit.ErrReplicaNotCaughtUp)
				}
				st := db.Stats()
				assert.Zero(t, st.Fallbacks)
				assert.Zero(t, st.NotCaughtUp)
				for _, r := range rwsplit.ReplicaServers(db) {
					assert.False(t, rwsplit.LastWaitFailed(r), "%s blamed for the query's own error", r.Name())
				}
				// A wait that really times out is still told apart.
				cl.Replicas()[0].ApplyOnWait(false)
				cl.Replicas()[1].ApplyOnWait(false)
				_, err = db.ExecContext(ctx, insertKV, 2, 2)
				require.NoError(t, err)
				short := rwsplit.WithConsistency(context.Background(), rwsplit.WaitGTID(30*time.Millisecond))
				_, found := readKV(t, short, db, 2)
				assert.True(t, found, "fallback to the primary")
				assert.EqualValues(t, 1, db.Stats().Fallbacks)
			})
		}
	}
}

// TestCallerDeadlineIsNotTheReplicas: when the caller's context ends during
// a wait, the read returns the context's error as itself (errors.Is works,
// also under OrFail), counts no fallback, and blames no replica.
func TestCallerDeadlineIsNotTheReplicas(t *testing.T) {
	for _, f := range fakeFlavors {
		for _, oneTrip := range []bool{false, true} {
			for _, tc := range []struct {
				mode rwsplit.Consistency
				hang bool // the replicas hang, else their appliers are stopped
			}{
				{rwsplit.WaitGTID(5 * time.Second), false},
				{rwsplit.WaitGTID(5 * time.Second).OrFail(), false},
				{rwsplit.WaitPosition(5 * time.Second).OrFail(), true},
			} {
				mode := tc.mode
				t.Run(fmt.Sprintf("%s/onetrip=%v/%s/hang=%v", f, oneTrip, mode, tc.hang), func(t *testing.T) {
					cl := fakedb.NewCluster(f, 2)
					for _, r := range cl.Replicas() {
						r.StopApplier() // GTID waits never succeed
					}
					db := fakeDB(t, cl, oneTrip)
					// Detect versions first, so that the deadline falls in the wait.
					for _, s := range append(rwsplit.ReplicaServers(db), rwsplit.PrimaryServer(db)) {
						_, err := rwsplit.DetectVersion(context.Background(), s)
						require.NoError(t, err)
					}
					_, err := db.ExecContext(context.Background(), insertKV, 1, 1)
					require.NoError(t, err)
					if tc.hang {
						for _, r := range cl.Replicas() {
							r.Hang()
							defer r.Unhang()
						}
					}
					ctx, cancel := context.WithTimeout(rwsplit.WithConsistency(context.Background(), mode), 100*time.Millisecond)
					defer cancel()
					var v int64
					err = db.QueryRowContext(ctx, selectKV, 1).Scan(&v)
					require.ErrorIs(t, err, context.DeadlineExceeded)
					assert.NotErrorIs(t, err, rwsplit.ErrReplicaNotCaughtUp)
					st := db.Stats()
					assert.Zero(t, st.Fallbacks)
					assert.Zero(t, st.NotCaughtUp)
					for _, r := range rwsplit.ReplicaServers(db) {
						assert.False(t, rwsplit.LastWaitFailed(r), "%s blamed for the caller's deadline", r.Name())
					}
					for _, rs := range rwsplit.ReplicaStatus(db) {
						assert.False(t, rs.Suspect)
					}
				})
			}
		}
	}
}

// TestOrFailWrapsItsCause: a wait that times out under OrFail gives an error
// that is ErrReplicaNotCaughtUp and keeps its cause.
func TestOrFailWrapsItsCause(t *testing.T) {
	cl := fakedb.NewCluster(fakedb.MySQL, 1)
	cl.Replicas()[0].StopApplier()
	db := fakeDB(t, cl, false)
	_, err := db.ExecContext(context.Background(), insertKV, 1, 1)
	require.NoError(t, err)
	ctx := rwsplit.WithConsistency(context.Background(), rwsplit.WaitGTID(20*time.Millisecond).OrFail())
	var v int64
	err = db.QueryRowContext(ctx, selectKV, 1).Scan(&v)
	require.ErrorIs(t, err, rwsplit.ErrReplicaNotCaughtUp)
	assert.Contains(t, err.Error(), "timed out")
	assert.EqualValues(t, 1, db.Stats().NotCaughtUp)
}

// TestWritesPayNoRoundTrip: a write records itself without a query of its
// own, on the pool (so database/sql still retries a stale pooled connection)
// and never on the caller's pinned Conn (whose ROW_COUNT(), FOUND_ROWS() and
// warnings stay the write's). The position is read once, by the read or the
// Token that needs it.
func TestWritesPayNoRoundTrip(t *testing.T) {
	captures := map[dialect.Flavor][]string{
		fakedb.MySQL:   {"SHOW BINARY LOG STATUS", "@@GLOBAL.gtid_executed, @@server_uuid"},
		fakedb.MariaDB: {"SHOW MASTER STATUS", "@@last_gtid", "@@GLOBAL.gtid_binlog_pos"},
	}
	for _, f := range fakeFlavors {
		t.Run(f.String(), func(t *testing.T) {
			cl := fakedb.NewCluster(f, 1)
			stalled(cl)
			db := fakeDB(t, cl, false)
			p := cl.Primary()
			require.Eventually(t, func() bool { return p.Count("VERSION()") > 0 }, 5*time.Second, time.Millisecond)
			time.Sleep(20 * time.Millisecond) // let the monitor's first round end
			count := func() (n int) {
				for _, s := range captures[f] {
					n += p.Count(s)
				}
				return n
			}
			base := count()
			sess := rwsplit.NewSession(rwsplit.Token{})
			ctx := rwsplit.WithConsistency(rwsplit.WithSession(context.Background(), sess), rwsplit.WaitGTID(5*time.Second))
			p.FailNext(1, driver.ErrBadConn) // a stale pooled connection
			_, err := db.ExecContext(ctx, insertKV, 1, 1)
			require.NoError(t, err, "the write lost database/sql's retry of a bad connection")
			require.NoError(t, connDo(ctx, db, func(c *rwsplit.Conn) error {
				_, err := c.ExecContext(ctx, insertKV, 2, 2)
				return err
			}))
			for k := int64(3); k < 13; k++ {
				_, err := db.ExecContext(ctx, insertKV, k, k)
				require.NoError(t, err)
			}
			assert.Equal(t, base, count(), "a write read the primary's position")
			_, found := readKV(t, ctx, db, 12)
			assert.True(t, found)
			assert.Equal(t, base+1, count(), "one capture for twelve writes")
			assert.EqualValues(t, 1, db.Stats().Captures)
			_, err = db.ExecContext(ctx, insertKV, 13, 13)
			require.NoError(t, err)
			tok, err := sess.TokenContext(context.Background())
			require.NoError(t, err)
			assert.False(t, tok.IsZero())
			assert.Greater(t, count(), base+1, "Token read the pending write's position")
		})
	}
}

// TestStmtForgetsRemovedServers: a Stmt's preparations on servers that left
// the topology are closed and dropped.
func TestStmtForgetsRemovedServers(t *testing.T) {
	cl := fakedb.NewCluster(fakedb.MySQL, 2)
	db := fakeDB(t, cl, false)
	st, err := db.PrepareContext(context.Background(), selectKV)
	require.NoError(t, err)
	defer st.Close()
	for range 4 {
		_, _, err := firstRow(st.QueryContext(context.Background(), int64(1)))
		require.NoError(t, err)
	}
	removed := rwsplit.ReplicaServers(db)[0]
	assert.Contains(t, rwsplit.PreparedOn(st), removed)
	pool := removed.DB()
	require.NoError(t, db.RemoveReplica(pool))
	defer pool.Close()
	// The next execution, on a replica already prepared on, prunes.
	_, _, err = firstRow(st.QueryContext(context.Background(), int64(1)))
	require.NoError(t, err)
	assert.NotContains(t, rwsplit.PreparedOn(st), removed)
}

// TestPipelineStress: concurrent clients write their own keys through random
// surfaces and read them back through random surfaces in WaitGTID or
// WaitPosition, sharing the process scope or each with its Session, while the
// replicas lag; every read sees the client's latest write. Run under -race.
func TestPipelineStress(t *testing.T) {
	for _, f := range fakeFlavors {
		t.Run(f.String(), func(t *testing.T) {
			cl := fakedb.NewCluster(f, 2)
			for _, r := range cl.Replicas() {
				r.SetLag(3 * time.Millisecond)
			}
			db := fakeDB(t, cl, f == fakedb.MySQL, rwsplit.WithMonitorInterval(20*time.Millisecond))
			x := rwsplitx.NewDB(db, "mysql")
			const clients, rounds = 16, 40
			var wg sync.WaitGroup
			var stale, reads sync.Map
			for c := range clients {
				wg.Add(1)
				go func() {
					defer wg.Done()
					rng := rand.New(rand.NewPCG(uint64(c), 1))
					ctx := context.Background()
					if c%2 == 0 {
						ctx = rwsplit.WithSession(ctx, rwsplit.NewSession(rwsplit.Token{}))
					}
					modes := []rwsplit.Consistency{rwsplit.WaitGTID(5 * time.Second), rwsplit.WaitPosition(5 * time.Second)}
					k := int64(c)
					for i := range rounds {
						v := int64(i + 1)
						ws := writeSurfaces[rng.IntN(len(writeSurfaces))]
						if err := ws.write(ctx, db, x, k, v); err != nil {
							t.Errorf("%s: %v", ws.name, err)
							return
						}
						rs := readSurfaces[rng.IntN(len(readSurfaces))]
						rctx := rwsplit.WithConsistency(ctx, modes[rng.IntN(2)])
						got, found, err := rs.read(rctx, db, x, k)
						if err != nil {
							t.Errorf("%s: %v", rs.name, err)
							return
						}
						reads.Store(fmt.Sprint(c, i), true)
						if !found || got != v {
							stale.Store(fmt.Sprint(c, i), fmt.Sprintf("%s→%s: got %d (found %v), want %d", ws.name, rs.name, got, found, v))
						}
					}
				}()
			}
			wg.Wait()
			stale.Range(func(k, v any) bool {
				t.Errorf("stale read %v: %v", k, v)
				return true
			})
			n := 0
			reads.Range(func(any, any) bool { n++; return true })
			assert.Equal(t, clients*rounds, n)
		})
	}
}

// TestSessionTokenCarriesPendingWrites: a token exported right after a write
// (whatever the surface) waits for that write in another DB.
func TestSessionTokenCarriesPendingWrites(t *testing.T) {
	for _, f := range fakeFlavors {
		t.Run(f.String(), func(t *testing.T) {
			cl := fakedb.NewCluster(f, 1)
			stalled(cl)
			a, b := fakeDB(t, cl, false), fakeDB(t, cl, false)
			sess := rwsplit.NewSession(rwsplit.Token{})
			_, err := a.QueryContext(rwsplit.WithSession(context.Background(), sess), returningKV, 5, 5)
			require.NoError(t, err)
			tok, err := rwsplit.ParseToken(sess.Token().String())
			require.NoError(t, err)
			ctx := rwsplit.WithConsistency(rwsplit.WithSession(context.Background(), rwsplit.NewSession(tok)), rwsplit.WaitGTID(time.Second).OrFail())
			v, found := readKV(t, ctx, b, 5)
			assert.True(t, found)
			assert.EqualValues(t, 5, v)
		})
	}
}

// TestCloseLeavesNothingRunning: DBs and rwsplitx DBs used through every
// surface leave no goroutine behind once closed.
func TestCloseLeavesNothingRunning(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	for _, line := range fakeLines {
		for i, ws := range writeSurfaces {
			c := pairCase{line: line, oneTrip: i%2 == 0, write: ws, read: readSurfaces[i%len(readSurfaces)],
				scope: scopeToken, mode: rwsplit.WaitGTID(time.Second), placement: onBoth}
			cl := newLineCluster(line)
			stalled(cl)
			open := func() (*rwsplit.DB, error) {
				var rs []*sql.DB
				for _, r := range cl.Replicas() {
					rs = append(rs, r.OpenDB(c.oneTrip))
				}
				return rwsplit.New(cl.Primary().OpenDB(false), rs, rwsplit.WithMonitorInterval(10*time.Millisecond))
			}
			found, _, err := doPair(c, open, int64(i))
			require.NoError(t, err)
			assert.True(t, found)
		}
	}
}

// TestConcurrentReadsShareOneCapture: a burst of waiting reads after a write
// reads the primary's position once, not once per read.
func TestConcurrentReadsShareOneCapture(t *testing.T) {
	for _, f := range fakeFlavors {
		for _, session := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/session=%v", f, session), func(t *testing.T) {
				cl := fakedb.NewCluster(f, 2)
				stalled(cl)
				db := fakeDB(t, cl, false)
				ctx := rwsplit.WithConsistency(context.Background(), rwsplit.WaitGTID(5*time.Second))
				if session {
					ctx = rwsplit.WithSession(ctx, rwsplit.NewSession(rwsplit.Token{}))
				}
				rwsplit.SetAfterCaptureHook(db, func() { time.Sleep(50 * time.Millisecond) }) // a slow primary
				_, err := db.ExecContext(ctx, insertKV, 1, 1)
				require.NoError(t, err)
				var wg sync.WaitGroup
				for range 32 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						var v int64
						assert.NoError(t, db.QueryRowContext(ctx, selectKV, 1).Scan(&v))
						assert.EqualValues(t, 1, v)
					}()
				}
				wg.Wait()
				assert.EqualValues(t, 1, db.Stats().Captures, "32 concurrent reads after one write")
			})
		}
	}
}

// TestSessionsShareCaptures: 32 sessions write their own rows, then, once
// every write has returned, all read theirs back at once under WaitGTID, on
// a primary whose position reads take 5 ms; 10 rounds. A read of the
// primary's position that began after a session's write returned serves
// that session too, so each round costs the primary exactly one capture,
// and every read still sees its write (the replicas apply only what a wait
// asks for).
func TestSessionsShareCaptures(t *testing.T) {
	for _, f := range fakeFlavors {
		t.Run(f.String(), func(t *testing.T) {
			cl := fakedb.NewCluster(f, 2)
			stalled(cl)
			db := fakeDB(t, cl, true)
			rwsplit.SetAfterCaptureHook(db, func() { time.Sleep(5 * time.Millisecond) })
			const sessions, rounds = 32, 10
			ctxs := make([]context.Context, sessions)
			for w := range ctxs {
				ctxs[w] = rwsplit.WithSession(context.Background(), rwsplit.NewSession(rwsplit.Token{}))
			}
			for r := range rounds {
				var wg sync.WaitGroup
				for w := range sessions {
					wg.Add(1)
					go func() {
						defer wg.Done()
						_, err := db.ExecContext(ctxs[w], insertKV, int64(r*sessions+w+1), int64(r))
						assert.NoError(t, err)
					}()
				}
				wg.Wait() // every write has returned
				before := db.Stats().Captures
				for w := range sessions {
					wg.Add(1)
					go func() {
						defer wg.Done()
						k := int64(r*sessions + w + 1)
						rctx := rwsplit.WithConsistency(ctxs[w], rwsplit.WaitGTID(5*time.Second).OrFail())
						var v int64
						found, err := scanFound(db.QueryRowContext(rctx, selectKV, k).Scan(&v))
						assert.NoError(t, err)
						assert.True(t, found, "session %d did not read its write %d", w, k)
					}()
				}
				wg.Wait()
				assert.EqualValues(t, 1, db.Stats().Captures-before, "round %d: one capture for %d sessions' writes", r, sessions)
			}
		})
	}
}

// TestCaptureBeganBeforeAnotherSessionsWrite: session A's capture is in
// flight (held after it read the primary) when session B writes; B's read
// must not take A's capture, which began before B's write returned, but
// share the next one, and see its write.
func TestCaptureBeganBeforeAnotherSessionsWrite(t *testing.T) {
	for _, f := range fakeFlavors {
		t.Run(f.String(), func(t *testing.T) {
			cl := fakedb.NewCluster(f, 2)
			stalled(cl)
			db := fakeDB(t, cl, true)
			a := rwsplit.WithSession(context.Background(), rwsplit.NewSession(rwsplit.Token{}))
			b := rwsplit.WithSession(context.Background(), rwsplit.NewSession(rwsplit.Token{}))
			wait := func(ctx context.Context) context.Context {
				return rwsplit.WithConsistency(ctx, rwsplit.WaitGTID(5*time.Second).OrFail())
			}
			_, err := db.ExecContext(a, insertKV, 1, 1)
			require.NoError(t, err)
			held, release := make(chan struct{}), make(chan struct{})
			var once sync.Once
			rwsplit.SetAfterCaptureHook(db, func() {
				once.Do(func() { close(held); <-release })
			})
			done := make(chan struct{})
			go func() { // A reads: its capture reads the primary, then is held
				defer close(done)
				v, found := readKV(t, wait(a), db, 1)
				assert.True(t, found && v == 1, "A reads its write")
			}()
			<-held
			_, err = db.ExecContext(b, insertKV, 2, 2) // after A's capture read the primary
			require.NoError(t, err)
			go func() { time.Sleep(20 * time.Millisecond); close(release) }() // B is waiting on A's capture by then, or not yet: either way
			v, found := readKV(t, wait(b), db, 2)
			assert.True(t, found && v == 2, "B's read took a capture that began before its write")
			<-done
			assert.EqualValues(t, 2, db.Stats().Captures, "A's capture, then one that began after B's write")
		})
	}
}

// TestOneTripFailedWaitIsNotTheReadsError: when the statement carrying a
// one-round-trip wait fails with an error that is neither the wait's marker
// nor a lost connection (a wait killed by an operator, say), the read runs
// again with the wait apart instead of failing.
func TestOneTripFailedWaitIsNotTheReadsError(t *testing.T) {
	for _, f := range fakeFlavors {
		t.Run(f.String(), func(t *testing.T) {
			cl := fakedb.NewCluster(f, 2)
			stalled(cl)
			db := fakeDB(t, cl, true)
			ctx := rwsplit.WithConsistency(context.Background(), rwsplit.WaitGTID(5*time.Second).OrFail())
			_, err := db.ExecContext(ctx, insertKV, 1, 1)
			require.NoError(t, err)
			for _, s := range rwsplit.ReplicaServers(db) {
				_, err := rwsplit.DetectVersion(context.Background(), s) // versions known: the failure falls on the read
				require.NoError(t, err)
			}
			// Kinds known too (the monitor's first round; a MariaDB wait
			// needs it): the failure falls on the read.
			require.Eventually(t, func() bool {
				for _, st := range rwsplit.ReplicaStatus(db) {
					if st.Kind == "" {
						return false
					}
				}
				return true
			}, 5*time.Second, time.Millisecond)
			for _, r := range cl.Replicas() {
				r.FailNext(1, &mysql.MySQLError{Number: 1317, Message: "Query execution was interrupted"})
			}
			v, found := readKV(t, ctx, db, 1)
			assert.True(t, found)
			assert.EqualValues(t, 1, v)
		})
	}
}

// TestClassifiedForTheClustersFlavor: once the primary's flavor is known, a
// MariaDB-only built-in is a read on MariaDB and a possible stored function
// (so the primary) on MySQL.
func TestClassifiedForTheClustersFlavor(t *testing.T) {
	for _, tc := range []struct {
		flavor    dialect.Flavor
		onReplica bool
	}{{fakedb.MariaDB, true}, {fakedb.MySQL, false}} {
		t.Run(tc.flavor.String(), func(t *testing.T) {
			cl := fakedb.NewCluster(tc.flavor, 1)
			db := fakeDB(t, cl, false)
			replicaReads := func() uint64 { return rwsplit.ReplicaReads(db)[0] }
			// The fake rejects the function, but the route is counted.
			query := func() { _, _ = db.QueryContext(context.Background(), "SELECT JSON_COMPACT('{}')") }
			_, err := rwsplit.DetectVersion(context.Background(), rwsplit.PrimaryServer(db))
			require.NoError(t, err)
			mid := replicaReads()
			query()
			assert.Equal(t, tc.onReplica, replicaReads() > mid, "once the flavor is known")
		})
	}
}
