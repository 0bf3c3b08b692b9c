package rwsplit_test

// Hedged reads (hedge.go) against internal/fakedb, whose Hang blocks a
// server until Unhang: a read that a hung replica does not answer is
// answered by another server within about the bound, on every read surface,
// and nothing is left running; writes and pinned statements are never
// hedged; a waiting read's hedge never goes to a stale replica.

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/rwsplit/rwsplit"
	"github.com/rwsplit/rwsplit/internal/fakedb"
	"github.com/rwsplit/rwsplit/rwsplitx"
)

// released waits until no pool of db has a connection in use: every
// attempt, won or lost, gave its connection back.
func released(t *testing.T, db *rwsplit.DB) {
	t.Helper()
	assert.Eventually(t, func() bool {
		return rwsplit.PoolsInUse(db) == 0
	}, 5*time.Second, time.Millisecond, "a connection is still in use")
}

// A hedgeSurface is one public way to read k. prepare runs before the
// replica hangs (a Stmt is prepared there, as a real one would have been)
// and returns the read and what to close after.
type hedgeSurface struct {
	name    string
	prepare func(t *testing.T, db *rwsplit.DB) (read func(ctx context.Context, k int64) (int64, bool, error), done func())
}

func nothing() {}

var hedgeSurfaces = []hedgeSurface{
	{"DB.QueryRow", func(t *testing.T, db *rwsplit.DB) (func(context.Context, int64) (int64, bool, error), func()) {
		return func(ctx context.Context, k int64) (v int64, found bool, err error) {
			found, err = scanFound(db.QueryRowContext(ctx, selectKV, k).Scan(&v))
			return v, found, err
		}, nothing
	}},
	{"DB.Query", func(t *testing.T, db *rwsplit.DB) (func(context.Context, int64) (int64, bool, error), func()) {
		return func(ctx context.Context, k int64) (int64, bool, error) {
			return firstRow(db.QueryContext(ctx, selectKV, k))
		}, nothing
	}},
	{"Stmt.QueryRow", func(t *testing.T, db *rwsplit.DB) (func(context.Context, int64) (int64, bool, error), func()) {
		st, err := db.PrepareContext(context.Background(), selectKV)
		require.NoError(t, err)
		return func(ctx context.Context, k int64) (v int64, found bool, err error) {
			found, err = scanFound(st.QueryRowContext(ctx, k).Scan(&v))
			return v, found, err
		}, func() { _ = st.Close() }
	}},
	{"Stmt.Query", func(t *testing.T, db *rwsplit.DB) (func(context.Context, int64) (int64, bool, error), func()) {
		st, err := db.PrepareContext(context.Background(), selectKV)
		require.NoError(t, err)
		return func(ctx context.Context, k int64) (int64, bool, error) {
			return firstRow(st.QueryContext(ctx, k))
		}, func() { _ = st.Close() }
	}},
	{"ReadOnlyTx", func(t *testing.T, db *rwsplit.DB) (func(context.Context, int64) (int64, bool, error), func()) {
		return func(ctx context.Context, k int64) (v int64, found bool, err error) {
			tx, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
			if err != nil {
				return 0, false, err
			}
			defer tx.Rollback()
			if found, err = scanFound(tx.QueryRowContext(ctx, selectKV, k).Scan(&v)); err != nil {
				return 0, false, err
			}
			return v, found, tx.Commit()
		}, nothing
	}},
	{"rwsplitx.Get", func(t *testing.T, db *rwsplit.DB) (func(context.Context, int64) (int64, bool, error), func()) {
		x := rwsplitx.NewDB(db, "mysql")
		return func(ctx context.Context, k int64) (v int64, found bool, err error) {
			found, err = scanFound(x.GetContext(ctx, &v, selectKV, k))
			return v, found, err
		}, nothing
	}},
	{"rwsplitx.Select", func(t *testing.T, db *rwsplit.DB) (func(context.Context, int64) (int64, bool, error), func()) {
		x := rwsplitx.NewDB(db, "mysql")
		return func(ctx context.Context, k int64) (int64, bool, error) {
			var vs []int64
			if err := x.SelectContext(ctx, &vs, selectKV, k); err != nil || len(vs) == 0 {
				return 0, false, err
			}
			return vs[0], true, nil
		}, nothing
	}},
}

