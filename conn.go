package rwsplit

import (
	"context"
	"database/sql"
	"time"
)

// Conn is one connection to the primary, pinned for the caller's use:
// session state (variables, temporary tables, locks) lives on it, so every
// call through it runs on the primary. Its calls go through the same
// pipeline as DB's, pinned to the connection: writes are recorded in the
// context's scope once complete, as through DB.
type Conn struct {
	conn   *sql.Conn
	server *Server
	db     *DB
}

// Conn returns a connection to the primary. Close it to return it to the pool.
func (db *DB) Conn(ctx context.Context) (*Conn, error) {
	if db.closed.Load() {
		return nil, ErrClosed
	}
	s, err := db.readerOnPrimary(ctx)
	if err != nil {
		return nil, err
	}
	c, err := s.db.Conn(ctx)
	if err != nil && ctx.Err() == nil && notSent(err) && db.holding() {
		// The primary did not answer: a connection to the one the monitor
		// finds, or sees answer.
		np, herr := db.hold(ctx, s, db.writeHold)
		if np == nil {
			return nil, herr
		}
		s = np
		c, err = s.db.Conn(ctx)
	}
	if err != nil {
		return nil, err
	}
	return &Conn{conn: c, server: s, db: db}, nil
}

func (c *Conn) call(ctx context.Context, query string, args []any) *call {
	return &call{ctx: ctx, query: query, args: args, cls: c.db.classify(query), run: pinnedRunner{c.conn}, pin: c.server}
}

// ExecContext runs a statement on the connection and records it as a write.
// A statement the server refuses as read-only (the primary changed) returns
// ErrBeginAgain when nothing of it ran, else a WriteError of Unknown
// outcome, as does a write cut off by a lost connection: take a new Conn.
func (c *Conn) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return c.db.execCall(&call{ctx: ctx, query: query, args: args, run: pinnedRunner{c.conn}, pin: c.server})
}

// QueryContext runs a query on the connection. A query that may write is
// recorded once complete (see DB.QueryContext); its failures are judged as
// ExecContext's.
func (c *Conn) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return c.db.queryCall(c.call(ctx, query, args))
}

// QueryRowContext runs a query for at most one row on the connection.
func (c *Conn) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return c.db.queryRowCall(c.call(ctx, query, args))
}

// PrepareContext prepares a statement on the connection. Its executions run
// on the connection, through the pipeline.
func (c *Conn) PrepareContext(ctx context.Context, query string) (*Stmt, error) {
	if c.db.closed.Load() {
		return nil, ErrClosed
	}
	st := newStmt(c.db, query, c)
	if _, err := st.on(ctx, c.server); err != nil {
		return nil, err
	}
	return st, nil
}

// BeginTx starts a transaction on the connection (on the primary, even when
// opts.ReadOnly is set).
func (c *Conn) BeginTx(ctx context.Context, opts *sql.TxOptions) (*Tx, error) {
	began := time.Now()
	tx, err := c.conn.BeginTx(ctx, opts)
	if err != nil {
		if ctx.Err() == nil && isConnError(err) {
			err = &beginAgainError{err: err}
		}
		return nil, err
	}
	c.db.stats.rwTx.Add(1)
	return &Tx{tx: tx, server: c.server, db: c.db, ctx: ctx, write: opts == nil || !opts.ReadOnly, began: began}, nil
}

// Close returns the connection to the primary's pool.
func (c *Conn) Close() error { return c.conn.Close() }
