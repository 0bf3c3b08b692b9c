package rwsplit_test

// Unit tests of the Observer hooks on the in-memory cluster: each event
// fires, with the right fields, where the pipeline and the monitor decide.

import (
	"bytes"
	"context"
	"database/sql"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rwsplit/rwsplit"
	"github.com/rwsplit/rwsplit/internal/fakedb"
)

// recorder is an Observer that keeps every event.
type recorder struct {
	mu     sync.Mutex
	routes []rwsplit.RouteEvent
	starts []rwsplit.WaitEvent
	ends   []rwsplit.WaitEvent
	health []rwsplit.HealthEvent
	topo   []rwsplit.TopologyEvent
}

func (r *recorder) observer() rwsplit.Observer {
	return rwsplit.Observer{
		Route: func(_ context.Context, e rwsplit.RouteEvent) {
			r.mu.Lock()
			r.routes = append(r.routes, e)
			r.mu.Unlock()
		},
		WaitStart: func(_ context.Context, e rwsplit.WaitEvent) {
			r.mu.Lock()
			r.starts = append(r.starts, e)
			r.mu.Unlock()
		},
		WaitEnd:  func(_ context.Context, e rwsplit.WaitEvent) { r.mu.Lock(); r.ends = append(r.ends, e); r.mu.Unlock() },
		Health:   func(e rwsplit.HealthEvent) { r.mu.Lock(); r.health = append(r.health, e); r.mu.Unlock() },
		Topology: func(e rwsplit.TopologyEvent) { r.mu.Lock(); r.topo = append(r.topo, e); r.mu.Unlock() },
	}
}

// reset forgets every event so far.
func (r *recorder) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.routes, r.starts, r.ends, r.health, r.topo = nil, nil, nil, nil, nil
}

// checked waits for the monitor's first round to have checked every
// replica, so that its verdicts do not mix with a test's events.
func checked(t *testing.T, db *rwsplit.DB) {
	t.Helper()
	require.Eventually(t, func() bool {
		for _, st := range rwsplit.ReplicaStatus(db) {
			if st.LastCheck.IsZero() {
				return false
			}
		}
		return true
	}, 5*time.Second, time.Millisecond)
	time.Sleep(30 * time.Millisecond) // the round's last events (health, topology)
}

// snapshot returns a copy of the events so far.
func (r *recorder) snapshot() recorder {
	r.mu.Lock()
	defer r.mu.Unlock()
	return recorder{
		routes: append([]rwsplit.RouteEvent(nil), r.routes...), starts: append([]rwsplit.WaitEvent(nil), r.starts...),
		ends:   append([]rwsplit.WaitEvent(nil), r.ends...),
		health: append([]rwsplit.HealthEvent(nil), r.health...), topo: append([]rwsplit.TopologyEvent(nil), r.topo...),
	}
}

// withReason returns the routes among rs whose Reason is one of reasons.
func withReason(rs []rwsplit.RouteEvent, reasons ...string) []rwsplit.RouteEvent {
	var out []rwsplit.RouteEvent
	for _, r := range rs {
		for _, want := range reasons {
			if r.Reason == want {
				out = append(out, r)
			}
		}
	}
	return out
}