// TestHedgeEveryReadSurface: with replica 0 hung, a read through every
// surface (DB, Stmt, read-only Tx, rwsplitx), flavor, pool kind and mode is
// answered by another server after about the bound: for Eventual by replica
// 1, for WaitGTID (replica 0 known to have applied the write, replica 1
// stale) by the primary, never by the stale replica. The hedge is counted,
// replica 0 is marked suspect, every connection is given back, and nothing
// is left running once the DBs are closed.
func TestHedgeEveryReadSurface(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	var slowest time.Duration
	for _, f := range fakeFlavors {
		for _, oneTrip := range []bool{false, true} {
			for _, mode := range []rwsplit.Consistency{rwsplit.Eventual, rwsplit.WaitGTID(5 * time.Second)} {
				for _, s := range hedgeSurfaces {
					t.Run(fmt.Sprintf("%s/onetrip=%v/%s/%s", f, oneTrip, mode, s.name), func(t *testing.T) {
						waiting := mode != rwsplit.Eventual
						cl := fakedb.NewCluster(f, 2)
						if waiting {
							stalled(cl) // replica 1 applies only what a wait asks for: it stays stale
						}
						db := hedgeDB(t, cl, oneTrip, true, testBound)
						defer db.Close()
						ctx := rwsplit.WithConsistency(context.Background(), mode)
						_, err := db.ExecContext(ctx, insertKV, 1, 1)
						require.NoError(t, err)
						if waiting { // replica 0 waits for the write and is known to have it
							v, found := readKV(t, ctx, db, 1)
							require.True(t, found)
							require.EqualValues(t, 1, v)
						}
						read, done := s.prepare(t, db)
						defer done()
						before, readsBefore := db.Stats(), rwsplit.ReplicaReads(db)
						hung := cl.Replicas()[0]
						hung.Hang()
						defer hung.Unhang()

						rctx, cancel := context.WithTimeout(ctx, 20*time.Second)
						defer cancel()
						start := time.Now()
						v, found, err := read(rctx, 1)
						took := time.Since(start)
						require.NoError(t, err)
						assert.True(t, found, "stale read")
						assert.EqualValues(t, 1, v)
						assert.Less(t, took, 5*time.Second, "waited for the hung replica")
						slowest = max(slowest, took)

						after := db.Stats()
						assert.Equal(t, before.Hedges+1, after.Hedges)
						assert.Equal(t, before.HedgeWins+1, after.HedgeWins)
						if waiting {
							assert.Equal(t, readsBefore[1], rwsplit.ReplicaReads(db)[1], "hedged to a stale replica")
							assert.Greater(t, after.PrimaryReads, before.PrimaryReads)
						} else {
							assert.Greater(t, rwsplit.ReplicaReads(db)[1], readsBefore[1])
						}
						assert.True(t, rwsplit.ReplicaStatus(db)[0].Suspect, "the hung replica stays in rotation")
						released(t, db)
					})
				}
			}
		}
	}
	t.Logf("slowest read with a hung replica (bound %v): %v", testBound, slowest.Round(time.Millisecond))
}

// TestHedgeOneRoundTripWait: a wait sent with its query in one round trip
// to a hung replica is hedged after the wait's timeout plus the bound, to
// the primary (replica 1 has not applied the write). Under OrFail the
// primary is not an option and the read waits on.
func TestHedgeOneRoundTripWait(t *testing.T) {
	for _, f := range fakeFlavors {
		for _, mode := range []rwsplit.Consistency{rwsplit.WaitGTID(200 * time.Millisecond), rwsplit.WaitPosition(200 * time.Millisecond)} {
			for _, orFail := range []bool{false, true} {
				if orFail {
					mode = mode.OrFail()
				}
				t.Run(fmt.Sprintf("%s/%s", f, mode), func(t *testing.T) {
					cl := fakedb.NewCluster(f, 2)
					stalled(cl)
					db := hedgeDB(t, cl, true, true, testBound)
					defer db.Close()
					ctx := rwsplit.WithConsistency(context.Background(), mode)
					_, err := db.ExecContext(ctx, insertKV, 1, 1)
					require.NoError(t, err)
					hung := cl.Replicas()[0]
					hung.Hang()
					defer hung.Unhang()
					timeout := 5 * time.Second
					if orFail {
						timeout = 200*time.Millisecond + 5*testBound // past the hedge's time
					}
					rctx, cancel := context.WithTimeout(ctx, timeout)
					defer cancel()
					before, readsBefore := db.Stats(), rwsplit.ReplicaReads(db)
					var v int64
					found, err := scanFound(db.QueryRowContext(rctx, selectKV, 1).Scan(&v))
					after := db.Stats()
					assert.Equal(t, readsBefore[1], rwsplit.ReplicaReads(db)[1], "read from a stale replica")
					if orFail {
						require.ErrorIs(t, err, context.DeadlineExceeded)
						assert.Equal(t, before.Hedges, after.Hedges, "hedged to the primary under OrFail")
						return
					}
					require.NoError(t, err)
					assert.True(t, found, "stale read")
					assert.EqualValues(t, 1, v)
					assert.Equal(t, before.Hedges+1, after.Hedges)
					assert.Equal(t, before.PrimaryReads+1, after.PrimaryReads)
					released(t, db)
				})
			}
		}
	}
}

