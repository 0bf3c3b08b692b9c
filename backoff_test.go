package rwsplit_test

import (
	"context"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rwsplit/rwsplit"
	"github.com/rwsplit/rwsplit/internal/dialect"
	"github.com/rwsplit/rwsplit/internal/fakedb"
)

// replicaChecks counts the monitor's full checks of r (each reads its
// replica status once).
func replicaChecks(r *fakedb.Server) int { return r.Count("SHOW REPLICA STATUS") }

// TestIdleBackoff: a DB that reads nothing checks its replica far less
// often than each interval, and its primary each interval; its first read
// checks the replica at once, and while reads flow the replica is checked
// each interval again.
func TestIdleBackoff(t *testing.T) {
	for _, f := range []dialect.Flavor{fakedb.MySQL, fakedb.MariaDB} {
		t.Run(f.String(), func(t *testing.T) {
			cl := fakedb.NewCluster(f, 1)
			r, p := cl.Replicas()[0], cl.Primary()
			const interval = 20 * time.Millisecond
			fakeDB(t, cl, false, rwsplit.WithMonitorInterval(interval))
			time.Sleep(600 * time.Millisecond) // 30 intervals
			idle := replicaChecks(r)
			// At once, then about 4 and 16 intervals later (±20%): 3.
			assert.LessOrEqual(t, idle, 5, "checks of an idle replica in 30 intervals")
			assert.GreaterOrEqual(t, p.Count("@@server_id"), 10, "the primary keeps its rate")
		})
	}
}

// TestFirstReadChecksAtOnce: after a pause, the first read brings the
// replica's checks back at once (long before its backed-off check), and
// reads that flow keep them at each interval.
func TestFirstReadChecksAtOnce(t *testing.T) {
	cl := fakedb.NewCluster(fakedb.MySQL, 1)
	r := cl.Replicas()[0]
	const interval = 20 * time.Millisecond
	db := fakeDB(t, cl, false, rwsplit.WithMonitorInterval(interval))
	// Checks at 0, ~80 ms, ~400 ms; the next one ~1.3 s or later.
	time.Sleep(700 * time.Millisecond)
	before := replicaChecks(r)
	readKV(t, context.Background(), db, 1)
	assert.Eventually(t, func() bool { return replicaChecks(r) > before }, 400*time.Millisecond, time.Millisecond,
		"the first read after a pause checks the replica at once")

	before = replicaChecks(r)
	for end := time.Now().Add(400 * time.Millisecond); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		readKV(t, context.Background(), db, 1)
	}
	assert.GreaterOrEqual(t, replicaChecks(r)-before, 5, "checks while reads flow (about one per interval: 20)")
}

// atNormalRate opens a DB on cl with an interval of an hour, lets its first
// check run and reads once, so that its replica's next check is an hour
// away: any check that follows was asked for.
func atNormalRate(t *testing.T, cl *fakedb.Cluster) (*fakedb.Server, *rwsplit.DB) {
	t.Helper()
	r := cl.Replicas()[0]
	db := fakeDB(t, cl, false)
	checked(t, db)
	readKV(t, context.Background(), db, 1)
	time.Sleep(50 * time.Millisecond)
	return r, db
}

// TestSignalChecksAtOnce: a read that fails for want of a connection asks
// for a check of its replica at once, whatever the interval; a read that
// succeeds does not.
func TestSignalChecksAtOnce(t *testing.T) {
	cl := fakedb.NewCluster(fakedb.MariaDB, 1)
	r, db := atNormalRate(t, cl)
	before := replicaChecks(r)
	readKV(t, context.Background(), db, 1)
	time.Sleep(100 * time.Millisecond)
	assert.Equal(t, before, replicaChecks(r), "a good read asks for no check")

	r.FailNext(1, mysql.ErrInvalidConn)
	readKV(t, context.Background(), db, 1) // retried elsewhere
	assert.Eventually(t, func() bool { return replicaChecks(r) > before }, 5*time.Second, time.Millisecond,
		"a failed read checks its replica at once")
	assert.Eventually(t, func() bool { return db.Servers()[1].Health().Usable }, 5*time.Second, time.Millisecond,
		"the check clears the suspect mark")
}

