package fakedb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/rwsplit/rwsplit/internal/dialect"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var flavors = []dialect.Flavor{MySQL, MariaDB}

// open returns a pool on s, closed at the end of the test.
func open(t *testing.T, s *Server, multi bool) *sql.DB {
	t.Helper()
	db := s.OpenDB(multi)
	t.Cleanup(func() { db.Close() })
	return db
}

// errNum returns the MySQL error number of err (0 when not a MySQLError).
func errNum(err error) uint16 {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me.Number
	}
	return 0
}

// get reads k on db: its value, or -1 when absent.
func get(t *testing.T, db *sql.DB, k int64) int64 {
	t.Helper()
	var v int64
	err := db.QueryRow("SELECT v FROM kv WHERE k = ?", k).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return -1
	}
	require.NoError(t, err)
	return v
}

func str(t *testing.T, db *sql.DB, query string, args ...any) string {
	t.Helper()
	var s sql.NullString
	require.NoError(t, db.QueryRow(query, args...).Scan(&s))
	return s.String
}

// wait runs "SELECT <call>" and returns its NULL-able result.
func wait(t *testing.T, db *sql.DB, call string, args ...any) sql.NullInt64 {
	t.Helper()
	var r sql.NullInt64
	require.NoError(t, db.QueryRow("SELECT "+call, args...).Scan(&r))
	return r
}

func gtidWait(f dialect.Flavor) string {
	if f == MariaDB {
		return "MASTER_GTID_WAIT(?, ?) = 0"
	}
	return "WAIT_FOR_EXECUTED_GTID_SET(?, ?) = 0"
}

func posWait(f dialect.Flavor) string {
	if f == MariaDB {
		return "MASTER_POS_WAIT(?, ?, ?) >= 0"
	}
	return "SOURCE_POS_WAIT(?, ?, ?) >= 0"
}