// TestHedgeNeverWrites: with the primary hung, writes, locking reads and
// Primary reads wait for it (until the caller's deadline): none is hedged,
// and no replica receives them.
func TestHedgeNeverWrites(t *testing.T) {
	cl := fakedb.NewCluster(fakedb.MySQL, 2)
	db := hedgeDB(t, cl, false, true, testBound)
	defer db.Close()
	x := rwsplitx.NewDB(db, "mysql")
	st, err := db.PrepareContext(context.Background(), insertKV)
	require.NoError(t, err)
	defer st.Close()
	cl.Primary().Hang()
	defer cl.Primary().Unhang()
	for _, w := range []struct {
		name, marker string
		do           func(ctx context.Context) error
	}{
		{"DB.Exec", "INSERT", func(ctx context.Context) error { _, err := db.ExecContext(ctx, insertKV, 1, 1); return err }},
		{"DB.Query-RETURNING", "RETURNING", func(ctx context.Context) error { return drain(db.QueryContext(ctx, returningKV, 2, 2)) }},
		{"DB.QueryRow-CALL", "CALL", func(ctx context.Context) error {
			var a, b int64
			return db.QueryRowContext(ctx, callKV, 3, 3).Scan(&a, &b)
		}},
		{"Stmt.Exec", "INSERT", func(ctx context.Context) error { _, err := st.ExecContext(ctx, 4, 4); return err }},
		{"rwsplitx.NamedExec", "INSERT", func(ctx context.Context) error {
			_, err := x.NamedExecContext(ctx, "INSERT INTO kv (k, v) VALUES (:k, :v)", map[string]any{"k": 5, "v": 5})
			return err
		}},
		{"locking read", "FOR UPDATE", func(ctx context.Context) error {
			var v int64
			return db.QueryRowContext(ctx, selectKV+" FOR UPDATE", 1).Scan(&v)
		}},
		{"Primary read", selectKV, func(ctx context.Context) error {
			var v int64
			return db.QueryRowContext(rwsplit.WithConsistency(ctx, rwsplit.Primary), selectKV, 1).Scan(&v)
		}},
	} {
		t.Run(w.name, func(t *testing.T) {
			var before []int
			for _, r := range cl.Replicas() {
				before = append(before, r.Count(w.marker))
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*testBound)
			defer cancel()
			err := w.do(ctx)
			assert.ErrorIs(t, err, context.DeadlineExceeded)
			assert.Zero(t, db.Stats().Hedges)
			for i, r := range cl.Replicas() {
				assert.Equal(t, before[i], r.Count(w.marker), "a replica received it")
			}
		})
	}
}

