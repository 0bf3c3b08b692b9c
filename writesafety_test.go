package rwsplit_test

// Unit tests of write safety through a change of primary (writesafety.go)
// and of the bounds it relies on, against internal/fakedb: a write never
// runs twice, OrFail stays bounded on a hung primary, a one-round-trip
// read's own error is not sent again, a context's end is not a lost
// connection, calls that need a primary wait one out within the write hold,
// and transactions cut off by a change of primary say so (ErrBeginAgain).

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rwsplit/rwsplit"
	"github.com/rwsplit/rwsplit/internal/fakedb"
)

// multiDiscoveryDB is discoveryDB with pools that take multi-statement
// texts (multiStatements=true on every server: any may become the primary).
func multiDiscoveryDB(t *testing.T, c *fakedb.Cluster, opts ...rwsplit.Option) (*rwsplit.DB, map[*fakedb.Server]*sql.DB) {
	t.Helper()
	return openDiscoveryDB(t, c, true, opts...)
}

// requireOutcome asserts that err is a *rwsplit.WriteError whose NotRun is notRun.
func requireOutcome(t *testing.T, err error, notRun bool) {
	t.Helper()
	var we *rwsplit.WriteError
	require.ErrorAs(t, err, &we, "%v", err)
	assert.Equal(t, notRun, we.NotRun, "%v", err)
}

// within runs f and returns its error, failing the test when f has not
// returned within d (f keeps running; the test's cleanups release it).
func within(t *testing.T, d time.Duration, f func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		return err
	case <-time.After(d):
		t.Fatalf("no answer within %v", d)
		return nil
	}
}

// TestWriteRunsAtMostOnce: a routed write that the primary refuses as
// read-only runs again on the new primary only when nothing of it can have
// run. A multi-statement Exec whose primary is demoted between its two
// statements is not run again (its first statement committed): the caller
// gets a WriteError of Unknown outcome and the first INSERT exists once. A
// single INSERT refused runs once on the new primary; a refused CALL is not
// run again (a procedure commits as it goes).
func TestWriteRunsAtMostOnce(t *testing.T) {
	for _, f := range fakeFlavors {
		t.Run(f.String()+"/multi-statement", func(t *testing.T) {
			c := fakedb.NewCluster(f, 2)
			db, _ := multiDiscoveryDB(t, c, rwsplit.WithMonitorInterval(time.Hour))
			ctx := context.Background()
			old, next := c.Primary(), c.Replicas()[0]
			before := old.Applied()
			var once sync.Once
			old.AfterStatement(func(stmt string) {
				if stmt == "INSERT INTO kv (k, v) VALUES (1, 1)" {
					once.Do(func() { c.Promote(next) })
				}
			})
			defer old.AfterStatement(nil)

			_, err := db.ExecContext(ctx, "INSERT INTO kv (k, v) VALUES (1, 1); INSERT INTO kv (k, v) VALUES (2, 2)")
			require.Error(t, err, "the first INSERT committed before the refusal: not to be run again")
			requireOutcome(t, err, false)
			assert.Equal(t, 1, old.Count("INSERT"), "sent once, to the old primary")
			assert.Zero(t, next.Count("INSERT"), "never sent to the new primary")
			assert.Equal(t, before+1, c.Primary().Applied(), "the first INSERT committed once, nothing else")
			v, ok := next.Value(1)
			assert.True(t, ok && v == 1)
			_, ok = next.Value(2)
			assert.False(t, ok, "the second INSERT never ran")
		})
		t.Run(f.String()+"/single", func(t *testing.T) {
			c := fakedb.NewCluster(f, 2)
			db, _ := discoveryDB(t, c, rwsplit.WithMonitorInterval(time.Hour))
			ctx := context.Background()
			old, next := c.Primary(), c.Replicas()[0]
			before := old.Applied()
			c.Promote(next)
			_, err := db.ExecContext(ctx, insertKV, 1, 1)
			require.NoError(t, err, "refused before it ran: run on the new primary")
			assert.Equal(t, 1, old.Count("INSERT"), "refused once by the old primary")
			assert.Equal(t, 1, next.Count("INSERT"), "run once on the new primary")
			assert.Equal(t, before+1, next.Applied(), "committed exactly once")
			v, ok := next.Value(1)
			assert.True(t, ok && v == 1)
			assert.GreaterOrEqual(t, db.Stats().WriteHolds, uint64(1))
		})
		t.Run(f.String()+"/call", func(t *testing.T) {
			c := fakedb.NewCluster(f, 2)
			db, _ := discoveryDB(t, c, rwsplit.WithMonitorInterval(time.Hour))
			ctx := context.Background()
			old, next := c.Primary(), c.Replicas()[0]
			before := old.Applied()
			c.Promote(next)
			_, err := db.ExecContext(ctx, callKV, 1, 1)
			require.Error(t, err, "a refused CALL may have run in part: not to be run again")
			requireOutcome(t, err, false)
			assert.NotErrorIs(t, err, rwsplit.ErrNoPrimary, "a primary was known")
			var me *mysql.MySQLError
			require.ErrorAs(t, err, &me, "the refusal is the cause")
			assert.EqualValues(t, 1290, me.Number)
			assert.Equal(t, 1, old.Count("CALL"))
			assert.Zero(t, next.Count("CALL"), "never sent to the new primary")
			assert.Equal(t, before, next.Applied(), "nothing committed")
		})
	}
}