// TestObserverRoutes: every call reports its route: the server, read or
// write, the mode, the query, and why (the classifier's reason for a
// statement sent to the primary by rule).
func TestObserverRoutes(t *testing.T) {
	for _, f := range fakeFlavors {
		t.Run(f.String(), func(t *testing.T) {
			rec := new(recorder)
			db := fakeDB(t, fakedb.NewCluster(f, 2), false, rwsplit.WithObserver(rec.observer()))
			checked(t, db)
			bg := context.Background()
			primary := rwsplit.PrimaryServer(db)

			rec.reset()
			_, err := db.ExecContext(bg, insertKV, 1, 1)
			require.NoError(t, err)
			ev := rec.snapshot().routes
			require.Len(t, ev, 1)
			assert.Same(t, primary, ev[0].Server)
			assert.True(t, ev[0].Write)
			assert.False(t, ev[0].Read)
			assert.Equal(t, "exec", ev[0].Reason)
			assert.Equal(t, insertKV, ev[0].Query)

			rec.reset()
			readKV(t, bg, db, 1)
			ev = rec.snapshot().routes
			require.Len(t, ev, 1)
			require.NotNil(t, ev[0].Server)
			assert.Contains(t, rwsplit.ReplicaServers(db), ev[0].Server)
			assert.True(t, ev[0].Read)
			assert.Equal(t, "replica", ev[0].Reason)
			assert.Equal(t, rwsplit.Eventual, ev[0].Mode)

			rec.reset()
			rows, err := db.QueryContext(bg, "SELECT v FROM kv WHERE k = ? FOR UPDATE", 1)
			require.NoError(t, drain(rows, err))
			ev = rec.snapshot().routes
			require.Len(t, ev, 1)
			assert.Same(t, primary, ev[0].Server)
			assert.True(t, ev[0].Read, "a locking read is a read on the primary")
			assert.NotEmpty(t, ev[0].Reason, "the classifier's reason")
			assert.NotEqual(t, "replica", ev[0].Reason)

			rec.reset()
			readKV(t, rwsplit.WithConsistency(bg, rwsplit.Primary), db, 1)
			ev = rec.snapshot().routes
			require.Len(t, ev, 1)
			assert.Same(t, primary, ev[0].Server)
			assert.Equal(t, "mode Primary", ev[0].Reason)
			assert.Equal(t, rwsplit.Primary, ev[0].Mode)

			rec.reset()
			require.NoError(t, txDo(bg, db, func(tx *rwsplit.Tx) error {
				var v int64
				return tx.QueryRowContext(bg, selectKV, 1).Scan(&v)
			}))
			ev = rec.snapshot().routes
			require.Len(t, ev, 2)
			assert.Same(t, primary, ev[0].Server)
			assert.Equal(t, "begin", ev[0].Reason)
			assert.False(t, ev[0].Read)
			assert.Same(t, primary, ev[1].Server)
			assert.Equal(t, "pinned", ev[1].Reason)

			rec.reset()
			rctx := rwsplit.WithConsistency(bg, rwsplit.MaxStaleness(time.Hour))
			tx, err := db.BeginTx(rctx, &sql.TxOptions{ReadOnly: true})
			require.NoError(t, err)
			var v int64
			require.NoError(t, tx.QueryRowContext(rctx, selectKV, 1).Scan(&v))
			require.NoError(t, tx.Commit())
			ev = rec.snapshot().routes
			require.Len(t, ev, 2)
			assert.Contains(t, rwsplit.ReplicaServers(db), ev[0].Server)
			assert.Equal(t, "begin read-only", ev[0].Reason)
			assert.True(t, ev[0].Read)
			assert.Equal(t, rwsplit.MaxStaleness(time.Hour), ev[0].Mode)
			assert.Same(t, ev[0].Server, ev[1].Server)
			assert.Equal(t, "pinned", ev[1].Reason)
		})
	}
}

