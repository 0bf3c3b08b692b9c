package rwsplit_test

import (
	"context"
	"database/sql"
	"errors"

	"github.com/rwsplit/rwsplit"
)

// chaosConnectorSurfaces are the ways into db through a plain *sql.DB over
// its Connector (sql.OpenDB(db.Connector())): the *sql.DB's QueryRow, Exec,
// prepared statements, *sql.Conn, and read-only and read-write
// transactions. close closes that *sql.DB and its statements.
func chaosConnectorSurfaces(ctx context.Context, db *rwsplit.DB) (readers []chaosReader, writers []chaosWriter, close func() error, err error) {
	sdb := sql.OpenDB(db.Connector())
	readStmt, err := sdb.PrepareContext(ctx, chaosReadSQL)
	if err != nil {
		return nil, nil, nil, errors.Join(err, sdb.Close())
	}
	writeStmt, err := sdb.PrepareContext(ctx, chaosWriteSQL)
	if err != nil {
		return nil, nil, nil, errors.Join(err, readStmt.Close(), sdb.Close())
	}
	scanRow := func(row *sql.Row) (int64, int, error) {
		var r chaosRow
		err := row.Scan(&r.V, &r.Sid)
		return r.V, r.Sid, err
	}
	inTx := func(ctx context.Context, opts *sql.TxOptions, k int64) (int64, int, error) {
		tx, err := sdb.BeginTx(ctx, opts)
		if err != nil {
			return 0, 0, err
		}
		v, sid, err := scanRow(tx.QueryRowContext(ctx, chaosReadSQL, k))
		if err != nil {
			_ = tx.Rollback()
			return 0, 0, err
		}
		return v, sid, tx.Commit()
	}
	readers = []chaosReader{
		{"Connector.QueryRow", func(ctx context.Context, k int64) (int64, int, error) {
			return scanRow(sdb.QueryRowContext(ctx, chaosReadSQL, k))
		}},
		{"Connector.Stmt.QueryRow", func(ctx context.Context, k int64) (int64, int, error) {
			return scanRow(readStmt.QueryRowContext(ctx, k))
		}},
		{"Connector.Conn.QueryRow", func(ctx context.Context, k int64) (int64, int, error) {
			conn, err := sdb.Conn(ctx)
			if err != nil {
				return 0, 0, err
			}
			defer conn.Close()
			return scanRow(conn.QueryRowContext(ctx, chaosReadSQL, k))
		}},
		{"Connector.Tx.ReadOnly", func(ctx context.Context, k int64) (int64, int, error) {
			return inTx(ctx, &sql.TxOptions{ReadOnly: true}, k)
		}},
		{"Connector.Tx.ReadWrite", func(ctx context.Context, k int64) (int64, int, error) {
			return inTx(ctx, nil, k)
		}},
	}
	writers = []chaosWriter{
		{"Connector.Exec", func(ctx context.Context, k, v int64) (int, int, error) {
			_, err := sdb.ExecContext(ctx, chaosWriteSQL, v, v, k)
			return 0, 0, err
		}},
		{"Connector.Stmt.Exec", func(ctx context.Context, k, v int64) (int, int, error) {
			_, err := writeStmt.ExecContext(ctx, v, v, k)
			return 0, 0, err
		}},
		{"Connector.Tx.Commit", func(ctx context.Context, k, v int64) (int, int, error) {
			// database/sql has no RunTx: the loop an ORM's helper
			// over the Connector is given (docs/failover.md).
			var sid int
			begun, err := chaosBeginAgain(ctx, func() error {
				tx, err := sdb.BeginTx(ctx, nil)
				if err != nil {
					return err
				}
				if _, err := tx.ExecContext(ctx, chaosWriteSQL, v, v, k); err != nil {
					_ = tx.Rollback()
					return err
				}
				if err := tx.QueryRowContext(ctx, "SELECT @@server_id").Scan(&sid); err != nil {
					_ = tx.Rollback()
					return err
				}
				return tx.Commit()
			})
			return sid, begun, err
		}},
	}
	close = func() error { return errors.Join(readStmt.Close(), writeStmt.Close(), sdb.Close()) }
	return readers, writers, close, nil
}
