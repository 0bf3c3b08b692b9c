// Package itest is the harness shared by rwsplit's per-library integration
// tests (one Go module per library under integration/): a real replicated
// cluster per server flavor (rwsplittest), a *rwsplit.DB over it, and the
// Connector's *sql.DB, which each test hands to its library. It checks the
// two claims every library must meet, through that library's own API:
//
//   - Routing: reads answered by a replica and writes run on the primary,
//     both by @@server_id (a write's server is recorded by a trigger, see
//     TrackWriter);
//   - ReadYourWrites: with both replicas' appliers stopped, a read under
//     WaitGTID with a Session in its context sees the write made just before
//     with the same context (the wait times out and the read goes to the
//     primary), while Eventual, the control, reads stale data on a replica;
//     with the appliers running, WaitGTID reads the write on a replica.
package itest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rwsplit/rwsplit"
	"github.com/rwsplit/rwsplit/rwsplittest"
)

// DSNParams are the go-sql-driver/mysql parameters of the router's pools.
var DSNParams = []string{"parseTime=true"}

// Env is one flavor's cluster, router and Connector pool.
type Env struct {
	Flavor  rwsplittest.Flavor
	Cluster *rwsplittest.Cluster
	// DB is the router; SQL is sql.OpenDB(DB.Connector()), the *sql.DB the
	// libraries get.
	DB  *rwsplit.DB
	SQL *sql.DB
	// PrimaryID and ReplicaIDs are the servers' @@server_id.
	PrimaryID  int
	ReplicaIDs []int
}

// ForEachFlavor runs test once per server flavor (MySQL 9.7, MariaDB 10.11
// by default), as subtests named after it, each on its own cluster of one
// primary and two replicas that lives as long as the subtest. It skips in
// -short mode outside CI; rwsplittest.Start skips without Docker or an image
// outside CI and fails in CI.
func ForEachFlavor(t *testing.T, test func(t *testing.T, e *Env)) {
	t.Helper()
	if testing.Short() && !rwsplittest.InCI() {
		t.Skip("integration test: skipped in -short mode")
	}
	for _, f := range rwsplittest.Flavors {
		t.Run(string(f), func(t *testing.T) {
			c := rwsplittest.Start(t, f)
			db, err := rwsplit.Open("mysql", c.Primary.DSN(DSNParams...), c.ReplicaDSNs(DSNParams...))
			require.NoError(t, err)
			t.Cleanup(func() { assert.NoError(t, db.Close()) })
			sdb := sql.OpenDB(db.Connector())
			t.Cleanup(func() { assert.NoError(t, sdb.Close()) }) // before db's
			e := &Env{Flavor: f, Cluster: c, DB: db, SQL: sdb, PrimaryID: c.Primary.ServerID}
			for _, r := range c.Replicas {
				e.ReplicaIDs = append(e.ReplicaIDs, r.ServerID)
			}
			test(t, e)
		})
	}
}

// Admin runs statements on the primary as a user with every privilege (table
// names qualified with the database, "app."), then waits until the replicas
// applied them.
func (e *Env) Admin(t testing.TB, stmts ...string) {
	t.Helper()
	ctx := context.Background()
	for _, q := range stmts {
		_, err := e.Cluster.Primary.Admin().ExecContext(ctx, q)
		require.NoError(t, err, q)
	}
	require.NoError(t, e.Cluster.WaitCaughtUp(ctx))
}

// TrackWriter makes every INSERT and UPDATE of app.<table> store the
// @@server_id of the server that ran it in column col, by triggers. Row-based
// replication (the kit's) copies the primary's value to the replicas without
// running the triggers there, so the column names the server the library
// sent the write to.
func (e *Env) TrackWriter(t testing.TB, table, col string) {
	t.Helper()
	stmts := []string{}
	for _, ev := range []string{"INSERT", "UPDATE"} {
		name := fmt.Sprintf("app.%s_%s_by", table, ev)
		stmts = append(stmts,
			"DROP TRIGGER IF EXISTS "+name,
			fmt.Sprintf("CREATE TRIGGER %s BEFORE %s ON app.%s FOR EACH ROW SET NEW.%s = @@server_id", name, ev, table, col))
	}
	e.Admin(t, stmts...)
}