// TestObserverWaits: a wait reports its start and end, with the replica,
// the mode, the outcome and its duration, in its own round trip and in the
// read's; a replica known to have applied the writes reports a skipped
// wait.
func TestObserverWaits(t *testing.T) {
	for _, f := range fakeFlavors {
		for _, oneTrip := range []bool{false, true} {
			t.Run(f.String()+map[bool]string{false: "/apart", true: "/onetrip"}[oneTrip], func(t *testing.T) {
				c := fakedb.NewCluster(f, 1)
				stalled(c)
				rec := new(recorder)
				db := fakeDB(t, c, oneTrip, rwsplit.WithObserver(rec.observer()))
				checked(t, db)
				mode := rwsplit.WaitGTID(5 * time.Second)
				ctx := rwsplit.WithConsistency(context.Background(), mode)
				_, err := db.ExecContext(ctx, insertKV, 1, 1)
				require.NoError(t, err)

				rec.reset()
				v, found := readKV(t, ctx, db, 1)
				require.True(t, found)
				assert.EqualValues(t, 1, v)
				ev := rec.snapshot()
				replica := rwsplit.ReplicaServers(db)[0]
				require.Len(t, ev.starts, 1)
				require.Len(t, ev.ends, 1)
				for _, e := range []rwsplit.WaitEvent{ev.starts[0], ev.ends[0]} {
					assert.Same(t, replica, e.Server)
					assert.Equal(t, mode, e.Mode)
					assert.Equal(t, oneTrip, e.OneTrip)
				}
				assert.NoError(t, ev.ends[0].Err, "the wait succeeded")
				assert.False(t, ev.ends[0].Skipped)
				assert.Positive(t, ev.ends[0].Duration)
				assert.False(t, ev.ends[0].Start.Before(ev.starts[0].Start.Add(-time.Millisecond)))
				require.Len(t, ev.routes, 1)
				assert.Same(t, replica, ev.routes[0].Server)
				if oneTrip {
					assert.Equal(t, "replica, wait to send with the query", ev.routes[0].Reason)
				}

				rec.reset()
				readKV(t, ctx, db, 1)
				ev = rec.snapshot()
				assert.Empty(t, ev.starts, "no wait: the replica is known to have the write")
				require.Len(t, ev.ends, 1)
				assert.True(t, ev.ends[0].Skipped)
				assert.NoError(t, ev.ends[0].Err)
				assert.Same(t, replica, ev.ends[0].Server)
			})
		}
	}
}

// TestObserverFallback: a wait that times out reports its end (timed out)
// and the fallback's route to the primary, with its cause; under OrFail the
// fallback is a failure and the route carries the error.
func TestObserverFallback(t *testing.T) {
	for _, f := range fakeFlavors {
		for _, orFail := range []bool{false, true} {
			for _, oneTrip := range []bool{false, true} {
				t.Run(f.String(), func(t *testing.T) {
					c := fakedb.NewCluster(f, 1)
					c.Replicas()[0].StopApplier() // applies nothing, even for a wait
					rec := new(recorder)
					db := fakeDB(t, c, oneTrip, rwsplit.WithObserver(rec.observer()))
					checked(t, db)
					mode := rwsplit.WaitGTID(50 * time.Millisecond)
					if orFail {
						mode = mode.OrFail()
					}
					ctx := rwsplit.WithConsistency(context.Background(), mode)
					_, err := db.ExecContext(ctx, insertKV, 1, 1)
					require.NoError(t, err)

					rec.reset()
					var v int64
					err = db.QueryRowContext(ctx, selectKV, 1).Scan(&v)
					ev := rec.snapshot()
					require.NotEmpty(t, ev.ends)
					last := ev.ends[len(ev.ends)-1]
					assert.ErrorIs(t, last.Err, rwsplit.ErrWaitTimedOut)
					assert.False(t, last.Skipped)
					assert.Same(t, rwsplit.ReplicaServers(db)[0], last.Server)
					fbs := withReason(ev.routes, "fallback")
					require.Len(t, fbs, 1)
					assert.Equal(t, mode, fbs[0].Mode)
					assert.True(t, fbs[0].Read)
					assert.Equal(t, selectKV, fbs[0].Query)
					assert.Error(t, fbs[0].Cause)
					if oneTrip {
						assert.Same(t, rwsplit.ReplicaServers(db)[0], fbs[0].From, "the replica the wait rode to")
					} else {
						assert.Nil(t, fbs[0].From, "the call's first route")
					}
					final := ev.routes[len(ev.routes)-1]
					assert.Equal(t, "fallback", final.Reason)
					if orFail {
						require.ErrorIs(t, err, rwsplit.ErrReplicaNotCaughtUp)
						assert.ErrorIs(t, final.Err, rwsplit.ErrReplicaNotCaughtUp)
						assert.Nil(t, final.Server)
						return
					}
					require.NoError(t, err)
					assert.NoError(t, final.Err)
					assert.Same(t, rwsplit.PrimaryServer(db), final.Server)
				})
			}
		}
	}
}