// TestOrFailBoundedOnHungPrimary: a read under a waiting mode with OrFail,
// whose scope has a write whose position is still pending, does not hang
// with a hung primary under a context without deadline: reading the
// primary's position is bounded by the mode's timeout (Fast: 1 s), and the
// read fails with ErrReplicaNotCaughtUp.
func TestOrFailBoundedOnHungPrimary(t *testing.T) {
	for _, f := range fakeFlavors {
		for _, mode := range []rwsplit.Consistency{
			rwsplit.WaitGTID(50 * time.Millisecond).OrFail(),
			rwsplit.Fast.OrFail(),
			rwsplit.Monotonic(50 * time.Millisecond).OrFail(),
		} {
			t.Run(fmt.Sprintf("%s/%s", f, mode), func(t *testing.T) {
				c := fakedb.NewCluster(f, 2)
				db := fakeDB(t, c, false)
				ctx := rwsplit.WithConsistency(context.Background(), mode)
				_, err := db.ExecContext(ctx, insertKV, 1, 1)
				require.NoError(t, err)
				c.Primary().Hang()
				defer c.Primary().Unhang()
				// Generous: the bound is the mode's (at most 1 s); before
				// it, the read never returned.
				err = within(t, 10*time.Second, func() error {
					var v int64
					return db.QueryRowContext(ctx, selectKV, 1).Scan(&v)
				})
				require.ErrorIs(t, err, rwsplit.ErrReplicaNotCaughtUp)
				assert.NotErrorIs(t, err, context.DeadlineExceeded, "the caller's context has no deadline: %v", err)
			})
		}
	}
}

// oneTripReady returns a DB over c whose replicas take the wait in the
// read's own round trip, once every server's version and kind are known (so
// that a failure injected next falls on the read).
func oneTripReady(t *testing.T, c *fakedb.Cluster) *rwsplit.DB {
	t.Helper()
	db := fakeDB(t, c, true)
	for _, s := range append(rwsplit.ReplicaServers(db), rwsplit.PrimaryServer(db)) {
		_, err := rwsplit.DetectVersion(context.Background(), s)
		require.NoError(t, err)
	}
	require.Eventually(t, func() bool {
		for _, st := range rwsplit.ReplicaStatus(db) {
			if st.Kind == "" {
				return false
			}
		}
		return true
	}, 5*time.Second, time.Millisecond)
	return db
}