// TestTimedOutWaitChecksAtOnce: a wait that times out on a replica (its
// applier stopped) checks that replica at once, whatever its rate.
func TestTimedOutWaitChecksAtOnce(t *testing.T) {
	cl := fakedb.NewCluster(fakedb.MySQL, 1)
	r, db := atNormalRate(t, cl)
	r.StopApplier()
	ctx := rwsplit.WithConsistency(context.Background(), rwsplit.WaitGTID(50*time.Millisecond))
	_, err := db.ExecContext(ctx, insertKV, 1, 1)
	require.NoError(t, err)
	before := replicaChecks(r)
	readKV(t, ctx, db, 1) // falls back to the primary
	assert.Eventually(t, func() bool { return replicaChecks(r) > before }, 5*time.Second, time.Millisecond,
		"a timed-out wait checks its replica at once")
}

// TestStaleLookFast: what a replica was seen to have applied is not trusted
// once the look is older than freshFor (a replica checked less often
// while its DB read nothing): a Fast read then goes to the primary and
// asks for a look, after which Fast reads skip the wait on the replica
// again.
func TestStaleLookFast(t *testing.T) {
	cl := fakedb.NewCluster(fakedb.MySQL, 1)
	r := cl.Replicas()[0]
	db := fakeDB(t, cl, false, rwsplit.WithMonitorInterval(50*time.Millisecond))
	ctx := rwsplit.WithConsistency(context.Background(), rwsplit.Fast)
	_, err := db.ExecContext(ctx, insertKV, 1, 1)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		before := rwsplit.ReplicaReads(db)[0]
		readKV(t, ctx, db, 1)
		return rwsplit.ReplicaReads(db)[0] > before
	}, 5*time.Second, 10*time.Millisecond, "Fast reads the replica once a check saw the write applied")

	// Checks ~50 ms after the last read, then ~200 ms later, then ~800 ms
	// later. Hung, the replica answers no look: its last one ages.
	r.Hang()
	defer r.Unhang()
	rep := db.Servers()[1]
	// A look is trusted for two intervals but never less than an interval
	// plus a second (a check's deadline).
	require.Eventually(t, func() bool { return time.Since(rep.Health().LastCheck) > 1200*time.Millisecond }, 10*time.Second, time.Millisecond)
	before, reads := db.Stats(), rwsplit.ReplicaReads(db)[0]
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second) // a read sent to the hung replica fails the test, not hangs it
	defer cancel()
	readKV(t, rctx, db, 1)
	assert.Equal(t, reads, rwsplit.ReplicaReads(db)[0], "a Fast read trusted an old look")
	// To the primary: as a fallback, or for want of a usable replica once
	// the hung replica's checks timed out.
	assert.Equal(t, before.PrimaryReads+1, db.Stats().PrimaryReads)
	r.Unhang()
	assert.Eventually(t, func() bool {
		before := rwsplit.ReplicaReads(db)[0]
		readKV(t, ctx, db, 1)
		return rwsplit.ReplicaReads(db)[0] > before
	}, 400*time.Millisecond, 5*time.Millisecond, "Fast reads the replica again after a new look")
}

// TestStaleLookMaxStaleness: a MaxStaleness read takes a replica's last
// look plus its age: after a pause the look is too old for the bound, the
// read goes to the primary and wakes the monitor, and the replica serves
// again at once, long before its backed-off check.
func TestStaleLookMaxStaleness(t *testing.T) {
	cl := fakedb.NewCluster(fakedb.MariaDB, 1)
	db := fakeDB(t, cl, false, rwsplit.WithMonitorInterval(50*time.Millisecond))
	// Checks at 0, ~200 ms and ~1 s (±20%); the next ~3.4 s or later.
	rep := db.Servers()[1]
	time.Sleep(time.Second)
	require.Eventually(t, func() bool { return time.Since(rep.Health().LastCheck) > 300*time.Millisecond }, 10*time.Second, time.Millisecond)
	ctx := rwsplit.WithConsistency(context.Background(), rwsplit.MaxStaleness(250*time.Millisecond))
	reads := rwsplit.ReplicaReads(db)[0]
	readKV(t, ctx, db, 1)
	assert.Equal(t, reads, rwsplit.ReplicaReads(db)[0], "a look older than the bound is not within it")
	assert.Eventually(t, func() bool {
		before := rwsplit.ReplicaReads(db)[0]
		readKV(t, ctx, db, 1)
		return rwsplit.ReplicaReads(db)[0] > before
	}, 500*time.Millisecond, 5*time.Millisecond, "the replica serves again after the look the read asked for")
}
