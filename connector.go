package rwsplit

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"reflect"
	"sync"
)

// Connector returns a driver.Connector whose connections are virtual: open a
// real *sql.DB over it with sql.OpenDB(db.Connector()) and hand that to code
// that needs a *sql.DB or its interfaces (ORMs, query builders, sqlc). Every
// statement of that *sql.DB goes through db's call pipeline, by DB, Conn, Tx
// and Stmt, and honours the consistency mode, the Session and the token its
// context carries, as a call on db does; Stats counts it.
//
// A virtual connection holds no server connection of its own. Each statement
// borrows one from the pool of the server it is routed to (a replica for a
// provably read-only statement, the primary for anything else) and gives it
// back when it completes, or when its Rows are closed. Opening one costs no
// round trip; one in database/sql's idle pool holds nothing.
//
// Pinning. A virtual connection is pinned to one connection to the primary
// (a Conn of db) by:
//   - a statement that may leave state on its connection (SET, USE, BEGIN or
//     COMMIT as text, LOCK TABLES, GET_LOCK, CREATE TEMPORARY TABLE and
//     other DDL, PREPARE, CALL, user variables, SQL_CALC_FOUND_ROWS, a
//     function that may be a stored function ...: when in doubt, pinned).
//     Every later statement and transaction of the virtual connection, reads
//     included, then runs on that connection, until database/sql takes the
//     virtual connection back into its pool (at the end of the statement for
//     a call on the *sql.DB, at the end of a transaction begun on the
//     *sql.DB, at (*sql.Conn).Close). The server connection is then closed
//     rather than
//     returned to db's pool, so that no state reaches another caller: the
//     cost is one new server connection later;
//   - a read-write transaction, which runs on the primary connection it pins
//     until it ends, when the connection goes back to db's pool (or stays
//     pinned, as above, if a statement in the transaction left state).
//
// A read-only transaction (sql.TxOptions{ReadOnly: true}) runs on a replica
// chosen under its context's mode, as DB.BeginTx's, unless the virtual
// connection is pinned: then on the pinned primary connection.
//
// Prepared statements are prepared lazily: on a server's pool the first time
// an execution goes there (one preparation per server connection, shared by
// every virtual connection of this Connector that prepares the same text), on
// the pinned connection or in the transaction otherwise. Preparing costs no
// round trip, so an error in the statement shows at its first execution, not
// at Prepare.
//
// Limits:
//   - Result.LastInsertId and RowsAffected are those of the statement
//     itself, as the server reported them. A later SELECT LAST_INSERT_ID(),
//     ROW_COUNT(), FOUND_ROWS() after a statement other than
//     SQL_CALC_FOUND_ROWS, or SHOW WARNINGS runs on whichever primary
//     connection it borrows, so it reads that connection's state, not the
//     virtual connection's previous statement's, unless the virtual
//     connection is pinned.
//   - A write and the read that follows it on the same *sql.Conn may run on
//     different servers: the read sees the write only under a consistency
//     mode that waits for it (or Primary), as on db.
//   - State left by a statement in a read-only transaction stays on the
//     replica connection, which returns to the replica's pool when the
//     transaction ends, as with database/sql. State left by a trigger, or
//     by a stored function called from a plain INSERT, REPLACE, UPDATE or
//     DELETE, does not pin.
//   - (*sql.Conn).Raw gives the virtual connection, an unexported type, not
//     a driver connection: use db.Conn for that.
//   - Named arguments are passed on as sql.Named values: go-sql-driver/mysql
//     rejects them. Every argument reaches the server pools' driver
//     unchanged and is converted there (uint64, driver.Valuer ...), not by
//     database/sql's default converter.
//   - Closing the *sql.DB does not close db, nor the other way round: close
//     both, the *sql.DB first. After db.Close every call returns ErrClosed.
//   - Ping checks the primary and every replica, as DB.PingContext.
//   - The *sql.DB's pool settings bound virtual connections (how many calls
//     run at once); db's (DB.SetMaxOpenConns ...) bound server connections.
//
// Each call returns a new Connector; its prepared statements are shared by
// the virtual connections of that Connector only. The overhead per call is
// database/sql's own (one more layer of it), a look-up of the statement's
// classification (cached by text, see DB.QueryContext) and a copy of each
// row's values: about a microsecond on the in-memory driver.
func (db *DB) Connector() driver.Connector {
	return &connector{db: db, stmts: map[string]*sharedStmt{}}
}

