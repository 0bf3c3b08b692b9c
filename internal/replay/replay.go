// Package replay makes *sql.Row and *sql.Rows values from results already
// read, or from an error. database/sql (and sqlx) offer no way to build a Row
// or Rows from outside, so one is asked of a pool whose driver answers every
// query with the results (or error) carried by the query's context. It lets
// the router read a write's results itself (so that the write is complete,
// and recorded, before the caller sees it) and still return standard values.
// Nothing here touches the network.
package replay

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"reflect"
)

// Column is what a result set says of one column (from *sql.ColumnType).
type Column struct {
	Name             string
	DatabaseTypeName string
	ScanType         reflect.Type
	Length           int64
	HasLength        bool
	Precision, Scale int64
	HasPrecision     bool
	Nullable         bool
	HasNullable      bool
}

// Set is one buffered result set.
type Set struct {
	Cols []Column
	Rows [][]driver.Value
}

// payload is what one replayed query returns.
type payload struct {
	sets []Set
	err  error
}

type key struct{}

// Open returns a replay pool. Close it when done.
func Open() *sql.DB {
	db := sql.OpenDB(connector{})
	db.SetMaxIdleConns(64)
	return db
}

// Read reads every row of every result set of rows and closes it. It
// returns what it read and the first error.
func Read(rows *sql.Rows) ([]Set, error) {
	defer rows.Close()
	var sets []Set
	for {
		types, err := rows.ColumnTypes()
		if err != nil {
			return sets, err
		}
		set := Set{Cols: columns(types)}
		for rows.Next() {
			vals, err := scanRow(rows, len(types))
			if err != nil {
				return sets, err
			}
			set.Rows = append(set.Rows, vals)
		}
		if err := rows.Err(); err != nil {
			return sets, err
		}
		sets = append(sets, set)
		if !rows.NextResultSet() {
			if err := rows.Err(); err != nil {
				return sets, err
			}
			return sets, rows.Close()
		}
	}
}

// ReadFirst reads the column types and the first row (if any) of rows and
// closes it, as (*sql.Row).Scan does: an error while closing is returned.
func ReadFirst(rows *sql.Rows) ([]Set, error) {
	defer rows.Close()
	types, err := rows.ColumnTypes()
	if err != nil {
		return nil, err
	}
	set := Set{Cols: columns(types)}
	if rows.Next() {
		vals, err := scanRow(rows, len(types))
		if err != nil {
			return nil, err
		}
		set.Rows = [][]driver.Value{vals}
	} else if err := rows.Err(); err != nil {
		return nil, err
	}
	return []Set{set}, rows.Close()
}

// Query is the text of a replayed query; Context carries its results.
const Query = "-- rwsplit: replayed results"

// Context returns a context that makes a replay pool answer Query with sets,
// or with err.
func Context(sets []Set, err error) context.Context {
	return context.WithValue(context.Background(), key{}, &payload{sets: sets, err: err})
}

func columns(types []*sql.ColumnType) []Column {
	cols := make([]Column, len(types))
	for i, t := range types {
		c := Column{Name: t.Name(), DatabaseTypeName: t.DatabaseTypeName(), ScanType: t.ScanType()}
		c.Length, c.HasLength = t.Length()
		c.Precision, c.Scale, c.HasPrecision = t.DecimalSize()
		c.Nullable, c.HasNullable = t.Nullable()
		cols[i] = c
	}
	return cols
}

// scanRow scans the current row into driver values ([]byte copied).
func scanRow(rows *sql.Rows, n int) ([]driver.Value, error) {
	row := make([]any, n)
	ptrs := make([]any, n)
	for i := range row {
		ptrs[i] = &row[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		return nil, err
	}
	vals := make([]driver.Value, n)
	for i, v := range row {
		vals[i] = v
	}
	return vals, nil
}

// Rows returns *sql.Rows from db (made by Open) that yield sets.
func Rows(db *sql.DB, sets []Set) (*sql.Rows, error) {
	return db.QueryContext(Context(sets, nil), Query)
}

// Row returns a *sql.Row from db (made by Open) whose Scan sees the first
// row of sets (sql.ErrNoRows if none), or err.
func Row(db *sql.DB, sets []Set, err error) *sql.Row {
	return db.QueryRowContext(Context(sets, err), Query)
}

// RowOf returns a *sql.Row from db (made by Open) with the first row of rows,
// which it reads and closes.
func RowOf(db *sql.DB, rows *sql.Rows) *sql.Row {
	sets, err := ReadFirst(rows)
	return Row(db, sets, err)
}

// ErrRow returns a *sql.Row whose Scan reports err, from a throwaway pool.
func ErrRow(err error) *sql.Row {
	db := Open()
	defer db.Close()
	return Row(db, nil, err)
}

type connector struct{}

func (connector) Connect(context.Context) (driver.Conn, error) { return conn{}, nil }
func (connector) Driver() driver.Driver                        { return drv{} }

type drv struct{}

func (drv) Open(string) (driver.Conn, error) { return conn{}, nil }

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
	return NewRows(p.sets, nil), nil
}

// NewRows returns a driver.Rows that yields sets (one empty set if none);
// onClose, if not nil, runs once, at the first Close.
func NewRows(sets []Set, onClose func()) driver.Rows {
	if len(sets) == 0 {
		sets = []Set{{}}
	}
	return &rows{sets: sets, onClose: onClose}
}

type rows struct {
	sets    []Set
	set     int // current set
	next    int // next row in it
	onClose func()
}

func (r *rows) cur() *Set        { return &r.sets[r.set] }
func (r *rows) col(i int) Column { return r.cur().Cols[i] }

func (r *rows) Close() error {
	if f := r.onClose; f != nil {
		r.onClose = nil
		f()
	}
	return nil
}

func (r *rows) Columns() []string {
	cols := r.cur().Cols
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.Name
	}
	return names
}

func (r *rows) Next(dest []driver.Value) error {
	s := r.cur()
	if r.next >= len(s.Rows) {
		return io.EOF
	}
	copy(dest, s.Rows[r.next])
	r.next++
	return nil
}

func (r *rows) HasNextResultSet() bool { return r.set+1 < len(r.sets) }

func (r *rows) NextResultSet() error {
	if !r.HasNextResultSet() {
		return io.EOF
	}
	r.set++
	r.next = 0
	return nil
}

func (r *rows) ColumnTypeDatabaseTypeName(i int) string { return r.col(i).DatabaseTypeName }
func (r *rows) ColumnTypeLength(i int) (int64, bool)    { return r.col(i).Length, r.col(i).HasLength }
func (r *rows) ColumnTypeNullable(i int) (bool, bool)   { return r.col(i).Nullable, r.col(i).HasNullable }
func (r *rows) ColumnTypePrecisionScale(i int) (int64, int64, bool) {
	c := r.col(i)
	return c.Precision, c.Scale, c.HasPrecision
}

func (r *rows) ColumnTypeScanType(i int) reflect.Type {
	if t := r.col(i).ScanType; t != nil {
		return t
	}
	return reflect.TypeFor[any]()
}
