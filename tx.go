package rwsplit

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// Tx is a transaction on one server: every statement in it runs there. A
// transaction begun with sql.TxOptions{ReadOnly: true} runs on a replica
// (START TRANSACTION READ ONLY); any other runs on the primary. Its
// statements go through the same pipeline as DB's, pinned to its server; the
// writes of a read-write transaction are recorded when it commits.
type Tx struct {
	tx     *sql.Tx
	server *Server
	db     *DB
	ctx    context.Context // BeginTx's: its scope records the commit
	write  bool            // a read-write transaction on the primary
	// began is when BEGIN was sent: the transaction's writes (a statement
	// that commits implicitly, as DDL does, included) come after it.
	began time.Time
	// release ends the context the transaction was begun with when it was
	// hedged (nil otherwise); called once it has ended.
	release context.CancelFunc
	// A read-only transaction on a replica (readOnly, opts) whose first
	// statement fails for want of a connection, before any statement
	// answered, is begun again elsewhere (restart).
	readOnly bool
	opts     *sql.TxOptions
	answered bool
}

// BeginTx starts a transaction. With opts.ReadOnly it runs on a replica
// chosen under the context's consistency mode (the primary when there is no
// usable replica, or under Primary); otherwise on the primary. A read-only
// transaction whose BEGIN fails on a replica for want of a connection is
// begun once more elsewhere, and one whose BEGIN the replica has not
// answered within the hedge bound is also begun on another server that
// serves the context's mode (see WithHedge): the first to begin is
// returned, the other rolled back.
func (db *DB) BeginTx(ctx context.Context, opts *sql.TxOptions) (*Tx, error) {
	readOnly := opts != nil && opts.ReadOnly
	tx, s, err := db.beginOn(ctx, readOnly, opts)
	if err != nil && readOnly && s != nil && !s.primary && ctx.Err() == nil && isConnError(err) {
		db.markSuspect(s, err)
		db.stats.retries.Add(1)
		tx, _, err = db.beginOn(withoutServer(ctx, s, err), readOnly, opts)
	}
	return tx, err
}

// beginOn begins a transaction on the primary, or on a replica planned for
// a read-only one. It returns the server tried.
func (db *DB) beginOn(ctx context.Context, readOnly bool, opts *sql.TxOptions) (*Tx, *Server, error) {
	if db.closed.Load() {
		return nil, nil, ErrClosed
	}
	var s *Server
	var fell *fallbackNote
	var err error
	if readOnly {
		s, _, fell, err = db.planReadNoted(ctx, false)
	} else {
		s, err = db.readerOnPrimary(ctx)
	}
	db.observeBegin(ctx, s, readOnly, err, fell)
	if err != nil {
		return nil, nil, err
	}
	if !s.primary {
		db.stats.roTx.Add(1)
	} else {
		db.stats.rwTx.Add(1)
	}
	if bound := db.hedge.bound(); readOnly && !s.primary && bound > 0 {
		tx, w, release, err := db.hedgedBegin(ctx, s, opts, bound)
		if err != nil {
			return nil, s, err
		}
		if w.primary {
			db.stats.roTx.Add(^uint64(0)) // counted where it runs
			db.stats.rwTx.Add(1)
		}
		return &Tx{tx: tx, server: w, db: db, ctx: ctx, release: release, readOnly: true, opts: opts}, w, nil
	}
	t0 := s.begin()
	tx, err := s.db.BeginTx(ctx, opts)
	d := s.end(t0, err)
	db.noteRun(s, d, err, false)
	if err != nil && s.primary && !readOnly && ctx.Err() == nil && notSent(err) && db.holding() {
		// The primary did not answer: BEGIN on the one the monitor finds,
		// or sees answer.
		np, herr := db.hold(ctx, s, db.writeHold)
		if np == nil {
			return nil, s, herr
		}
		s = np
		t0 = s.begin()
		tx, err = s.db.BeginTx(ctx, opts)
		s.end(t0, err)
	}
	if err != nil {
		if s.primary && !readOnly && ctx.Err() == nil && (isConnError(err) || isReadOnlyError(err)) {
			err = &beginAgainError{err: err}
		}
		return nil, s, err
	}
	return &Tx{tx: tx, server: s, db: db, ctx: ctx, write: s.primary && !readOnly, began: t0, readOnly: readOnly, opts: opts}, s, nil
}

// restartable reports whether a statement of tx that failed with err under
// ctx may run again in a new transaction on another server: a read-only
// transaction on a replica, no statement of which has answered yet (so no
// snapshot was seen), failed for want of a connection while ctx is live.
func (tx *Tx) restartable(ctx context.Context, err error) bool {
	return err != nil && tx.readOnly && !tx.answered && !tx.server.primary &&
		ctx.Err() == nil && tx.ctx.Err() == nil && isConnError(err)
}

