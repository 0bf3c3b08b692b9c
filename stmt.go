package rwsplit

import (
	"context"
	"database/sql"
	"errors"
	"sync"

	"github.com/rwsplit/rwsplit/internal/prefetch"
)

// Stmt is a prepared statement that runs wherever each execution is routed,
// through the same pipeline as DB's calls (so its reads wait, retry and count
// as DB's do, and its writes are recorded). It is prepared on one server at
// PrepareContext (which checks it) and on another server only the first time
// an execution goes there; preparations on servers that left the topology
// are closed. A Stmt from Conn.PrepareContext runs on that connection.
type Stmt struct {
	db    *DB
	query string
	proto call // the classified statement; ctx and args unset
	conn  *Conn

	mu        sync.Mutex
	preparing flights[*Server, *sql.Stmt] // preparations in flight
	stmts     map[*Server]*sql.Stmt
	topo      *topology // the topology stmts was last pruned against
	closed    bool
}

func newStmt(db *DB, query string, conn *Conn) *Stmt {
	st := &Stmt{db: db, query: query, conn: conn, stmts: map[*Server]*sql.Stmt{}}
	st.proto = call{query: query, cls: db.classify(query), run: stmtRunner{st}}
	if conn != nil {
		st.proto.pin = conn.server
	}
	return st
}

// PrepareContext prepares query on the server its first execution most
// likely needs: a replica for a replica-safe query, else the primary.
func (db *DB) PrepareContext(ctx context.Context, query string) (*Stmt, error) {
	if db.closed.Load() {
		return nil, ErrClosed
	}
	st := newStmt(db, query, nil)
	var target *Server
	var err error
	if u := db.topology().usable; st.proto.cls.Replica && len(u) > 0 {
		target = db.pick(u)
	} else {
		target, err = db.primary(ctx) // held while none is known
	}
	if err != nil {
		return nil, err
	}
	if _, err := st.on(ctx, target); err != nil {
		return nil, err
	}
	return st, nil
}

// preparedOn returns the statement's preparation on s, nil if there is none
// yet (it prepares nothing; its only I/O is closing the preparations prune
// dropped, after releasing st.mu); errStmtClosed once closed.
func (st *Stmt) preparedOn(s *Server) (*sql.Stmt, error) {
	st.mu.Lock()
	if st.closed {
		st.mu.Unlock()
		return nil, errStmtClosed
	}
	gone := st.prune()
	ps := st.stmts[s]
	st.mu.Unlock()
	_ = closeStmts(gone)
	return ps, nil
}

// on returns the statement prepared on s, preparing it there the first time.
// The preparation runs outside st.mu, shared by concurrent executions bound
// for s: a slow server delays only the executions that go to it. The
// preparations prune dropped are closed by the caller that pruned, after it
// released st.mu: a server that hangs their closing delays that caller only.
func (st *Stmt) on(ctx context.Context, s *Server) (*sql.Stmt, error) {
	st.mu.Lock()
	if st.closed {
		st.mu.Unlock()
		return nil, errStmtClosed
	}
	gone := st.prune()
	ps := st.stmts[s]
	st.mu.Unlock()
	_ = closeStmts(gone)
	if ps != nil {
		return ps, nil
	}
	return st.preparing.do(ctx, s, func() (*sql.Stmt, error) {
		var ps *sql.Stmt
		var err error
		if st.conn != nil {
			ps, err = st.conn.conn.PrepareContext(ctx, st.query)
		} else {
			ps, err = s.db.PrepareContext(ctx, st.query)
		}
		if err != nil {
			return nil, err
		}
		st.mu.Lock()
		closed := st.closed
		if !closed {
			st.stmts[s] = ps
		}
		st.mu.Unlock()
		if closed { // closed while preparing: not kept, closed outside st.mu
			_ = ps.Close()
			return nil, errStmtClosed
		}
		return ps, nil
	})
}

// prune drops the preparations on servers no longer in the topology (a
// replica removed, a primary replaced), at the Stmt's first use after the
// topology changed; one pointer comparison otherwise. Callers hold st.mu;
// prune returns the dropped preparations, which they close (closeStmts) once
// they have released it: (*sql.Stmt).Close waits for the executions running
// on the preparation, which a hung server holds, and no lock is held across
// the network.
func (st *Stmt) prune() (gone []*sql.Stmt) {
	t := st.db.topology()
	if t == st.topo {
		return nil
	}
	st.topo = t
	for s, ps := range st.stmts {
		if s == t.primary || contains(t.replicas, s) {
			continue
		}
		gone = append(gone, ps)
		delete(st.stmts, s)
	}
	return gone
}

// closeStmts closes pss and returns their errors joined. Never call it with
// st.mu held.
func closeStmts(pss []*sql.Stmt) error {
	var errs []error
	for _, ps := range pss {
		errs = append(errs, ps.Close())
	}
	return errors.Join(errs...)
}

// stmtRunner runs executions of the prepared statement.
type stmtRunner struct{ st *Stmt }

// The preparation an execution may need first runs (or is waited for)
// under the execution's driver context: a hedged read can abandon it.

func (r stmtRunner) query(ctx context.Context, s *Server, _ string, args []any) (*sql.Rows, error) {
	ps, err := r.st.on(prefetch.DriverContext(ctx), s)
	if err != nil {
		return nil, err
	}
	return ps.QueryContext(ctx, args...)
}

func (r stmtRunner) queryRow(ctx context.Context, s *Server, _ string, args []any) *sql.Row {
	ps, err := r.st.on(prefetch.DriverContext(ctx), s)
	if err != nil {
		return r.st.db.errRow(err)
	}
	return ps.QueryRowContext(ctx, args...)
}

func (r stmtRunner) exec(ctx context.Context, s *Server, _ string, args []any) (sql.Result, error) {
	ps, err := r.st.on(ctx, s)
	if err != nil {
		return nil, err
	}
	return ps.ExecContext(ctx, args...)
}

func (stmtRunner) oneTrip() bool { return false }

func (st *Stmt) call(ctx context.Context, args []any) *call {
	c := st.proto
	c.ctx, c.args = ctx, args
	return &c
}

// ExecContext executes the statement on the primary and records it as a
// write. On a Conn's statement, failures are judged as Conn.ExecContext's
// (ErrBeginAgain, WriteError).
func (st *Stmt) ExecContext(ctx context.Context, args ...any) (sql.Result, error) {
	return st.db.execCall(st.call(ctx, args))
}

// QueryContext executes the query where the statement and the context's
// consistency mode route it.
func (st *Stmt) QueryContext(ctx context.Context, args ...any) (*sql.Rows, error) {
	return st.db.queryCall(st.call(ctx, args))
}

// QueryRowContext executes the query for at most one row; errors are
// deferred to Scan.
func (st *Stmt) QueryRowContext(ctx context.Context, args ...any) *sql.Row {
	return st.db.queryRowCall(st.call(ctx, args))
}

// Close closes the statement on every server it was prepared on. Calls on
// st return errStmtClosed from the moment Close begins. The preparations are
// closed after st's lock is released (each closing waits for the executions
// still running on it): a hung server delays Close, not the other calls on
// st.
func (st *Stmt) Close() error {
	st.mu.Lock()
	if st.closed {
		st.mu.Unlock()
		return nil
	}
	st.closed = true
	pss := make([]*sql.Stmt, 0, len(st.stmts))
	for _, ps := range st.stmts {
		pss = append(pss, ps)
	}
	st.stmts = nil
	st.mu.Unlock()
	return closeStmts(pss)
}
