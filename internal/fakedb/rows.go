package fakedb

import (
	"database/sql/driver"

	"github.com/rwsplit/rwsplit/internal/replay"
)

// Database type names of the columns.
const (
	typeBigint  = "BIGINT"
	typeVarchar = "VARCHAR"
)

// resultSet is one materialised result set.
type resultSet struct {
	cols  []string
	types []string
	rows  [][]driver.Value
}

// intSet is a result set of one BIGINT column.
func intSet(col string, vals ...driver.Value) *resultSet {
	rs := &resultSet{cols: []string{col}, types: []string{typeBigint}}
	for _, v := range vals {
		rs.rows = append(rs.rows, []driver.Value{v})
	}
	return rs
}

// stringSet is a result set of VARCHAR columns and the given rows.
func stringSet(cols []string, rows ...[]string) *resultSet {
	rs := &resultSet{cols: cols, types: make([]string, len(cols))}
	for i := range rs.types {
		rs.types[i] = typeVarchar
	}
	for _, r := range rows {
		row := make([]driver.Value, len(r))
		for i, v := range r {
			row[i] = v
		}
		rs.rows = append(rs.rows, row)
	}
	return rs
}

// kvSet is a result set of (k, v) rows.
func kvSet(rows ...[2]int64) *resultSet {
	rs := &resultSet{cols: []string{"k", "v"}, types: []string{typeBigint, typeBigint}}
	for _, r := range rows {
		rs.rows = append(rs.rows, []driver.Value{r[0], r[1]})
	}
	return rs
}

// newRows is a driver.Rows over materialised result sets (internal/replay's);
// onClose, if not nil, runs at its first Close.
func newRows(sets []*resultSet, onClose func()) driver.Rows {
	out := make([]replay.Set, len(sets))
	for i, rs := range sets {
		cols := make([]replay.Column, len(rs.cols))
		for j, name := range rs.cols {
			cols[j] = replay.Column{Name: name, DatabaseTypeName: rs.types[j]}
		}
		out[i] = replay.Set{Cols: cols, Rows: rs.rows}
	}
	return replay.NewRows(out, onClose)
}

// result is a driver.Result.
type result struct {
	lastID, affected int64
}

func (r result) LastInsertId() (int64, error) { return r.lastID, nil }
func (r result) RowsAffected() (int64, error) { return r.affected, nil }

// nullableSet is a result set of VARCHAR columns and one row whose values
// are strings or nil (NULL).
func nullableSet(cols []string, row []any) *resultSet {
	rs := stringSet(cols)
	vals := make([]driver.Value, len(row))
	for i, v := range row {
		vals[i] = v
	}
	rs.rows = append(rs.rows, vals)
	return rs
}

// valuesSet is a result set of the given columns and, when row is not
// empty, one row: int64 values make BIGINT columns, the others (strings,
// nil for NULL) VARCHAR ones.
func valuesSet(cols []string, row ...any) *resultSet {
	rs := stringSet(cols)
	if len(row) == 0 {
		return rs
	}
	vals := make([]driver.Value, len(row))
	for i, v := range row {
		if _, ok := v.(int64); ok {
			rs.types[i] = typeBigint
		}
		vals[i] = v
	}
	rs.rows = append(rs.rows, vals)
	return rs
}
