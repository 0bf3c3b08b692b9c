// Package prefetch wraps a database/sql driver so that every query reads its
// first row before it returns. A failure that a server reports in place of
// the first row (a connection lost, "server shutdown in progress") then
// comes back from the query call itself, while no row has been seen, so the
// router can retry the read elsewhere; and *sql.Row values stay the pool's
// own, with no copy of the row. It costs one slice of the row's width per
// query. Everything else is passed through to the wrapped driver.
//
// A query's context may also ask for a function to run when its rows close
// (WithCloseHook, HookContext), and give the driver calls a context of their
// own that the caller can cancel while database/sql sees one it cannot
// (HookContext.SetDriverContext).
package prefetch

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"reflect"
	"sync/atomic"
	"time"
)

// Connector returns c with every query's first row read ahead.
func Connector(c driver.Connector) driver.Connector { return connector{c} }

type connector struct{ c driver.Connector }

func (c connector) Connect(ctx context.Context) (driver.Conn, error) {
	slot := &netSlot{}
	dc, err := c.c.Connect(context.WithValue(forDriver(ctx), netKey{}, slot))
	if err != nil {
		return nil, err
	}
	return &conn{c: dc, nc: slot.nc}, nil
}

// netSlot receives the network connection Dial makes for a Connect.
type netSlot struct{ nc *netConn }

// netConn is a network connection whose I/O an interrupt fails for good: a
// deadline in the past for the I/O in progress, and an error for any later
// read or write, whatever deadline the driver sets meanwhile (go-sql-driver
// sets one before each read and write when the DSN has readTimeout or
// writeTimeout).
type netConn struct {
	net.Conn
	interrupted atomic.Bool
}

// errInterrupted is the I/O error of an interrupted connection.
var errInterrupted = errors.New("rwsplit: connection interrupted (a hedged read's attempt ended)")

// past is the deadline that fails the I/O in progress at once.
var past = time.Unix(1, 0)

func (c *netConn) interrupt() {
	c.interrupted.Store(true)
	_ = c.Conn.SetDeadline(past)
}

func (c *netConn) Read(b []byte) (int, error) {
	if c.interrupted.Load() {
		return 0, errInterrupted
	}
	return c.Conn.Read(b)
}

func (c *netConn) Write(b []byte) (int, error) {
	if c.interrupted.Load() {
		return 0, errInterrupted
	}
	return c.Conn.Write(b)
}

func (c *netConn) SetDeadline(t time.Time) error      { return c.Conn.SetDeadline(c.deadline(t)) }
func (c *netConn) SetReadDeadline(t time.Time) error  { return c.Conn.SetReadDeadline(c.deadline(t)) }
func (c *netConn) SetWriteDeadline(t time.Time) error { return c.Conn.SetWriteDeadline(c.deadline(t)) }

// deadline is t, or the past once interrupted.
func (c *netConn) deadline(t time.Time) time.Time {
	if c.interrupted.Load() {
		return past
	}
	return t
}

type netKey struct{}

// Dial returns dial reporting each network connection it makes to the
// wrapped pool's Connect, for a driver that dials through such a function
// (go-sql-driver/mysql's Config.DialFunc): the pool then ends a driver call
// whose context is an Interrupter by interrupting its connection's I/O, and
// the driver sees a context it need not watch.
func Dial(dial func(ctx context.Context, network, addr string) (net.Conn, error)) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		nc, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		s, ok := ctx.Value(netKey{}).(*netSlot)
		if !ok {
			return nc, nil
		}
		s.nc = &netConn{Conn: nc}
		return s.nc, nil
	}
}

// An Interrupter is a driver context (see HookContext.SetDriverContext)
// that a pool knowing its connections' network connections (see Dial) ends
// by interrupting the I/O of the connection a driver call runs on, rather
// than by passing it to the driver: go-sql-driver/mysql hands a context it
// can watch to a goroutine of its own at every call, two goroutine switches
// a call. Elsewhere it is passed to the driver as any context.
type Interrupter interface {
	context.Context
	// Bind makes the end of the context interrupt c's I/O, until Unbind;
	// it reports false, binding nothing, once the context has ended.
	Bind(c Interruptible) bool
	// Unbind ends Bind, and reports whether c was interrupted.
	Unbind() bool
	// Values is the context the driver sees meanwhile: the same values and
	// deadline, without the end (its Done is nil).
	Values() context.Context
}

// Interruptible is a connection whose I/O an Interrupter can interrupt.
type Interruptible interface {
	// Interrupt makes the connection's pending and later I/O fail. The
	// connection is not used again.
	Interrupt()
}

func (c connector) Driver() driver.Driver { return c.c.Driver() }

