package rwsplit

import (
	"context"
	"database/sql"
	"errors"
	"sync"

	"github.com/rwsplit/rwsplit/internal/replay"
	"github.com/rwsplit/rwsplit/internal/sqlclass"
)

// ErrStmtClosed is returned by calls on a closed Stmt.
var ErrStmtClosed = errors.New("rwsplit: statement is closed")

// Stmt is a prepared statement that runs wherever each execution is routed.
// It is prepared on one server at PrepareContext (which checks it) and on
// another server only the first time an execution goes there.
type Stmt struct {
	db    *DB
	query string
	class sqlclass.Result

	mu     sync.Mutex
	stmts  map[*Server]*sql.Stmt
	closed bool
}

// PrepareContext prepares query on the server its first execution most
// likely needs: a replica for a replica-safe query, else the primary.
func (db *DB) PrepareContext(ctx context.Context, query string) (*Stmt, error) {
	if db.closed.Load() {
		return nil, ErrClosed
	}
	st := &Stmt{db: db, query: query, class: db.classifier.Classify(query), stmts: map[*Server]*sql.Stmt{}}
	target := db.primaryServer()
	if u := db.topology().usable; st.class.Replica && len(u) > 0 {
		target = db.pick(u)
	}
	if _, err := st.on(ctx, target); err != nil {
		return nil, err
	}
	return st, nil
}

// on returns the statement prepared on s, preparing it there the first time.
func (st *Stmt) on(ctx context.Context, s *Server) (*sql.Stmt, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.closed {
		return nil, ErrStmtClosed
	}
	if ps := st.stmts[s]; ps != nil {
		return ps, nil
	}
	ps, err := s.db.PrepareContext(ctx, st.query)
	if err != nil {
		return nil, err
	}
	st.stmts[s] = ps
	return ps, nil
}

// target routes one execution of a query.
func (st *Stmt) target(ctx context.Context) (route, error) {
	if st.db.closed.Load() {
		return route{}, ErrClosed
	}
	if !st.class.Replica {
		return route{server: st.db.primaryServer(), read: !st.class.Write}, nil
	}
	s, _, err := st.db.planRead(ctx, false)
	return route{server: s, read: true}, err
}

// ExecContext executes the statement on the primary.
func (st *Stmt) ExecContext(ctx context.Context, args ...any) (sql.Result, error) {
	if st.db.closed.Load() {
		return nil, ErrClosed
	}
	p := st.db.primaryServer()
	ps, err := st.on(ctx, p)
	if err != nil {
		return nil, err
	}
	st.db.stats.writes.Add(1)
	t0 := p.begin()
	res, err := ps.ExecContext(ctx, args...)
	p.end(t0, err)
	if err == nil {
		st.db.afterWrite(ctx, nil)
	}
	return res, err
}

// QueryContext executes the query where the statement and the context's
// consistency mode route it.
func (st *Stmt) QueryContext(ctx context.Context, args ...any) (*sql.Rows, error) {
	r, err := st.target(ctx)
	if err != nil {
		return nil, err
	}
	ps, err := st.on(ctx, r.server)
	if err != nil {
		return nil, err
	}
	st.db.count(r)
	t0 := r.server.begin()
	rows, err := ps.QueryContext(ctx, args...)
	r.server.end(t0, err)
	return rows, err
}

// QueryRowContext executes the query for at most one row; errors are
// deferred to Scan.
func (st *Stmt) QueryRowContext(ctx context.Context, args ...any) *sql.Row {
	r, err := st.target(ctx)
	if err != nil {
		return replay.ErrRow(err)
	}
	ps, err := st.on(ctx, r.server)
	if err != nil {
		return replay.ErrRow(err)
	}
	st.db.count(r)
	t0 := r.server.begin()
	row := ps.QueryRowContext(ctx, args...)
	r.server.end(t0, row.Err())
	return row
}

// Close closes the statement on every server it was prepared on.
func (st *Stmt) Close() error {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.closed {
		return nil
	}
	st.closed = true
	var errs []error
	for _, ps := range st.stmts {
		errs = append(errs, ps.Close())
	}
	st.stmts = nil
	return errors.Join(errs...)
}

// Exec is ExecContext with context.Background.
func (st *Stmt) Exec(args ...any) (sql.Result, error) {
	return st.ExecContext(context.Background(), args...)
}

// Query is QueryContext with context.Background.
func (st *Stmt) Query(args ...any) (*sql.Rows, error) {
	return st.QueryContext(context.Background(), args...)
}

// QueryRow is QueryRowContext with context.Background.
func (st *Stmt) QueryRow(args ...any) *sql.Row {
	return st.QueryRowContext(context.Background(), args...)
}
