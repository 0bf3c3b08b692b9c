package rwsplit_test

// One slow or hung server must not stall unrelated work: every network call
// is bounded, and no lock is held across one. Unit tests against the
// in-memory driver, whose Hang blocks a server until Unhang.

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rwsplit/rwsplit"
	"github.com/rwsplit/rwsplit/internal/fakedb"
)

// TestCaughtUpBoundedOnAHungReplica: CaughtUp(50ms) on hung replicas falls
// back to the primary near its timeout, not when the replicas come back.
func TestCaughtUpBoundedOnAHungReplica(t *testing.T) {
	cl := fakedb.NewCluster(fakedb.MySQL, 2)
	db := fakeDB(t, cl, false)
	for _, s := range append(rwsplit.ReplicaServers(db), rwsplit.PrimaryServer(db)) {
		_, err := rwsplit.DetectVersion(context.Background(), s)
		require.NoError(t, err)
	}
	cl.Write(1, 1)
	for _, r := range cl.Replicas() {
		r.Hang()
		defer r.Unhang()
	}
	ctx, cancel := context.WithTimeout(rwsplit.WithConsistency(context.Background(), rwsplit.CaughtUp(50*time.Millisecond)), 20*time.Second)
	defer cancel()
	start := time.Now()
	v, found := readKV(t, ctx, db, 1)
	took := time.Since(start)
	assert.True(t, found)
	assert.EqualValues(t, 1, v)
	assert.EqualValues(t, 1, db.Stats().Fallbacks)
	assert.Less(t, took, 10*time.Second, "bounded by the mode's timeout, not by the hang")
	t.Logf("CaughtUp(50ms) with both replicas hung: %v", took.Round(time.Millisecond))
}

// TestStmtPrepareDoesNotBlockOtherServers: while a Stmt's preparation hangs
// on one replica, its executions bound for other servers go on.
func TestStmtPrepareDoesNotBlockOtherServers(t *testing.T) {
	cl := fakedb.NewCluster(fakedb.MariaDB, 2)
	var picks atomic.Int64
	db := fakeDB(t, cl, false, rwsplit.WithBalancer(balancerFunc(func(c []*rwsplit.Server) *rwsplit.Server {
		if picks.Add(1) == 1 {
			return c[0] // PrepareContext prepares on replica 0
		}
		return c[len(c)-1] // executions go to replica 1
	})))
	cl.Write(1, 1)
	st, err := db.PrepareContext(context.Background(), selectKV)
	require.NoError(t, err)
	defer st.Close()
	hung := cl.Replicas()[1]
	hung.Hang()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // prepares on the hung replica: blocks until Unhang
		defer wg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		_, _, _ = firstRow(st.QueryContext(ctx, int64(1)))
	}()
	time.Sleep(100 * time.Millisecond) // the preparation is under way (blocked)
	done := make(chan time.Duration, 1)
	go func() { // needs a preparation on the primary
		start := time.Now()
		v, found, err := firstRow(st.QueryContext(rwsplit.WithConsistency(context.Background(), rwsplit.Primary), int64(1)))
		assert.NoError(t, err)
		assert.True(t, found)
		assert.EqualValues(t, 1, v)
		done <- time.Since(start)
	}()
	select {
	case took := <-done:
		t.Logf("a Primary execution while a replica preparation hangs: %v", took.Round(time.Microsecond))
	case <-time.After(10 * time.Second):
		t.Error("a Primary execution waited behind a replica's preparation")
	}
	hung.Unhang()
	wg.Wait()
}

// TestVersionDetectionShared: a first call on a hung server with a short
// deadline gives up at that deadline, even while another caller with a long
// one is detecting the version (it joins that detection, holding no lock).
func TestVersionDetectionShared(t *testing.T) {
	cl := fakedb.NewCluster(fakedb.MySQL, 0) // no replicas: the monitor detects nothing
	r := cl.Primary()
	r.Hang() // New's look at the primary gives up: the version stays unknown
	defer r.Unhang()
	db := fakeDB(t, cl, false)
	s := rwsplit.PrimaryServer(db)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // a caller with a long deadline starts the detection
		defer wg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		_, _ = rwsplit.DetectVersion(ctx, s)
	}()
	time.Sleep(100 * time.Millisecond) // the detection is under way (blocked)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := rwsplit.DetectVersion(ctx, s)
	took := time.Since(start)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, took, 2*time.Second, "waited behind the other caller's detection")
	r.Unhang()
	wg.Wait()
	v, err := rwsplit.DetectVersion(context.Background(), s)
	require.NoError(t, err)
	assert.Equal(t, "9.7.0", v, "a MySQL version")
}