// connector opens virtual connections over db.
type connector struct {
	db *DB

	mu    sync.Mutex
	stmts map[string]*sharedStmt // by query text
}

// sharedStmt is a Stmt of db shared by the virtual statements of one text.
type sharedStmt struct {
	st   *Stmt
	refs int
}

// Connect returns a new virtual connection, or ErrClosed after db.Close. It
// costs no round trip.
func (c *connector) Connect(context.Context) (driver.Conn, error) {
	if c.db.closed.Load() {
		return nil, ErrClosed
	}
	return &vconn{c: c, db: c.db}, nil
}

// Driver returns a driver whose Open ignores its name and returns a virtual
// connection of this Connector.
func (c *connector) Driver() driver.Driver { return connectorDriver{c} }

type connectorDriver struct{ c *connector }

func (d connectorDriver) Open(string) (driver.Conn, error) { return d.c.Connect(context.Background()) }

// acquire returns the shared statement of query, creating it (without
// preparing it anywhere) the first time.
func (c *connector) acquire(query string) *sharedStmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	ss := c.stmts[query]
	if ss == nil {
		ss = &sharedStmt{st: newStmt(c.db, query, nil)}
		c.stmts[query] = ss
	}
	ss.refs++
	return ss
}

// release drops a reference to ss, closing it with the last.
func (c *connector) release(query string, ss *sharedStmt) error {
	c.mu.Lock()
	ss.refs--
	last := ss.refs == 0
	if last && c.stmts[query] == ss {
		delete(c.stmts, query)
	}
	c.mu.Unlock()
	if last {
		return ss.st.Close()
	}
	return nil
}

// vconn is a virtual connection. database/sql never calls a connection's
// methods, nor those of its statements, transactions and rows, concurrently,
// so it needs no lock.
type vconn struct {
	c  *connector
	db *DB
	// pin is the primary connection the virtual connection is pinned to,
	// nil if none. held: pinned by session state, until database/sql takes
	// the connection back (IsValid, ResetSession, Close), when pin is
	// discarded; otherwise pin lasts as long as tx.
	pin  *Conn
	held bool
	gen  uint64  // bumped at each unpin: statements prepared on pin are stale
	pins []*Stmt // statements prepared on pin, closed when it is released
	tx   *vtx
	bad  bool // the pinned connection was lost: database/sql must drop this one
}

var (
	_ driver.Conn               = (*vconn)(nil)
	_ driver.ConnBeginTx        = (*vconn)(nil)
	_ driver.ConnPrepareContext = (*vconn)(nil)
	_ driver.ExecerContext      = (*vconn)(nil)
	_ driver.QueryerContext     = (*vconn)(nil)
	_ driver.NamedValueChecker  = (*vconn)(nil)
	_ driver.SessionResetter    = (*vconn)(nil)
	_ driver.Validator          = (*vconn)(nil)
	_ driver.Pinger             = (*vconn)(nil)
)

// handle is what a statement runs on: db, a pinned Conn or a Tx.
type handle interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// check returns the error for a call on a closed DB or a lost connection.
func (vc *vconn) check() error {
	switch {
	case vc.bad:
		return driver.ErrBadConn
	case vc.db.closed.Load():
		return ErrClosed
	}
	return nil
}

