// Package rwsplitx gives sqlx users rwsplit's routing with sqlx's API: Get,
// Select, NamedExec, NamedQuery, Queryx, MustExec, Rebind, BindNamed and
// transactions, over the same pools as the *rwsplit.DB it wraps. An sqlx user
// adopts it by changing one constructor: sqlx.Open becomes rwsplitx.Open.
// sqlx's package functions (sqlx.Get, sqlx.Select, sqlx.NamedExec, sqlx.In
// with db.Rebind) accept a *rwsplitx.DB too.
package rwsplitx

import (
	"context"
	"database/sql"
	"strings"

	"github.com/jmoiron/sqlx"
	"github.com/jmoiron/sqlx/reflectx"

	"github.com/rwsplit/rwsplit"
	"github.com/rwsplit/rwsplit/internal/replay"
)

// DB is an *rwsplit.DB with sqlx's methods. Its embedded methods (Exec,
// Query, BeginTx, Stats ...) are rwsplit's, so every call is routed.
type DB struct {
	*rwsplit.DB
	// Mapper maps struct fields to columns, as sqlx.DB's Mapper does
	// (default: the "db" tag, lower-cased field names).
	Mapper *reflectx.Mapper

	driverName string
}

// Open is rwsplit.Open returning a *rwsplitx.DB.
func Open(driverName, primaryDSN string, replicaDSNs []string, opts ...rwsplit.Option) (*DB, error) {
	db, err := rwsplit.Open(driverName, primaryDSN, replicaDSNs, opts...)
	if err != nil {
		return nil, err
	}
	return NewDB(db, driverName), nil
}

// NewDB wraps an *rwsplit.DB; driverName sets the bind variable style.
func NewDB(db *rwsplit.DB, driverName string) *DB {
	return &DB{
		DB:         db,
		Mapper:     reflectx.NewMapperFunc("db", strings.ToLower),
		driverName: driverName,
	}
}

// DriverName is the driver name given to Open or NewDB.
func (db *DB) DriverName() string { return db.driverName }

// Rebind turns "?" bind variables into the driver's style.
func (db *DB) Rebind(query string) string { return sqlx.Rebind(sqlx.BindType(db.driverName), query) }

// BindNamed turns a query with :name parameters into one with bind
// variables and its arguments, from a struct or map.
func (db *DB) BindNamed(query string, arg any) (string, []any, error) {
	return sqlx.BindNamed(sqlx.BindType(db.driverName), query, arg)
}

// QueryxContext runs a routed query and returns sqlx rows.
func (db *DB) QueryxContext(ctx context.Context, query string, args ...any) (*sqlx.Rows, error) {
	rows, err := db.DB.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return &sqlx.Rows{Rows: rows, Mapper: db.Mapper}, nil
}

// QueryRowxContext runs a routed query for at most one row, through the same
// pipeline as (*rwsplit.DB).QueryContext (so it waits, retries and records as
// every call does). sqlx offers no way to build an *sqlx.Row from outside:
// the row is read, then handed to sqlx through an in-memory pool made for the
// call (a few allocations and a short-lived goroutine, no network).
func (db *DB) QueryRowxContext(ctx context.Context, query string, args ...any) *sqlx.Row {
	rows, err := db.DB.QueryContext(ctx, query, args...)
	return rowx(rows, err, db.driverName, db.Mapper)
}

// rowx hands the first row of rows (or err) to sqlx as an *sqlx.Row, through
// an in-memory pool made for the call.
func rowx(rows *sql.Rows, err error, driverName string, m *reflectx.Mapper) *sqlx.Row {
	var sets []replay.Set
	if err == nil {
		sets, err = replay.ReadFirst(rows)
	}
	pool := sqlx.NewDb(replay.Open(), driverName)
	defer pool.Close() // the row, already made, reads from memory
	pool.Mapper = m
	return pool.QueryRowxContext(replay.Context(sets, err), replay.Query)
}

// GetContext scans one row into dest (a struct or scalar), from a routed query.
func (db *DB) GetContext(ctx context.Context, dest any, query string, args ...any) error {
	return sqlx.GetContext(ctx, db, dest, query, args...)
}

// SelectContext scans every row into dest (a slice), from a routed query.
func (db *DB) SelectContext(ctx context.Context, dest any, query string, args ...any) error {
	return sqlx.SelectContext(ctx, db, dest, query, args...)
}

// NamedExecContext runs a statement with :name parameters on the primary.
func (db *DB) NamedExecContext(ctx context.Context, query string, arg any) (sql.Result, error) {
	return sqlx.NamedExecContext(ctx, db, query, arg)
}

