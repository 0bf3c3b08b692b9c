package rwsplit

import (
	"context"
	"database/sql"
	"fmt"
)

// SQL helpers shared by the capture, the monitor and the waits.

// querier is what these helpers need of a pool, a pinned connection or a tx.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// scanOne runs query and scans its single row into dest.
func scanOne(ctx context.Context, q querier, query string, dest any) error {
	rows, err := q.QueryContext(ctx, query)
	if err != nil {
		return err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return err
		}
		return fmt.Errorf("rwsplit: %s: no row", query)
	}
	if err := rows.Scan(dest); err != nil {
		return err
	}
	return rows.Close()
}

// statusRow is one row of a SHOW statement, by column name.
type statusRow map[string]string

// get returns the first of the named columns the row has (MySQL's new
// names and MariaDB's old ones), or "".
func (r statusRow) get(names ...string) string {
	for _, n := range names {
		if v, ok := r[n]; ok {
			return v
		}
	}
	return ""
}

// showRow runs a SHOW statement and returns its first row by column name
// (an empty row when it returns none, as SHOW REPLICA STATUS on a primary).
func showRow(ctx context.Context, q querier, query string) (statusRow, error) {
	rows, err := q.QueryContext(ctx, query)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	st := make(statusRow, len(cols))
	if !rows.Next() {
		return st, rows.Err()
	}
	vals := make([]sql.NullString, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		return nil, err
	}
	for i, c := range cols {
		st[c] = vals[i].String
	}
	return st, rows.Close()
}
