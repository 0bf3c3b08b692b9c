package fakedb

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// row scans the single row of query into NullStrings.
func row(t *testing.T, db *sql.DB, query string, args ...any) []sql.NullString {
	t.Helper()
	rows, err := db.Query(query, args...)
	require.NoError(t, err)
	defer rows.Close()
	cols, err := rows.Columns()
	require.NoError(t, err)
	require.True(t, rows.Next(), "one row")
	vals := make([]sql.NullString, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	require.NoError(t, rows.Scan(ptrs...))
	require.False(t, rows.Next(), "one row")
	return vals
}

// texts returns vals as strings, "NULL" for NULL.
func texts(vals []sql.NullString) []string {
	out := make([]string, len(vals))
	for i, v := range vals {
		out[i] = v.String
		if !v.Valid {
			out[i] = "NULL"
		}
	}
	return out
}

func noRows(t *testing.T, db *sql.DB, query string) {
	t.Helper()
	rows, err := db.Query(query)
	require.NoError(t, err)
	defer rows.Close()
	assert.False(t, rows.Next())
	require.NoError(t, rows.Err())
}

const (
	identityKindMySQL = "SELECT @@server_id, @@GLOBAL.read_only, @@server_uuid, " +
		"(SELECT VARIABLE_VALUE FROM performance_schema.global_variables WHERE VARIABLE_NAME = 'group_replication_group_name')"
	identityKindMariaDB = "SELECT @@server_id, @@GLOBAL.read_only, " +
		"(SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_VARIABLES WHERE VARIABLE_NAME = 'WSREP_ON')"
)

func TestKindSetting(t *testing.T) {
	assert.Equal(t, "async", Async.String())
	assert.Equal(t, "group-replication", GroupReplication.String())
	assert.Equal(t, "galera", Galera.String())
	assert.Equal(t, "Kind(9)", Kind(9).String())
	c := NewCluster(MySQL, 1)
	assert.Equal(t, Async, c.Kind())
	assert.Panics(t, func() { c.SetKind(Galera) })
	assert.Panics(t, func() { c.SetKind(Kind(9)) })
	c.SetKind(GroupReplication)
	assert.Equal(t, GroupReplication, c.Kind())
	assert.Panics(t, func() { NewCluster(MariaDB, 1).SetKind(GroupReplication) })
	assert.Equal(t, GaleraSynced, NewCluster(MariaDB, 1).Primary().GaleraState())
}

// TestAsyncUnchanged: the new statements on an async cluster, and the
// identity as before.
func TestAsyncUnchanged(t *testing.T) {
	c := NewCluster(MySQL, 1)
	p := open(t, c.Primary(), false)
	assert.Equal(t, mysqlUUID, c.Replicas()[0].UUID())
	assert.Equal(t, []string{"1", "0", mysqlUUID, "NULL"}, texts(row(t, p, identityKindMySQL)))
	_, err := p.Query(groupCheckSQL)
	assert.Equal(t, uint16(1193), errNum(err))
	noRows(t, p, groupCaughtUpSQL)

	m := NewCluster(MariaDB, 1)
	r := open(t, m.Replicas()[0], false)
	assert.Equal(t, []string{"2", "1", "OFF"}, texts(row(t, r, identityKindMariaDB)))
	assert.Equal(t, []string{"", "0", "NONE", "0", "0", "node2", "OFF", "NULL", "NULL", "Disconnected", "NULL"},
		texts(row(t, r, galeraCheckSQL)))
	assert.Equal(t, []string{"NULL", "NULL"}, texts(row(t, r, galeraCaughtUpSQL)))
	_, err = r.Query("SELECT WSREP_SYNC_WAIT_UPTO_GTID(?, ?)", "0-1-1", 1)
	assert.Equal(t, uint16(1210), errNum(err))
}

func TestGroupReplicationIdentity(t *testing.T) {
	c := NewCluster(MySQL, 2)
	c.SetKind(GroupReplication)
	group := c.UUID()
	seen := map[string]bool{}
	for _, s := range c.Servers() {
		db := open(t, s, false)
		uuid := s.UUID()
		assert.NotEqual(t, group, uuid)
		assert.False(t, seen[uuid], "distinct member uuids")
		seen[uuid] = true
		ro := "1"
		if s == c.Primary() {
			ro = "0"
		}
		id := itoa(int64(s.ID()))
		assert.Equal(t, []string{id, ro, uuid, group}, texts(row(t, db, identityKindMySQL)))
		assert.Equal(t, []string{id, ro, uuid}, texts(row(t, db, "SELECT @@server_id, @@GLOBAL.read_only, @@server_uuid")))
		assert.Equal(t, []string{"", uuid}, texts(row(t, db, "SELECT @@GLOBAL.gtid_executed, @@server_uuid")))
		noRows(t, db, "SHOW REPLICA STATUS")
	}
	assert.Less(t, c.Primary().UUID(), c.Replicas()[0].UUID(), "member uuids order as server ids")
}

func TestGroupReplicationWrites(t *testing.T) {
	c := NewCluster(MySQL, 2)
	c.SetKind(GroupReplication)
	s1 := c.Replicas()[0]
	p, r := open(t, c.Primary(), false), open(t, s1, false)
	_, err := p.Exec("INSERT INTO kv (k, v) VALUES (1, 1)")
	require.NoError(t, err)
	// The primary's GTIDs carry the group's uuid, not its own.
	assert.Equal(t, []string{group(c, 1), c.Primary().UUID()}, texts(row(t, p, "SELECT @@GLOBAL.gtid_executed, @@server_uuid")))
	assert.Equal(t, group(c, 1), statusRow(t, p, "SHOW BINARY LOG STATUS")["Executed_Gtid_Set"])
	assert.Equal(t, group(c, 1), str(t, r, "SELECT @@GLOBAL.gtid_executed"))
	assert.Equal(t, int64(1), get(t, r, 1))

	_, err = r.Exec("INSERT INTO kv (k, v) VALUES (2, 2)")
	var me *mysql.MySQLError
	require.ErrorAs(t, err, &me)
	assert.Equal(t, uint16(1290), me.Number)
	assert.Contains(t, me.Message, "--read-only")

	// A member's own uuid is never reached; the group's is.
	assert.Equal(t, int64(1), wait(t, r, "WAIT_FOR_EXECUTED_GTID_SET(?, ?)", c.Primary().UUID()+":1", 0.01).Int64)
	assert.Equal(t, int64(0), wait(t, r, "WAIT_FOR_EXECUTED_GTID_SET(?, ?)", group(c, 1), 1).Int64)

	// Positions mean nothing across members: no channel to wait on.
	file, pos := c.BinlogPos(1)
	assert.False(t, wait(t, r, "SOURCE_POS_WAIT(?, ?, ?)", file, pos, 1).Valid)
}

// group is the group's GTID set of the first n transactions.
func group(c *Cluster, n int) string { return c.GTIDSet(n) }

func TestGroupReplicationCheck(t *testing.T) {
	c := NewCluster(MySQL, 2)
	c.SetKind(GroupReplication)
	s1, s2 := c.Replicas()[0], c.Replicas()[1]
	p, r1, r2 := open(t, c.Primary(), false), open(t, s1, false), open(t, s2, false)

	s1.StopApplier()
	c.Write(1, 1)
	c.Write(2, 2)
	assert.Equal(t, []string{"ONLINE", "PRIMARY", group(c, 2), "1", "0"}, texts(row(t, p, groupCheckSQL))[:5])
	assert.Equal(t, []string{"ONLINE", "SECONDARY", "", "1", "2"}, texts(row(t, r1, groupCheckSQL))[:5])
	assert.Equal(t, []string{"ONLINE", "SECONDARY", group(c, 2), "1", "0"}, texts(row(t, r2, groupCheckSQL))[:5])
	assert.Equal(t, []string{"ONLINE", "2", "0"}, texts(row(t, r1, groupCaughtUpSQL)))
	assert.Equal(t, []string{"ONLINE", "0", "0"}, texts(row(t, p, groupCaughtUpSQL)))

	// Whitespace does not matter.
	assert.Equal(t, "ONLINE", row(t, r1, "SELECT\n  (SELECT MEMBER_STATE FROM performance_schema.replication_group_members WHERE MEMBER_ID=@@server_uuid),"+
		"(SELECT MEMBER_ROLE FROM performance_schema.replication_group_members WHERE MEMBER_ID = @@server_uuid),\t@@GLOBAL.gtid_executed,"+
		"@@GLOBAL.group_replication_single_primary_mode,(SELECT COUNT_TRANSACTIONS_REMOTE_IN_APPLIER_QUEUE FROM "+
		"performance_schema.replication_group_member_stats WHERE MEMBER_ID = @@server_uuid),"+
		"(SELECT COUNT(*) FROM performance_schema.replication_group_members WHERE MEMBER_STATE IN ('ONLINE','RECOVERING')),"+
		"(SELECT COUNT(*) FROM performance_schema.replication_group_members)")[0].String)
	// How many members are reachable, of how many.
	assert.Equal(t, []string{"3", "3"}, texts(row(t, r1, groupCheckSQL))[5:])

	// The applier queue drains as the member applies.
	s1.ApplyOnWait(true)
	assert.Equal(t, int64(0), wait(t, r1, "WAIT_FOR_EXECUTED_GTID_SET(?, ?)", group(c, 1), 1).Int64)
	assert.Equal(t, []string{"ONLINE", "SECONDARY", group(c, 1), "1", "1"}, texts(row(t, r1, groupCheckSQL))[:5])
	s1.StartApplier()
	assert.Equal(t, []string{"ONLINE", "0", "0"}, texts(row(t, r1, groupCaughtUpSQL)))

	for _, tc := range []struct {
		state string
		want  []string
	}{
		{MemberRecovering, []string{"RECOVERING", "SECONDARY", group(c, 2), "1", "0"}},
		{MemberError, []string{"ERROR", "", group(c, 2), "1", "0"}},
		{MemberOffline, []string{"OFFLINE", "", group(c, 2), "1", "NULL"}},
	} {
		s2.SetMemberState(tc.state)
		assert.Equal(t, tc.want, texts(row(t, r2, groupCheckSQL))[:5], tc.state)
		assert.Equal(t, tc.state, row(t, r2, groupCaughtUpSQL)[0].String)
	}
	s2.SetMemberState("")
	assert.Equal(t, "ONLINE", row(t, r2, groupCheckSQL)[0].String)

	// A primary that is not ONLINE is read-only and refuses writes.
	c.Primary().SetMemberState(MemberError)
	assert.Equal(t, "1", row(t, p, identityKindMySQL)[1].String)
	_, err := p.Exec("INSERT INTO kv (k, v) VALUES (3, 3)")
	assert.Equal(t, uint16(1290), errNum(err))
	c.Primary().SetMemberState(MemberOnline)
	_, err = p.Exec("INSERT INTO kv (k, v) VALUES (3, 3)")
	require.NoError(t, err)
}

func TestGroupReplicationMultiPrimary(t *testing.T) {
	c := NewCluster(MySQL, 2)
	c.SetKind(GroupReplication)
	c.SetMultiPrimary(true)
	s1, s2 := c.Replicas()[0], c.Replicas()[1]
	p, r1, r2 := open(t, c.Primary(), false), open(t, s1, false), open(t, s2, false)
	for _, db := range []*sql.DB{p, r1, r2} {
		got := texts(row(t, db, groupCheckSQL))[:5]
		assert.Equal(t, []string{"ONLINE", "PRIMARY", "", "0", "0"}, got)
		assert.Equal(t, "0", row(t, db, identityKindMySQL)[1].String)
	}

	s2.StopApplier()
	c.Write(1, 1)
	assert.Equal(t, "1", row(t, r2, groupCheckSQL)[4].String)
	// A write on a lagging member applies the log first, then commits to
	// the shared log, seen everywhere with the group's uuid.
	_, err := r2.Exec("INSERT INTO kv (k, v) VALUES (2, 2)")
	require.NoError(t, err)
	assert.Equal(t, group(c, 2), str(t, r2, "SELECT @@GLOBAL.gtid_executed"))
	assert.Equal(t, int64(1), get(t, r2, 1))
	assert.Equal(t, int64(2), get(t, p, 2))
	assert.Equal(t, int64(2), get(t, r1, 2))
	assert.Equal(t, 2, s1.Applied())

	// A transaction on a member commits to the shared log too.
	tx, err := r1.Begin()
	require.NoError(t, err)
	_, err = tx.Exec("UPDATE kv SET v = 5 WHERE k = 2")
	require.NoError(t, err)
	require.NoError(t, tx.Commit())
	assert.Equal(t, int64(5), get(t, p, 2))

	// A member that is not ONLINE stops taking writes.
	s1.SetMemberState(MemberRecovering)
	_, err = r1.Exec("INSERT INTO kv (k, v) VALUES (3, 3)")
	assert.Equal(t, uint16(1290), errNum(err))
	assert.Equal(t, "1", row(t, r1, identityKindMySQL)[1].String)

	c.SetMultiPrimary(false)
	got := texts(row(t, r2, groupCheckSQL))[:5]
	assert.Equal(t, "SECONDARY", got[1])
	assert.Equal(t, "1", got[3])
}

func TestGroupReplicationElection(t *testing.T) {
	c := NewCluster(MySQL, 2)
	c.SetKind(GroupReplication)
	old, s1 := c.Primary(), c.Replicas()[0]
	p, r1 := open(t, old, false), open(t, s1, false)
	c.Write(1, 1)
	s1.StopApplier()
	c.Promote(s1)
	assert.Equal(t, s1, c.Primary())
	assert.Equal(t, []string{"ONLINE", "PRIMARY", group(c, 1), "1", "0"}, texts(row(t, r1, groupCheckSQL))[:5])
	assert.Equal(t, "SECONDARY", row(t, p, groupCheckSQL)[1].String)
	assert.Equal(t, "1", row(t, p, identityKindMySQL)[1].String)
	_, err := p.Exec("INSERT INTO kv (k, v) VALUES (2, 2)")
	assert.Equal(t, uint16(1290), errNum(err))
	_, err = r1.Exec("INSERT INTO kv (k, v) VALUES (2, 2)")
	require.NoError(t, err)
	assert.Equal(t, int64(2), get(t, p, 2), "the old primary applies the log")
	assert.Equal(t, group(c, 2), str(t, p, "SELECT @@GLOBAL.gtid_executed"))
	noRows(t, p, "SHOW REPLICA STATUS")
}

func newGalera(t *testing.T) (*Cluster, []*sql.DB) {
	c := NewCluster(MariaDB, 2)
	c.SetKind(Galera)
	var dbs []*sql.DB
	for _, s := range c.Servers() {
		dbs = append(dbs, open(t, s, false))
	}
	return c, dbs
}

func TestGaleraIdentityAndWrites(t *testing.T) {
	c, dbs := newGalera(t)
	for i, db := range dbs {
		id := itoa(int64(i + 1))
		assert.Equal(t, []string{id, "0", "ON"}, texts(row(t, db, identityKindMariaDB)))
		assert.Equal(t, []string{id, "0"}, texts(row(t, db, "SELECT @@server_id, @@GLOBAL.read_only")))
		noRows(t, db, "SHOW REPLICA STATUS")
	}
	n1, n2 := c.Replicas()[0], c.Replicas()[1]
	n2.StopApplier()
	// Every node takes writes, which commit to the shared log.
	_, err := dbs[1].Exec("INSERT INTO kv (k, v) VALUES (1, 1)")
	require.NoError(t, err)
	assert.Equal(t, "0-1-1", str(t, dbs[1], "SELECT @@last_gtid"))
	_, err = dbs[0].Exec("INSERT INTO kv (k, v) VALUES (2, 2)")
	require.NoError(t, err)
	for i, want := range []string{"0-1-2", "0-1-2", ""} {
		assert.Equal(t, want, str(t, dbs[i], "SELECT @@GLOBAL.gtid_binlog_pos"), "node %d", i+1)
		assert.Equal(t, "", str(t, dbs[i], "SELECT @@GLOBAL.gtid_slave_pos"), "node %d", i+1)
	}
	assert.Equal(t, 2, n1.Applied())
	// A lagging node that writes applies the log first.
	_, err = dbs[2].Exec("REPLACE INTO kv (k, v) VALUES (3, 3)")
	require.NoError(t, err)
	assert.Equal(t, "0-1-3", str(t, dbs[2], "SELECT @@GLOBAL.gtid_binlog_pos"))
	assert.Equal(t, int64(1), get(t, dbs[2], 1))
	assert.Equal(t, int64(3), get(t, dbs[0], 3))

	// MASTER_GTID_WAIT reads gtid_slave_pos: it never succeeds on a node.
	assert.Equal(t, int64(-1), wait(t, dbs[1], "MASTER_GTID_WAIT(?, ?)", "0-1-1", 0.01).Int64)
	assert.Equal(t, sql.NullInt64{Int64: 0, Valid: true}, wait(t, dbs[1], "MASTER_GTID_WAIT(?, ?) = 0", "0-1-1", 0.01))
	file, pos := c.BinlogPos(1)
	assert.False(t, wait(t, dbs[1], "MASTER_POS_WAIT(?, ?, ?)", file, pos, 1).Valid)

	// read_only still holds on a node.
	n1.SetReadOnly(true)
	assert.Equal(t, "1", row(t, dbs[1], identityKindMariaDB)[1].String)
	_, err = dbs[1].Exec("INSERT INTO kv (k, v) VALUES (4, 4)")
	assert.Equal(t, uint16(1290), errNum(err))
	n1.SetReadOnly(false)

	// Promote only renames the primary.
	c.Promote(n1)
	assert.Equal(t, n1, c.Primary())
	for _, db := range dbs {
		assert.Equal(t, "0", row(t, db, identityKindMariaDB)[1].String)
	}
	_, err = dbs[0].Exec("INSERT INTO kv (k, v) VALUES (4, 4)")
	require.NoError(t, err)
}

func TestGaleraCheck(t *testing.T) {
	c, dbs := newGalera(t)
	n2 := c.Replicas()[1]
	n2.StopApplier()
	c.Write(1, 1)
	c.Write(2, 2)
	assert.Equal(t, []string{"0-1-2", "0", "NONE", "1", "0", "node1", "ON", "4", "Synced", "Primary", "0"},
		texts(row(t, dbs[0], galeraCheckSQL)))
	assert.Equal(t, []string{"", "0", "NONE", "1", "0", "node3", "ON", "4", "Synced", "Primary", "2"},
		texts(row(t, dbs[2], galeraCheckSQL)))
	assert.Equal(t, []string{"4", "2"}, texts(row(t, dbs[2], galeraCaughtUpSQL)))
	assert.Equal(t, []string{"4", "0"}, texts(row(t, dbs[1], galeraCaughtUpSQL)))

	n2.SetGaleraState(GaleraDesynced)
	assert.Equal(t, []string{"", "1", "NONE", "1", "0", "node3", "ON", "2", "Donor/Desynced", "Primary", "2"},
		texts(row(t, dbs[2], galeraCheckSQL)))
	assert.Equal(t, int64(-1), get(t, dbs[2], 1), "a desynced node serves (stale) reads")

	n2.SetGaleraState(GaleraState{Ready: true, LocalState: 4, Comment: "Custom", ClusterStatus: "Primary", RejectQueries: "ALL"})
	assert.Equal(t, []string{"", "0", "ALL", "1", "0", "node3", "ON", "4", "Custom", "Primary", "2"},
		texts(row(t, dbs[2], galeraCheckSQL)))
	_, err := dbs[2].Query("SELECT v FROM kv WHERE k = ?", 1)
	assert.Equal(t, uint16(1047), errNum(err), "rejecting queries")

	// A node out of the primary component refuses kv, not the checks.
	n2.SetGaleraState(GaleraNonPrimary)
	assert.Equal(t, GaleraNonPrimary, n2.GaleraState())
	assert.Equal(t, []string{"", "0", "NONE", "1", "0", "node3", "OFF", "0", "Initialized", "non-Primary", "2"},
		texts(row(t, dbs[2], galeraCheckSQL)))
	assert.Equal(t, []string{"3", "0", "ON"}, texts(row(t, dbs[2], identityKindMariaDB)))
	assert.Equal(t, "", str(t, dbs[2], "SELECT @@GLOBAL.gtid_binlog_pos"))
	assert.Equal(t, int64(1), mustInt(t, dbs[2], "SELECT 1"))
	var me *mysql.MySQLError
	for _, q := range []string{"SELECT v FROM kv WHERE k = 1", "SELECT k, v FROM kv ORDER BY k", "INSERT INTO kv (k, v) VALUES (5, 5)",
		"DELETE FROM kv WHERE k = 1", "SELECT v FROM kv WHERE k = 1 FOR UPDATE"} {
		_, err := dbs[2].Exec(q)
		require.ErrorAs(t, err, &me, q)
		assert.Equal(t, uint16(1047), me.Number)
		assert.Equal(t, "08S01", string(me.SQLState[:]))
		assert.Equal(t, "WSREP has not yet prepared node for application use", me.Message)
	}
	// A transaction opened before the node left cannot commit its writes.
	n1db := dbs[1]
	tx, err := n1db.Begin()
	require.NoError(t, err)
	_, err = tx.Exec("INSERT INTO kv (k, v) VALUES (6, 6)")
	require.NoError(t, err)
	c.Replicas()[0].SetGaleraState(GaleraJoining)
	assert.Equal(t, uint16(1047), errNum(tx.Commit()))
	c.Replicas()[0].SetGaleraState(GaleraSynced)

	n2.SetGaleraState(GaleraSynced)
	assert.Equal(t, int64(-1), get(t, dbs[2], 1))
}

func TestWsrepSyncWaitUptoGTID(t *testing.T) {
	c, dbs := newGalera(t)
	n1 := c.Replicas()[0]
	r := dbs[1]
	n1.StopApplier()
	c.Write(1, 1)
	c.Write(2, 2)

	assert.Equal(t, int64(1), wait(t, r, "WSREP_SYNC_WAIT_UPTO_GTID(?, ?)", "0-1-0", 1).Int64, "nothing to wait for")
	assert.Equal(t, int64(1), wait(t, dbs[0], "WSREP_SYNC_WAIT_UPTO_GTID(?, ?) = 1", "0-1-2", 1).Int64, "the writer has it")

	// Timeout: error 1205, after the timeout (whole seconds).
	start := time.Now()
	_, err := r.Query("SELECT WSREP_SYNC_WAIT_UPTO_GTID(?, ?)", "0-1-1", 1)
	var me *mysql.MySQLError
	require.ErrorAs(t, err, &me)
	assert.Equal(t, uint16(1205), me.Number)
	assert.Equal(t, "HY000", string(me.SQLState[:]))
	assert.Equal(t, "Lock wait timeout exceeded; try restarting transaction", me.Message)
	assert.GreaterOrEqual(t, time.Since(start), time.Second)
	start = time.Now()
	_, err = r.Query("SELECT WSREP_SYNC_WAIT_UPTO_GTID(?, ?) = 1", "0-1-1", 0.4)
	assert.Equal(t, uint16(1205), errNum(err), "0.4 s rounds to 0: looks once")
	assert.Less(t, time.Since(start), 300*time.Millisecond)

	// Bad arguments.
	for _, tc := range []struct {
		gtid any
		num  uint16
	}{{nil, 1210}, {"0-1-1,0-1-2", 1210}, {"a", 1941}, {"0-1", 1941}, {int64(2), 1941}} {
		_, err := r.Query("SELECT WSREP_SYNC_WAIT_UPTO_GTID(?, ?)", tc.gtid, 1)
		assert.Equal(t, tc.num, errNum(err), "%v", tc.gtid)
	}

	// Success while it polls: the applier restarts with a lag.
	n1.SetLag(30 * time.Millisecond)
	n1.StartApplier()
	assert.Equal(t, int64(1), wait(t, r, "WSREP_SYNC_WAIT_UPTO_GTID(?, ?)", "0-1-2", 2).Int64)
	assert.Equal(t, int64(2), get(t, r, 2))
	n1.SetLag(0)

	// The sequence number counts, not the domain or server id.
	assert.Equal(t, int64(1), wait(t, r, "WSREP_SYNC_WAIT_UPTO_GTID(?)", "9-7-2").Int64)
	assert.Equal(t, int64(1), wait(t, r, "WSREP_SYNC_WAIT_UPTO_GTID(?) = 1", "0-1-2").Int64)

	// ApplyOnWait applies exactly to the target.
	n1.StopApplier()
	n1.ApplyOnWait(true)
	c.Write(3, 3)
	c.Write(4, 4)
	assert.Equal(t, int64(1), wait(t, r, "WSREP_SYNC_WAIT_UPTO_GTID(?, ?) = 1", "0-1-3", 1).Int64)
	assert.Equal(t, 3, n1.Applied())
	_, err = r.Query("SELECT WSREP_SYNC_WAIT_UPTO_GTID(?, ?) = 1", "0-1-5", 0)
	assert.Equal(t, uint16(1205), errNum(err), "not committed yet: not applied")
	assert.Equal(t, 3, n1.Applied())

	// The connection's context ends the wait.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err = r.QueryContext(ctx, "SELECT WSREP_SYNC_WAIT_UPTO_GTID(?, ?)", "0-1-9", 10)
	assert.ErrorIs(t, err, context.DeadlineExceeded)

	// One round trip: the sql_mode form.
	m := open(t, n1, true)
	_, err = m.Exec("SET @@SESSION.sql_mode = (SELECT CASE WHEN WSREP_SYNC_WAIT_UPTO_GTID(?, ?) = 1 THEN @@SESSION.sql_mode ELSE 'x' END); SELECT v FROM kv WHERE k = ?", "0-1-4", 1, 4)
	require.NoError(t, err)
	assert.Equal(t, 4, n1.Applied())
}