// NamedQueryContext runs a routed query with :name parameters.
func (db *DB) NamedQueryContext(ctx context.Context, query string, arg any) (*sqlx.Rows, error) {
	return sqlx.NamedQueryContext(ctx, db, query, arg)
}

// MustExecContext is ExecContext that panics on error, as sqlx's does. Use it
// only where a failure is a programming error.
func (db *DB) MustExecContext(ctx context.Context, query string, args ...any) sql.Result {
	return sqlx.MustExecContext(ctx, db, query, args...)
}

// BeginTxx starts a routed transaction (read-only ones on a replica) with
// sqlx's methods. Its statements run on the transaction's server; its
// Commit is rwsplit's, which records the transaction's writes.
func (db *DB) BeginTxx(ctx context.Context, opts *sql.TxOptions) (*Tx, error) {
	tx, err := db.DB.BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	return &Tx{Mapper: db.Mapper, rtx: tx, driverName: db.driverName}, nil
}

// Tx is an sqlx transaction on the server rwsplit chose for it. It wraps
// rwsplit's Tx, and every call (Query, QueryRow, Queryx, QueryRowx, Get,
// Select, Exec, NamedExec, NamedQuery, MustExec, Preparex, with and without
// a context; Commit, Rollback) runs through it: a read-only transaction
// whose replica went away after BEGIN, before any statement answered, is
// begun again on another server, as a read-only BEGIN would have been, and
// its later statements follow it there. It hands out no *sql.Tx, so a
// commit cannot bypass rwsplit's recording. A Tx satisfies sqlx.ExtContext,
// so sqlx's package functions accept it.
type Tx struct {
	// Mapper maps struct fields to columns: the DB's Mapper at BeginTxx.
	Mapper *reflectx.Mapper

	rtx        *rwsplit.Tx
	driverName string
}

var _ sqlx.ExtContext = (*Tx)(nil)

// QueryContext runs a query in the transaction, through rwsplit's Tx.
func (tx *Tx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return tx.rtx.QueryContext(ctx, query, args...)
}

// Query is QueryContext with context.Background.
func (tx *Tx) Query(query string, args ...any) (*sql.Rows, error) {
	return tx.QueryContext(context.Background(), query, args...)
}

// QueryRowContext runs a query for at most one row, through rwsplit's Tx.
func (tx *Tx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return tx.rtx.QueryRowContext(ctx, query, args...)
}

// QueryRow is QueryRowContext with context.Background.
func (tx *Tx) QueryRow(query string, args ...any) *sql.Row {
	return tx.QueryRowContext(context.Background(), query, args...)
}

// QueryxContext runs a query and returns sqlx rows, through rwsplit's Tx.
func (tx *Tx) QueryxContext(ctx context.Context, query string, args ...any) (*sqlx.Rows, error) {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return &sqlx.Rows{Rows: rows, Mapper: tx.Mapper}, nil
}

// Queryx is QueryxContext with context.Background.
func (tx *Tx) Queryx(query string, args ...any) (*sqlx.Rows, error) {
	return tx.QueryxContext(context.Background(), query, args...)
}

// QueryRowxContext runs a query for at most one row, through rwsplit's Tx
// (the row is read, then handed to sqlx, as DB.QueryRowxContext does).
func (tx *Tx) QueryRowxContext(ctx context.Context, query string, args ...any) *sqlx.Row {
	rows, err := tx.QueryContext(ctx, query, args...)
	return rowx(rows, err, tx.driverName, tx.Mapper)
}

// QueryRowx is QueryRowxContext with context.Background.
func (tx *Tx) QueryRowx(query string, args ...any) *sqlx.Row {
	return tx.QueryRowxContext(context.Background(), query, args...)
}

// GetContext scans one row into dest (a struct or scalar).
func (tx *Tx) GetContext(ctx context.Context, dest any, query string, args ...any) error {
	return sqlx.GetContext(ctx, tx, dest, query, args...)
}

// Get is GetContext with context.Background.
func (tx *Tx) Get(dest any, query string, args ...any) error {
	return tx.GetContext(context.Background(), dest, query, args...)
}

// SelectContext scans every row into dest (a slice).
func (tx *Tx) SelectContext(ctx context.Context, dest any, query string, args ...any) error {
	return sqlx.SelectContext(ctx, tx, dest, query, args...)
}

// Select is SelectContext with context.Background.
func (tx *Tx) Select(dest any, query string, args ...any) error {
	return tx.SelectContext(context.Background(), dest, query, args...)
}