// TestHedgeNeverPinned: statements of a transaction (read-only on a replica
// or read-write on the primary) and of a Conn run where they are pinned,
// hung or not: none is hedged.
func TestHedgeNeverPinned(t *testing.T) {
	cl := fakedb.NewCluster(fakedb.MariaDB, 2)
	cl.Write(1, 1)
	db := hedgeDB(t, cl, false, true, testBound)
	defer db.Close()
	bg := context.Background()
	roTx, err := db.BeginTx(bg, &sql.TxOptions{ReadOnly: true})
	require.NoError(t, err)
	require.Equal(t, "replica 0", rwsplit.TxServer(roTx).Name())
	rwTx, err := db.BeginTx(bg, nil)
	require.NoError(t, err)
	conn, err := db.Conn(bg)
	require.NoError(t, err)
	for _, s := range cl.Servers() {
		s.Hang()
	}
	for _, p := range []struct {
		name string
		q    func(ctx context.Context) *sql.Row
	}{
		{"read-only Tx", func(ctx context.Context) *sql.Row { return roTx.QueryRowContext(ctx, selectKV, 1) }},
		{"read-write Tx", func(ctx context.Context) *sql.Row { return rwTx.QueryRowContext(ctx, selectKV, 1) }},
		{"Conn", func(ctx context.Context) *sql.Row { return conn.QueryRowContext(ctx, selectKV, 1) }},
	} {
		t.Run(p.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(bg, 5*testBound)
			defer cancel()
			var v int64
			assert.ErrorIs(t, p.q(ctx).Scan(&v), context.DeadlineExceeded)
			assert.Zero(t, db.Stats().Hedges)
		})
	}
	for _, s := range cl.Servers() {
		s.Unhang()
	}
	_ = roTx.Rollback()
	_ = rwTx.Rollback()
	_ = conn.Close()
}

// TestHedgeSlowLiveServer: a slow query on a replica that keeps answering
// other reads is not hedged; the same query on a replica that answers
// nothing else is, the first answer (the replica's) wins, and the hedge is
// cancelled and its connection given back. A hedge that loses marks no
// replica suspect.
func TestHedgeSlowLiveServer(t *testing.T) {
	const slow = "SELECT SLEEP(?)"
	cl := fakedb.NewCluster(fakedb.MySQL, 2)
	cl.Write(1, 1)
	db := hedgeDB(t, cl, false, true, 100*time.Millisecond)
	defer db.Close()
	bg := context.Background()

	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // quick reads: replica 0's signs of life
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
			var v int64
			assert.NoError(t, db.QueryRowContext(bg, selectKV, 1).Scan(&v))
		}
	}()
	var z int64
	require.NoError(t, db.QueryRowContext(bg, slow, 0.5).Scan(&z))
	close(stop)
	wg.Wait()
	assert.Zero(t, db.Stats().Hedges, "a slow query on a live replica was run twice")

	require.NoError(t, db.QueryRowContext(bg, slow, 0.3).Scan(&z))
	st := db.Stats()
	assert.EqualValues(t, 1, st.Hedges, "an idle replica's slow query is hedged")
	assert.Zero(t, st.HedgeWins, "the replica answered first")
	assert.False(t, rwsplit.ReplicaStatus(db)[0].Suspect)
	assert.Equal(t, 1, cl.Replicas()[1].Count(slow), "the hedge was sent to replica 1")
	released(t, db)
}

// TestHedgeOff: SetHedge(0, 0) turns hedging off: a read on a hung replica
// waits for it (until the caller's deadline), and so does a read-only BEGIN.
func TestHedgeOff(t *testing.T) {
	cl := fakedb.NewCluster(fakedb.MySQL, 2)
	cl.Write(1, 1)
	db := hedgeDB(t, cl, false, true, testBound)
	defer db.Close()
	require.NoError(t, rwsplit.SetHedge(db, 0, 0))
	assert.Zero(t, db.Stats().HedgeBound)
	cl.Replicas()[0].Hang()
	defer cl.Replicas()[0].Unhang()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	var v int64
	assert.ErrorIs(t, db.QueryRowContext(ctx, selectKV, 1).Scan(&v), context.DeadlineExceeded)
	_, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Zero(t, db.Stats().Hedges)
}

// TestHedgePoolsWithoutReadAhead: on a pool that does not read ahead (given
// to New unwrapped), reads are not hedged (their rows would hold the
// attempt's context with no way to release it); read-only BEGINs still are.
func TestHedgePoolsWithoutReadAhead(t *testing.T) {
	cl := fakedb.NewCluster(fakedb.MariaDB, 2)
	cl.Write(1, 1)
	db := hedgeDB(t, cl, false, false, testBound)
	defer db.Close()
	bg := context.Background()
	cl.Replicas()[0].Hang()
	defer cl.Replicas()[0].Unhang()
	ctx, cancel := context.WithTimeout(bg, 200*time.Millisecond)
	defer cancel()
	var v int64
	assert.ErrorIs(t, db.QueryRowContext(ctx, selectKV, 1).Scan(&v), context.DeadlineExceeded)
	assert.Zero(t, db.Stats().Hedges)

	tx, err := db.BeginTx(bg, &sql.TxOptions{ReadOnly: true})
	require.NoError(t, err)
	assert.Equal(t, "replica 1", rwsplit.TxServer(tx).Name())
	require.NoError(t, tx.QueryRowContext(bg, selectKV, 1).Scan(&v))
	assert.EqualValues(t, 1, v)
	require.NoError(t, tx.Commit())
	assert.EqualValues(t, 1, db.Stats().Hedges)
}

