package rwsplit

import (
	"context"
	"database/sql"
)

// Conn is one connection to the primary, pinned for the caller's use:
// session state (variables, temporary tables, locks) lives on it, so every
// call through it runs on the primary.
type Conn struct {
	conn *sql.Conn
	db   *DB
}

// Conn returns a connection to the primary. Close it to return it to the pool.
func (db *DB) Conn(ctx context.Context) (*Conn, error) {
	if db.closed.Load() {
		return nil, ErrClosed
	}
	c, err := db.primaryServer().db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	return &Conn{conn: c, db: db}, nil
}

// Conn returns the underlying *sql.Conn.
func (c *Conn) Conn() *sql.Conn { return c.conn }

// ExecContext runs a statement on the connection.
func (c *Conn) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	c.db.stats.writes.Add(1)
	res, err := c.conn.ExecContext(ctx, query, args...)
	if err == nil {
		c.db.afterWrite(ctx, c.conn)
	}
	return res, err
}

// QueryContext runs a query on the connection.
func (c *Conn) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	c.db.stats.primaryReads.Add(1)
	return c.conn.QueryContext(ctx, query, args...)
}

// QueryRowContext runs a query for at most one row on the connection.
func (c *Conn) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	c.db.stats.primaryReads.Add(1)
	return c.conn.QueryRowContext(ctx, query, args...)
}

// PrepareContext prepares a statement on the connection.
func (c *Conn) PrepareContext(ctx context.Context, query string) (*sql.Stmt, error) {
	return c.conn.PrepareContext(ctx, query)
}

// BeginTx starts a transaction on the connection (on the primary, even when
// opts.ReadOnly is set).
func (c *Conn) BeginTx(ctx context.Context, opts *sql.TxOptions) (*Tx, error) {
	tx, err := c.conn.BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	c.db.stats.rwTx.Add(1)
	return &Tx{tx: tx, server: c.db.primaryServer(), db: c.db, ctx: ctx, write: opts == nil || !opts.ReadOnly}, nil
}

// PingContext checks the connection.
func (c *Conn) PingContext(ctx context.Context) error { return c.conn.PingContext(ctx) }

// Raw runs f with the driver connection, as (*sql.Conn).Raw does.
func (c *Conn) Raw(f func(driverConn any) error) error { return c.conn.Raw(f) }

// Close returns the connection to the primary's pool.
func (c *Conn) Close() error { return c.conn.Close() }
