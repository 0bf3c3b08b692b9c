package rwsplit

// A Stmt never holds its lock across a network call: closing a preparation
// ((*sql.Stmt).Close waits for the executions running on it, which a hung
// server holds) happens after st.mu is released, so the Stmt's other calls
// go on while a Close or a prune is blocked. Unit tests against the
// in-memory driver, whose Hang blocks a server until Unhang.

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rwsplit/rwsplit/internal/fakedb"
)

const stmtTestQuery = "SELECT v FROM kv WHERE k = ?"

// stmtTestWait bounds the waits of these tests. Only a failure waits it out
// (a lock held across a blocked Close): a pass never does, however loaded
// the machine.
const stmtTestWait = 10 * time.Second

// stmtTestDB returns a DB over a two-replica cluster holding k=1, v=1, and
// its pools in the order primary, replica 0, replica 1, once the monitor's
// first round has run (it then leaves the pools alone: its next round is an
// hour away). The pools are closed at cleanup, also one RemoveReplica gave
// back.
func stmtTestDB(t *testing.T) (*DB, *fakedb.Cluster, []*sql.DB) {
	t.Helper()
	cl := fakedb.NewCluster(fakedb.MySQL, 2)
	cl.Write(1, 1)
	pools := []*sql.DB{cl.Primary().OpenDB(false), cl.Replicas()[0].OpenDB(false), cl.Replicas()[1].OpenDB(false)}
	db, err := New(pools[0], pools[1:], WithMonitorInterval(time.Hour))
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = db.Close()
		for _, p := range pools {
			_ = p.Close()
		}
	})
	require.Eventually(t, func() bool {
		for _, st := range ReplicaStatus(db) {
			if st.LastCheck.IsZero() {
				return false
			}
		}
		return true
	}, stmtTestWait, time.Millisecond)
	return db, cl, pools
}

// hangExecution hangs server srv and starts an execution of ps, whose pool
// is pool, on it; it returns once the execution is under way (it holds ps:
// ps.Close now blocks until Unhang). The returned channel is closed when the
// execution ends. srv is unhung at cleanup at the latest.
func hangExecution(t *testing.T, srv *fakedb.Server, pool *sql.DB, ps *sql.Stmt) <-chan struct{} {
	t.Helper()
	srv.Hang()
	t.Cleanup(srv.Unhang)
	done := make(chan struct{})
	go func() {
		defer close(done)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		rows, err := ps.QueryContext(ctx, int64(1))
		if err == nil {
			_ = rows.Close()
		}
	}()
	// The execution takes a connection of the pool (an idle one, where it
	// runs and hangs, or a new one, whose Connect hangs) after it took ps's
	// read lock: in use, the execution holds ps.
	require.Eventually(t, func() bool { return pool.Stats().InUse > 0 }, stmtTestWait, time.Millisecond,
		"the execution on the hung server started")
	return done
}

// stmtUnlocked reports whether st.mu is free and cond holds under it.
func stmtUnlocked(st *Stmt, cond func() bool) bool {
	if !st.mu.TryLock() {
		return false
	}
	defer st.mu.Unlock()
	return cond()
}

// within runs f in a goroutine and reports whether it returned within
// stmtTestWait.
func within(f func()) bool {
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
		return true
	case <-time.After(stmtTestWait):
		return false
	}
}

