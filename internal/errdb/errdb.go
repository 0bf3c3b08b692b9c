// Package errdb makes *sql.Row values that carry an error. database/sql (and
// sqlx) offer no way to build a Row with an error from outside, so a Row is
// asked of a throwaway pool whose every connection attempt fails with that
// error. It costs an allocation or two, and only on error paths.
package errdb

import (
	"context"
	"database/sql"
	"database/sql/driver"
)

// Open returns a pool whose connections all fail with err. Close it after use.
func Open(err error) *sql.DB { return sql.OpenDB(connector{err}) }

// Row returns a *sql.Row whose Scan reports err.
func Row(err error) *sql.Row {
	db := Open(err)
	defer db.Close()
	return db.QueryRowContext(context.Background(), "-- rwsplit: no query")
}

type connector struct{ err error }

func (c connector) Connect(context.Context) (driver.Conn, error) { return nil, c.err }
func (c connector) Driver() driver.Driver                        { return drv(c) }

type drv struct{ err error }

func (d drv) Open(string) (driver.Conn, error) { return nil, d.err }