// WrittenBy reads col of the row of app.<table> whose id is id on the
// primary, directly (not through rwsplit).
func (e *Env) WrittenBy(t testing.TB, table, col string, id int64) int {
	t.Helper()
	var by int
	q := fmt.Sprintf("SELECT %s FROM app.%s WHERE id = ?", col, table)
	require.NoError(t, e.Cluster.Primary.Admin().QueryRowContext(context.Background(), q, id).Scan(&by), q)
	return by
}

// NoReadOnlyError fails the test if err is the error a write sent to a
// read-only replica gets (1290, ER_OPTION_PREVENTS_STATEMENT), and on any
// other error.
func NoReadOnlyError(t testing.TB, err error) {
	t.Helper()
	var me *mysql.MySQLError
	if errors.As(err, &me) && me.Number == 1290 {
		t.Fatalf("a write reached a replica: %v", err)
	}
	require.NoError(t, err)
}

// Reads calls read n times with a plain context (Eventual, the default) and
// checks that a replica answered each time, by the @@server_id read returns,
// and that the reads were spread over both replicas. It returns the count per
// server id.
func (e *Env) Reads(t testing.TB, n int, read func(ctx context.Context) (serverID int, err error)) map[int]int {
	t.Helper()
	seen := map[int]int{}
	for range n {
		id, err := read(context.Background())
		require.NoError(t, err)
		assert.Contains(t, e.ReplicaIDs, id, "a read answered by a server other than the replicas")
		seen[id]++
	}
	if n >= 2*len(e.ReplicaIDs) {
		assert.Len(t, seen, len(e.ReplicaIDs), "reads not spread over the replicas: %v", seen)
	}
	return seen
}

// Write checks that the row id written through the library was written by the
// primary (TrackWriter's column), and that the write reached no replica.
func (e *Env) Write(t testing.TB, table, col string, id int64, err error) {
	t.Helper()
	NoReadOnlyError(t, err)
	require.NotZero(t, id, "the library returned no id for its insert")
	assert.Equal(t, e.PrimaryID, e.WrittenBy(t, table, col, id), "the write ran off the primary")
}

// WriteFunc writes a new row through the library with ctx, returning its id.
type WriteFunc func(ctx context.Context, i int) (id int64, err error)

// ReadFunc reads row id through the library with ctx, reporting whether it
// was found. Not found must not be an error.
type ReadFunc func(ctx context.Context, id int64) (found bool, err error)

// Result is what a run of write→read pairs under one mode saw.
type Result struct {
	Mode  rwsplit.Consistency
	Pairs int
	// Stale counts reads that did not see their write.
	Stale int
	// OnReplica and OnPrimary count the reads a replica and the primary
	// answered (rwsplit's Stats, around each read).
	OnReplica, OnPrimary int
	// Waits and Fallbacks are rwsplit's counters over the reads.
	Waits, Fallbacks uint64
}

func (r Result) String() string {
	return fmt.Sprintf("%v: %d/%d stale, reads on replicas %d, on the primary %d, waits %d, fallbacks %d",
		r.Mode, r.Stale, r.Pairs, r.OnReplica, r.OnPrimary, r.Waits, r.Fallbacks)
}

// Pairs makes n write→read pairs under mode: each pair gets a new Session
// and a context carrying it and the mode, writes through write and reads the
// row back through read with the same context. It checks that each write
// advanced its Session (the library passed the context down).
func (e *Env) Pairs(t testing.TB, mode rwsplit.Consistency, n int, write WriteFunc, read ReadFunc) Result {
	t.Helper()
	res := Result{Mode: mode, Pairs: n}
	for i := range n {
		sess := rwsplit.NewSession(rwsplit.Token{})
		ctx := rwsplit.WithSession(rwsplit.WithConsistency(context.Background(), mode), sess)
		id, err := write(ctx, i)
		NoReadOnlyError(t, err)
		before, readsBefore := e.DB.Stats(), replicaReads(e.DB)
		found, err := read(ctx, id)
		require.NoError(t, err)
		after := e.DB.Stats()
		if !found {
			res.Stale++
		}
		res.OnReplica += int(replicaReads(e.DB) - readsBefore)
		res.OnPrimary += int(after.PrimaryReads - before.PrimaryReads)
		res.Waits += after.Waits - before.Waits
		res.Fallbacks += after.Fallbacks - before.Fallbacks
		assert.False(t, sess.Token().IsZero(), "the write did not advance the context's Session: the library dropped the context")
	}
	return res
}