// TestObserverRetryAndSuspect: a replica read that fails for want of a
// connection reports the replica marked suspect, then the route of the
// retry elsewhere, with the server it left and the error.
func TestObserverRetryAndSuspect(t *testing.T) {
	for _, f := range fakeFlavors {
		t.Run(f.String(), func(t *testing.T) {
			c := fakedb.NewCluster(f, 2)
			rec := new(recorder)
			bal := new(preferBalancer)
			db := fakeDB(t, c, false, rwsplit.WithBalancer(bal), rwsplit.WithObserver(rec.observer()))
			bg := context.Background()
			checked(t, db)
			readKV(t, bg, db, 1) // the pools have a connection

			rec.reset()
			lost := &mysql.MySQLError{Number: 2013, Message: "Lost connection to MySQL server during query"}
			c.Replicas()[0].FailNext(1, lost)
			readKV(t, bg, db, 1)
			ev := rec.snapshot()
			r0, r1 := rwsplit.ReplicaServers(db)[0], rwsplit.ReplicaServers(db)[1]
			require.Len(t, ev.routes, 2, "the first route and the retry's")
			assert.Same(t, r0, ev.routes[0].Server)
			assert.Equal(t, "replica", ev.routes[0].Reason)
			retry := ev.routes[1]
			assert.Same(t, r1, retry.Server)
			assert.Equal(t, "retry", retry.Reason)
			assert.Same(t, r0, retry.From)
			assert.ErrorIs(t, retry.Cause, lost)
			assert.False(t, retry.Write)
			assert.True(t, retry.Read)
			require.Len(t, ev.health, 1)
			h := ev.health[0]
			assert.Same(t, r0, h.Server)
			assert.True(t, h.Suspect)
			assert.True(t, h.WasUsable)
			assert.False(t, h.Usable)
			assert.ErrorIs(t, h.Err, lost)
			require.NotEmpty(t, ev.topo, "the suspect replica leaves the usable set")
			assert.NotContains(t, ev.topo[len(ev.topo)-1].Usable, r0)
			assert.False(t, ev.topo[len(ev.topo)-1].PrimaryChanged)
		})
	}
}

// TestObserverTxRetry: a read-only transaction whose first statement loses
// its replica's connection is begun again elsewhere: its new BEGIN reports
// a retry's route, with the server it left and the error.
func TestObserverTxRetry(t *testing.T) {
	c := fakedb.NewCluster(fakedb.MySQL, 2)
	rec := new(recorder)
	db := fakeDB(t, c, false, rwsplit.WithBalancer(new(preferBalancer)), rwsplit.WithObserver(rec.observer()))
	bg := context.Background()
	checked(t, db)
	r0, r1 := rwsplit.ReplicaServers(db)[0], rwsplit.ReplicaServers(db)[1]
	tx, err := db.BeginTx(bg, &sql.TxOptions{ReadOnly: true})
	require.NoError(t, err)
	defer tx.Rollback()
	require.Same(t, r0, rwsplit.TxServer(tx))
	rec.reset()
	lost := &mysql.MySQLError{Number: 2013, Message: "Lost connection to MySQL server during query"}
	c.Replicas()[0].FailNext(1, lost)
	var v int64
	_, err = scanFound(tx.QueryRowContext(bg, selectKV, 1).Scan(&v))
	require.NoError(t, err)
	assert.Same(t, r1, rwsplit.TxServer(tx))
	retries := withReason(rec.snapshot().routes, "retry")
	require.Len(t, retries, 1)
	assert.Same(t, r1, retries[0].Server)
	assert.Same(t, r0, retries[0].From)
	assert.ErrorIs(t, retries[0].Cause, lost)
	assert.True(t, retries[0].Read)
}