// route returns where a statement classified cls runs: in the transaction,
// on the pinned connection (pinning it first for a statement that leaves
// session state), or on db.
func (vc *vconn) route(ctx context.Context, session bool) (handle, error) {
	if err := vc.check(); err != nil {
		return nil, err
	}
	if vc.tx != nil {
		if session && vc.tx.tx.server.primary && vc.pin != nil {
			vc.held = true // the state outlives the transaction
		}
		return vc.tx.tx, nil
	}
	if session {
		if err := vc.hold(ctx); err != nil {
			return nil, err
		}
	}
	if vc.pin != nil {
		return vc.pin, nil
	}
	return vc.db, nil
}

// hold pins the virtual connection to a primary connection until
// database/sql takes it back.
func (vc *vconn) hold(ctx context.Context) error {
	if vc.pin == nil {
		p, err := vc.db.Conn(ctx)
		if err != nil {
			return err
		}
		vc.pin = p
	}
	vc.held = true
	return nil
}

// unpin gives the pinned connection back: closed if it may hold session
// state, else to the primary's pool. Statements prepared on it are closed.
func (vc *vconn) unpin() {
	p := vc.pin
	if p == nil {
		return
	}
	for _, st := range vc.pins {
		_ = st.Close()
	}
	vc.pins = nil
	if vc.held {
		// Discard the server connection: returning driver.ErrBadConn from
		// Raw makes database/sql close it instead of pooling it.
		_ = p.conn.Raw(func(any) error { return driver.ErrBadConn })
	}
	_ = p.Close()
	vc.pin, vc.held = nil, false
	vc.gen++
}

// fail turns the loss of the pinned connection into driver.ErrBadConn, so
// that database/sql drops the virtual connection as it would a real one
// whose server connection was lost (its session state is gone).
func (vc *vconn) fail(h handle, err error) error {
	if err == nil || h == handle(vc.db) {
		return err
	}
	var we *WriteError
	switch {
	case errors.Is(err, ErrBeginAgain) || errors.As(err, &we):
		// The pinned connection is on a former primary, or lost: drop it,
		// but keep the error's meaning (database/sql must not run the
		// statement again by itself).
		vc.bad = true
		return err
	case errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone):
		vc.bad = true
		return driver.ErrBadConn
	}
	return err
}

// args converts database/sql's arguments back to the values the caller
// passed: ordinal ones as they are, named ones as sql.Named.
func args(nargs []driver.NamedValue) []any {
	if len(nargs) == 0 {
		return nil
	}
	out := make([]any, len(nargs))
	for i, nv := range nargs {
		if nv.Name != "" {
			out[i] = sql.Named(nv.Name, nv.Value)
		} else {
			out[i] = nv.Value
		}
	}
	return out
}

// CheckNamedValue accepts every argument unchanged: the server pools'
// driver converts it (go-sql-driver/mysql's conversion applies, uint64 and
// driver.Valuer included), not database/sql's default converter.
func (vc *vconn) CheckNamedValue(*driver.NamedValue) error { return nil }

// QueryContext runs a query through the pipeline (DB.QueryContext, or the
// pinned Conn's, or the Tx's). The Rows hold their server connection until
// closed.
func (vc *vconn) QueryContext(ctx context.Context, query string, nargs []driver.NamedValue) (driver.Rows, error) {
	cls := vc.db.classify(query)
	h, err := vc.route(ctx, cls.Session)
	if err != nil {
		return nil, err
	}
	var rows *sql.Rows
	if h == handle(vc.db) {
		// DB.QueryContext, with the verdict already at hand.
		rows, err = vc.db.queryCall(&call{ctx: ctx, query: query, args: args(nargs), cls: cls, run: dbRunner{}})
	} else {
		rows, err = h.QueryContext(ctx, query, args(nargs)...)
	}
	if err != nil {
		return nil, vc.fail(h, err)
	}
	return newVRows(rows), nil
}

