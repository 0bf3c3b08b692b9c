package fakedb

import (
	"context"
	"database/sql/driver"
	"errors"
	"net"
	"os"
	"syscall"
)

// fakeDriver is the connector's driver. Connections come only from a
// Server's Connector: Open fails.
type fakeDriver struct{}

func (fakeDriver) Open(string) (driver.Conn, error) {
	return nil, errors.New("fakedb: use Connector (Server.Connector or Server.OpenDB)")
}

// connector connects to one server.
type connector struct {
	srv   *Server
	multi bool
}

func (c *connector) Driver() driver.Driver { return fakeDriver{} }

// Connect opens a connection: refused while the server is down, blocked
// while it hangs.
func (c *connector) Connect(ctx context.Context) (driver.Conn, error) {
	s := c.srv
	mu := &s.cl.mu
	mu.Lock()
	defer mu.Unlock()
	if err := s.waitUnhung(ctx); err != nil {
		return nil, err
	}
	if s.down {
		return nil, &net.OpError{
			Op:   "dial",
			Net:  "tcp",
			Addr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 3305 + s.id},
			Err:  os.NewSyscallError("connect", syscall.ECONNREFUSED),
		}
	}
	s.open++
	return &conn{srv: s, multi: c.multi, gen: s.gen}, nil
}

// waitUnhung blocks while the server hangs, until Unhang or ctx is done.
// cl.mu must be held; it is released while blocked.
func (s *Server) waitUnhung(ctx context.Context) error {
	for s.hung != nil {
		ch := s.hung
		s.cl.mu.Unlock()
		select {
		case <-ch:
			s.cl.mu.Lock()
		case <-ctx.Done():
			s.cl.mu.Lock()
			return ctx.Err()
		}
	}
	return nil
}

// conn is one connection to a server. Its state is guarded by the
// cluster's mutex.
type conn struct {
	srv      *Server
	multi    bool
	gen      int  // the server's generation when connected
	closed   bool // by Close
	tx       *tx
	lastGTID string // MariaDB's @@last_gtid
	// deferring: writes are held in deferred until the rows close
	// (Cluster.CommitQueryWritesAtClose).
	deferring bool
	deferred  []change
}

var (
	_ driver.Conn               = (*conn)(nil)
	_ driver.ConnPrepareContext = (*conn)(nil)
	_ driver.ConnBeginTx        = (*conn)(nil)
	_ driver.ExecerContext      = (*conn)(nil)
	_ driver.QueryerContext     = (*conn)(nil)
	_ driver.Pinger             = (*conn)(nil)
	_ driver.SessionResetter    = (*conn)(nil)
	_ driver.Validator          = (*conn)(nil)
	_ driver.NamedValueChecker  = (*conn)(nil)
)

// dead reports whether the connection can no longer be used: closed, or
// its server is or went down since it connected. cl.mu must be held.
func (c *conn) dead() bool {
	return c.closed || c.srv.down || c.gen != c.srv.gen
}

// enter admits a request on the connection: ErrBadConn when dead; a
// statement is recorded; then it waits out a hang (recorded statements
// were received by the hung server) and consumes FailNext. On success it
// returns with cl.mu held; on error, released.
func (c *conn) enter(ctx context.Context, stmt string, isStmt bool) error {
	s := c.srv
	s.cl.mu.Lock()
	if c.dead() {
		s.cl.mu.Unlock()
		return driver.ErrBadConn
	}
	if isStmt {
		s.stmts = append(s.stmts, stmt)
	}
	if err := s.waitUnhung(ctx); err != nil {
		s.cl.mu.Unlock()
		return err
	}
	if c.dead() {
		s.cl.mu.Unlock()
		return driver.ErrBadConn
	}
	if isStmt && s.failN > 0 {
		s.failN--
		err := s.failErr
		s.cl.mu.Unlock()
		return err
	}
	return nil
}