// restart begins tx again on another server than the one that failed with
// err, in place; the old transaction is rolled back (its server is gone).
func (tx *Tx) restart(err error) error {
	failed := tx.server
	tx.db.markSuspect(failed, err)
	tx.db.stats.retries.Add(1)
	n, _, berr := tx.db.beginOn(withoutServer(tx.ctx, failed, err), true, tx.opts)
	if berr != nil {
		return berr
	}
	_ = tx.tx.Rollback()
	tx.end()
	tx.tx, tx.server, tx.release = n.tx, n.server, n.release
	return nil
}

func (tx *Tx) call(ctx context.Context, query string, args []any, classify bool) *call {
	c := &call{ctx: ctx, query: query, args: args, run: pinnedRunner{tx.tx}, pin: tx.server, inTx: true}
	if classify {
		c.cls = tx.db.classify(query)
	}
	return c
}

// ExecContext runs a statement in the transaction. In a transaction on the
// primary, a statement refused as read-only, or cut off by a lost
// connection, returns ErrBeginAgain (see RunTx).
func (tx *Tx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	tx.answered = true // it may set session state: no restart after it
	return tx.db.execCall(tx.call(ctx, query, args, false))
}

// QueryContext runs a query in the transaction. In a read-only transaction
// on a replica, a first query that fails for want of a connection (the
// replica went away after BEGIN) runs in a new transaction begun on another
// server, as a read-only BEGIN would have.
func (tx *Tx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	rows, err := tx.db.queryCall(tx.call(ctx, query, args, true))
	if tx.restartable(ctx, err) && tx.restart(err) == nil {
		rows, err = tx.db.queryCall(tx.call(ctx, query, args, true))
	}
	if err == nil {
		tx.answered = true
	}
	return rows, err
}

// QueryRowContext runs a query for at most one row in the transaction (with
// QueryContext's restart of a read-only transaction whose replica went away).
func (tx *Tx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	row := tx.db.queryRowCall(tx.call(ctx, query, args, true))
	if err := row.Err(); tx.restartable(ctx, err) && tx.restart(err) == nil {
		row = tx.db.queryRowCall(tx.call(ctx, query, args, true))
	}
	if row.Err() == nil {
		tx.answered = true
	}
	return row
}

// PrepareContext prepares a statement for use in the transaction. Its
// executions run on the transaction's *sql.Tx directly: recorded by Commit as
// every statement of the transaction, but not counted in Stats.
func (tx *Tx) PrepareContext(ctx context.Context, query string) (*sql.Stmt, error) {
	tx.answered = true // bound to this *sql.Tx: no restart after it
	return tx.tx.PrepareContext(ctx, query)
}

// StmtContext returns stmt bound to the transaction: its preparation on the
// transaction's server when it has one, else prepared on the transaction's
// own connection (one round trip; it never takes a second connection from
// the pool, so transactions cannot starve each other under SetMaxOpenConns).
// Unlike (*sql.Tx).StmtContext it reports a failed preparation at once.
func (tx *Tx) StmtContext(ctx context.Context, stmt *Stmt) (*sql.Stmt, error) {
	tx.answered = true // bound to this *sql.Tx: no restart after it
	ps, err := stmt.preparedOn(tx.server)
	switch {
	case err != nil:
		return nil, err
	case ps != nil:
		return tx.tx.StmtContext(ctx, ps), nil
	}
	return tx.tx.PrepareContext(ctx, stmt.query)
}

// Commit commits the transaction. Committing a read-write transaction
// records its writes in the scope of BeginTx's context, as a write does
// (also when Commit reports an error other than sql.ErrTxDone: the commit
// may have been applied before the connection was lost). A read-only
// transaction whose server went away before COMMIT commits without error:
// it had nothing to commit, and its reads stand. A read-write transaction
// whose COMMIT the primary refused as read-only, or that never reached it,
// returns ErrBeginAgain (nothing committed); one whose connection was lost
// once COMMIT was sent returns a WriteError of unknown outcome (not NotRun).
func (tx *Tx) Commit() error {
	err := tx.tx.Commit()
	if tx.write && !errors.Is(err, sql.ErrTxDone) {
		tx.db.recordWrite(tx.ctx, tx.began)
	}
	if tx.write && err != nil && !errors.Is(err, sql.ErrTxDone) {
		switch {
		case isReadOnlyError(err) || notSent(err):
			err = &beginAgainError{err: err}
		case isConnError(err):
			err = &WriteError{Server: tx.server, Err: err}
		}
	}
	if !tx.write && err != nil && isConnError(err) {
		// A read-only transaction has nothing to commit: its reads stand
		// when its server goes away before COMMIT.
		err = nil
	}
	tx.end()
	return err
}

// Rollback aborts the transaction.
func (tx *Tx) Rollback() error {
	err := tx.tx.Rollback()
	tx.end()
	return err
}

// end releases the context of a hedged BEGIN once the transaction ended.
func (tx *Tx) end() {
	if tx.release != nil {
		tx.release()
	}
}

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