func statusRow(t *testing.T, db *sql.DB, query string) map[string]string {
	t.Helper()
	rows, err := db.Query(query)
	require.NoError(t, err)
	defer rows.Close()
	cols, err := rows.Columns()
	require.NoError(t, err)
	out := map[string]string{}
	if !rows.Next() {
		require.NoError(t, rows.Err())
		return out
	}
	vals := make([]sql.NullString, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	require.NoError(t, rows.Scan(ptrs...))
	for i, c := range cols {
		out[c] = vals[i].String
	}
	require.False(t, rows.Next())
	return out
}

func TestTopology(t *testing.T) {
	c := NewCluster(MySQL, 2)
	assert.Equal(t, MySQL, c.Flavor())
	assert.Equal(t, 1, c.Primary().ID())
	require.Len(t, c.Replicas(), 2)
	assert.Equal(t, 2, c.Replicas()[0].ID())
	assert.Equal(t, 3, c.Replicas()[1].ID())
	all := c.Servers()
	require.Len(t, all, 3)
	assert.Same(t, c.Primary(), all[0])
	for _, s := range all {
		assert.Equal(t, int64(s.ID()), mustInt(t, open(t, s, false), "SELECT @@server_id"))
	}
	_, err := fakeDriver{}.Open("x")
	assert.Error(t, err)
	assert.Equal(t, "mysql", MySQL.String())
	assert.Equal(t, "mariadb", MariaDB.String())
}

func mustInt(t *testing.T, db *sql.DB, query string, args ...any) int64 {
	t.Helper()
	var n int64
	require.NoError(t, db.QueryRow(query, args...).Scan(&n))
	return n
}

func TestWritesAndReads(t *testing.T) {
	for _, f := range flavors {
		t.Run(f.String(), func(t *testing.T) {
			c := NewCluster(f, 1)
			p, r := open(t, c.Primary(), false), open(t, c.Replicas()[0], false)

			res, err := p.Exec("INSERT INTO kv (k, v) VALUES (?, ?)", 1, 10)
			require.NoError(t, err)
			n, _ := res.RowsAffected()
			id, _ := res.LastInsertId()
			assert.Equal(t, int64(1), n)
			assert.Equal(t, int64(1), id)

			_, err = p.Exec("replace   into KV(k,v) values(?,?)", "2", []byte("20"))
			require.NoError(t, err)
			res, err = p.Exec("UPDATE kv SET v = ? WHERE k = ?", 11, 1)
			require.NoError(t, err)
			n, _ = res.RowsAffected()
			assert.Equal(t, int64(1), n)
			res, err = p.Exec("UPDATE kv SET v = ? WHERE k = ?", 99, 404) // no row, still a transaction
			require.NoError(t, err)
			n, _ = res.RowsAffected()
			assert.Equal(t, int64(0), n)
			_, err = p.Exec("DELETE FROM kv WHERE k = ?", 2)
			require.NoError(t, err)
			assert.Equal(t, 5, c.Primary().Applied())

			var k, v int64
			require.NoError(t, p.QueryRow("INSERT INTO kv (k, v) VALUES (?, ?) RETURNING k, v", 3, 30).Scan(&k, &v))
			assert.Equal(t, [2]int64{3, 30}, [2]int64{k, v})
			require.NoError(t, p.QueryRow("CALL kv_put(?, ?)", 4, 40).Scan(&k, &v))
			assert.Equal(t, [2]int64{4, 40}, [2]int64{k, v})
			res, err = p.Exec("CALL kv_put(?, ?)", 5, 50)
			require.NoError(t, err)
			n, _ = res.RowsAffected()
			assert.Equal(t, int64(1), n)
			require.NoError(t, p.QueryRow("SELECT kv_put(?, ?)", 6, 60).Scan(&v))
			assert.Equal(t, int64(60), v)
			assert.Equal(t, 9, c.Primary().Applied())

			for _, db := range []*sql.DB{p, r} {
				assert.Equal(t, int64(11), get(t, db, 1))
				assert.Equal(t, int64(-1), get(t, db, 2))
				assert.Equal(t, int64(60), get(t, db, 6))
				require.NoError(t, db.QueryRow("SELECT v FROM kv WHERE k = ? FOR UPDATE", 5).Scan(&v))
				assert.Equal(t, int64(50), v)

				rows, err := db.Query("SELECT k, v FROM kv ORDER BY k")
				require.NoError(t, err)
				var got [][2]int64
				for rows.Next() {
					require.NoError(t, rows.Scan(&k, &v))
					got = append(got, [2]int64{k, v})
				}
				require.NoError(t, rows.Err())
				assert.Equal(t, [][2]int64{{1, 11}, {3, 30}, {4, 40}, {5, 50}, {6, 60}}, got)
			}
			assert.Equal(t, 9, c.Replicas()[0].Applied())
			got, ok := c.Replicas()[0].Value(4)
			assert.True(t, ok)
			assert.Equal(t, int64(40), got)
			_, ok = c.Replicas()[0].Value(2)
			assert.False(t, ok)

			c.Write(7, 70)
			assert.Equal(t, int64(70), get(t, r, 7))
			assert.Equal(t, 10, c.Replicas()[0].Applied())
		})
	}
}

func TestReplicaRejectsWrites(t *testing.T) {
	for _, f := range flavors {
		t.Run(f.String(), func(t *testing.T) {
			c := NewCluster(f, 1)
			r := open(t, c.Replicas()[0], false)
			for _, q := range []string{
				"INSERT INTO kv (k, v) VALUES (?, ?)",
				"REPLACE INTO kv (k, v) VALUES (?, ?)",
				"UPDATE kv SET v = ? WHERE k = ?",
				"CALL kv_put(?, ?)",
				"SELECT kv_put(?, ?)",
			} {
				_, err := r.Exec(q, 1, 1)
				var me *mysql.MySQLError
				require.ErrorAs(t, err, &me, q)
				assert.Equal(t, uint16(1290), me.Number)
				if f == MariaDB {
					assert.Contains(t, me.Message, "--read-only option")
				} else {
					assert.Contains(t, me.Message, "--super-read-only option")
				}
			}
			_, err := r.Exec("DELETE FROM kv WHERE k = ?", 1)
			assert.Equal(t, uint16(1290), errNum(err))
			assert.Equal(t, 0, c.Primary().Applied())
		})
	}
}

func TestApplierAndLag(t *testing.T) {
	c := NewCluster(MySQL, 2)
	r0, r1 := c.Replicas()[0], c.Replicas()[1]
	db0 := open(t, r0, false)

	r0.StopApplier()
	c.Write(1, 1)
	assert.Equal(t, int64(-1), get(t, db0, 1), "stopped applier: stale")
	assert.Equal(t, 0, r0.Applied())
	assert.Equal(t, 1, r1.Applied())
	r0.StartApplier()
	assert.Equal(t, int64(1), get(t, db0, 1))

	r0.StopApplier()
	c.Write(1, 2)
	r0.ApplyAll()
	assert.Equal(t, int64(2), get(t, db0, 1), "ApplyAll applies even when stopped")
	r0.StartApplier()

	// The lag model: a transaction is applied once it is lag old.
	r0.SetLag(80 * time.Millisecond)
	c.Write(1, 3)
	assert.Equal(t, int64(2), get(t, db0, 1))
	v, _ := r0.Value(1)
	assert.Equal(t, int64(2), v)
	time.Sleep(120 * time.Millisecond)
	assert.Equal(t, int64(3), get(t, db0, 1))
	r0.SetLag(0)
	c.Write(1, 4)
	assert.Equal(t, int64(4), get(t, db0, 1))

	// Stopping applies what was due: a replica never goes back.
	r0.SetLag(time.Hour)
	c.Write(1, 5)
	r0.StopApplier()
	r0.SetLag(0)
	assert.Equal(t, int64(4), get(t, db0, 1))
	r0.StartApplier()
	assert.Equal(t, int64(5), get(t, db0, 1))

	// Controls are no-ops on the primary.
	p := c.Primary()
	p.StopApplier()
	p.SetLag(time.Hour)
	p.ApplyOnWait(true)
	c.Write(2, 2)
	assert.Equal(t, 6, p.Applied())
	v, ok := p.Value(2)
	assert.True(t, ok)
	assert.Equal(t, int64(2), v)
}

func TestSystemStatements(t *testing.T) {
	for _, f := range flavors {
		t.Run(f.String(), func(t *testing.T) {
			c := NewCluster(f, 1)
			p, r := open(t, c.Primary(), false), open(t, c.Replicas()[0], false)
			want := map[dialect.Flavor]string{MySQL: "9.7.0", MariaDB: "10.11.14-MariaDB-0+deb12u1"}[f]
			assert.Equal(t, want, str(t, p, "SELECT VERSION()"))
			assert.Equal(t, int64(1), mustInt(t, p, "SELECT 1"))
			_, err := p.Exec("DO 1")
			require.NoError(t, err)
			_, err = p.Exec("SET @x = ?", 5)
			require.NoError(t, err)

			status := "SHOW BINARY LOG STATUS"
			other := "SHOW MASTER STATUS"
			if f == MariaDB {
				status, other = other, status
			}
			st := statusRow(t, p, status)
			assert.Equal(t, "binlog.000001", st["File"])
			assert.Equal(t, "4", st["Position"])
			_, err = p.Query(other)
			assert.Equal(t, uint16(1064), errNum(err))

			r0 := c.Replicas()[0]
			r0.StopApplier()
			c.Write(1, 1)
			c.Write(2, 2)
			st = statusRow(t, p, status)
			assert.Equal(t, "204", st["Position"])
			assert.Equal(t, "4", statusRow(t, r, status)["Position"], "a replica reports its applied prefix")
			if f == MySQL {
				assert.Equal(t, mysqlUUID+":1-2", st["Executed_Gtid_Set"])
				assert.Equal(t, mysqlUUID+":1-2", str(t, p, "SELECT @@GLOBAL.gtid_executed"))
				assert.Equal(t, "", str(t, r, "SELECT @@GLOBAL.gtid_executed"))
				_, err = p.Query("SELECT @@GLOBAL.gtid_binlog_pos")
				assert.Equal(t, uint16(1064), errNum(err))
			} else {
				assert.NotContains(t, st, "Executed_Gtid_Set")
				assert.Equal(t, "0-1-2", str(t, p, "SELECT @@GLOBAL.gtid_binlog_pos"))
				assert.Equal(t, "", str(t, p, "SELECT @@GLOBAL.gtid_slave_pos"))
				assert.Equal(t, "", str(t, r, "SELECT @@GLOBAL.gtid_slave_pos"))
				assert.Equal(t, "", str(t, r, "SELECT @@GLOBAL.gtid_binlog_pos"))
				r0.ApplyAll()
				assert.Equal(t, "0-1-2", str(t, r, "SELECT @@GLOBAL.gtid_slave_pos"))
				_, err = p.Query("SELECT @@GLOBAL.gtid_executed")
				assert.Equal(t, uint16(1064), errNum(err))
			}

			rows, err := p.Query("SELECT @@server_id")
			require.NoError(t, err)
			cols, err := rows.Columns()
			require.NoError(t, err)
			assert.Equal(t, []string{"@@server_id"}, cols)
			types, err := rows.ColumnTypes()
			require.NoError(t, err)
			assert.Equal(t, "BIGINT", types[0].DatabaseTypeName())
			require.NoError(t, rows.Close())
			rows, err = p.Query("SELECT VERSION()")
			require.NoError(t, err)
			types, err = rows.ColumnTypes()
			require.NoError(t, err)
			assert.Equal(t, "VARCHAR", types[0].DatabaseTypeName())
			require.NoError(t, rows.Close())

			_, err = p.Query("SELECT (SELECT 1 UNION ALL SELECT 1)")
			var me *mysql.MySQLError
			require.ErrorAs(t, err, &me)
			assert.Equal(t, uint16(1242), me.Number)
			assert.Equal(t, "Subquery returns more than 1 row", me.Message)

			_, err = p.Exec("DROP TABLE kv")
			require.ErrorAs(t, err, &me)
			assert.Equal(t, uint16(1064), me.Number)
			assert.Equal(t, "You have an error in your SQL syntax near 'DROP TABLE kv'", me.Message)
			_, err = p.Query("SELECT nonsense(?)", 1)
			assert.Equal(t, uint16(1064), errNum(err))
		})
	}
}

func TestSleep(t *testing.T) {
	c := NewCluster(MySQL, 0)
	p := open(t, c.Primary(), false)
	start := time.Now()
	assert.Equal(t, int64(0), mustInt(t, p, "SELECT SLEEP(?)", 0.03))
	assert.GreaterOrEqual(t, time.Since(start), 30*time.Millisecond)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	var n int64
	err := p.QueryRowContext(ctx, "SELECT SLEEP(?)", 10).Scan(&n)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
}

func TestMariaDBLastGTID(t *testing.T) {
	c := NewCluster(MariaDB, 0)
	p := open(t, c.Primary(), false)
	conn, err := p.Conn(context.Background())
	require.NoError(t, err)
	defer conn.Close()
	var s string
	require.NoError(t, conn.QueryRowContext(context.Background(), "SELECT @@last_gtid").Scan(&s))
	assert.Equal(t, "", s)
	c.Write(9, 9)
	_, err = conn.ExecContext(context.Background(), "INSERT INTO kv (k, v) VALUES (?, ?)", 1, 1)
	require.NoError(t, err)
	c.Write(9, 10)
	require.NoError(t, conn.QueryRowContext(context.Background(), "SELECT @@last_gtid").Scan(&s))
	assert.Equal(t, "0-1-2", s, "the connection's own last write")
	assert.Equal(t, "0-1-3", str(t, p, "SELECT @@GLOBAL.gtid_binlog_pos"))
}

func TestGTIDWaits(t *testing.T) {
	for _, f := range flavors {
		t.Run(f.String(), func(t *testing.T) {
			c := NewCluster(f, 1)
			rs := c.Replicas()[0]
			p, r := open(t, c.Primary(), false), open(t, rs, false)
			call := gtidWait(f)

			rs.StopApplier()
			c.Write(1, 1)
			set := c.GTIDSet(1)
			start := time.Now()
			assert.Equal(t, sql.NullInt64{Int64: 0, Valid: true}, wait(t, r, call, set, 0.03), "timeout")
			assert.GreaterOrEqual(t, time.Since(start), 30*time.Millisecond)

			rs.StartApplier()
			assert.Equal(t, sql.NullInt64{Int64: 1, Valid: true}, wait(t, r, call, set, 1), "success")
			assert.Equal(t, sql.NullInt64{Int64: 1, Valid: true}, wait(t, r, call, "", 1), "empty set")

			// A wait that succeeds while it polls.
			rs.SetLag(30 * time.Millisecond)
			c.Write(1, 2)
			assert.Equal(t, sql.NullInt64{Int64: 1, Valid: true}, wait(t, r, call, c.GTIDSet(2), 2))
			assert.Equal(t, int64(2), get(t, r, 1))
			rs.SetLag(0)

			// The timeout may come as text or an integer.
			assert.Equal(t, sql.NullInt64{Int64: 1, Valid: true}, wait(t, r, call, set, "1"))
			assert.Equal(t, sql.NullInt64{Int64: 1, Valid: true}, wait(t, r, call, []byte(set), 1))

			if f == MySQL {
				assert.Equal(t, sql.NullInt64{Int64: 1, Valid: true}, wait(t, r, call, mysqlUUID+":1-1:2", 1))
				assert.Equal(t, sql.NullInt64{Int64: 0, Valid: true}, wait(t, r, call, mysqlUUID+":1-3", 0.01))
				unknown := "896e7882-18fe-11ef-ab88-22222d34d411:1"
				assert.Equal(t, sql.NullInt64{Int64: 0, Valid: true}, wait(t, r, call, set+",\n"+unknown, 0.01), "unknown uuid")
				assert.Equal(t, sql.NullInt64{Int64: 0, Valid: true}, wait(t, r, call, mysqlUUID+":tag:1", 0.01), "tagged")
				_, err := r.Query("SELECT "+call, "garbage", 1)
				assert.Equal(t, uint16(1772), errNum(err))
				// Raw form: 0 on success, 1 on timeout.
				assert.Equal(t, int64(0), wait(t, r, "WAIT_FOR_EXECUTED_GTID_SET(?, ?)", set, 1).Int64)
				assert.Equal(t, int64(1), wait(t, r, "WAIT_FOR_EXECUTED_GTID_SET(?, ?)", c.GTIDSet(9), 0.01).Int64)
				// On the primary the executed set is the committed one.
				assert.Equal(t, sql.NullInt64{Int64: 1, Valid: true}, wait(t, p, call, c.GTIDSet(2), 1))
				// Not a MariaDB function.
				_, err = r.Query("SELECT MASTER_GTID_WAIT(?, ?) = 0", "0-1-1", 1)
				assert.Equal(t, uint16(1064), errNum(err))
			} else {
				assert.Equal(t, sql.NullInt64{Int64: 0, Valid: true}, wait(t, r, call, "0-1-3", 0.01))
				assert.Equal(t, sql.NullInt64{Int64: 0, Valid: true}, wait(t, r, call, "0-1-1,1-1-1", 0.01), "unknown domain")
				assert.Equal(t, sql.NullInt64{Int64: 1, Valid: true}, wait(t, r, call, "0-7-2", 1), "server id does not matter")
				assert.Equal(t, sql.NullInt64{Int64: 0, Valid: true}, wait(t, r, call, "0-1-3", 0), "timeout 0 looks once")
				_, err := r.Query("SELECT "+call, "garbage", 1)
				assert.Equal(t, uint16(1941), errNum(err))
				assert.Equal(t, int64(-1), wait(t, r, "MASTER_GTID_WAIT(?, ?)", "0-1-9", 0.01).Int64)
				// The primary never succeeds: it reads gtid_slave_pos.
				start := time.Now()
				assert.Equal(t, sql.NullInt64{Int64: 0, Valid: true}, wait(t, p, call, c.GTIDSet(1), 0.02))
				assert.GreaterOrEqual(t, time.Since(start), 20*time.Millisecond)
				_, err = r.Query("SELECT WAIT_FOR_EXECUTED_GTID_SET(?, ?) = 0", set, 1)
				assert.Equal(t, uint16(1064), errNum(err))
			}
			var null sql.NullInt64
			require.NoError(t, r.QueryRow("SELECT "+call, nil, 1).Scan(&null))
			assert.False(t, null.Valid, "NULL set: NULL")
		})
	}
}

func TestWaitUntilContextDone(t *testing.T) {
	c := NewCluster(MySQL, 1)
	rs := c.Replicas()[0]
	r := open(t, rs, false)
	rs.StopApplier()
	c.Write(1, 1)
	for _, timeout := range []any{0, -1, nil} {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		var n sql.NullInt64
		err := r.QueryRowContext(ctx, "SELECT WAIT_FOR_EXECUTED_GTID_SET(?, ?) = 0", c.GTIDSet(1), timeout).Scan(&n)
		cancel()
		assert.ErrorIs(t, err, context.DeadlineExceeded, "timeout %v waits until ctx is done", timeout)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	var n sql.NullInt64
	err := r.QueryRowContext(ctx, "SELECT WAIT_FOR_EXECUTED_GTID_SET(?, ?) = 0", c.GTIDSet(1), 60).Scan(&n)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
}

func TestPositionWaits(t *testing.T) {
	for _, f := range flavors {
		t.Run(f.String(), func(t *testing.T) {
			c := NewCluster(f, 1)
			rs := c.Replicas()[0]
			p, r := open(t, c.Primary(), false), open(t, rs, false)
			call := posWait(f)

			c.Write(1, 1)
			file, pos := c.BinlogPos(1)
			assert.Equal(t, "binlog.000001", file)
			assert.Equal(t, int64(104), pos)
			assert.Equal(t, sql.NullInt64{Int64: 1, Valid: true}, wait(t, r, call, file, pos, 1))
			// The position may come as uint64 (gtid.BinlogPos.Pos) or text.
			assert.Equal(t, sql.NullInt64{Int64: 1, Valid: true}, wait(t, r, call, file, uint64(pos), 1))
			assert.Equal(t, sql.NullInt64{Int64: 1, Valid: true}, wait(t, r, call, file, "104", 1))
			assert.Equal(t, sql.NullInt64{Int64: 1, Valid: true}, wait(t, r, call, "binlog.000000", 999999, 1), "older file")

			// Timeout: the applier runs but lags.
			rs.SetLag(time.Hour)
			c.Write(1, 2)
			_, pos2 := c.BinlogPos(2)
			start := time.Now()
			assert.Equal(t, sql.NullInt64{Int64: 0, Valid: true}, wait(t, r, call, file, pos2, 0.02))
			assert.GreaterOrEqual(t, time.Since(start), 20*time.Millisecond)
			assert.Equal(t, sql.NullInt64{Int64: 0, Valid: true}, wait(t, r, call, "binlog.000002", 4, 0.01), "later file")

			// A stopped applier gives NULL at once, however long the timeout.
			rs.StopApplier()
			start = time.Now()
			assert.Equal(t, sql.NullInt64{}, wait(t, r, call, file, pos2, 10))
			assert.Less(t, time.Since(start), time.Second)

			// The primary: NULL.
			assert.Equal(t, sql.NullInt64{}, wait(t, p, call, file, pos, 1))

			// Raw form: events waited for, -1 on timeout.
			rs.SetLag(0)
			rs.StartApplier()
			assert.Equal(t, int64(0), wait(t, r, call[:len(call)-5], file, pos2, 1).Int64)
			assert.Equal(t, int64(-1), wait(t, r, call[:len(call)-5], file, pos2+1, 0.01).Int64)

			other := "SOURCE_POS_WAIT(?, ?, ?) >= 0"
			if f == MySQL {
				other = "MASTER_POS_WAIT(?, ?, ?) >= 0"
			}
			_, err := r.Query("SELECT "+other, file, pos, 1)
			assert.Equal(t, uint16(1064), errNum(err))
		})
	}
}

func TestApplyOnWaitIsExact(t *testing.T) {
	for _, f := range flavors {
		t.Run(f.String(), func(t *testing.T) {
			c := NewCluster(f, 1)
			rs := c.Replicas()[0]
			r := open(t, rs, false)
			rs.StopApplier()
			rs.ApplyOnWait(true)
			for i := range int64(5) {
				c.Write(i, i)
			}
			assert.Equal(t, 0, rs.Applied())

			assert.Equal(t, int64(1), wait(t, r, gtidWait(f), c.GTIDSet(2), 1).Int64)
			assert.Equal(t, 2, rs.Applied(), "exactly up to the target")
			assert.Equal(t, int64(1), get(t, r, 1))
			assert.Equal(t, int64(-1), get(t, r, 2))

			file, pos := c.BinlogPos(3)
			assert.Equal(t, int64(1), wait(t, r, posWait(f), file, pos-50, 1).Int64)
			assert.Equal(t, 3, rs.Applied(), "a position inside transaction 3 needs all of it")
			assert.Equal(t, int64(1), wait(t, r, posWait(f), file, pos, 1).Int64)
			assert.Equal(t, 3, rs.Applied())

			// A wait for an older target applies nothing.
			assert.Equal(t, int64(1), wait(t, r, gtidWait(f), c.GTIDSet(1), 1).Int64)
			assert.Equal(t, 3, rs.Applied())

			// A target not committed yet times out without applying.
			assert.Equal(t, int64(0), wait(t, r, gtidWait(f), c.GTIDSet(7), 0.01).Int64)
			assert.Equal(t, 3, rs.Applied())

			rs.ApplyOnWait(false)
			assert.Equal(t, int64(0), wait(t, r, gtidWait(f), c.GTIDSet(4), 0.01).Int64)
			assert.False(t, wait(t, r, posWait(f), file, pos+100, 1).Valid)
			assert.Equal(t, 3, rs.Applied())
		})
	}
}

func TestOneRoundTrip(t *testing.T) {
	for _, f := range flavors {
		t.Run(f.String(), func(t *testing.T) {
			c := NewCluster(f, 1)
			rs := c.Replicas()[0]
			r := open(t, rs, true)
			for _, call := range []string{gtidWait(f), posWait(f)} {
				c.Write(1, int64(c.Primary().Applied()+1))
				n := c.Primary().Applied()
				q := "SET @@SESSION.sql_mode = (SELECT CASE WHEN " + call +
					" THEN @@SESSION.sql_mode ELSE 'rwsplit_wait_timed_out' END); SELECT v FROM kv WHERE k = ?"
				args := []any{c.GTIDSet(n), 0.01, 1}
				if call == posWait(f) {
					file, pos := c.BinlogPos(n)
					args = []any{file, pos, 0.01, 1}
				}

				rows, err := r.Query(q, args...)
				require.NoError(t, err, call)
				require.True(t, rows.Next())
				var v int64
				require.NoError(t, rows.Scan(&v))
				assert.Equal(t, int64(n), v)
				assert.False(t, rows.Next())
				require.NoError(t, rows.Close())

				rs.StopApplier()
				c.Write(1, 0)
				if call == gtidWait(f) {
					args[0] = c.GTIDSet(n + 1)
				} else {
					_, args[1] = c.BinlogPos(n + 1)
				}
				rs.ResetStatements()
				_, err = r.Query(q, args...)
				var me *mysql.MySQLError
				require.ErrorAs(t, err, &me, call)
				assert.Equal(t, uint16(1231), me.Number)
				assert.Equal(t, "Variable 'sql_mode' can't be set to the value of 'rwsplit_wait_timed_out'", me.Message)
				assert.Equal(t, []string{q}, rs.Statements())
				rs.StartApplier()
			}

			// Exec form: the query's result.
			q := "SET @@SESSION.sql_mode = (SELECT CASE WHEN " + gtidWait(f) +
				" THEN @@SESSION.sql_mode ELSE 'rwsplit_wait_timed_out' END); SELECT 1"
			_, err := r.Exec(q, c.GTIDSet(1), 1)
			require.NoError(t, err)

			// Without multiStatements the server refuses the text.
			single := open(t, rs, false)
			_, err = single.Query(q, c.GTIDSet(1), 1)
			assert.Equal(t, uint16(1064), errNum(err))
		})
	}
}

func TestTransactions(t *testing.T) {
	for _, f := range flavors {
		t.Run(f.String(), func(t *testing.T) {
			c := NewCluster(f, 1)
			ctx := context.Background()
			p, r := open(t, c.Primary(), false), open(t, c.Replicas()[0], false)
			c.Write(1, 1)

			tx, err := p.BeginTx(ctx, nil)
			require.NoError(t, err)
			_, err = tx.Exec("INSERT INTO kv (k, v) VALUES (?, ?)", 2, 2)
			require.NoError(t, err)
			_, err = tx.Exec("UPDATE kv SET v = ? WHERE k = ?", 10, 1)
			require.NoError(t, err)
			_, err = tx.Exec("DELETE FROM kv WHERE k = ?", 2)
			require.NoError(t, err)
			_, err = tx.Exec("INSERT INTO kv (k, v) VALUES (?, ?)", 3, 3)
			require.NoError(t, err)
			var v int64
			require.NoError(t, tx.QueryRow("SELECT v FROM kv WHERE k = ?", 1).Scan(&v))
			assert.Equal(t, int64(10), v, "the transaction sees its own writes")
			assert.ErrorIs(t, tx.QueryRow("SELECT v FROM kv WHERE k = ?", 2).Scan(&v), sql.ErrNoRows)
			rows, err := tx.Query("SELECT k, v FROM kv ORDER BY k")
			require.NoError(t, err)
			n := 0
			for rows.Next() {
				n++
			}
			assert.Equal(t, 2, n)
			assert.Equal(t, int64(1), get(t, p, 1), "others do not")
			assert.Equal(t, int64(-1), get(t, p, 3))
			assert.Equal(t, 1, c.Primary().Applied())
			require.NoError(t, tx.Commit())
			assert.Equal(t, 2, c.Primary().Applied(), "one GTID at commit")
			assert.Equal(t, int64(10), get(t, r, 1))
			assert.Equal(t, int64(3), get(t, r, 3))
			assert.Equal(t, int64(-1), get(t, r, 2))

			// Rollback discards.
			tx, err = p.BeginTx(ctx, nil)
			require.NoError(t, err)
			_, err = tx.Exec("INSERT INTO kv (k, v) VALUES (?, ?)", 4, 4)
			require.NoError(t, err)
			require.NoError(t, tx.Rollback())
			assert.Equal(t, 2, c.Primary().Applied())
			assert.Equal(t, int64(-1), get(t, p, 4))

			// A transaction without writes commits nothing.
			tx, err = p.BeginTx(ctx, nil)
			require.NoError(t, err)
			require.NoError(t, tx.QueryRow("SELECT v FROM kv WHERE k = ? FOR UPDATE", 1).Scan(&v))
			require.NoError(t, tx.Commit())
			assert.Equal(t, 2, c.Primary().Applied())

			// Read-only transactions reject writes, on any server.
			for _, db := range []*sql.DB{p, r} {
				tx, err = db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
				require.NoError(t, err)
				require.NoError(t, tx.QueryRow("SELECT v FROM kv WHERE k = ?", 1).Scan(&v))
				_, err = tx.Exec("INSERT INTO kv (k, v) VALUES (?, ?)", 5, 5)
				var me *mysql.MySQLError
				require.ErrorAs(t, err, &me)
				assert.Equal(t, uint16(1792), me.Number)
				assert.Equal(t, "Cannot execute statement in a READ ONLY transaction.", me.Message)
				require.NoError(t, tx.Commit())
			}

			// A read-write transaction on a replica: 1290.
			tx, err = r.BeginTx(ctx, nil)
			require.NoError(t, err)
			_, err = tx.Exec("INSERT INTO kv (k, v) VALUES (?, ?)", 5, 5)
			assert.Equal(t, uint16(1290), errNum(err))
			require.NoError(t, tx.Commit())
			assert.Equal(t, 2, c.Primary().Applied())

			if f == MariaDB {
				conn, err := p.Conn(ctx)
				require.NoError(t, err)
				tx, err := conn.BeginTx(ctx, nil)
				require.NoError(t, err)
				_, err = tx.Exec("INSERT INTO kv (k, v) VALUES (?, ?)", 6, 6)
				require.NoError(t, err)
				require.NoError(t, tx.Commit())
				var s string
				require.NoError(t, conn.QueryRowContext(ctx, "SELECT @@last_gtid").Scan(&s))
				assert.Equal(t, "0-1-3", s)
				require.NoError(t, conn.Close())
			}
		})
	}
}

func TestHang(t *testing.T) {
	c := NewCluster(MySQL, 1)
	s := c.Replicas()[0]
	db := open(t, s, false)
	require.NoError(t, db.Ping())
	s.Hang()
	s.Hang() // idempotent

	start := time.Now() // before the deadline is set: it counts from then
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	var n int64
	err := db.QueryRowContext(ctx, "SELECT 1").Scan(&n)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.GreaterOrEqual(t, time.Since(start), 30*time.Millisecond)

	ctx2, cancel2 := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel2()
	assert.ErrorIs(t, db.PingContext(ctx2), context.DeadlineExceeded)
	ctx3, cancel3 := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel3()
	_, err = db.BeginTx(ctx3, nil)
	assert.ErrorIs(t, err, context.DeadlineExceeded)

	// A blocked statement resumes on Unhang.
	done := make(chan error, 1)
	go func() { done <- db.QueryRow("SELECT 1").Scan(new(int64)) }()
	time.Sleep(10 * time.Millisecond)
	select {
	case err := <-done:
		t.Fatalf("returned while hung: %v", err)
	default:
	}
	s.Unhang()
	require.NoError(t, <-done)
	assert.Equal(t, 2, s.Count("SELECT 1"), "statements blocked by a hang were received")
	s.Unhang() // idempotent
}

func TestDown(t *testing.T) {
	c := NewCluster(MySQL, 1)
	s := c.Replicas()[0]
	db := open(t, s, false)
	ctx := context.Background()

	conn, err := db.Conn(ctx)
	require.NoError(t, err)
	require.NoError(t, conn.PingContext(ctx))
	assert.Equal(t, 1, s.OpenConns())

	s.SetDown(true)
	_, err = s.Connector(false).Connect(ctx)
	var oe *net.OpError
	require.ErrorAs(t, err, &oe)
	assert.ErrorIs(t, err, syscall.ECONNREFUSED)
	assert.Contains(t, err.Error(), "connection refused")

	err = conn.Raw(func(dc any) error {
		_, err := dc.(driver.QueryerContext).QueryContext(ctx, "SELECT 1", nil)
		return err
	})
	assert.ErrorIs(t, err, driver.ErrBadConn)
	_, err = db.Query("SELECT 1")
	assert.ErrorIs(t, err, syscall.ECONNREFUSED)
	conn.Close() // database/sql already closed it, after ErrBadConn
	assert.Equal(t, 0, s.OpenConns(), "the dead connection was discarded")

	s.SetDown(false)
	assert.Equal(t, int64(1), mustInt(t, db, "SELECT 1"))

	// Connections from before a restart stay dead.
	conn, err = db.Conn(ctx)
	require.NoError(t, err)
	s.SetDown(true)
	s.SetDown(false)
	err = conn.PingContext(ctx)
	assert.ErrorIs(t, err, driver.ErrBadConn)
	conn.Close()
	assert.Equal(t, int64(1), mustInt(t, db, "SELECT 1"), "the pool reconnects")
}

func TestDeadConnection(t *testing.T) {
	c := NewCluster(MySQL, 0)
	dc, err := c.Primary().Connector(false).Connect(context.Background())
	require.NoError(t, err)
	cn := dc.(*conn)
	assert.True(t, cn.IsValid())
	require.NoError(t, cn.ResetSession(context.Background()))
	require.NoError(t, cn.Close())
	require.NoError(t, cn.Close())
	assert.False(t, cn.IsValid())
	assert.ErrorIs(t, cn.ResetSession(context.Background()), driver.ErrBadConn)
	_, err = cn.ExecContext(context.Background(), "DO 1", nil)
	assert.ErrorIs(t, err, driver.ErrBadConn)
	_, err = cn.Begin()
	assert.ErrorIs(t, err, driver.ErrBadConn)
	_, err = cn.Prepare("DO 1")
	assert.ErrorIs(t, err, driver.ErrBadConn)
	assert.Equal(t, 0, c.Primary().OpenConns())
	assert.Empty(t, c.Primary().Statements())
}

func TestFailNext(t *testing.T) {
	c := NewCluster(MySQL, 0)
	s := c.Primary()
	db := open(t, s, false)
	boom := errors.New("boom")
	s.FailNext(2, boom)
	_, err := db.Exec("INSERT INTO kv (k, v) VALUES (?, ?)", 1, 1)
	assert.ErrorIs(t, err, boom)
	_, err = db.Query("SELECT v FROM kv WHERE k = ?", 1)
	assert.ErrorIs(t, err, boom)
	assert.Equal(t, 0, s.Applied(), "failed before running")
	_, err = db.Exec("INSERT INTO kv (k, v) VALUES (?, ?)", 1, 1)
	require.NoError(t, err)
	assert.Equal(t, 1, s.Applied())
	assert.Equal(t, 3, len(s.Statements()))

	// ErrBadConn (the default) makes database/sql retry on a new connection.
	s.FailNext(1, nil)
	assert.Equal(t, int64(1), mustInt(t, db, "SELECT v FROM kv WHERE k = ?", 1))
	assert.Equal(t, 3, s.Count("select v"), "the failed one, the bad one and the retry")
}

func TestStatements(t *testing.T) {
	c := NewCluster(MySQL, 0)
	s := c.Primary()
	db := open(t, s, false)
	_, err := db.Exec("INSERT  INTO kv (k, v)\n\tVALUES (?, ?)", 1, 1)
	require.NoError(t, err)
	mustInt(t, db, "SELECT v FROM kv WHERE k = ?", 1)
	stmt, err := db.Prepare("SELECT v FROM kv WHERE k = ?")
	require.NoError(t, err)
	var v int64
	require.NoError(t, stmt.QueryRow(1).Scan(&v))
	_, err = stmt.Exec(1)
	require.NoError(t, err)
	require.NoError(t, stmt.Close())
	_, err = db.Exec("nonsense")
	assert.Error(t, err)
	assert.Equal(t, []string{
		"INSERT INTO kv (k, v) VALUES (?, ?)",
		"SELECT v FROM kv WHERE k = ?",
		"SELECT v FROM kv WHERE k = ?",
		"SELECT v FROM kv WHERE k = ?",
		"nonsense",
	}, s.Statements())
	assert.Equal(t, 3, s.Count("select V from"))
	assert.Equal(t, 1, s.Count("insert into"))
	assert.Equal(t, 0, s.Count("UPDATE"))
	s.ResetStatements()
	assert.Empty(t, s.Statements())

	// Literals work where placeholders do; argument counts must match.
	assert.Equal(t, int64(1), mustInt(t, db, "SELECT v FROM kv WHERE k = 1"))
	_, err = db.Exec("SELECT v FROM kv WHERE k = ?")
	assert.Error(t, err)
}

func TestReplicaStatus(t *testing.T) {
	for _, f := range flavors {
		t.Run(f.String(), func(t *testing.T) {
			c := NewCluster(f, 1)
			rs := c.Replicas()[0]
			p, r := open(t, c.Primary(), false), open(t, rs, false)
			assert.Empty(t, statusRow(t, p, "SHOW REPLICA STATUS"), "no row on the primary")

			c.Write(1, 1)
			rs.StopApplier()
			c.Write(1, 2)
			c.Write(1, 3)
			st := statusRow(t, r, "SHOW REPLICA STATUS")
			if f == MySQL {
				assert.Equal(t, map[string]string{
					"Replica_IO_Running":    "Yes",
					"Replica_SQL_Running":   "No",
					"Source_Log_File":       "binlog.000001",
					"Read_Source_Log_Pos":   "304",
					"Relay_Source_Log_File": "binlog.000001",
					"Exec_Source_Log_Pos":   "104",
					"Seconds_Behind_Source": "",
					"Retrieved_Gtid_Set":    mysqlUUID + ":1-3",
					"Executed_Gtid_Set":     mysqlUUID + ":1",
					"Last_SQL_Errno":        "0",
					"Last_SQL_Error":        "",
					"Last_IO_Errno":         "0",
					"Last_IO_Error":         "",
					"Source_Server_Id":      "1",
				}, st)
			} else {
				assert.Equal(t, map[string]string{
					"Slave_IO_Running":      "Yes",
					"Slave_SQL_Running":     "No",
					"Master_Log_File":       "binlog.000001",
					"Read_Master_Log_Pos":   "304",
					"Relay_Master_Log_File": "binlog.000001",
					"Exec_Master_Log_Pos":   "104",
					"Seconds_Behind_Master": "",
					"Gtid_IO_Pos":           "0-1-3",
					"Last_SQL_Errno":        "0",
					"Last_SQL_Error":        "",
					"Last_IO_Errno":         "0",
					"Last_IO_Error":         "",
					"Master_Server_Id":      "1",
				}, st)
			}
			sqlRunning, behind, exec := "Replica_SQL_Running", "Seconds_Behind_Source", "Exec_Source_Log_Pos"
			if f == MariaDB {
				sqlRunning, behind, exec = "Slave_SQL_Running", "Seconds_Behind_Master", "Exec_Master_Log_Pos"
			}
			rs.SetLag(time.Hour)
			rs.StartApplier()
			st = statusRow(t, r, "SHOW REPLICA STATUS")
			assert.Equal(t, "Yes", st[sqlRunning])
			assert.Equal(t, "0", st[behind], "less than a second behind")
			assert.Equal(t, "104", st[exec])
			rs.SetLag(0)
			st = statusRow(t, r, "SHOW REPLICA STATUS")
			assert.Equal(t, "0", st[behind])
			assert.Equal(t, "304", st[exec])
		})
	}
}

func TestConcurrency(t *testing.T) {
	for _, f := range flavors {
		t.Run(f.String(), func(t *testing.T) {
			c := NewCluster(f, 2)
			p := open(t, c.Primary(), true)
			reps := []*sql.DB{open(t, c.Replicas()[0], true), open(t, c.Replicas()[1], true)}
			c.Replicas()[1].SetLag(2 * time.Millisecond)
			const workers, writes = 8, 40
			var wg sync.WaitGroup
			errs := make(chan error, 4*workers)
			for w := range workers {
				wg.Go(func() {
					for i := range writes {
						k := int64(w*1000 + i)
						if _, err := p.Exec("INSERT INTO kv (k, v) VALUES (?, ?)", k, k); err != nil {
							errs <- err
							return
						}
					}
				})
				wg.Go(func() {
					r := reps[w%2]
					for i := range writes {
						var v int64
						err := r.QueryRow("SELECT v FROM kv WHERE k = ?", int64(w*1000+i)).Scan(&v)
						if err != nil && !errors.Is(err, sql.ErrNoRows) {
							errs <- err
							return
						}
						var st sql.NullString
						if err := r.QueryRow("SELECT @@server_id").Scan(&st); err != nil {
							errs <- err
							return
						}
					}
				})
				wg.Go(func() {
					r := reps[w%2]
					for range writes / 4 {
						n := c.Primary().Applied()
						call := gtidWait(f)
						q := "SET @@SESSION.sql_mode = (SELECT CASE WHEN " + call +
							" THEN @@SESSION.sql_mode ELSE 'rwsplit_wait_timed_out' END); SELECT k, v FROM kv ORDER BY k"
						rows, err := r.Query(q, c.GTIDSet(n), 1)
						if err != nil {
							errs <- fmt.Errorf("wait for %d: %w", n, err)
							return
						}
						rows.Close()
					}
				})
				wg.Go(func() {
					tx, err := p.Begin()
					if err != nil {
						errs <- err
						return
					}
					_, err = tx.Exec("UPDATE kv SET v = ? WHERE k = ?", -1, int64(w*1000))
					if err == nil {
						err = tx.Commit()
					}
					if err != nil {
						errs <- err
					}
					c.Replicas()[0].Value(int64(w))
					c.Replicas()[1].Count("select")
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			total := workers*writes + workers
			assert.Equal(t, total, c.Primary().Applied())
			for _, r := range c.Replicas() {
				r.ApplyAll()
				assert.Equal(t, total, r.Applied())
				v, ok := r.Value(1001)
				assert.True(t, ok)
				assert.Equal(t, int64(1001), v)
			}
		})
	}
}

func TestArgumentConversions(t *testing.T) {
	c := NewCluster(MySQL, 0)
	db := open(t, c.Primary(), false)
	for i, arg := range []any{int64(1), 1, int32(1), uint64(1), "1", []byte("1"), 1.0, " 1 "} {
		_, err := db.Exec("INSERT INTO kv (k, v) VALUES (?, ?)", arg, i)
		require.NoError(t, err, "%T", arg)
		assert.Equal(t, int64(i), get(t, db, 1))
	}
	_, err := db.Exec("INSERT INTO kv (k, v) VALUES (?, ?)", "x", 1)
	assert.Error(t, err)
	_, err = db.Exec("INSERT INTO kv (k, v) VALUES (?, ?)", nil, 1)
	assert.Error(t, err)
	var v int64
	assert.ErrorIs(t, db.QueryRow("SELECT v FROM kv WHERE k = ?", nil).Scan(&v), sql.ErrNoRows)
	_, err = db.Exec("INSERT INTO kv (k, v) VALUES (?, ?)", sql.Named("k", 2), sql.Named("v", 3))
	require.NoError(t, err)
	assert.Equal(t, int64(3), get(t, db, 2))
}

func TestMultiStatements(t *testing.T) {
	c := NewCluster(MySQL, 0)
	db := open(t, c.Primary(), true)
	res, err := db.Exec("INSERT INTO kv (k, v) VALUES (?, ?); INSERT INTO kv (k, v) VALUES (?, ?);", 1, 1, 2, 2)
	require.NoError(t, err)
	id, _ := res.LastInsertId()
	assert.Equal(t, int64(2), id, "the last statement's result")
	assert.Equal(t, 2, c.Primary().Applied())
	assert.Equal(t, 1, len(c.Primary().Statements()), "one text")

	rows, err := db.Query("DO 1; SELECT v FROM kv WHERE k = ?; SELECT @@server_id", 2)
	require.NoError(t, err)
	require.True(t, rows.Next())
	var v int64
	require.NoError(t, rows.Scan(&v))
	assert.Equal(t, int64(2), v)
	assert.False(t, rows.Next())
	require.True(t, rows.NextResultSet())
	require.True(t, rows.Next())
	require.NoError(t, rows.Scan(&v))
	assert.Equal(t, int64(1), v)
	assert.False(t, rows.NextResultSet())
	require.NoError(t, rows.Close())

	// Statements run in order until one fails.
	_, err = db.Exec("INSERT INTO kv (k, v) VALUES (?, ?); bad; INSERT INTO kv (k, v) VALUES (?, ?)", 3, 3, 4, 4)
	assert.Equal(t, uint16(1064), errNum(err))
	assert.Equal(t, 3, c.Primary().Applied())

	// A ';' inside a literal does not split.
	_, err = db.Exec("SET @x = 'a;b'")
	require.NoError(t, err)
}

func TestIdentityAndPromote(t *testing.T) {
	for _, f := range flavors {
		t.Run(f.String(), func(t *testing.T) {
			c := NewCluster(f, 2)
			old, r := c.Primary(), c.Replicas()[0]
			p, rdb := open(t, old, false), open(t, r, false)
			identity := "SELECT @@server_id, @@GLOBAL.read_only, @@server_uuid"
			if f == MariaDB {
				identity = "SELECT @@server_id, @@GLOBAL.read_only"
			}
			ro := func(db *sql.DB) int {
				var id, ro int
				var uuid string
				dest := []any{&id, &ro, &uuid}
				if f == MariaDB {
					dest = dest[:2]
				}
				require.NoError(t, db.QueryRow(identity).Scan(dest...))
				return ro
			}
			assert.Equal(t, 0, ro(p))
			assert.Equal(t, 1, ro(rdb))

			c.Write(1, 1)
			r.StopApplier()
			c.Promote(r)
			assert.Equal(t, r, c.Primary())
			assert.Equal(t, []*Server{old, c.Servers()[2]}, c.Replicas())
			assert.Equal(t, 1, ro(p))
			assert.Equal(t, 0, ro(rdb))
			v, ok := r.Value(1)
			assert.True(t, ok && v == 1, "the promoted replica applied the whole log")
			_, err := p.Exec("INSERT INTO kv (k, v) VALUES (2, 2)")
			require.Error(t, err, "the old primary is read-only")
			_, err = rdb.Exec("INSERT INTO kv (k, v) VALUES (2, 2)")
			require.NoError(t, err)
			st := statusRow(t, p, "SHOW REPLICA STATUS")
			assert.Contains(t, []string{st["Source_Server_Id"], st["Master_Server_Id"]}, fmt.Sprint(r.ID()))
		})
	}
}
