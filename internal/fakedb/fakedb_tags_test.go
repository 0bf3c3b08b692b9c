package fakedb

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTagSetting(t *testing.T) {
	c := NewCluster(MySQL, 1)
	assert.Equal(t, "", c.Tag())
	c.SetTag("App_1")
	assert.Equal(t, "app_1", c.Tag(), "folded to lower case")
	c.SetTag("")
	assert.Equal(t, "", c.Tag())
	for _, bad := range []string{"1app", "a-b", "a:b", "abcdefghijklmnopqrstuvwxyz0123456"} {
		assert.Panics(t, func() { c.SetTag(bad) }, bad)
	}
	assert.Panics(t, func() { NewCluster(MariaDB, 1).SetTag("app") })
}

// TestTaggedGTIDSets: a history of untagged and tagged transactions, as
// every executed set reports it.
func TestTaggedGTIDSets(t *testing.T) {
	c := NewCluster(MySQL, 1)
	rs := c.Replicas()[0]
	p, r := open(t, c.Primary(), false), open(t, rs, false)
	u := mysqlUUID

	// Untagged only: byte for byte as before.
	c.Write(1, 1)
	assert.Equal(t, u+":1", c.GTIDSet(1))
	assert.Equal(t, u+":1-3", c.GTIDSet(3), "beyond the log, untagged")
	c.SetTag("migration")
	assert.Equal(t, u+":1", c.GTIDSet(1))
	assert.Equal(t, u+":1:migration:1-2", c.GTIDSet(3), "beyond the log, under the current tag")

	c.Write(2, 1) // migration:1
	c.Write(2, 2) // migration:2
	rs.StopApplier()
	c.SetTag("app")
	c.Write(3, 1) // app:1
	c.SetTag("")
	c.Write(4, 1) // :2
	c.SetTag("app")
	c.Write(3, 2) // app:2

	assert.Equal(t, "", c.GTIDSet(0))
	assert.Equal(t, u+":1:migration:1", c.GTIDSet(2))
	assert.Equal(t, u+":1:app:1:migration:1-2", c.GTIDSet(4), "tags in ascending order")
	all := u + ":1-2:app:1-2:migration:1-2"
	assert.Equal(t, all, c.GTIDSet(6))
	assert.Equal(t, u+":1-2:app:1-3:migration:1-2", c.GTIDSet(7))

	assert.Equal(t, all, str(t, p, "SELECT @@GLOBAL.gtid_executed"))
	assert.Equal(t, []string{all, u}, texts(row(t, p, "SELECT @@GLOBAL.gtid_executed, @@server_uuid")))
	assert.Equal(t, all, statusRow(t, p, "SHOW BINARY LOG STATUS")["Executed_Gtid_Set"])

	// The replica stopped after migration:2.
	mig := u + ":1:migration:1-2"
	assert.Equal(t, mig, str(t, r, "SELECT @@GLOBAL.gtid_executed"))
	st := statusRow(t, r, "SHOW REPLICA STATUS")
	assert.Equal(t, all, st["Retrieved_Gtid_Set"])
	assert.Equal(t, mig, st["Executed_Gtid_Set"])
	assert.Equal(t, "304", st["Exec_Source_Log_Pos"], "positions count every transaction")

	// A set that starts with a tag: no untagged transaction yet.
	c2 := NewCluster(MySQL, 0)
	c2.SetTag("app")
	c2.Write(1, 1)
	assert.Equal(t, u+":app:1", c2.GTIDSet(1))
	assert.Equal(t, u+":app:1", str(t, open(t, c2.Primary(), false), "SELECT @@GLOBAL.gtid_executed"))
}

func TestTaggedGroupCheck(t *testing.T) {
	c := NewCluster(MySQL, 1)
	c.SetKind(GroupReplication)
	c.Write(1, 1)
	c.SetTag("app")
	c.Write(1, 2)
	r := open(t, c.Replicas()[0], false)
	assert.Equal(t, []string{"ONLINE", "SECONDARY", mysqlUUID + ":1:app:1", "1", "0"}, texts(row(t, r, groupCheckSQL))[:5])
}