// ExecContext runs a statement through the pipeline (DB.ExecContext, or
// the pinned Conn's, or the Tx's).
func (vc *vconn) ExecContext(ctx context.Context, query string, nargs []driver.NamedValue) (driver.Result, error) {
	h, err := vc.route(ctx, vc.db.classify(query).Session)
	if err != nil {
		return nil, err
	}
	res, err := h.ExecContext(ctx, query, args(nargs)...)
	if err != nil {
		return nil, vc.fail(h, err)
	}
	return res, nil
}

// Prepare is PrepareContext with context.Background.
func (vc *vconn) Prepare(query string) (driver.Stmt, error) {
	return vc.PrepareContext(context.Background(), query)
}

// PrepareContext returns a statement prepared lazily (no round trip): see
// Connector.
func (vc *vconn) PrepareContext(_ context.Context, query string) (driver.Stmt, error) {
	if err := vc.check(); err != nil {
		return nil, err
	}
	return &vstmt{vc: vc, query: query, session: vc.db.classify(query).Session, shared: vc.c.acquire(query)}, nil
}

// Begin is BeginTx with context.Background and default options.
func (vc *vconn) Begin() (driver.Tx, error) {
	return vc.BeginTx(context.Background(), driver.TxOptions{})
}

// BeginTx begins a transaction: a read-only one as DB.BeginTx does (on a
// replica), a read-write one on a primary connection it pins; on the pinned
// connection either way when the virtual connection is pinned.
func (vc *vconn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if err := vc.check(); err != nil {
		return nil, err
	}
	if vc.tx != nil {
		return nil, errors.New("rwsplit: a transaction is already open on this connection")
	}
	o := &sql.TxOptions{Isolation: sql.IsolationLevel(opts.Isolation), ReadOnly: opts.ReadOnly}
	if vc.pin == nil && opts.ReadOnly {
		tx, err := vc.db.BeginTx(ctx, o)
		if err != nil {
			return nil, err
		}
		vc.tx = &vtx{vc: vc, tx: tx}
		return vc.tx, nil
	}
	if vc.pin == nil {
		p, err := vc.db.Conn(ctx)
		if err != nil {
			return nil, err
		}
		vc.pin = p
	}
	tx, err := vc.pin.BeginTx(ctx, o)
	if err != nil {
		err = vc.fail(vc.pin, err)
		if !vc.held || vc.bad {
			vc.unpin()
		}
		return nil, err
	}
	vc.tx = &vtx{vc: vc, tx: tx}
	return vc.tx, nil
}

// Ping checks the pinned connection, or, unpinned, the primary and
// every replica (DB.PingContext).
func (vc *vconn) Ping(ctx context.Context) error {
	if err := vc.check(); err != nil {
		return err
	}
	if vc.pin != nil {
		return vc.fail(vc.pin, vc.pin.conn.PingContext(ctx))
	}
	return vc.db.PingContext(ctx)
}

// IsValid is called when database/sql takes the virtual connection back
// into its pool: it ends the pin (see Connector) and reports whether the
// connection may be reused.
func (vc *vconn) IsValid() bool {
	vc.reset()
	return vc.check() == nil
}

// ResetSession is called before database/sql reuses the virtual connection:
// it ends any pin left (IsValid already did) and returns driver.ErrBadConn
// after db.Close or the loss of a pinned connection, so that database/sql
// drops it.
func (vc *vconn) ResetSession(context.Context) error {
	vc.reset()
	if vc.check() != nil {
		return driver.ErrBadConn
	}
	return nil
}

// reset rolls back a transaction left open and ends the pin.
func (vc *vconn) reset() {
	if vc.tx != nil {
		_ = vc.tx.Rollback()
	}
	vc.unpin()
}

// Close ends any transaction and pin. It costs no round trip but those.
func (vc *vconn) Close() error {
	vc.reset()
	return nil
}

// vtx is a transaction of a virtual connection: a Tx of db.
type vtx struct {
	vc   *vconn
	tx   *Tx
	done bool
}

