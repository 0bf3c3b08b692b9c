package rwsplitotel_test

// A tiny in-memory MariaDB-flavoured primary and replica, just enough for
// rwsplit's version detection, monitor, captures and GTID waits (the root
// module's internal/fakedb cannot be imported from another module). The
// replica applies nothing by itself: only a wait makes it catch up, so a
// WaitGTID read after a write always waits.

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rwsplit/rwsplit"
)

type cluster struct {
	mu      sync.Mutex
	writes  int // GTIDs 0-1-1 .. 0-1-writes on the primary
	applied int // on the replica
}

// open returns a DB over c's primary and replica.
func (c *cluster) open(t *testing.T, opts ...rwsplit.Option) *rwsplit.DB {
	t.Helper()
	return c.openWith(t, sql.OpenDB, opts...)
}

// openWith is open with pools made by pool from each server's connector.
func (c *cluster) openWith(t *testing.T, pool func(driver.Connector) *sql.DB, opts ...rwsplit.Option) *rwsplit.DB {
	t.Helper()
	p := pool(connector{c: c, primary: true})
	r := pool(connector{c: c})
	db, err := rwsplit.New(p, []*sql.DB{r}, append([]rwsplit.Option{rwsplit.WithMonitorInterval(time.Hour)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	// Wait for the monitor's first round, so that the replica is up.
	deadline := time.Now().Add(5 * time.Second)
	replica := db.Servers()[1]
	for replica.Health().State != rwsplit.StateUp {
		if time.Now().After(deadline) {
			t.Fatalf("replica not up: %+v", replica.Health())
		}
		time.Sleep(time.Millisecond)
	}
	return db
}

type connector struct {
	c       *cluster
	primary bool
}

func (k connector) Connect(context.Context) (driver.Conn, error) { return &conn{k}, nil }
func (k connector) Driver() driver.Driver                        { return drv{} }

type drv struct{}

func (drv) Open(string) (driver.Conn, error) { return nil, errors.New("fake: use the connector") }

type conn struct{ connector }

func (c *conn) Prepare(q string) (driver.Stmt, error) { return stmt{c, q}, nil }
func (c *conn) Close() error                          { return nil }
func (c *conn) Begin() (driver.Tx, error)             { return tx{}, nil }

type tx struct{}

func (tx) Commit() error   { return nil }
func (tx) Rollback() error { return nil }

type stmt struct {
	c *conn
	q string
}

func (s stmt) Close() error  { return nil }
func (s stmt) NumInput() int { return -1 }
func (s stmt) Exec(args []driver.Value) (driver.Result, error) {
	return s.c.exec(s.q)
}
func (s stmt) Query(args []driver.Value) (driver.Rows, error) {
	nv := make([]driver.NamedValue, len(args))
	for i, a := range args {
		nv[i] = driver.NamedValue{Ordinal: i + 1, Value: a}
	}
	return s.c.QueryContext(context.Background(), s.q, nv)
}

func (c *conn) ExecContext(_ context.Context, q string, _ []driver.NamedValue) (driver.Result, error) {
	return c.exec(q)
}

func (c *conn) exec(q string) (driver.Result, error) {
	if !c.primary {
		return nil, errors.New("fake: the replica is read-only")
	}
	c.c.mu.Lock()
	c.c.writes++
	c.c.mu.Unlock()
	return driver.RowsAffected(1), nil
}

func gtidPos(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf("0-1-%d", n)
}

func (c *conn) QueryContext(_ context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	cl := c.c
	cl.mu.Lock()
	defer cl.mu.Unlock()
	id, ro := int64(2), int64(1)
	if c.primary {
		id, ro = 1, 0
	}
	switch {
	case q == "SELECT VERSION()":
		return one([]string{"VERSION()"}, "10.11.6-MariaDB"), nil
	case q == "SELECT @@server_id, @@GLOBAL.read_only":
		return one([]string{"@@server_id", "@@GLOBAL.read_only"}, id, ro), nil
	case strings.HasPrefix(q, "SELECT @@server_id, @@GLOBAL.read_only, "):
		// The identity query with the cluster-kind marker: not Galera.
		return one([]string{"@@server_id", "@@GLOBAL.read_only", "wsrep_on"}, id, ro, "OFF"), nil
	case q == "SELECT @@GLOBAL.gtid_binlog_pos":
		return one([]string{"gtid_binlog_pos"}, gtidPos(cl.writes)), nil
	case q == "SELECT @@GLOBAL.gtid_slave_pos":
		return one([]string{"gtid_slave_pos"}, gtidPos(cl.applied)), nil
	case q == "SHOW REPLICA STATUS":
		cols := []string{"Slave_IO_Running", "Slave_SQL_Running", "Last_IO_Errno", "Last_SQL_Errno", "Master_Server_Id", "Seconds_Behind_Master"}
		if c.primary {
			return &rows{cols: cols}, nil
		}
		return one(cols, "Yes", "Yes", "0", "0", "1", "0"), nil
	case strings.HasPrefix(q, "SELECT MASTER_GTID_WAIT("):
		if c.primary {
			return nil, errors.New("fake: never wait on the primary")
		}
		cl.applied = cl.writes // catches up at once
		return one([]string{"w"}, int64(1)), nil
	case strings.HasPrefix(q, "SELECT"):
		return one([]string{"v"}, int64(42)), nil
	}
	return nil, fmt.Errorf("fake: unexpected query %q", q)
}

// one returns a result of one row.
func one(cols []string, vals ...driver.Value) *rows {
	return &rows{cols: cols, data: [][]driver.Value{vals}}
}

type rows struct {
	cols []string
	data [][]driver.Value
}

func (r *rows) Columns() []string { return r.cols }
func (r *rows) Close() error      { return nil }
func (r *rows) Next(dest []driver.Value) error {
	if len(r.data) == 0 {
		return io.EOF
	}
	copy(dest, r.data[0])
	r.data = r.data[1:]
	return nil
}
