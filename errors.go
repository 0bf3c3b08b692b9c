package rwsplit

import (
	"context"
	"database/sql"
	"database/sql/driver"
)

// errRow returns a *sql.Row whose Scan reports err. database/sql offers no
// way to build a Row with an error, so this asks a throwaway pool whose
// connector fails with err. It costs a little, and only on error paths.
func errRow(err error) *sql.Row {
	db := sql.OpenDB(errConnector{err})
	defer db.Close()
	return db.QueryRowContext(context.Background(), "rwsplit: no query")
}

type errConnector struct{ err error }

func (c errConnector) Connect(context.Context) (driver.Conn, error) { return nil, c.err }
func (c errConnector) Driver() driver.Driver                        { return errDriver(c) }

type errDriver struct{ err error }

func (d errDriver) Open(string) (driver.Conn, error) { return nil, d.err }