// Commit commits through Tx.Commit, which records a read-write transaction's
// writes in the scope of BeginTx's context.
func (t *vtx) Commit() error {
	if t.done {
		return sql.ErrTxDone
	}
	return t.end(t.tx.Commit())
}

// Rollback rolls back the transaction.
func (t *vtx) Rollback() error {
	if t.done {
		return sql.ErrTxDone
	}
	return t.end(t.tx.Rollback())
}

// end detaches the transaction and ends a pin that only it needed.
func (t *vtx) end(err error) error {
	t.done = true
	vc := t.vc
	if vc.tx == t {
		vc.tx = nil
	}
	if vc.pin != nil && t.tx.server.primary {
		err = vc.fail(vc.pin, err)
		if !vc.held || vc.bad {
			vc.unpin()
		}
	}
	return err
}

// vstmt is a statement prepared on a virtual connection. Each execution
// runs where the connection's state sends it: in its transaction, on its
// pinned connection, or on the shared Stmt of db.
type vstmt struct {
	vc      *vconn
	query   string
	session bool // Result.Session of the statement
	shared  *sharedStmt
	closed  bool
	// pinned: the statement prepared on vc.pin, valid while pinGen is
	// vc.gen; inTx: prepared in the transaction txOf.
	pinned *Stmt
	pinGen uint64
	inTx   *sql.Stmt
	txOf   *vtx
}

var (
	_ driver.Stmt             = (*vstmt)(nil)
	_ driver.StmtExecContext  = (*vstmt)(nil)
	_ driver.StmtQueryContext = (*vstmt)(nil)
)

// NumInput returns -1: the server counts the placeholders.
func (s *vstmt) NumInput() int { return -1 }

// Close releases the statement: its preparation on the pinned connection,
// and its share of db's Stmt (closed on every server with the last share).
func (s *vstmt) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	var errs []error
	if vc := s.vc; s.pinned != nil && s.pinGen == vc.gen {
		errs = append(errs, s.pinned.Close())
		for i, st := range vc.pins {
			if st == s.pinned {
				vc.pins = append(vc.pins[:i], vc.pins[i+1:]...)
				break
			}
		}
	}
	s.pinned, s.inTx = nil, nil
	errs = append(errs, s.vc.c.release(s.query, s.shared))
	return errors.Join(errs...)
}

// stmtHandle runs a transaction's prepared statement as pinnedRunner's
// handle, so that its executions go through the pipeline like the
// transaction's other statements.
type stmtHandle struct{ ps *sql.Stmt }

func (h stmtHandle) QueryContext(ctx context.Context, _ string, args ...any) (*sql.Rows, error) {
	return h.ps.QueryContext(ctx, args...)
}

func (h stmtHandle) QueryRowContext(ctx context.Context, _ string, args ...any) *sql.Row {
	return h.ps.QueryRowContext(ctx, args...)
}

func (h stmtHandle) ExecContext(ctx context.Context, _ string, args ...any) (sql.Result, error) {
	return h.ps.ExecContext(ctx, args...)
}

// target returns what an execution runs on: exactly one of a call in the
// transaction, a Stmt prepared on the pinned connection, or the shared Stmt.
func (s *vstmt) target(ctx context.Context, args []any, classify bool) (c *call, st *Stmt, err error) {
	if s.closed {
		return nil, nil, driver.ErrBadConn
	}
	vc := s.vc
	if _, err := vc.route(ctx, s.session); err != nil {
		return nil, nil, err
	}
	switch {
	case vc.tx != nil:
		tx := vc.tx.tx
		if s.txOf != vc.tx {
			ps, err := tx.StmtContext(ctx, s.shared.st)
			if err != nil {
				return nil, nil, vc.fail(tx, err)
			}
			s.inTx, s.txOf = ps, vc.tx
		}
		c = tx.call(ctx, s.query, args, classify)
		c.run = pinnedRunner{stmtHandle{s.inTx}}
		return c, nil, nil
	case vc.pin != nil:
		if s.pinned == nil || s.pinGen != vc.gen {
			st, err := vc.pin.PrepareContext(ctx, s.query)
			if err != nil {
				return nil, nil, vc.fail(vc.pin, err)
			}
			vc.pins = append(vc.pins, st)
			s.pinned, s.pinGen = st, vc.gen
		}
		return nil, s.pinned, nil
	}
	return nil, s.shared.st, nil
}

