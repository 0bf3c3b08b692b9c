// Package replay makes *sql.Row values from rows already read, or from an
// error. database/sql (and sqlx) offer no way to build a Row from outside, so
// a Row is asked of a pool whose driver answers every query with the row (or
// error) carried by the query's context. It lets the router read a row itself
// (and retry a read that failed before its first row) and still return a
// standard *sql.Row. Nothing here touches the network.
package replay

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
)

// payload is what one replayed query returns.
type payload struct {
	cols []string
	row  []driver.Value // nil: no row
	err  error
}

type key struct{}

// Open returns a replay pool. Close it when done.
func Open() *sql.DB {
	db := sql.OpenDB(connector{})
	db.SetMaxIdleConns(64)
	return db
}

// Row returns a *sql.Row from db (made by Open) whose Scan sees row (nil:
// sql.ErrNoRows) under cols, or err.
func Row(db *sql.DB, cols []string, row []any, err error) *sql.Row {
	p := &payload{cols: cols, err: err}
	if row != nil {
		p.row = make([]driver.Value, len(row))
		for i, v := range row {
			p.row[i] = v
		}
	}
	ctx := context.WithValue(context.Background(), key{}, p)
	return db.QueryRowContext(ctx, "-- rwsplit: replayed row")
}

// ErrRow returns a *sql.Row whose Scan reports err, from a throwaway pool.
func ErrRow(err error) *sql.Row {
	db := Open()
	defer db.Close()
	return Row(db, nil, nil, err)
}

// ErrDB returns a pool whose every connection attempt fails with err, to
// build a row of another API (such as sqlx) that reports err. Close it.
func ErrDB(err error) *sql.DB { return sql.OpenDB(connector{err: err}) }

type connector struct{ err error }

func (c connector) Connect(context.Context) (driver.Conn, error) {
	if c.err != nil {
		return nil, c.err
	}
	return conn{}, nil
}
func (c connector) Driver() driver.Driver { return drv(c) }

type drv struct{ err error }

func (d drv) Open(string) (driver.Conn, error) { return connector(d).Connect(context.Background()) }

var errNotSupported = errors.New("replay: not supported")

type conn struct{}

func (conn) Prepare(string) (driver.Stmt, error) { return nil, errNotSupported }
func (conn) Close() error                        { return nil }
func (conn) Begin() (driver.Tx, error)           { return nil, errNotSupported }

// QueryContext answers with the context's payload.
func (conn) QueryContext(ctx context.Context, _ string, _ []driver.NamedValue) (driver.Rows, error) {
	p, ok := ctx.Value(key{}).(*payload)
	if !ok {
		return nil, errNotSupported
	}
	if p.err != nil {
		return nil, p.err
	}
	return &rows{p: p}, nil
}

type rows struct {
	p    *payload
	done bool
}

func (r *rows) Columns() []string { return r.p.cols }
func (r *rows) Close() error      { return nil }
func (r *rows) Next(dest []driver.Value) error {
	if r.done || r.p.row == nil {
		return io.EOF
	}
	r.done = true
	copy(dest, r.p.row)
	return nil
}