// TestOneTripQueryErrorSentOnce: a one-round-trip read (the wait and the
// query in one statement) whose query fails by itself returns that error,
// the query sent to the replica once: it is not sent again apart (a query
// killed by max_execution_time is not to run twice). An error of the wait
// itself still splits: the read then runs with its wait apart and succeeds.
func TestOneTripQueryErrorSentOnce(t *testing.T) {
	for _, f := range fakeFlavors {
		t.Run(f.String()+"/1242", func(t *testing.T) {
			c := fakedb.NewCluster(f, 1)
			stalled(c)
			db := oneTripReady(t, c)
			ctx := rwsplit.WithConsistency(context.Background(), rwsplit.WaitGTID(5*time.Second))
			_, err := db.ExecContext(ctx, insertKV, 1, 1)
			require.NoError(t, err)
			r := c.Replicas()[0]
			r.ResetStatements()
			var one int
			err = db.QueryRowContext(ctx, "SELECT (SELECT 1 UNION ALL SELECT 1)").Scan(&one)
			var me *mysql.MySQLError
			require.ErrorAs(t, err, &me)
			assert.EqualValues(t, 1242, me.Number)
			assert.Equal(t, 1, r.Count("UNION ALL"), "the failed query was sent %d times: %q", r.Count("UNION ALL"), r.Statements())
		})
		t.Run(f.String()+"/3024", func(t *testing.T) {
			c := fakedb.NewCluster(f, 1)
			stalled(c)
			db := oneTripReady(t, c)
			ctx := rwsplit.WithConsistency(context.Background(), rwsplit.WaitGTID(5*time.Second))
			_, err := db.ExecContext(ctx, insertKV, 1, 1)
			require.NoError(t, err)
			r := c.Replicas()[0]
			r.ResetStatements()
			r.FailNext(1, &mysql.MySQLError{Number: 3024, Message: "Query execution was interrupted, maximum statement execution time exceeded"})
			defer r.FailNext(0, nil)
			var v int64
			err = db.QueryRowContext(ctx, selectKV, 1).Scan(&v)
			var me *mysql.MySQLError
			require.ErrorAs(t, err, &me, "the query's own error is the read's")
			assert.EqualValues(t, 3024, me.Number)
			assert.Equal(t, 1, r.Count("FROM kv WHERE k"), "the failed query was sent %d times: %q", r.Count("FROM kv WHERE k"), r.Statements())
		})
		for _, n := range []uint16{1317, 1772} {
			t.Run(fmt.Sprintf("%s/wait-%d", f, n), func(t *testing.T) {
				c := fakedb.NewCluster(f, 1)
				stalled(c)
				db := oneTripReady(t, c)
				ctx := rwsplit.WithConsistency(context.Background(), rwsplit.WaitGTID(5*time.Second))
				_, err := db.ExecContext(ctx, insertKV, 1, 1)
				require.NoError(t, err)
				r := c.Replicas()[0]
				r.ResetStatements()
				r.FailNext(1, &mysql.MySQLError{Number: n, Message: "the wait failed"})
				defer r.FailNext(0, nil)
				v, found := readKV(t, ctx, db, 1)
				assert.True(t, found, "the read succeeded with its wait apart")
				assert.EqualValues(t, 1, v)
				assert.Equal(t, 2, r.Count("FROM kv WHERE k"), "the combined statement, then the query apart: %q", r.Statements())
			})
		}
	}
}

// commitErrConnector wraps a connector: a transaction's Commit returns the
// error of its BeginTx context once that context is done (as
// go-sql-driver/mysql does when the deadline passes during COMMIT).
type commitErrConnector struct{ driver.Connector }

func (c commitErrConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return commitErrConn{conn}, nil
}

// commitErrConn forwards every interface the fake connection has.
type commitErrConn struct{ driver.Conn }

func (c commitErrConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	tx, err := c.Conn.(driver.ConnBeginTx).BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	return commitErrTx{Tx: tx, ctx: ctx}, nil
}

func (c commitErrConn) PrepareContext(ctx context.Context, q string) (driver.Stmt, error) {
	return c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, q)
}

func (c commitErrConn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	return c.Conn.(driver.ExecerContext).ExecContext(ctx, q, args)
}

func (c commitErrConn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	return c.Conn.(driver.QueryerContext).QueryContext(ctx, q, args)
}

func (c commitErrConn) Ping(ctx context.Context) error { return c.Conn.(driver.Pinger).Ping(ctx) }

func (c commitErrConn) ResetSession(ctx context.Context) error {
	return c.Conn.(driver.SessionResetter).ResetSession(ctx)
}

func (c commitErrConn) IsValid() bool { return c.Conn.(driver.Validator).IsValid() }

func (c commitErrConn) CheckNamedValue(nv *driver.NamedValue) error {
	return c.Conn.(driver.NamedValueChecker).CheckNamedValue(nv)
}

type commitErrTx struct {
	driver.Tx
	ctx context.Context
}