// replicaReads is the total of the reads db's replicas served.
func replicaReads(db *rwsplit.DB) (n uint64) {
	for _, s := range db.Servers() {
		if s.Index() >= 0 {
			n += s.Health().Reads
		}
	}
	return n
}

// StopAppliers stops both replicas' appliers until the test ends (or
// StartAppliers), when it restarts them and waits until they caught up.
func (e *Env) StopAppliers(t testing.TB) {
	t.Helper()
	ctx := context.Background()
	for _, r := range e.Cluster.Replicas {
		require.NoError(t, r.StopApplier(ctx))
	}
	t.Cleanup(func() { e.StartAppliers(t) })
}

// StartAppliers restarts both replicas' appliers (a running one is left as
// it is) and waits until they caught up.
func (e *Env) StartAppliers(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, r := range e.Cluster.Replicas {
		st, err := r.ReplicaStatus(ctx)
		require.NoError(t, err)
		if running(st) {
			continue
		}
		require.NoError(t, r.StartApplier(ctx))
	}
	require.NoError(t, e.Cluster.WaitCaughtUp(ctx))
}

// running reports whether SHOW REPLICA STATUS shows the applier running.
func running(st map[string]string) bool {
	for _, k := range []string{"Replica_SQL_Running", "Slave_SQL_Running"} {
		if v, ok := st[k]; ok {
			return v == "Yes"
		}
	}
	return false
}

// ReadYourWrites is the consistency check each library must pass, n pairs
// per mode:
//
//  1. both replicas' appliers stopped: WaitGTID(100ms) reads every write
//     (the waits time out, the reads go to the primary: 0 stale), and
//     Eventual, the control, reads every one stale on a replica (n stale:
//     the setup can show staleness);
//  2. appliers running again: WaitGTID(5s) reads every write on a replica.
//
// It returns the three results, in that order, and logs them.
func (e *Env) ReadYourWrites(t testing.TB, n int, write WriteFunc, read ReadFunc) []Result {
	t.Helper()
	e.StopAppliers(t)
	wait := e.Pairs(t, rwsplit.WaitGTID(100*time.Millisecond), n, write, read)
	eventual := e.Pairs(t, rwsplit.Eventual, n, write, read)
	e.StartAppliers(t)
	onReplica := e.Pairs(t, rwsplit.WaitGTID(5*time.Second), n, write, read)

	assert.Zero(t, wait.Stale, "stale reads under WaitGTID with the appliers stopped: %v", wait)
	assert.Equal(t, n, wait.OnPrimary, "WaitGTID reads with the appliers stopped should fall back to the primary: %v", wait)
	assert.Equal(t, n, eventual.Stale, "the control read its writes: the setup cannot show staleness: %v", eventual)
	assert.Equal(t, n, eventual.OnReplica, "Eventual reads off the replicas: %v", eventual)
	assert.Zero(t, onReplica.Stale, "stale reads under WaitGTID with the appliers running: %v", onReplica)
	assert.Equal(t, n, onReplica.OnReplica, "WaitGTID reads with the appliers running should stay on the replicas: %v", onReplica)
	for _, r := range []Result{wait, eventual, onReplica} {
		t.Logf("%s: %v", e.Flavor, r)
	}
	return []Result{wait, eventual, onReplica}
}

// Idle checks that, with nothing running, the router's pools have no
// connection in use: the Connector's idle virtual connections hold none.
func (e *Env) Idle(t testing.TB) {
	t.Helper()
	assert.Eventually(t, func() bool {
		return !slices.ContainsFunc(e.DB.Servers(), func(s *rwsplit.Server) bool { return s.DB().Stats().InUse != 0 })
	}, 5*time.Second, 10*time.Millisecond, "a server connection stayed in use with no call running")
}