// TestObserverHedge: a read a hung replica does not answer within the bound
// reports the hedge's route (from the replica to another server) and its
// win.
func TestObserverHedge(t *testing.T) {
	c := fakedb.NewCluster(fakedb.MySQL, 2)
	rec := new(recorder)
	db := hedgeDB(t, c, false, true, testBound, rwsplit.WithObserver(rec.observer()))
	defer db.Close()
	hung := c.Replicas()[0]
	hung.Hang()
	defer hung.Unhang()
	rec.reset()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	readKV(t, ctx, db, 1)
	ev := rec.snapshot()
	hedges := withReason(ev.routes, "hedge", "hedge won")
	require.Len(t, hedges, 2)
	r0, r1 := rwsplit.ReplicaServers(db)[0], rwsplit.ReplicaServers(db)[1]
	assert.Equal(t, "hedge", hedges[0].Reason)
	assert.Same(t, r0, hedges[0].From)
	assert.Same(t, r1, hedges[0].Server)
	assert.Equal(t, testBound, hedges[0].HedgeBound)
	assert.Equal(t, selectKV, hedges[0].Query)
	assert.Equal(t, "hedge won", hedges[1].Reason)
	assert.Same(t, r0, hedges[1].From)
	assert.Same(t, r1, hedges[1].Server)
	require.Len(t, ev.routes, 3, "the read's route, the hedge, its win")
	assert.Same(t, r1, ev.routes[2].Server, "the last route is where the read ran")
}

// TestObserverHealthAndTopology: the monitor's verdicts report a replica's
// change of state (up → down → up) and the usable set; AddReplica,
// RemoveReplica and ReplacePrimary report topology changes.
func TestObserverHealthAndTopology(t *testing.T) {
	c := fakedb.NewCluster(fakedb.MySQL, 2)
	rec := new(recorder)
	db := fakeDB(t, c, false, rwsplit.WithMonitorInterval(20*time.Millisecond), rwsplit.WithObserver(rec.observer()))
	r1 := rwsplit.ReplicaServers(db)[1]
	require.Eventually(t, func() bool { return rwsplit.ReplicaStatus(db)[1].State == rwsplit.StateUp }, 5*time.Second, 5*time.Millisecond)
	first := rec.snapshot()
	require.NotEmpty(t, first.topo, "New's first snapshot")
	assert.Same(t, rwsplit.PrimaryServer(db), first.topo[0].Primary)
	assert.Nil(t, first.topo[0].OldPrimary)
	require.NotEmpty(t, first.health)
	assert.Equal(t, rwsplit.StateUnknown, first.health[0].OldState)
	assert.Equal(t, rwsplit.StateUp, first.health[0].State)

	rec.reset()
	c.Replicas()[1].SetDown(true)
	require.Eventually(t, func() bool {
		for _, h := range rec.snapshot().health {
			if h.Server == r1 && h.State == rwsplit.StateDown {
				return true
			}
		}
		return false
	}, 5*time.Second, 5*time.Millisecond)
	ev := rec.snapshot()
	var down rwsplit.HealthEvent
	for _, h := range ev.health {
		if h.Server == r1 && h.State == rwsplit.StateDown {
			down = h
		}
	}
	assert.Equal(t, rwsplit.StateUp, down.OldState)
	assert.True(t, down.WasUsable)
	assert.False(t, down.Usable)
	assert.Error(t, down.Err)
	require.Eventually(t, func() bool {
		ts := rec.snapshot().topo
		return len(ts) > 0 && !containsServer(ts[len(ts)-1].Usable, r1)
	}, 5*time.Second, 5*time.Millisecond, "the down replica leaves the usable set")
	assert.Len(t, rec.snapshot().topo[0].Replicas, 2)

	rec.reset()
	c.Replicas()[1].SetDown(false)
	require.Eventually(t, func() bool {
		for _, h := range rec.snapshot().health {
			if h.Server == r1 && h.State == rwsplit.StateUp && h.Usable && h.OldState == rwsplit.StateDown {
				return true
			}
		}
		return false
	}, 5*time.Second, 5*time.Millisecond, "back up")

	rec.reset()
	extra := fakedb.NewCluster(fakedb.MySQL, 0).Primary().OpenDB(false)
	require.NoError(t, db.AddReplica(extra, 1))
	ev = rec.snapshot()
	require.NotEmpty(t, ev.topo)
	assert.Len(t, ev.topo[0].Replicas, 3)
	assert.False(t, ev.topo[0].PrimaryChanged)
	rec.reset()
	require.NoError(t, db.RemoveReplica(extra))
	require.NotEmpty(t, rec.snapshot().topo)
	assert.Len(t, rec.snapshot().topo[0].Replicas, 2)
	_ = extra.Close()

	rec.reset()
	oldPrimary := rwsplit.PrimaryServer(db)
	newPool := c.Primary().OpenDB(false)
	old, err := db.ReplacePrimary(newPool)
	require.NoError(t, err)
	defer old.Close()
	ev = rec.snapshot()
	require.NotEmpty(t, ev.topo)
	assert.True(t, ev.topo[0].PrimaryChanged)
	assert.Same(t, oldPrimary, ev.topo[0].OldPrimary)
	assert.Same(t, rwsplit.PrimaryServer(db), ev.topo[0].Primary)
}