// Close closes the wrapped connector if it has a Close (database/sql calls
// it when the pool closes).
func (c connector) Close() error {
	if cl, ok := c.c.(io.Closer); ok {
		return cl.Close()
	}
	return nil
}

// dsnConnector is the connector of a driver that has no DriverContext.
type dsnConnector struct {
	d    driver.Driver
	name string
}

func (c dsnConnector) Connect(context.Context) (driver.Conn, error) { return c.d.Open(c.name) }
func (c dsnConnector) Driver() driver.Driver                        { return c.d }

// ForDSN returns a connector for dsn on d: d's own (driver.DriverContext) or
// one that calls d.Open.
func ForDSN(d driver.Driver, dsn string) (driver.Connector, error) {
	if dc, ok := d.(driver.DriverContext); ok {
		return dc.OpenConnector(dsn)
	}
	return dsnConnector{d, dsn}, nil
}

// conn passes every optional interface through to the wrapped connection.
// nc is its network connection when the driver dials through Dial; broken
// says an Interrupter interrupted its I/O (database/sql must drop it).
type conn struct {
	c      driver.Conn
	nc     *netConn
	broken atomic.Bool
}

// Interrupt fails the connection's pending and later I/O.
func (c *conn) Interrupt() {
	c.broken.Store(true)
	c.nc.interrupt()
}

// enter returns the context a driver call made under ctx runs with, and the
// Interrupter it is bound to (nil if none: leave is then a no-op); an error
// when that has ended already.
func (c *conn) enter(ctx context.Context) (context.Context, Interrupter, error) {
	d := forDriver(ctx)
	if c.nc == nil {
		return d, nil, nil
	}
	it, ok := d.(Interrupter)
	if !ok {
		return d, nil, nil
	}
	if !it.Bind(c) {
		return nil, nil, it.Err()
	}
	return it.Values(), it, nil
}

// leave ends a driver call that enter bound to it and that returned err:
// when it was interrupted, the call's error is the context's.
func (c *conn) leave(it Interrupter, err error) error {
	if it == nil || !it.Unbind() || err == nil {
		return err
	}
	return fmt.Errorf("%w (%w)", it.Err(), err)
}

// Unwrap returns the driver's own connection (as (*sql.Conn).Raw users may
// need it).
func (c *conn) Unwrap() driver.Conn { return c.c }

func (c *conn) Prepare(query string) (driver.Stmt, error) {
	s, err := c.c.Prepare(query)
	if err != nil {
		return nil, err
	}
	return &stmt{s: s, c: c}, nil
}

func (c *conn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	pc, ok := c.c.(driver.ConnPrepareContext)
	if !ok {
		return c.Prepare(query)
	}
	dctx, it, err := c.enter(ctx)
	if err != nil {
		return nil, err
	}
	s, err := pc.PrepareContext(dctx, query)
	if err = c.leave(it, err); err != nil {
		return nil, err
	}
	return &stmt{s: s, c: c}, nil
}

func (c *conn) Close() error { return c.c.Close() }

func (c *conn) Begin() (driver.Tx, error) { return c.c.Begin() }

var errIsolation = errors.New("prefetch: the driver does not support non-default isolation levels or read-only transactions")

func (c *conn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if bc, ok := c.c.(driver.ConnBeginTx); ok {
		return bc.BeginTx(forDriver(ctx), opts)
	}
	if opts.Isolation != 0 || opts.ReadOnly {
		return nil, errIsolation
	}
	return c.c.Begin()
}