// Prepare is PrepareContext without a context.
func (c *conn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

// PrepareContext returns a statement that runs query on the connection
// when executed (nothing is parsed or recorded until then).
func (c *conn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	if err := c.enter(ctx, "", false); err != nil {
		return nil, err
	}
	c.srv.cl.mu.Unlock()
	return &stmt{c: c, query: query}, nil
}

// Close closes the connection (idempotent).
func (c *conn) Close() error {
	c.srv.cl.mu.Lock()
	defer c.srv.cl.mu.Unlock()
	if !c.closed {
		c.closed = true
		c.tx = nil
		c.srv.open--
	}
	return nil
}

// Begin is BeginTx with default options.
func (c *conn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

// BeginTx starts a transaction; with opts.ReadOnly its writes fail with
// error 1792.
func (c *conn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if err := c.enter(ctx, "", false); err != nil {
		return nil, err
	}
	defer c.srv.cl.mu.Unlock()
	if c.tx != nil {
		return nil, errors.New("fakedb: a transaction is already open on this connection")
	}
	c.tx = &tx{c: c, readOnly: opts.ReadOnly}
	return c.tx, nil
}

// Ping fails with ErrBadConn when the connection is dead and blocks while
// the server hangs.
func (c *conn) Ping(ctx context.Context) error {
	if err := c.enter(ctx, "", false); err != nil {
		return err
	}
	c.srv.cl.mu.Unlock()
	return nil
}

// ResetSession returns ErrBadConn when the connection is dead.
func (c *conn) ResetSession(context.Context) error {
	c.srv.cl.mu.Lock()
	defer c.srv.cl.mu.Unlock()
	if c.dead() {
		return driver.ErrBadConn
	}
	return nil
}

// IsValid reports whether the connection may go back to the pool.
func (c *conn) IsValid() bool {
	c.srv.cl.mu.Lock()
	defer c.srv.cl.mu.Unlock()
	return !c.dead()
}

// CheckNamedValue accepts every argument as it is: statements convert them
// where they are used.
func (c *conn) CheckNamedValue(*driver.NamedValue) error { return nil }

// ExecContext runs a statement text and returns the result of its last
// statement.
func (c *conn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	res, _, err := c.run(ctx, query, args, false)
	if err != nil {
		return nil, err
	}
	return res, nil
}

// QueryContext runs a statement text and returns the result sets of its
// statements that have columns (as the MySQL driver skips the others).
func (c *conn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	_, rs, err := c.run(ctx, query, args, true)
	if err != nil {
		return nil, err
	}
	return rs, nil
}

// stmt is a prepared statement: it runs its text on the connection.
type stmt struct {
	c     *conn
	query string
}

var (
	_ driver.StmtExecContext  = (*stmt)(nil)
	_ driver.StmtQueryContext = (*stmt)(nil)
)

func (s *stmt) Close() error  { return nil }
func (s *stmt) NumInput() int { return -1 }

func (s *stmt) Exec(args []driver.Value) (driver.Result, error) {
	return s.c.ExecContext(context.Background(), s.query, named(args))
}

func (s *stmt) Query(args []driver.Value) (driver.Rows, error) {
	return s.c.QueryContext(context.Background(), s.query, named(args))
}

func (s *stmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	return s.c.ExecContext(ctx, s.query, args)
}

func (s *stmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	return s.c.QueryContext(ctx, s.query, args)
}

func named(args []driver.Value) []driver.NamedValue {
	nv := make([]driver.NamedValue, len(args))
	for i, a := range args {
		nv[i] = driver.NamedValue{Ordinal: i + 1, Value: a}
	}
	return nv
}

// tx is an open transaction: its writes are buffered until Commit, which
// makes them one transaction of the log (one GTID).
type tx struct {
	c        *conn
	readOnly bool
	wrote    bool // a write statement ran (even one changing no row)
	changes  []change
}

// get returns k as the transaction sees it: its own last change of k, else
// the server's. cl.mu must be held.
func (t *tx) get(k int64) (int64, bool, bool) {
	for i := len(t.changes) - 1; i >= 0; i-- {
		if ch := t.changes[i]; ch.k == k {
			return ch.v, !ch.deleted, true
		}
	}
	return 0, false, false
}

// Commit commits the buffered writes as one transaction. It fails with
// ErrBadConn, losing them, when the connection is dead.
func (t *tx) Commit() error {
	c := t.c
	cl := c.srv.cl
	cl.mu.Lock()
	defer cl.mu.Unlock()
	if c.tx != t {
		return errors.New("fakedb: transaction already finished")
	}
	c.tx = nil
	if c.dead() {
		return driver.ErrBadConn
	}
	if t.wrote {
		if c.srv.refusesKV() {
			return errWsrepNotReady()
		}
		n := cl.commit(c.srv, t.changes)
		if cl.flavor == MariaDB {
			c.lastGTID = gtidText(MariaDB, n)
		}
	}
	return nil
}

// Rollback discards the buffered writes.
func (t *tx) Rollback() error {
	c := t.c
	c.srv.cl.mu.Lock()
	defer c.srv.cl.mu.Unlock()
	if c.tx != t {
		return errors.New("fakedb: transaction already finished")
	}
	c.tx = nil
	if c.dead() {
		return driver.ErrBadConn
	}
	return nil
}
