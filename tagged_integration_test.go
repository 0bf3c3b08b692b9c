package rwsplit_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rwsplit/rwsplit"
	"github.com/rwsplit/rwsplit/rwsplittest"
)

const (
	taggedInsertKV = "INSERT INTO app.kv (k, v) VALUES (?, ?)"
	taggedSelectKV = "SELECT v FROM app.kv WHERE k = ?"
)

// untag sets gtid_next back to AUTOMATIC on a connection that set a tag and
// returns it to its pool; when that fails, it drops the connection instead
// (database/sql's ResetSession and go-sql-driver/mysql reset no session
// state: the tag would stay on a pooled connection).
func untag(t *testing.T, exec func(context.Context, string, ...any) (sql.Result, error), raw func(func(any) error) error, closeConn func() error) {
	t.Helper()
	if _, err := exec(context.Background(), "SET gtid_next = 'AUTOMATIC'"); err != nil {
		t.Errorf("SET gtid_next = 'AUTOMATIC': %v; dropping the connection", err)
		_ = raw(func(any) error { return driver.ErrBadConn })
	}
	_ = closeConn()
}

// TestTaggedGTIDs, on real MySQL 9.7 replication (8.3+ tagged GTIDs,
// uuid:tag:N): with a history holding another tag's GTIDs
// (uuid:1-N:migration:1-3), the app's own writes under
// SET gtid_next='AUTOMATIC:app' on a pinned Conn give a token that names
// them (uuid:...:app:1-20) and stays small; a second DB that resumes it reads
// every write under WaitGTID on the replicas, 0 stale, while the replicas'
// appliers are stopped for the first reads (the first read waits) and then
// started. The Eventual control reads stale data with replica 0 stopped.
func TestTaggedGTIDs(t *testing.T) {
	c := cluster(t, rwsplittest.MySQL)
	createKV(t, c)
	ctx := context.Background()
	admin := c.Primary.Admin()
	r0, r1 := c.Replicas[0], c.Replicas[1]
	t.Cleanup(func() {
		_ = r0.StartApplier(context.Background())
		_ = r1.StartApplier(context.Background())
	})
	k := time.Now().UnixNano() % 1e12

	// Another tag in the history, written as admin on one connection.
	mc, err := admin.Conn(ctx)
	require.NoError(t, err)
	_, err = mc.ExecContext(ctx, "SET gtid_next = 'AUTOMATIC:migration'")
	require.NoError(t, err)
	for i := range int64(3) {
		_, err = mc.ExecContext(ctx, taggedInsertKV, k+100+i, i)
		require.NoError(t, err)
	}
	untag(t, mc.ExecContext, mc.Raw, mc.Close)
	var executed string
	require.NoError(t, admin.QueryRowContext(ctx, "SELECT @@GLOBAL.gtid_executed").Scan(&executed))
	require.Contains(t, executed, ":migration:", executed)

	// The app may set a tag: MySQL 9.7 asks for TRANSACTION_GTID_TAG and
	// one of SYSTEM_VARIABLES_ADMIN, SESSION_VARIABLES_ADMIN or
	// REPLICATION_APPLIER (error 6038 otherwise). Granted for this test.
	var grants []string
	rows, err := admin.QueryContext(ctx, "SHOW GRANTS FOR 'app'@'%'")
	require.NoError(t, err)
	for rows.Next() {
		var g string
		require.NoError(t, rows.Scan(&g))
		grants = append(grants, g)
	}
	require.NoError(t, rows.Err())
	for _, priv := range []string{"TRANSACTION_GTID_TAG", "SESSION_VARIABLES_ADMIN"} {
		if strings.Contains(strings.Join(grants, "\n"), priv) {
			continue
		}
		_, err = admin.ExecContext(ctx, "GRANT "+priv+" ON *.* TO 'app'@'%'")
		require.NoError(t, err)
		t.Cleanup(func() {
			_, err := admin.ExecContext(context.Background(), "REVOKE "+priv+" ON *.* FROM 'app'@'%'")
			assert.NoError(t, err)
		})
	}
	require.NoError(t, c.WaitCaughtUp(ctx))

	// The writer: the app's writes tagged "app" on a pinned Conn, in a
	// Session, with both replicas' appliers stopped (with one only, the
	// reader's monitor may already know that the other has applied the
	// token, and every read skips its wait).
	const n = 20
	wdb := openRouter(t, c)
	require.NoError(t, r0.StopApplier(ctx))
	require.NoError(t, r1.StopApplier(ctx))
	sess := rwsplit.NewSession(rwsplit.Token{})
	sctx := rwsplit.WithSession(ctx, sess)
	conn, err := wdb.Conn(sctx)
	require.NoError(t, err)
	_, err = conn.ExecContext(sctx, "SET gtid_next = 'AUTOMATIC:app'")
	require.NoError(t, err)
	for i := range int64(n) {
		_, err = conn.ExecContext(sctx, taggedInsertKV, k+i, i)
		require.NoError(t, err)
	}
	require.NoError(t, conn.QueryRowContext(sctx, "SELECT @@GLOBAL.gtid_executed").Scan(&executed))
	// (A Conn cannot drop its connection: on failure the test fails, and
	// openRouter's DB, which holds it, is closed with the test.)
	untag(t, conn.ExecContext, func(func(any) error) error { return nil }, conn.Close)
	t.Logf("primary's gtid_executed: %s", executed)
	assert.Contains(t, executed, ":app:")
	assert.Contains(t, executed, ":migration:")
	tok, err := sess.TokenContext(ctx)
	require.NoError(t, err)
	text := tok.String()
	t.Logf("token: %d bytes: %s", len(text), text)
	assert.Contains(t, text, ":app:", "the token names the app's tagged GTIDs")
	assert.Less(t, len(text), 200)

	// The reader, another process: every write under WaitGTID, the
	// replicas stopped for the first reads, then started (replica 1 after
	// 300 ms, replica 0 after 600 ms): the first read waits.
	rdb := openRouter(t, c)
	parsed, err := rwsplit.ParseToken(text)
	require.NoError(t, err)
	rctx := rwsplit.WithConsistency(rwsplit.WithSession(ctx, rwsplit.NewSession(parsed)), rwsplit.WaitGTID(5*time.Second))
	before := rdb.Stats()
	started := make(chan error, 1)
	go func() {
		time.Sleep(300 * time.Millisecond)
		err := r1.StartApplier(context.Background())
		time.Sleep(300 * time.Millisecond)
		started <- errors.Join(err, r0.StartApplier(context.Background()))
	}()
	stale, onReplica, slowest := 0, uint64(0), time.Duration(0)
	for i := range int64(n) {
		reads := replicaReads(rdb)
		start := time.Now()
		var v int64
		found, err := scanFound(rdb.QueryRowContext(rctx, taggedSelectKV, k+i).Scan(&v))
		require.NoError(t, err)
		slowest = max(slowest, time.Since(start))
		if !found || v != i {
			stale++
		}
		if replicaReads(rdb) > reads {
			onReplica++
		}
	}
	require.NoError(t, <-started)
	after := rdb.Stats()
	t.Logf("WaitGTID: %d/%d on replicas (per replica %v), %d stale, waits %d, skipped %d, fallbacks %d, slowest read %v",
		onReplica, n, rwsplit.ReplicaReads(rdb), stale, after.Waits-before.Waits, after.WaitsSkipped-before.WaitsSkipped,
		after.Fallbacks-before.Fallbacks, slowest.Round(time.Millisecond))
	assert.Zero(t, stale, "stale WaitGTID reads")
	assert.Greater(t, onReplica, uint64(0), "replicas served the reads")
	assert.EqualValues(t, n, onReplica, "every read on a replica")
	assert.Greater(t, after.Waits-before.Waits, uint64(0), "waits ran")
	assert.Zero(t, after.Fallbacks-before.Fallbacks)

	// The control: Eventual reads of a fresh write, replica 0 stopped.
	require.NoError(t, c.WaitCaughtUp(ctx))
	require.NoError(t, r0.StopApplier(ctx))
	_, err = wdb.ExecContext(ctx, taggedInsertKV, k+1000, 1)
	require.NoError(t, err)
	ectx := rwsplit.WithConsistency(ctx, rwsplit.Eventual)
	eventualStale, eventualOnReplica := 0, 0
	for range n {
		reads := replicaReads(wdb)
		var v int64
		found, err := scanFound(wdb.QueryRowContext(ectx, taggedSelectKV, k+1000).Scan(&v))
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			require.NoError(t, err)
		}
		if !found {
			eventualStale++
		}
		if replicaReads(wdb) > reads {
			eventualOnReplica++
		}
	}
	require.NoError(t, r0.StartApplier(ctx))
	t.Logf("Eventual control: %d/%d stale, %d on replicas", eventualStale, n, eventualOnReplica)
	assert.Greater(t, eventualStale, 0, "the Eventual control reads stale data")
	require.NoError(t, c.WaitCaughtUp(ctx))
}