func (t commitErrTx) Commit() error {
	<-t.ctx.Done()
	_ = t.Tx.Rollback()
	return t.ctx.Err()
}

// TestContextErrorIsNotALostConnection: the end of a context
// (context.DeadlineExceeded is also a net.Error) is never taken for a lost
// connection. A read-only transaction whose COMMIT fails with its context's
// deadline returns that error (it used to be dropped as a lost server's).
func TestContextErrorIsNotALostConnection(t *testing.T) {
	assert.False(t, rwsplit.IsConnError(context.DeadlineExceeded))
	assert.False(t, rwsplit.IsConnError(context.Canceled))
	assert.False(t, rwsplit.IsConnError(fmt.Errorf("x: %w", context.Canceled)))
	assert.False(t, rwsplit.IsConnError(fmt.Errorf("x: %w", context.DeadlineExceeded)))
	assert.False(t, rwsplit.IsConnError(nil))
	assert.True(t, rwsplit.IsConnError(driver.ErrBadConn))
	assert.True(t, rwsplit.IsConnError(io.EOF))
	assert.True(t, rwsplit.IsConnError(&net.OpError{Op: "read", Net: "tcp", Err: errors.New("connection reset by peer")}))

	c := fakedb.NewCluster(fakedb.MySQL, 1)
	c.Write(1, 1)
	replica := sql.OpenDB(commitErrConnector{c.Replicas()[0].Connector(false)})
	db, err := rwsplit.New(c.Primary().OpenDB(false), []*sql.DB{replica},
		rwsplit.WithMonitorInterval(time.Hour), rwsplit.WithHedge(0, 0)) // BEGIN on the replica, never hedged to the primary
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	// The deadline passes during COMMIT (the driver's Commit waits for it).
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	tx, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	require.NoError(t, err)
	require.False(t, rwsplit.TxServer(tx) == rwsplit.PrimaryServer(db), "on the replica")
	var v int64
	require.NoError(t, tx.QueryRowContext(ctx, selectKV, 1).Scan(&v))
	err = tx.Commit()
	require.ErrorIs(t, err, context.DeadlineExceeded, "a COMMIT cut off by its deadline is not a lost server's")
}

// fenced returns a discovery DB over c (2 replicas) whose primary has been
// fenced read-only, with no writable server: db.Primary() is nil.
func fenced(t *testing.T, c *fakedb.Cluster, opts ...rwsplit.Option) (*rwsplit.DB, map[*fakedb.Server]*sql.DB) {
	t.Helper()
	db, pools := discoveryDB(t, c, opts...)
	c.Primary().SetReadOnly(true)
	require.Eventually(t, func() bool { return db.Primary() == nil }, 10*time.Second, 5*time.Millisecond)
	return db, pools
}

// primaryCalls are the calls that must reach the primary, each a write of
// k=v (the Primary-mode read reads k, written beforehand).
var primaryCalls = []struct {
	name string
	do   func(ctx context.Context, db *rwsplit.DB, k int64) error
}{
	{"Exec", func(ctx context.Context, db *rwsplit.DB, k int64) error {
		_, err := db.ExecContext(ctx, insertKV, k, k)
		return err
	}},
	{"BeginTx", func(ctx context.Context, db *rwsplit.DB, k int64) error {
		return txDo(ctx, db, func(tx *rwsplit.Tx) error {
			_, err := tx.ExecContext(ctx, insertKV, k, k)
			return err
		})
	}},
	{"Conn", func(ctx context.Context, db *rwsplit.DB, k int64) error {
		return connDo(ctx, db, func(c *rwsplit.Conn) error {
			_, err := c.ExecContext(ctx, insertKV, k, k)
			return err
		})
	}},
	{"PrimaryRead", func(ctx context.Context, db *rwsplit.DB, k int64) error {
		var v int64
		if err := db.QueryRowContext(rwsplit.WithConsistency(ctx, rwsplit.Primary), selectKV, k).Scan(&v); err != nil {
			return err
		}
		if v != k {
			return fmt.Errorf("read %d, want %d", v, k)
		}
		return nil
	}},
}