// TestHedgeBound: SetHedge's checks, and the bound Stats reports: the
// ceiling before any answer, then within floor and ceiling.
func TestHedgeBound(t *testing.T) {
	cl := fakedb.NewCluster(fakedb.MySQL, 1)
	cl.Write(1, 1)
	db := fakeDB(t, cl, false)
	assert.Error(t, rwsplit.SetHedge(db, -time.Millisecond, time.Second))
	assert.Error(t, rwsplit.SetHedge(db, 2*time.Second, time.Second))
	require.NoError(t, rwsplit.SetHedge(db, 10*time.Millisecond, 3*time.Second))
	assert.Equal(t, 3*time.Second, db.Stats().HedgeBound, "the ceiling before any answer")
	for range 20 {
		readKV(t, context.Background(), db, 1)
	}
	assert.Equal(t, 10*time.Millisecond, db.Stats().HedgeBound, "fast answers: the floor")
	require.NoError(t, rwsplit.SetHedge(db, 30*time.Millisecond, 30*time.Millisecond))
	assert.Equal(t, 30*time.Millisecond, db.Stats().HedgeBound)
	require.NoError(t, rwsplit.SetHedge(db, 0, 0))
	assert.Zero(t, db.Stats().HedgeBound)

	_, err := openFake(cl, false, false, rwsplit.WithHedge(time.Second, time.Millisecond))
	assert.Error(t, err, "floor above ceiling")
	fixed, err := openFake(cl, false, false, rwsplit.WithHedge(25*time.Millisecond, 25*time.Millisecond))
	require.NoError(t, err)
	defer fixed.Close()
	assert.Equal(t, 25*time.Millisecond, fixed.Stats().HedgeBound)
	off, err := openFake(cl, false, false, rwsplit.WithHedge(0, 0))
	require.NoError(t, err)
	defer off.Close()
	assert.Zero(t, off.Stats().HedgeBound)
}

// BenchmarkHedgeOverhead is BenchmarkOverhead's reads with the hedge on and
// off, under a caller's context that can be cancelled (a request's) and
// under context.Background. database/sql watches a cancellable context with
// a goroutine per open *sql.Rows: a hedgeable read gives it one to watch even
// when the caller's cannot be cancelled.
//
//	go test -run '^$' -bench HedgeOverhead -benchmem -count 6 . | benchstat -col /via -
func BenchmarkHedgeOverhead(b *testing.B) {
	cl := fakedb.NewCluster(fakedb.MySQL, 1)
	replica := cl.Replicas()[0].OpenDB(false)
	defer replica.Close()
	wrap := func(s *fakedb.Server) *sql.DB { return sql.OpenDB(rwsplit.PrefetchConnector(s.Connector(false))) }
	db, err := rwsplit.New(wrap(cl.Primary()), []*sql.DB{wrap(cl.Replicas()[0])}, rwsplit.WithMonitorInterval(time.Hour))
	require.NoError(b, err)
	defer db.Close()
	cl.Write(1, 1)
	cancellable, cancel := context.WithCancel(context.Background())
	defer cancel()
	for _, c := range []struct {
		name string
		ctx  context.Context
	}{{"request", cancellable}, {"background", context.Background()}} {
		for _, via := range []string{"raw", "hedge=off", "hedge=on"} {
			b.Run("QueryRow/ctx="+c.name+"/via="+via, func(b *testing.B) {
				queryRow := db.QueryRowContext
				switch via {
				case "raw":
					queryRow = replica.QueryRowContext
				case "hedge=off":
					require.NoError(b, rwsplit.SetHedge(db, 0, 0))
				default:
					require.NoError(b, rwsplit.SetHedge(db, 100*time.Millisecond, time.Second)) // the default
				}
				b.ReportAllocs()
				var v int64
				for b.Loop() {
					if err := queryRow(c.ctx, selectKV, 1).Scan(&v); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