func containsServer(ss []*rwsplit.Server, s *rwsplit.Server) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// TestObserverDiscovery: a failover found by discovery reports a topology
// change with the new primary and the old one.
func TestObserverDiscovery(t *testing.T) {
	c := fakedb.NewCluster(fakedb.MariaDB, 2)
	rec := new(recorder)
	db, pools := discoveryDB(t, c, rwsplit.WithObserver(rec.observer()))
	before := rwsplit.PrimaryServer(db)
	require.NotNil(t, before)
	rec.reset()
	next := c.Replicas()[1]
	c.Promote(next)
	require.Eventually(t, func() bool { return db.Primary() == pools[next] }, 5*time.Second, 5*time.Millisecond)
	var changed []rwsplit.TopologyEvent
	for _, e := range rec.snapshot().topo {
		if e.PrimaryChanged {
			changed = append(changed, e)
		}
	}
	require.NotEmpty(t, changed)
	last := changed[len(changed)-1]
	assert.Same(t, rwsplit.PrimaryServer(db), last.Primary)
	assert.Same(t, pools[next], last.Primary.DB())
}

// TestSlogObserver: routes are logged at Debug only (nothing at Info), with
// the server, mode, reason and query; health changes at Warn.
func TestSlogObserver(t *testing.T) {
	for _, level := range []slog.Level{slog.LevelDebug, slog.LevelInfo} {
		t.Run(level.String(), func(t *testing.T) {
			var buf syncBuffer
			l := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: level}))
			c := fakedb.NewCluster(fakedb.MySQL, 1)
			db := fakeDB(t, c, false, rwsplit.WithObserver(rwsplit.SlogObserver(l)))
			checked(t, db)
			bg := context.Background()
			_, err := db.ExecContext(bg, insertKV, 1, 1)
			require.NoError(t, err)
			readKV(t, rwsplit.WithConsistency(bg, rwsplit.WaitGTID(time.Second)), db, 1)
			out := buf.String()
			if level == slog.LevelInfo {
				assert.NotContains(t, out, "rwsplit: route", "routes are Debug")
				assert.NotContains(t, out, "rwsplit: wait")
			} else {
				assert.Contains(t, out, `msg="rwsplit: route" server=primary read=false write=true reason=exec query="INSERT INTO kv (k, v) VALUES (?, ?)"`)
				assert.Contains(t, out, `server="replica 0" read=true write=false reason=`)
				assert.Contains(t, out, `mode=WaitGTID(1s)`)
				assert.Contains(t, out, `msg="rwsplit: wait end" server="replica 0" mode=WaitGTID(1s) one_trip=false outcome=ok`)
			}
			assert.Contains(t, out, `level=INFO msg="rwsplit: topology" primary=primary`)

			buf.Reset()
			lost := &mysql.MySQLError{Number: 2013, Message: "Lost connection"}
			c.Replicas()[0].FailNext(1, lost)
			readKV(t, bg, db, 1)
			out = buf.String()
			assert.Contains(t, out, `level=INFO msg="rwsplit: retry" from="replica 0"`)
			assert.Contains(t, out, `level=WARN msg="rwsplit: replica health" server="replica 0" old_state=up state=up usable=false suspect=true`)
		})
	}
}

