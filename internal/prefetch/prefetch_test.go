package prefetch

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A minimal driver: "fail" fails in place of the first row, "two" returns
// two rows, "sets" two result sets, "none" no row.
type tconn struct{ valid bool }

var errFirstRow = errors.New("server shutdown in progress")

func (tconn) Prepare(string) (driver.Stmt, error) { return nil, errors.New("no") }
func (tconn) Close() error                        { return nil }
func (tconn) Begin() (driver.Tx, error)           { return nil, errors.New("no") }
func (tconn) QueryContext(_ context.Context, q string, _ []driver.NamedValue) (driver.Rows, error) {
	switch q {
	case "fail":
		return &trows{fail: true, sets: [][]int64{{1}}}, nil
	case "two":
		return &trows{sets: [][]int64{{1, 2}}}, nil
	case "sets":
		return &trows{sets: [][]int64{{1}, {7, 8}}}, nil
	}
	return &trows{sets: [][]int64{{}}}, nil
}

type trows struct {
	fail      bool
	sets      [][]int64
	set, next int
}

func (r *trows) Columns() []string { return []string{"v"} }
func (r *trows) Close() error      { return nil }
func (r *trows) Next(dest []driver.Value) error {
	if r.fail {
		return errFirstRow
	}
	if r.next >= len(r.sets[r.set]) {
		return io.EOF
	}
	dest[0] = r.sets[r.set][r.next]
	r.next++
	return nil
}
func (r *trows) HasNextResultSet() bool { return r.set+1 < len(r.sets) }
func (r *trows) NextResultSet() error {
	if !r.HasNextResultSet() {
		return io.EOF
	}
	r.set, r.next = r.set+1, 0
	return nil
}
func (r *trows) ColumnTypeDatabaseTypeName(int) string { return "BIGINT" }

type tconnector struct{}

func (tconnector) Connect(context.Context) (driver.Conn, error) { return tconn{}, nil }
func (tconnector) Driver() driver.Driver                        { return nil }

func TestFirstRowErrorFailsTheQuery(t *testing.T) {
	db := sql.OpenDB(Connector(tconnector{}))
	defer db.Close()
	ctx := context.Background()
	_, err := db.QueryContext(ctx, "fail")
	require.ErrorIs(t, err, errFirstRow)
	assert.ErrorIs(t, db.QueryRowContext(ctx, "fail").Err(), errFirstRow)

	raw := sql.OpenDB(tconnector{})
	defer raw.Close()
	assert.NoError(t, raw.QueryRowContext(ctx, "fail").Err(), "without prefetch the error waits for Scan")
}

func TestRowsReplayTheFirstRow(t *testing.T) {
	db := sql.OpenDB(Connector(tconnector{}))
	defer db.Close()
	ctx := context.Background()
	rows, err := db.QueryContext(ctx, "two")
	require.NoError(t, err)
	var got []int64
	for rows.Next() {
		var v int64
		require.NoError(t, rows.Scan(&v))
		got = append(got, v)
	}
	require.NoError(t, rows.Err())
	assert.Equal(t, []int64{1, 2}, got)
	types, err := rows.ColumnTypes()
	if err == nil {
		assert.Equal(t, "BIGINT", types[0].DatabaseTypeName())
	}

	var v int64
	assert.ErrorIs(t, db.QueryRowContext(ctx, "none").Scan(&v), sql.ErrNoRows)

	rows, err = db.QueryContext(ctx, "sets")
	require.NoError(t, err)
	require.True(t, rows.NextResultSet(), "skipping the first set unread")
	got = nil
	for rows.Next() {
		require.NoError(t, rows.Scan(&v))
		got = append(got, v)
	}
	assert.Equal(t, []int64{7, 8}, got)
	require.NoError(t, rows.Close())
}

func TestRawSeesTheDriversConn(t *testing.T) {
	db := sql.OpenDB(Connector(tconnector{}))
	defer db.Close()
	c, err := db.Conn(context.Background())
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Raw(func(dc any) error {
		u, ok := dc.(interface{ Unwrap() driver.Conn })
		require.True(t, ok)
		assert.IsType(t, tconn{}, u.Unwrap())
		return nil
	}))
}

// TestHookContext: a HookContext runs its function once, when the rows of
// the first query run with it close, and keeps its parent's values and
// cancellation.
func TestHookContext(t *testing.T) {
	db := sql.OpenDB(Connector(tconnector{}))
	defer db.Close()
	type key struct{}
	parent, cancel := context.WithCancel(context.WithValue(context.Background(), key{}, "v"))
	defer cancel()
	var hc HookContext
	closed := 0
	hc.Init(parent, func() { closed++ })
	assert.Equal(t, "v", hc.Value(key{}))
	rows, err := db.QueryContext(&hc, "two")
	require.NoError(t, err)
	assert.True(t, hc.Hook().Claimed())
	assert.Zero(t, closed, "ran before the rows closed")
	require.NoError(t, rows.Close())
	assert.Equal(t, 1, closed)
	rows, err = db.QueryContext(&hc, "two") // the hook is taken: not run again
	require.NoError(t, err)
	require.NoError(t, rows.Close())
	assert.Equal(t, 1, closed)
	cancel()
	assert.ErrorIs(t, hc.Err(), context.Canceled)
}
