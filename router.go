package rwsplit

import (
	"context"
	"database/sql"

	"github.com/rwsplit/rwsplit/internal/replay"
)

// DB's call entry points: thin adapters that describe a call and hand it to
// the pipeline (pipeline.go). dbRunner runs statements on a server's pool.

type dbRunner struct{}

func (dbRunner) query(ctx context.Context, s *Server, q string, args []any) (*sql.Rows, error) {
	return s.db.QueryContext(ctx, q, args...)
}

func (dbRunner) queryRow(ctx context.Context, s *Server, q string, args []any) *sql.Row {
	return s.db.QueryRowContext(ctx, q, args...)
}

func (dbRunner) exec(ctx context.Context, s *Server, q string, args []any) (sql.Result, error) {
	return s.db.ExecContext(ctx, q, args...)
}

func (dbRunner) oneTrip() bool { return true }

// ExecContext runs a statement that returns no rows on the primary, with
// database/sql's own retry of a stale pooled connection. It records the write
// in the context's scope without a round trip: the write's position is read
// only when a waiting read (or Session.Token) needs it.
func (db *DB) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return db.execCall(&call{ctx: ctx, query: query, args: args, run: dbRunner{}})
}

// QueryContext runs a query on the server its statement and the context's
// consistency mode call for: a replica for a provably read-only statement,
// the primary for anything else. A wait for a replica to catch up rides in
// the same round trip as the query when the replica's DSN allows it
// (multiStatements and interpolateParams). A read that fails on a replica for
// want of a connection is retried once elsewhere.
//
// A query that may write (INSERT ... RETURNING, CALL, a stored function) is
// recorded once complete: when its rows are closed, on a pool that reads
// ahead (Open's; see PrefetchConnector); on another pool its results are read
// in full first and the rows returned replay them from memory.
func (db *DB) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return db.queryCall(&call{ctx: ctx, query: query, args: args, cls: db.classify(query), run: dbRunner{}})
}

// QueryRowContext is QueryContext for at most one row; errors are deferred to
// the Row's Scan, as with *sql.DB. The Row is the pool's own (no copy). A
// read that fails on a replica before its first row (connection refused or
// lost, server shutting down) is retried once elsewhere; for a failure
// reported in place of the first row this needs the pool's connector wrapped
// by PrefetchConnector, as Open does.
func (db *DB) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if db.closed.Load() {
		return replay.ErrRow(ErrClosed)
	}
	return db.queryRowCall(&call{ctx: ctx, query: query, args: args, cls: db.classify(query), run: dbRunner{}})
}

// Exec is ExecContext with context.Background.
func (db *DB) Exec(query string, args ...any) (sql.Result, error) {
	return db.ExecContext(context.Background(), query, args...)
}

// Query is QueryContext with context.Background.
func (db *DB) Query(query string, args ...any) (*sql.Rows, error) {
	return db.QueryContext(context.Background(), query, args...)
}

// QueryRow is QueryRowContext with context.Background.
func (db *DB) QueryRow(query string, args ...any) *sql.Row {
	return db.QueryRowContext(context.Background(), query, args...)
}

// Ping is PingContext with context.Background.
func (db *DB) Ping() error { return db.PingContext(context.Background()) }

// Begin is BeginTx with context.Background and default options.
func (db *DB) Begin() (*Tx, error) { return db.BeginTx(context.Background(), nil) }

// Prepare is PrepareContext with context.Background.
func (db *DB) Prepare(query string) (*Stmt, error) {
	return db.PrepareContext(context.Background(), query)
}