// Exec is ExecContext with context.Background.
func (s *vstmt) Exec(vals []driver.Value) (driver.Result, error) {
	return s.ExecContext(context.Background(), named(vals))
}

// Query is QueryContext with context.Background.
func (s *vstmt) Query(vals []driver.Value) (driver.Rows, error) {
	return s.QueryContext(context.Background(), named(vals))
}

func named(vals []driver.Value) []driver.NamedValue {
	nv := make([]driver.NamedValue, len(vals))
	for i, v := range vals {
		nv[i] = driver.NamedValue{Ordinal: i + 1, Value: v}
	}
	return nv
}

// ExecContext executes the statement through the pipeline.
func (s *vstmt) ExecContext(ctx context.Context, nargs []driver.NamedValue) (driver.Result, error) {
	a := args(nargs)
	c, st, err := s.target(ctx, a, false)
	if err != nil {
		return nil, err
	}
	var res sql.Result
	if c != nil {
		res, err = s.vc.db.execCall(c)
	} else {
		res, err = st.ExecContext(ctx, a...)
	}
	if err != nil {
		return nil, s.vc.fail(s.handle(c, st), err)
	}
	return res, nil
}

// QueryContext executes the query through the pipeline. The Rows hold their
// server connection until closed.
func (s *vstmt) QueryContext(ctx context.Context, nargs []driver.NamedValue) (driver.Rows, error) {
	a := args(nargs)
	c, st, err := s.target(ctx, a, true)
	if err != nil {
		return nil, err
	}
	var rows *sql.Rows
	if c != nil {
		rows, err = s.vc.db.queryCall(c)
	} else {
		rows, err = st.QueryContext(ctx, a...)
	}
	if err != nil {
		return nil, s.vc.fail(s.handle(c, st), err)
	}
	return newVRows(rows), nil
}

// handle is what a failed statement ran on, for vconn.fail: the pinned
// transaction (c set), else the Stmt's Conn, else the DB.
func (s *vstmt) handle(c *call, st *Stmt) handle {
	switch {
	case c != nil:
		return s.vc.tx.tx
	case st.conn != nil:
		return st.conn
	}
	return s.vc.db
}

// vrows is the driver.Rows of a virtual connection: the pipeline's
// *sql.Rows, read value by value. Column types are those of *sql.ColumnType.
type vrows struct {
	rows  *sql.Rows
	cols  []string
	types []*sql.ColumnType // of the current result set, read on first use
	vals  []any
	ptrs  []any
	// buf holds vals and ptrs for a result set of up to vrowsInline
	// columns, in vrows' own allocation.
	buf [2 * vrowsInline]any
	// At the end of a result set Next moves rows on to the next one, if
	// any, to answer HasNextResultSet: advanced says it did, more that
	// there is one.
	advanced, more bool
}

var (
	_ driver.Rows                           = (*vrows)(nil)
	_ driver.RowsNextResultSet              = (*vrows)(nil)
	_ driver.RowsColumnTypeScanType         = (*vrows)(nil)
	_ driver.RowsColumnTypeDatabaseTypeName = (*vrows)(nil)
	_ driver.RowsColumnTypeNullable         = (*vrows)(nil)
	_ driver.RowsColumnTypeLength           = (*vrows)(nil)
	_ driver.RowsColumnTypePrecisionScale   = (*vrows)(nil)
)

