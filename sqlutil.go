package rwsplit

import (
	"context"

	"github.com/rwsplit/rwsplit/internal/cluster"
)

// SQL helpers shared by the capture, the monitor and the waits.

// querier is what these helpers need of a pool, a pinned connection or a tx.
type querier = cluster.Querier

// scanOne runs query and scans its single row into dest.
func scanOne(ctx context.Context, q querier, query string, dest any) error {
	return cluster.ScanRow(ctx, q, query, nil, dest)
}

// showRow runs a SHOW statement and returns its first row by column name
// (an empty row when it returns none, as SHOW REPLICA STATUS on a primary).
func showRow(ctx context.Context, q querier, query string) (cluster.Row, error) {
	return cluster.ShowRow(ctx, q, query)
}