// TestTaggedWaits: WAIT_FOR_EXECUTED_GTID_SET reaches a tagged GTID of the
// cluster's uuid once the transaction that carries it is applied, and never
// one of another uuid or of a tag the log does not hold.
func TestTaggedWaits(t *testing.T) {
	c := NewCluster(MySQL, 1)
	rs := c.Replicas()[0]
	p, r := open(t, c.Primary(), false), open(t, rs, false)
	call := gtidWait(MySQL)
	u := mysqlUUID
	ok, timedOut := sql.NullInt64{Int64: 1, Valid: true}, sql.NullInt64{Int64: 0, Valid: true}

	for k := range int64(7) {
		c.Write(k, k)
	}
	c.SetTag("migration")
	for k := range int64(3) {
		c.Write(10+k, k)
	}
	require.Equal(t, u+":1-7:migration:1-3", c.GTIDSet(10))
	rs.StopApplier()
	c.SetTag("app")
	c.Write(20, 1) // app:1, transaction 11
	c.Write(20, 2) // app:2, transaction 12
	c.SetTag("")
	c.Write(30, 1) // :8, transaction 13

	assert.Equal(t, ok, wait(t, r, call, u+":1-7:migration:1-3", 1))
	assert.Equal(t, ok, wait(t, r, call, u+":MIGRATION:2", 1), "tags fold to lower case")
	assert.Equal(t, timedOut, wait(t, r, call, u+":migration:1-3:4", 0.01), "a tag applies to the intervals after it")
	assert.Equal(t, ok, wait(t, r, call, u+":migration:1-3,"+u+":4", 1), "up to the next part")
	assert.Equal(t, timedOut, wait(t, r, call, u+":app:1", 0.01), "not applied yet")
	assert.Equal(t, timedOut, wait(t, r, call, u+":8", 0.01), "the 8th untagged is the 13th transaction")
	assert.Equal(t, timedOut, wait(t, r, call, u+":migration:4", 0.01), "not committed")
	assert.Equal(t, timedOut, wait(t, r, call, u+":other:1", 0.01), "unknown tag")
	assert.Equal(t, timedOut, wait(t, r, call, "896e7882-18fe-11ef-ab88-22222d34d411:app:1", 0.01), "other uuid")
	assert.Equal(t, ok, wait(t, p, call, u+":1-8:app:1-2:migration:1-3", 1), "the primary has it all")
	_, err := r.Query("SELECT "+call, u+":app:", 1)
	assert.Equal(t, uint16(1772), errNum(err))
	_, err = r.Query("SELECT "+call, u+":9app:1", 1)
	assert.Equal(t, uint16(1772), errNum(err))

	// A wait that succeeds while it polls, once the applier runs.
	done := make(chan sql.NullInt64)
	go func() {
		var v sql.NullInt64
		_ = r.QueryRow("SELECT "+call, u+":app:2", 5).Scan(&v)
		done <- v
	}()
	time.Sleep(30 * time.Millisecond)
	assert.Equal(t, 10, rs.Applied())
	rs.StartApplier()
	assert.Equal(t, ok, <-done)
	assert.Equal(t, ok, wait(t, r, call, u+":8", 1))
	assert.Equal(t, timedOut, wait(t, r, call, u+":other:1", 0.01), "unknown tag, caught up")
	assert.Equal(t, timedOut, wait(t, r, call, u+":app:3", 0.01), "not committed")

	// A tag first used after the wait started is reached once applied.
	go func() {
		var v sql.NullInt64
		_ = r.QueryRow("SELECT "+call, u+":late:1", 5).Scan(&v)
		done <- v
	}()
	time.Sleep(20 * time.Millisecond)
	c.SetTag("late")
	c.Write(40, 1)
	assert.Equal(t, ok, <-done)
}

// TestTaggedApplyOnWait: a stopped replica with ApplyOnWait applies exactly
// up to the transaction that carries the tagged GTID waited for.
func TestTaggedApplyOnWait(t *testing.T) {
	c := NewCluster(MySQL, 1)
	rs := c.Replicas()[0]
	r := open(t, rs, false)
	call := gtidWait(MySQL)
	u := mysqlUUID
	rs.StopApplier()
	rs.ApplyOnWait(true)
	c.Write(1, 1) // :1
	c.SetTag("app")
	c.Write(2, 1) // app:1, transaction 2
	c.SetTag("")
	c.Write(3, 1) // :2, transaction 3
	c.SetTag("app")
	c.Write(2, 2) // app:2, transaction 4

	assert.Equal(t, sql.NullInt64{Int64: 1, Valid: true}, wait(t, r, call, u+":app:1", 1))
	assert.Equal(t, 2, rs.Applied(), "exactly up to app:1")
	assert.Equal(t, sql.NullInt64{Int64: 0, Valid: true}, wait(t, r, call, u+":app:3", 0.01))
	assert.Equal(t, 2, rs.Applied(), "nothing for a GTID not committed")
	assert.Equal(t, sql.NullInt64{Int64: 1, Valid: true}, wait(t, r, call, u+":1-2", 1))
	assert.Equal(t, 3, rs.Applied(), "exactly up to :2")
	assert.Equal(t, u+":1-2:app:1", str(t, r, "SELECT @@GLOBAL.gtid_executed"))

	// The raw form and the same-round-trip form see tags too.
	assert.Equal(t, int64(0), wait(t, r, "WAIT_FOR_EXECUTED_GTID_SET(?, ?)", u+":app:2", 1).Int64)
	assert.Equal(t, 4, rs.Applied())
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	var v sql.NullInt64
	require.NoError(t, r.QueryRowContext(ctx, "SELECT "+call, u+":1-2:app:1-2", 0).Scan(&v))
	assert.Equal(t, sql.NullInt64{Int64: 1, Valid: true}, v, "timeout 0 waits, and succeeds at once")
}