// syncBuffer is a bytes.Buffer safe for the monitor's goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func (s *syncBuffer) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b.Reset()
}

// TestObserverSleep: Sleep's sleep is reported as a wait with no server,
// from its start to its end.
func TestObserverSleep(t *testing.T) {
	rec := new(recorder)
	db := fakeDB(t, fakedb.NewCluster(fakedb.MySQL, 1), false, rwsplit.WithObserver(rec.observer()))
	checked(t, db)
	mode := rwsplit.Sleep(50 * time.Millisecond)
	ctx := rwsplit.WithConsistency(context.Background(), mode)
	_, err := db.ExecContext(ctx, insertKV, 1, 1)
	require.NoError(t, err)
	rec.reset()
	readKV(t, ctx, db, 1)
	ev := rec.snapshot()
	require.Len(t, ev.starts, 1)
	require.Len(t, ev.ends, 1)
	assert.Nil(t, ev.ends[0].Server)
	assert.Equal(t, mode, ev.ends[0].Mode)
	assert.NoError(t, ev.ends[0].Err)
	assert.False(t, ev.ends[0].Skipped)
	assert.Greater(t, ev.ends[0].Duration, 10*time.Millisecond)
}

// TestObserverSeveral: every observer given with WithObserver is called,
// in the order given; one with no field set adds nothing.
func TestObserverSeveral(t *testing.T) {
	var mu sync.Mutex
	var calls []string
	named := func(name string) rwsplit.Observer {
		return rwsplit.Observer{Route: func(context.Context, rwsplit.RouteEvent) {
			mu.Lock()
			calls = append(calls, name)
			mu.Unlock()
		}}
	}
	db := fakeDB(t, fakedb.NewCluster(fakedb.MySQL, 1), false,
		rwsplit.WithObserver(named("a")), rwsplit.WithObserver(rwsplit.Observer{}), rwsplit.WithObserver(named("b")))
	readKV(t, context.Background(), db, 1)
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []string{"a", "b"}, calls)
}

// TestObserverWaitCanceled: a wait cut off by the caller's deadline ends
// with the context's error.
func TestObserverWaitCanceled(t *testing.T) {
	for _, oneTrip := range []bool{false, true} {
		t.Run(map[bool]string{false: "apart", true: "onetrip"}[oneTrip], func(t *testing.T) {
			c := fakedb.NewCluster(fakedb.MySQL, 1)
			c.Replicas()[0].StopApplier() // applies nothing, even for a wait
			rec := new(recorder)
			db := fakeDB(t, c, oneTrip, rwsplit.WithObserver(rec.observer()))
			checked(t, db)
			ctx := rwsplit.WithConsistency(context.Background(), rwsplit.WaitGTID(10*time.Second))
			_, err := db.ExecContext(ctx, insertKV, 1, 1)
			require.NoError(t, err)
			rec.reset()
			tctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
			defer cancel()
			var v int64
			err = db.QueryRowContext(tctx, selectKV, 1).Scan(&v)
			require.ErrorIs(t, err, context.DeadlineExceeded)
			ev := rec.snapshot()
			require.Len(t, ev.ends, 1)
			assert.Equal(t, context.DeadlineExceeded, ev.ends[0].Err)
			assert.Empty(t, withReason(ev.routes, "fallback"), "the caller's deadline is not a fallback")
		})
	}
}