// ExecContext runs a statement in the transaction, through rwsplit's Tx
// (after it, the transaction never moves to another server).
func (tx *Tx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return tx.rtx.ExecContext(ctx, query, args...)
}

// Exec is ExecContext with context.Background.
func (tx *Tx) Exec(query string, args ...any) (sql.Result, error) {
	return tx.ExecContext(context.Background(), query, args...)
}

// NamedExecContext runs a statement with :name parameters.
func (tx *Tx) NamedExecContext(ctx context.Context, query string, arg any) (sql.Result, error) {
	return sqlx.NamedExecContext(ctx, tx, query, arg)
}

// NamedExec is NamedExecContext with context.Background.
func (tx *Tx) NamedExec(query string, arg any) (sql.Result, error) {
	return tx.NamedExecContext(context.Background(), query, arg)
}

// MustExecContext is ExecContext that panics on error, as sqlx's does.
func (tx *Tx) MustExecContext(ctx context.Context, query string, args ...any) sql.Result {
	return sqlx.MustExecContext(ctx, tx, query, args...)
}

// MustExec is MustExecContext with context.Background.
func (tx *Tx) MustExec(query string, args ...any) sql.Result {
	return tx.MustExecContext(context.Background(), query, args...)
}

// NamedQueryContext runs a query with :name parameters in the transaction.
func (tx *Tx) NamedQueryContext(ctx context.Context, query string, arg any) (*sqlx.Rows, error) {
	return sqlx.NamedQueryContext(ctx, tx, query, arg)
}

// NamedQuery is NamedQueryContext with context.Background.
func (tx *Tx) NamedQuery(query string, arg any) (*sqlx.Rows, error) {
	return tx.NamedQueryContext(context.Background(), query, arg)
}

// PreparexContext prepares a statement for use in the transaction, through
// rwsplit's Tx (the statement is bound to the transaction's server: after
// it, the transaction never moves to another server).
func (tx *Tx) PreparexContext(ctx context.Context, query string) (*sqlx.Stmt, error) {
	st, err := tx.rtx.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	return &sqlx.Stmt{Stmt: st, Mapper: tx.Mapper}, nil
}

// Preparex is PreparexContext with context.Background.
func (tx *Tx) Preparex(query string) (*sqlx.Stmt, error) {
	return tx.PreparexContext(context.Background(), query)
}

// DriverName is the driver name of the DB that began the transaction.
func (tx *Tx) DriverName() string { return tx.driverName }

// Rebind turns "?" bind variables into the driver's style.
func (tx *Tx) Rebind(query string) string { return sqlx.Rebind(sqlx.BindType(tx.driverName), query) }

// BindNamed turns a query with :name parameters into one with bind
// variables and its arguments, from a struct or map.
func (tx *Tx) BindNamed(query string, arg any) (string, []any, error) {
	return sqlx.BindNamed(sqlx.BindType(tx.driverName), query, arg)
}

// Commit commits the transaction through rwsplit, recording the writes of a
// read-write transaction in the scope of BeginTxx's context.
func (tx *Tx) Commit() error { return tx.rtx.Commit() }

// Rollback aborts the transaction.
func (tx *Tx) Rollback() error { return tx.rtx.Rollback() }

// Queryx is QueryxContext with context.Background.
func (db *DB) Queryx(query string, args ...any) (*sqlx.Rows, error) {
	return db.QueryxContext(context.Background(), query, args...)
}

// QueryRowx is QueryRowxContext with context.Background.
func (db *DB) QueryRowx(query string, args ...any) *sqlx.Row {
	return db.QueryRowxContext(context.Background(), query, args...)
}

// Get is GetContext with context.Background.
func (db *DB) Get(dest any, query string, args ...any) error {
	return db.GetContext(context.Background(), dest, query, args...)
}

// Select is SelectContext with context.Background.
func (db *DB) Select(dest any, query string, args ...any) error {
	return db.SelectContext(context.Background(), dest, query, args...)
}

// NamedExec is NamedExecContext with context.Background.
func (db *DB) NamedExec(query string, arg any) (sql.Result, error) {
	return db.NamedExecContext(context.Background(), query, arg)
}

// NamedQuery is NamedQueryContext with context.Background.
func (db *DB) NamedQuery(query string, arg any) (*sqlx.Rows, error) {
	return db.NamedQueryContext(context.Background(), query, arg)
}

// MustExec is MustExecContext with context.Background.
func (db *DB) MustExec(query string, args ...any) sql.Result {
	return db.MustExecContext(context.Background(), query, args...)
}

// Beginx is BeginTxx with context.Background and default options.
func (db *DB) Beginx() (*Tx, error) { return db.BeginTxx(context.Background(), nil) }