func (c *conn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	ec, ok := c.c.(driver.ExecerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	dctx, it, err := c.enter(ctx)
	if err != nil {
		return nil, err
	}
	res, err := ec.ExecContext(dctx, query, args)
	return res, c.leave(it, err)
}

func (c *conn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	qc, ok := c.c.(driver.QueryerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	dctx, it, err := c.enter(ctx)
	if err != nil {
		return nil, err
	}
	r, err := qc.QueryContext(dctx, query, args)
	r, err = ahead(ctx, r, err)
	return r, c.leave(it, err)
}

func (c *conn) Ping(ctx context.Context) error {
	if p, ok := c.c.(driver.Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}

func (c *conn) ResetSession(ctx context.Context) error {
	if c.broken.Load() {
		return driver.ErrBadConn
	}
	if r, ok := c.c.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

func (c *conn) IsValid() bool {
	if c.broken.Load() {
		return false
	}
	if v, ok := c.c.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

func (c *conn) CheckNamedValue(nv *driver.NamedValue) error {
	if n, ok := c.c.(driver.NamedValueChecker); ok {
		return n.CheckNamedValue(nv)
	}
	return driver.ErrSkip
}

type stmt struct {
	s driver.Stmt
	c *conn
}

func (s *stmt) Close() error  { return s.s.Close() }
func (s *stmt) NumInput() int { return s.s.NumInput() }

func (s *stmt) Exec(args []driver.Value) (driver.Result, error) { return s.s.Exec(args) }

func (s *stmt) Query(args []driver.Value) (driver.Rows, error) {
	r, err := s.s.Query(args)
	return ahead(context.Background(), r, err)
}

func (s *stmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	if ec, ok := s.s.(driver.StmtExecContext); ok {
		dctx, it, err := s.c.enter(ctx)
		if err != nil {
			return nil, err
		}
		res, err := ec.ExecContext(dctx, args)
		return res, s.c.leave(it, err)
	}
	vals, err := values(args)
	if err != nil {
		return nil, err
	}
	return s.s.Exec(vals)
}

func (s *stmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	if qc, ok := s.s.(driver.StmtQueryContext); ok {
		dctx, it, err := s.c.enter(ctx)
		if err != nil {
			return nil, err
		}
		r, err := qc.QueryContext(dctx, args)
		r, err = ahead(ctx, r, err)
		return r, s.c.leave(it, err)
	}
	vals, err := values(args)
	if err != nil {
		return nil, err
	}
	r, err := s.s.Query(vals)
	return ahead(ctx, r, err)
}

// CheckNamedValue is the statement's checker, else the connection's, as
// database/sql would pick them.
func (s *stmt) CheckNamedValue(nv *driver.NamedValue) error {
	if n, ok := s.s.(driver.NamedValueChecker); ok {
		return n.CheckNamedValue(nv)
	}
	if n, ok := s.c.c.(driver.NamedValueChecker); ok {
		return n.CheckNamedValue(nv)
	}
	return driver.ErrSkip
}

func (s *stmt) ColumnConverter(idx int) driver.ValueConverter {
	if cc, ok := s.s.(driver.ColumnConverter); ok {
		return cc.ColumnConverter(idx)
	}
	return driver.DefaultParameterConverter
}

var errNamed = errors.New("prefetch: the driver does not support named arguments")

func values(named []driver.NamedValue) ([]driver.Value, error) {
	out := make([]driver.Value, len(named))
	for i, nv := range named {
		if nv.Name != "" {
			return nil, errNamed
		}
		out[i] = nv.Value
	}
	return out, nil
}

// rows replays the first row it read ahead, then reads on.
type rows struct {
	r       driver.Rows
	cols    []string // the first result set's columns, asked of r once
	first   []driver.Value
	inline  [4]driver.Value // first's storage for narrow rows: one allocation
	err     error           // the first Next's error: nil, or io.EOF
	pending bool            // first (or err) not yet delivered
	hook    *Hook           // run once when the rows close
}

// ErrConnLost is wrapped by the error of a query whose connection failed
// with driver.ErrBadConn while its first row was read: the statement was
// sent (it may have run), so database/sql must not run it again as it does
// on driver.ErrBadConn; a caller may retry a read elsewhere.
var ErrConnLost = errors.New("prefetch: connection lost before the first row")

// Hook is a function a query's context asks to run when the query's rows
// are closed: after its last result, once the statement has ended on the
// server. Only a query that returns rows runs it; Claimed tells whether one
// did (the pool reads ahead).
type Hook struct {
	f       func()
	claimed atomic.Bool
}

type hookKey struct{}

// WithCloseHook returns ctx asking the first query run with it that returns
// rows to run f when those rows close.
func WithCloseHook(ctx context.Context, f func()) (context.Context, *Hook) {
	h := &Hook{f: f}
	return context.WithValue(ctx, hookKey{}, h), h
}

// Claimed reports whether a query took the hook: it will run, or has run.
func (h *Hook) Claimed() bool { return h.claimed.Load() }

// HookContext is WithCloseHook's context as a value: a caller may keep it in
// a struct of its own, saving WithCloseHook's two allocations. Set it up
// with Init before use; its zero value is not a usable context.
//
// It may also carry a context for the driver (SetDriverContext): a statement
// that its caller must be able to abandon although the caller's own context
// cannot be cancelled runs, in database/sql, under that context, which has
// no Done channel (so database/sql starts no goroutine to watch its rows),
// while the driver calls the wrapped pool makes for it see one that can be
// cancelled.
type HookContext struct {
	context.Context
	hook Hook
	drv  context.Context
}

// Init makes c ask, as WithCloseHook(parent, f) does, the first query run
// with it that returns rows to run f when those rows close. c must not be
// in use.
func (c *HookContext) Init(parent context.Context, f func()) {
	c.Context = parent
	c.hook.f = f
	c.hook.claimed.Store(false)
	c.drv = nil
}

// SetDriverContext makes the calls a wrapped pool makes to its driver under
// c (connect, prepare, query, exec, begin) use d in place of c. d should be
// derived from c's parent, so that it keeps its values and its end.
// Cancelling d ends those calls; it does not reach a call that waits in
// database/sql for a free connection (at the pool's MaxOpenConns).
func (c *HookContext) SetDriverContext(d context.Context) { c.drv = d }

// Hook returns c's hook.
func (c *HookContext) Hook() *Hook { return &c.hook }

type driverKey struct{}

// Value returns c's hook for the hook's key, else parent's value.
func (c *HookContext) Value(key any) any {
	switch key.(type) {
	case hookKey:
		return &c.hook
	case driverKey:
		if c.drv != nil {
			return c.drv
		}
	}
	return c.Context.Value(key)
}

// DriverContext returns the context a wrapped pool's driver calls made under
// ctx run with: the driver context of a HookContext in ctx (see
// SetDriverContext), else ctx. A caller that waits, on a statement's behalf,
// for something other than the pool (a preparation shared with other
// callers) can wait under it too.
func DriverContext(ctx context.Context) context.Context { return forDriver(ctx) }

// forDriver is DriverContext.
func forDriver(ctx context.Context) context.Context {
	if d, ok := ctx.Value(driverKey{}).(context.Context); ok {
		return d
	}
	return ctx
}

// ahead reads the first row of r. An error other than io.EOF closes r and is
// returned as the query's. The rows take ctx's hook, if it is still free.
func ahead(ctx context.Context, r driver.Rows, err error) (driver.Rows, error) {
	if err != nil {
		return nil, err
	}
	rw := &rows{r: r, pending: true, cols: r.Columns()}
	if n := len(rw.cols); n <= len(rw.inline) {
		rw.first = rw.inline[:n]
	} else {
		rw.first = make([]driver.Value, n)
	}
	rw.err = r.Next(rw.first)
	if rw.err != nil && rw.err != io.EOF {
		_ = r.Close()
		if errors.Is(rw.err, driver.ErrBadConn) {
			return nil, fmt.Errorf("%w: %w", ErrConnLost, rw.err)
		}
		return nil, rw.err
	}
	if h, ok := ctx.Value(hookKey{}).(*Hook); ok && h.claimed.CompareAndSwap(false, true) {
		rw.hook = h
	}
	return rw, nil
}

// Columns returns the current result set's columns: those the first row
// was read with, for the first (a driver may build them anew at each call).
func (r *rows) Columns() []string {
	if r.cols != nil {
		return r.cols
	}
	return r.r.Columns()
}

func (r *rows) Close() error {
	err := r.r.Close()
	if h := r.hook; h != nil {
		r.hook = nil
		h.f()
	}
	return err
}

func (r *rows) Next(dest []driver.Value) error {
	if r.pending {
		r.pending = false
		if r.err != nil {
			return r.err
		}
		copy(dest, r.first)
		return nil
	}
	return r.r.Next(dest)
}

func (r *rows) HasNextResultSet() bool {
	n, ok := r.r.(driver.RowsNextResultSet)
	return ok && n.HasNextResultSet()
}

func (r *rows) NextResultSet() error {
	n, ok := r.r.(driver.RowsNextResultSet)
	if !ok {
		return io.EOF
	}
	r.pending, r.cols = false, nil
	return n.NextResultSet()
}

func (r *rows) ColumnTypeDatabaseTypeName(i int) string {
	if t, ok := r.r.(driver.RowsColumnTypeDatabaseTypeName); ok {
		return t.ColumnTypeDatabaseTypeName(i)
	}
	return ""
}

func (r *rows) ColumnTypeLength(i int) (int64, bool) {
	if t, ok := r.r.(driver.RowsColumnTypeLength); ok {
		return t.ColumnTypeLength(i)
	}
	return 0, false
}

func (r *rows) ColumnTypeNullable(i int) (bool, bool) {
	if t, ok := r.r.(driver.RowsColumnTypeNullable); ok {
		return t.ColumnTypeNullable(i)
	}
	return false, false
}

func (r *rows) ColumnTypePrecisionScale(i int) (int64, int64, bool) {
	if t, ok := r.r.(driver.RowsColumnTypePrecisionScale); ok {
		return t.ColumnTypePrecisionScale(i)
	}
	return 0, 0, false
}

func (r *rows) ColumnTypeScanType(i int) reflect.Type {
	if t, ok := r.r.(driver.RowsColumnTypeScanType); ok {
		return t.ColumnTypeScanType(i)
	}
	return reflect.TypeFor[any]()
}