// lastServer is where the latest call a Trace recorded ran: its last
// route's server (nil before any).
func lastServer(tr *rwsplit.Trace) *rwsplit.Server {
	rs := tr.Routes()
	if len(rs) == 0 {
		return nil
	}
	return rs[len(rs)-1].Server
}

// TestTrace: a context carrying a Trace records where its calls ran and
// why (routes, waits), on a DB with no observer as on one with several;
// calls without one record nothing; the observers see every call.
func TestTrace(t *testing.T) {
	for _, observed := range []bool{false, true} {
		t.Run(map[bool]string{false: "no observer", true: "observers"}[observed], func(t *testing.T) {
			c := fakedb.NewCluster(fakedb.MySQL, 2)
			stalled(c)
			rec, rec2 := new(recorder), new(recorder)
			var opts []rwsplit.Option
			if observed {
				opts = append(opts, rwsplit.WithObserver(rec.observer()), rwsplit.WithObserver(rec2.observer()))
			}
			db := fakeDB(t, c, false, opts...)
			checked(t, db)
			bg := context.Background()
			mode := rwsplit.WaitGTID(5 * time.Second)

			var tr rwsplit.Trace
			assert.Nil(t, lastServer(&tr))
			ctx := rwsplit.WithTrace(rwsplit.WithConsistency(bg, mode), &tr)
			_, err := db.ExecContext(ctx, insertKV, 1, 1)
			require.NoError(t, err)
			assert.Same(t, rwsplit.PrimaryServer(db), lastServer(&tr))
			readKV(t, ctx, db, 1)
			routes := tr.Routes()
			require.Len(t, routes, 2)
			assert.Equal(t, "exec", routes[0].Reason)
			assert.Contains(t, rwsplit.ReplicaServers(db), lastServer(&tr))
			assert.Equal(t, mode, routes[1].Mode)
			waits := tr.Waits()
			require.Len(t, waits, 1)
			assert.NoError(t, waits[0].Err)
			assert.False(t, waits[0].Skipped)
			assert.Contains(t, tr.String(), "route primary: exec\n")
			assert.Contains(t, tr.String(), "wait "+lastServer(&tr).Name()+" WaitGTID(5s): ok in ")
			for _, r := range routes {
				assert.NotContains(t, []string{"fallback", "retry", "hedge", "hedge won"}, r.Reason, "no move")
				assert.Nil(t, r.From)
				assert.NoError(t, r.Cause)
			}

			readKV(t, bg, db, 1) // no trace in its context
			assert.Len(t, tr.Routes(), 2)
			if observed {
				assert.Len(t, rec.snapshot().routes, 3, "the observers saw every call")
				assert.Len(t, rec2.snapshot().routes, 3)
				assert.Len(t, rec.snapshot().ends, 1)
			}
		})
	}
}

// TestTraceHedge: a hedged read's trace records the hedge and its win: its
// last route names the server whose answer was returned.
func TestTraceHedge(t *testing.T) {
	c := fakedb.NewCluster(fakedb.MySQL, 2)
	db := hedgeDB(t, c, false, true, testBound)
	defer db.Close()
	hung := c.Replicas()[0]
	hung.Hang()
	defer hung.Unhang()
	var tr rwsplit.Trace
	ctx, cancel := context.WithTimeout(rwsplit.WithTrace(context.Background(), &tr), 10*time.Second)
	defer cancel()
	readKV(t, ctx, db, 1)
	routes := tr.Routes()
	require.Len(t, routes, 3)
	assert.Same(t, rwsplit.ReplicaServers(db)[0], routes[0].Server)
	assert.Equal(t, "hedge", routes[1].Reason)
	assert.Equal(t, "hedge won", routes[2].Reason)
	assert.Same(t, rwsplit.ReplicaServers(db)[1], lastServer(&tr), "the hedge answered")
	assert.Contains(t, tr.String(), "route replica 1: hedge won (Eventual) from replica 0")
}
