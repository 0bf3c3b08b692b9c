package rwsplit

import (
	"context"
	"database/sql"
)

// Tx is a transaction on one server: every statement in it runs there. A
// transaction begun with sql.TxOptions{ReadOnly: true} runs on a replica
// (START TRANSACTION READ ONLY); any other runs on the primary.
type Tx struct {
	tx     *sql.Tx
	server *Server
	db     *DB
	ctx    context.Context // BeginTx's: its Session records the commit
	write  bool            // a read-write transaction on the primary
}

// BeginTx starts a transaction. With opts.ReadOnly it runs on a replica
// chosen under the context's consistency mode (the primary when there is no
// usable replica, or under Primary); otherwise on the primary.
func (db *DB) BeginTx(ctx context.Context, opts *sql.TxOptions) (*Tx, error) {
	if db.closed.Load() {
		return nil, ErrClosed
	}
	s := db.primaryServer()
	if opts != nil && opts.ReadOnly {
		var err error
		if s, _, err = db.planRead(ctx, false); err != nil {
			return nil, err
		}
	}
	if !s.primary {
		db.stats.roTx.Add(1)
	} else {
		db.stats.rwTx.Add(1)
	}
	t0 := s.begin()
	tx, err := s.db.BeginTx(ctx, opts)
	s.end(t0, err)
	if err != nil {
		return nil, err
	}
	return &Tx{tx: tx, server: s, db: db, ctx: ctx, write: s.primary && (opts == nil || !opts.ReadOnly)}, nil
}

// Server is the server the transaction runs on.
func (tx *Tx) Server() *Server { return tx.server }

// Tx returns the underlying *sql.Tx.
func (tx *Tx) Tx() *sql.Tx { return tx.tx }

// ExecContext runs a statement in the transaction.
func (tx *Tx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return tx.tx.ExecContext(ctx, query, args...)
}

// QueryContext runs a query in the transaction.
func (tx *Tx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return tx.tx.QueryContext(ctx, query, args...)
}

// QueryRowContext runs a query for at most one row in the transaction.
func (tx *Tx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return tx.tx.QueryRowContext(ctx, query, args...)
}

// PrepareContext prepares a statement for use in the transaction.
func (tx *Tx) PrepareContext(ctx context.Context, query string) (*sql.Stmt, error) {
	return tx.tx.PrepareContext(ctx, query)
}

// StmtContext returns stmt bound to the transaction, prepared on its server
// (unlike (*sql.Tx).StmtContext it reports a failed preparation at once).
func (tx *Tx) StmtContext(ctx context.Context, stmt *Stmt) (*sql.Stmt, error) {
	s, err := stmt.on(ctx, tx.server)
	if err != nil {
		return nil, err
	}
	return tx.tx.StmtContext(ctx, s), nil
}

// Commit commits the transaction. Committing a read-write transaction
// advances the causality token of BeginTx's context, as a write does.
func (tx *Tx) Commit() error {
	if err := tx.tx.Commit(); err != nil {
		return err
	}
	if tx.write {
		tx.db.afterWrite(tx.ctx, nil)
	}
	return nil
}

// Rollback aborts the transaction.
func (tx *Tx) Rollback() error { return tx.tx.Rollback() }

// Exec is ExecContext with context.Background.
func (tx *Tx) Exec(query string, args ...any) (sql.Result, error) {
	return tx.ExecContext(context.Background(), query, args...)
}

// Query is QueryContext with context.Background.
func (tx *Tx) Query(query string, args ...any) (*sql.Rows, error) {
	return tx.QueryContext(context.Background(), query, args...)
}

// QueryRow is QueryRowContext with context.Background.
func (tx *Tx) QueryRow(query string, args ...any) *sql.Row {
	return tx.QueryRowContext(context.Background(), query, args...)
}

// Prepare is PrepareContext with context.Background.
func (tx *Tx) Prepare(query string) (*sql.Stmt, error) {
	return tx.PrepareContext(context.Background(), query)
}

// Stmt is StmtContext with context.Background.
func (tx *Tx) Stmt(stmt *Stmt) (*sql.Stmt, error) { return tx.StmtContext(context.Background(), stmt) }