// TestHungPrimaryLeavesReplicasUp: the monitor checks every server with its
// own deadline, so a hung primary does not make healthy replicas look down,
// and replica reads go on.
func TestHungPrimaryLeavesReplicasUp(t *testing.T) {
	cl := fakedb.NewCluster(fakedb.MariaDB, 2)
	cl.Write(1, 1)
	db := fakeDB(t, cl, false, rwsplit.WithMonitorInterval(20*time.Millisecond))
	require.Eventually(t, func() bool {
		for _, st := range rwsplit.ReplicaStatus(db) {
			if st.State != rwsplit.StateUp {
				return false
			}
		}
		return true
	}, 5*time.Second, 5*time.Millisecond)
	cl.Primary().Hang()
	defer cl.Primary().Unhang()
	deadline := time.Now().Add(2500 * time.Millisecond) // over two rounds of 1 s budget
	for time.Now().Before(deadline) {
		for _, st := range rwsplit.ReplicaStatus(db) {
			require.Equal(t, rwsplit.StateUp, st.State, "%s: %s", st.Name, st.LastError)
		}
		v, found := readKV(t, context.Background(), db, 1)
		require.True(t, found)
		require.EqualValues(t, 1, v)
		time.Sleep(50 * time.Millisecond)
	}
}

// TestWaitPositionRidesOutAStoppedApplier: a position wait returns NULL at
// once while the applier is stopped; WaitPosition tries again within its
// timeout, so an applier stopped for a moment does not send the read to the
// primary. (A MySQL primary reports gtid_mode below ON, so that WaitPosition
// waits for the position, not for the GTIDs captured with it.)
func TestWaitPositionRidesOutAStoppedApplier(t *testing.T) {
	for _, f := range fakeFlavors {
		for _, oneTrip := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/onetrip=%v", f, oneTrip), func(t *testing.T) {
				cl := fakedb.NewCluster(f, 1)
				if f == fakedb.MySQL {
					cl.Primary().SetGTIDMode("ON_PERMISSIVE")
				}
				r := cl.Replicas()[0]
				r.StopApplier()
				db := fakeDB(t, cl, oneTrip)
				_, err := db.ExecContext(context.Background(), insertKV, 1, 1)
				require.NoError(t, err)
				restart := time.AfterFunc(200*time.Millisecond, r.StartApplier)
				defer restart.Stop()
				ctx := rwsplit.WithConsistency(context.Background(), rwsplit.WaitPosition(5*time.Second).OrFail())
				before := rwsplit.ReplicaReads(db)
				v, found := readKV(t, ctx, db, 1)
				assert.True(t, found)
				assert.EqualValues(t, 1, v)
				assert.Equal(t, before[0]+1, rwsplit.ReplicaReads(db)[0], "served by the replica")
				assert.Zero(t, db.Stats().NotCaughtUp)
			})
		}
	}
}

// TestWaitErrorSaysWhatFailed: under OrFail the error wraps
// ErrReplicaNotCaughtUp and a *WaitError naming the replica, the mode and
// the cause. (The primary reports gtid_mode below ON: WaitPosition waits
// for the position, which returns NULL on a stopped applier.)
func TestWaitErrorSaysWhatFailed(t *testing.T) {
	cl := fakedb.NewCluster(fakedb.MySQL, 1)
	cl.Primary().SetGTIDMode("ON_PERMISSIVE")
	cl.Replicas()[0].StopApplier()
	db := fakeDB(t, cl, false)
	_, err := db.ExecContext(context.Background(), insertKV, 1, 1)
	require.NoError(t, err)
	for _, tc := range []struct {
		mode  rwsplit.Consistency
		cause error
	}{
		{rwsplit.WaitGTID(30 * time.Millisecond).OrFail(), rwsplit.ErrWaitTimedOut},
		{rwsplit.WaitPosition(120 * time.Millisecond).OrFail(), rwsplit.ErrNotReplicatingForTest},
	} {
		var v int64
		err := db.QueryRowContext(rwsplit.WithConsistency(context.Background(), tc.mode), selectKV, 1).Scan(&v)
		require.ErrorIs(t, err, rwsplit.ErrReplicaNotCaughtUp)
		require.ErrorIs(t, err, tc.cause)
		var we *rwsplit.WaitError
		require.ErrorAs(t, err, &we)
		assert.Equal(t, "replica 0", we.Server.Name())
		assert.Equal(t, tc.mode.String(), we.Mode.String())
		t.Log(err)
	}
}