// TestWritesWaitOutAPromotion: while no server is writable, a call that
// must reach the primary waits (within the write hold) for the monitor to
// find one, and runs there: counted in Stats.WriteHolds and WriteHoldTime.
func TestWritesWaitOutAPromotion(t *testing.T) {
	for _, f := range fakeFlavors {
		for _, pc := range primaryCalls {
			t.Run(f.String()+"/"+pc.name, func(t *testing.T) {
				c := fakedb.NewCluster(f, 2)
				const k = 7
				c.Write(k, k) // for the read
				db, pools := fenced(t, c)
				next := c.Replicas()[0]
				done := make(chan error, 1)
				go func() { done <- pc.do(context.Background(), db, k) }()
				// Held: the call is waiting before the promotion.
				require.Eventually(t, func() bool { return db.Stats().WriteHolds >= 1 }, 10*time.Second, time.Millisecond)
				time.Sleep(200 * time.Millisecond)
				c.Promote(next)
				var err error
				select {
				case err = <-done:
				case <-time.After(30 * time.Second):
					t.Fatal("the held call never returned")
				}
				require.NoError(t, err, "run on the new primary")
				assert.Same(t, pools[next], db.Primary())
				if pc.name != "PrimaryRead" {
					assert.Equal(t, 1, next.Count("INSERT"), "run once, on the new primary")
				}
				st := db.Stats()
				assert.GreaterOrEqual(t, st.WriteHolds, uint64(1))
				assert.Positive(t, st.WriteHoldTime)
			})
		}
	}
}

// TestWriteHoldBound: with no promotion, a held call fails with
// ErrNoPrimary once the write hold has passed, not before; the caller's
// context ends the hold first when it ends first.
func TestWriteHoldBound(t *testing.T) {
	const hold = 300 * time.Millisecond
	for _, pc := range primaryCalls {
		t.Run(pc.name, func(t *testing.T) {
			c := fakedb.NewCluster(fakedb.MySQL, 2)
			c.Write(7, 7)
			db, _ := fenced(t, c, rwsplit.WithWriteHold(hold))
			start := time.Now()
			err := pc.do(context.Background(), db, 7)
			took := time.Since(start)
			require.ErrorIs(t, err, rwsplit.ErrNoPrimary)
			assert.GreaterOrEqual(t, took, hold, "failed before the hold passed")
			assert.Less(t, took, hold+5*time.Second)
			assert.GreaterOrEqual(t, db.Stats().WriteHolds, uint64(1))
		})
	}
	for _, pc := range primaryCalls {
		t.Run("ctx/"+pc.name, func(t *testing.T) {
			c := fakedb.NewCluster(fakedb.MySQL, 2)
			c.Write(7, 7)
			db, _ := fenced(t, c) // the default hold, 5 s
			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			defer cancel()
			err := within(t, rwsplit.DefaultWriteHold+5*time.Second, func() error { return pc.do(ctx, db, 7) })
			require.ErrorIs(t, err, context.DeadlineExceeded)
			assert.NotErrorIs(t, err, rwsplit.ErrNoPrimary)
		})
	}
}

// TestTxBeginAgain: a statement of a read-write transaction that the
// primary refuses as read-only (fenced mid-transaction) returns
// ErrBeginAgain; so does a Conn's single INSERT refused (nothing of it ran).
func TestTxBeginAgain(t *testing.T) {
	for _, f := range fakeFlavors {
		t.Run(f.String()+"/Tx", func(t *testing.T) {
			c := fakedb.NewCluster(f, 2)
			db, _ := discoveryDB(t, c)
			ctx := context.Background()
			tx, err := db.BeginTx(ctx, nil)
			require.NoError(t, err)
			_, err = tx.ExecContext(ctx, insertKV, 1, 1)
			require.NoError(t, err)
			c.Primary().SetReadOnly(true)
			_, err = tx.ExecContext(ctx, insertKV, 2, 2)
			require.ErrorIs(t, err, rwsplit.ErrBeginAgain)
			_ = tx.Rollback()
			_, ok := c.Primary().Value(1)
			assert.False(t, ok, "nothing of the transaction committed")
		})
		t.Run(f.String()+"/Conn", func(t *testing.T) {
			c := fakedb.NewCluster(f, 2)
			db, _ := discoveryDB(t, c)
			ctx := context.Background()
			conn, err := db.Conn(ctx)
			require.NoError(t, err)
			defer conn.Close()
			c.Primary().SetReadOnly(true)
			_, err = conn.ExecContext(ctx, insertKV, 1, 1)
			require.ErrorIs(t, err, rwsplit.ErrBeginAgain)
			requireOutcome(t, err, true)
			_, ok := c.Primary().Value(1)
			assert.False(t, ok)
		})
	}
}