// TestStmtPruneClosesOutsideTheLock: a replica is removed while an execution
// of the Stmt's preparation on it hangs. The call that prunes that
// preparation blocks in its Close, with st.mu released: the Stmt's other
// calls (preparedOn, a new preparation on another replica, an execution on
// the primary) go on meanwhile.
func TestStmtPruneClosesOutsideTheLock(t *testing.T) {
	db, cl, pools := stmtTestDB(t)
	ctx := context.Background()
	st, err := db.PrepareContext(ctx, stmtTestQuery)
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() }) // after the Unhang of hangExecution's cleanup
	p, r0, r1 := db.primaryServer(), db.topology().replicas[0], db.topology().replicas[1]
	ps0, err := st.on(ctx, r0)
	require.NoError(t, err)
	_, err = st.on(ctx, p)
	require.NoError(t, err)

	execDone := hangExecution(t, cl.Replicas()[0], pools[1], ps0)
	require.NoError(t, db.RemoveReplica(pools[1]))

	pruned := make(chan error, 1)
	go func() { // prunes ps0: blocks in ps0.Close until Unhang
		ps, err := st.preparedOn(p)
		if err == nil && ps == nil {
			err = errors.New("no preparation on the primary")
		}
		pruned <- err
	}()
	require.Eventually(t, func() bool {
		return stmtUnlocked(st, func() bool {
			_, kept := st.stmts[r0]
			return st.topo == db.topology() && !kept
		})
	}, stmtTestWait, time.Millisecond, "st.mu is free once the prune dropped the removed replica's preparation")
	select {
	case err := <-pruned:
		t.Fatalf("the pruning call returned (%v) while the closing of the hung preparation could not have", err)
	default:
	}

	ok := within(func() {
		ps, err := st.preparedOn(p)
		assert.NoError(t, err)
		assert.NotNil(t, ps)
		ps1, err := st.on(ctx, r1)
		assert.NoError(t, err)
		assert.NotNil(t, ps1)
		var v int64
		assert.NoError(t, st.QueryRowContext(WithConsistency(ctx, Primary), int64(1)).Scan(&v))
		assert.EqualValues(t, 1, v)
	})
	assert.True(t, ok, "the Stmt's other calls waited behind a blocked prune")
	select {
	case err := <-pruned:
		t.Fatalf("the pruning call returned (%v) before the hung server was released", err)
	default:
	}

	cl.Replicas()[0].Unhang()
	<-execDone
	assert.NoError(t, <-pruned)
	assert.ElementsMatch(t, []*Server{p, r1}, PreparedOn(st))
}

// TestStmtCloseClosesOutsideTheLock: Close with an execution hanging on one
// of its preparations blocks until the server answers, with st.mu released:
// meanwhile the Stmt's other calls return errStmtClosed at once.
func TestStmtCloseClosesOutsideTheLock(t *testing.T) {
	db, cl, pools := stmtTestDB(t)
	ctx := context.Background()
	st, err := db.PrepareContext(ctx, stmtTestQuery)
	require.NoError(t, err)
	p, r0 := db.primaryServer(), db.topology().replicas[0]
	ps0, err := st.on(ctx, r0)
	require.NoError(t, err)
	_, err = st.on(ctx, p)
	require.NoError(t, err)

	execDone := hangExecution(t, cl.Replicas()[0], pools[1], ps0)
	closed := make(chan error, 1)
	go func() { closed <- st.Close() }() // blocks in ps0.Close until Unhang
	require.Eventually(t, func() bool {
		return stmtUnlocked(st, func() bool { return st.closed && st.stmts == nil })
	}, stmtTestWait, time.Millisecond, "st.mu is free once Close took the preparations")
	select {
	case err := <-closed:
		t.Fatalf("Close returned (%v) while the closing of the hung preparation could not have", err)
	default:
	}

	ok := within(func() {
		_, err := st.preparedOn(p)
		assert.ErrorIs(t, err, errStmtClosed)
		_, err = st.on(ctx, p)
		assert.ErrorIs(t, err, errStmtClosed)
		_, err = st.ExecContext(ctx, int64(1))
		assert.ErrorIs(t, err, errStmtClosed)
		assert.NoError(t, st.Close(), "a second Close does nothing")
	})
	assert.True(t, ok, "the Stmt's other calls waited behind a blocked Close")
	select {
	case err := <-closed:
		t.Fatalf("Close returned (%v) before the hung server was released", err)
	default:
	}

	cl.Replicas()[0].Unhang()
	<-execDone
	assert.NoError(t, <-closed)
}

// TestStmtClosedWhilePreparing: a preparation that completes after Close
// is closed (outside st.mu) and not kept; its execution gets errStmtClosed.
func TestStmtClosedWhilePreparing(t *testing.T) {
	db, cl, _ := stmtTestDB(t)
	ctx := context.Background()
	st, err := db.PrepareContext(ctx, stmtTestQuery)
	require.NoError(t, err)
	r1 := db.topology().replicas[1]
	hung := cl.Replicas()[1]
	hung.Hang()
	t.Cleanup(hung.Unhang)
	var wg sync.WaitGroup
	wg.Add(1)
	var prepErr error
	go func() { // prepares on the hung replica: blocks until Unhang
		defer wg.Done()
		pctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		_, prepErr = st.on(pctx, r1)
	}()
	require.Eventually(t, func() bool {
		st.preparing.mu.Lock()
		defer st.preparing.mu.Unlock()
		return st.preparing.m[r1] != nil
	}, stmtTestWait, time.Millisecond, "the preparation is under way")
	assert.True(t, within(func() { assert.NoError(t, st.Close()) }), "Close waited behind a preparation")
	hung.Unhang()
	wg.Wait()
	assert.ErrorIs(t, prepErr, errStmtClosed)
	assert.Empty(t, PreparedOn(st))
}