func newVRows(rows *sql.Rows) *vrows {
	r := &vrows{rows: rows}
	r.setColumns()
	return r
}

// vrowsInline is how many columns vrows reads without allocating for them.
const vrowsInline = 4

// setColumns reads the current result set's columns.
func (r *vrows) setColumns() {
	r.cols, _ = r.rows.Columns()
	r.types = nil
	n := len(r.cols)
	if n <= vrowsInline {
		r.buf = [2 * vrowsInline]any{}
		r.vals, r.ptrs = r.buf[:n:n], r.buf[vrowsInline:vrowsInline+n]
	} else {
		r.vals, r.ptrs = make([]any, n), make([]any, n)
	}
	for i := range r.vals {
		r.ptrs[i] = &r.vals[i]
	}
}

// Columns returns the current result set's column names.
func (r *vrows) Columns() []string { return r.cols }

// Close closes the rows, giving their server connection back.
func (r *vrows) Close() error { return r.rows.Close() }

// Next reads the next row's values as the server pool's driver returned
// them (byte slices copied).
func (r *vrows) Next(dest []driver.Value) error {
	if r.advanced {
		return io.EOF
	}
	if r.rows.Next() {
		if err := r.rows.Scan(r.ptrs...); err != nil {
			return err
		}
		for i := range dest {
			if i < len(r.vals) {
				dest[i] = r.vals[i]
			}
		}
		return nil
	}
	if err := r.rows.Err(); err != nil {
		return err
	}
	r.advanced = true
	r.more = r.rows.NextResultSet()
	if err := r.rows.Err(); err != nil {
		return err
	}
	return io.EOF
}

// HasNextResultSet reports whether another result set follows the one Next
// finished.
func (r *vrows) HasNextResultSet() bool { return r.more }

// NextResultSet moves to the next result set, or returns io.EOF.
func (r *vrows) NextResultSet() error {
	if r.advanced {
		r.advanced = false
		if !r.more {
			return io.EOF
		}
		r.more = false
	} else if !r.rows.NextResultSet() {
		if err := r.rows.Err(); err != nil {
			return err
		}
		return io.EOF
	}
	r.setColumns()
	return nil
}

// columnType returns column i's type, nil if unknown.
func (r *vrows) columnType(i int) *sql.ColumnType {
	if r.types == nil {
		r.types, _ = r.rows.ColumnTypes()
	}
	if i < 0 || i >= len(r.types) {
		return nil
	}
	return r.types[i]
}

var anyType = reflect.TypeFor[any]()

// ColumnTypeScanType is (*sql.ColumnType).ScanType.
func (r *vrows) ColumnTypeScanType(i int) reflect.Type {
	if ct := r.columnType(i); ct != nil {
		if t := ct.ScanType(); t != nil {
			return t
		}
	}
	return anyType
}

// ColumnTypeDatabaseTypeName is (*sql.ColumnType).DatabaseTypeName.
func (r *vrows) ColumnTypeDatabaseTypeName(i int) string {
	if ct := r.columnType(i); ct != nil {
		return ct.DatabaseTypeName()
	}
	return ""
}

// ColumnTypeNullable is (*sql.ColumnType).Nullable.
func (r *vrows) ColumnTypeNullable(i int) (nullable, ok bool) {
	if ct := r.columnType(i); ct != nil {
		return ct.Nullable()
	}
	return false, false
}

// ColumnTypeLength is (*sql.ColumnType).Length.
func (r *vrows) ColumnTypeLength(i int) (length int64, ok bool) {
	if ct := r.columnType(i); ct != nil {
		return ct.Length()
	}
	return 0, false
}

// ColumnTypePrecisionScale is (*sql.ColumnType).DecimalSize.
func (r *vrows) ColumnTypePrecisionScale(i int) (precision, scale int64, ok bool) {
	if ct := r.columnType(i); ct != nil {
		return ct.DecimalSize()
	}
	return 0, 0, false
}