// TestRunTxAcrossPromotion: RunTx begins a transaction cut off by a
// promotion again on the new primary: its INSERT commits once, there, and
// never on the old primary. An error of fn's own is returned, not retried.
func TestRunTxAcrossPromotion(t *testing.T) {
	for _, f := range fakeFlavors {
		t.Run(f.String(), func(t *testing.T) {
			c := fakedb.NewCluster(f, 2)
			db, pools := discoveryDB(t, c)
			ctx := context.Background()
			old, next := c.Primary(), c.Replicas()[0]
			before := old.Applied()
			var calls atomic.Int32
			var firstErr error
			err := db.RunTx(ctx, nil, func(tx *rwsplit.Tx) error {
				if calls.Add(1) == 1 {
					require.Same(t, pools[old], rwsplit.TxServer(tx).DB())
					c.Promote(next)
					old.StopApplier() // the old primary shows only what ran on it
					require.Eventually(t, func() bool { return db.Primary() == pools[next] }, 10*time.Second, 5*time.Millisecond)
				}
				_, err := tx.ExecContext(ctx, insertKV, 1, 1)
				if calls.Load() == 1 {
					firstErr = err
				}
				return err
			})
			require.NoError(t, err)
			require.ErrorIs(t, firstErr, rwsplit.ErrBeginAgain)
			assert.EqualValues(t, 2, calls.Load(), "begun once more")
			v, ok := next.Value(1)
			assert.True(t, ok && v == 1, "committed on the new primary")
			assert.Equal(t, before+1, next.Applied(), "committed once")
			_, ok = old.Value(1)
			assert.False(t, ok, "never on the old primary")
			assert.Equal(t, 1, old.Count("INSERT"), "refused once by the old primary")
			assert.Equal(t, 1, next.Count("INSERT"))

			mine := errors.New("fn's own error")
			calls.Store(0)
			err = db.RunTx(ctx, nil, func(tx *rwsplit.Tx) error {
				calls.Add(1)
				if _, err := tx.ExecContext(ctx, insertKV, 2, 2); err != nil {
					return err
				}
				return mine
			})
			require.ErrorIs(t, err, mine)
			assert.EqualValues(t, 1, calls.Load(), "not retried")
			_, ok = next.Value(2)
			assert.False(t, ok, "rolled back")
		})
	}
}

// TestHungReplicaWaitBoundedByHedge: a wait sent in its own round trip to a
// replica that stopped answering is given up at the wait's timeout plus the
// hedge bound (not a fixed second), the replica is set aside (suspect), and
// the read falls back to the primary.
func TestHungReplicaWaitBoundedByHedge(t *testing.T) {
	for _, f := range fakeFlavors {
		t.Run(f.String(), func(t *testing.T) {
			cl := fakedb.NewCluster(f, 1)
			stalled(cl)
			db := fakeDB(t, cl, false, rwsplit.WithHedge(50*time.Millisecond, 50*time.Millisecond))
			ctx := rwsplit.WithConsistency(rwsplit.WithSession(context.Background(), rwsplit.NewSession(rwsplit.Token{})), rwsplit.WaitGTID(200*time.Millisecond))
			_, err := db.ExecContext(ctx, insertKV, 1, 1)
			require.NoError(t, err)
			r := cl.Replicas()[0]
			r.Hang()
			defer r.Unhang()

			start := time.Now()
			var v int64
			require.NoError(t, db.QueryRowContext(ctx, selectKV, 1).Scan(&v), "falls back to the primary")
			took := time.Since(start)
			assert.Equal(t, int64(1), v)
			assert.EqualValues(t, 1, db.Stats().Fallbacks)
			assert.True(t, rwsplit.ReplicaStatus(db)[0].Suspect, "the hung replica is set aside")
			// 200 ms + 50 ms expected; before, 200 ms + 1 s.
			assert.Less(t, took, time.Second, "given up at the timeout plus the hedge bound")
		})
	}
}
