// Package rwsplit is a read/write-splitting router for MySQL and MariaDB over
// database/sql. A *DB holds one primary and any number of replica pools,
// classifies every call, sends writes and anything unsafe to the primary and
// provably read-only reads to a replica, and lets the caller choose per call,
// through the context, how fresh a replica read must be (see Consistency).
//
// A statement goes to a replica only when a SQL lexer proves it read-only and
// independent of session state; when in doubt it goes to the primary.
package rwsplit

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/rwsplit/rwsplit/internal/replay"
	"github.com/rwsplit/rwsplit/internal/sqlclass"
)

// Errors returned by the constructors and by calls on a closed DB.
var (
	// ErrClosed is returned by calls on a DB after Close.
	ErrClosed = errors.New("rwsplit: database is closed")
	// ErrNoReplica is returned by reads that must not use the primary when
	// no replica can serve them.
	ErrNoReplica = errors.New("rwsplit: no usable replica")
)

// DB routes calls between a primary and its replicas. It is safe for
// concurrent use; create it with Open or New and close it with Close.
type DB struct {
	topo   atomic.Pointer[topology]
	topoMu sync.Mutex // serialises publishers of topo

	interval        time.Duration
	maxLag          time.Duration
	primaryFallback bool
	stopMonitor     context.CancelFunc
	replay          *sql.DB // builds the *sql.Row values QueryRowContext returns
	monitorWG       sync.WaitGroup

	balancer   Balancer
	classifier *sqlclass.Classifier
	mode       Consistency

	// last is the process scope: the writes made through this DB by
	// contexts without a Session. tracking turns on token capture for
	// every write (WithWriteTracking, or the first process-scope wait).
	last     *Session
	tracking atomic.Bool

	stats  counters
	closed atomic.Bool
}

type options struct {
	balancer Balancer
	pure     []string
	weights  []int
	mode     Consistency
	track    bool
	oneTrip  []bool
	interval time.Duration
	maxLag   time.Duration
	noFall   bool
}

// Option configures a DB.
type Option func(*options) error

// WithBalancer sets how reads are spread over replicas (default RoundRobin).
func WithBalancer(b Balancer) Option {
	return func(o *options) error {
		if b == nil {
			return errors.New("rwsplit: WithBalancer(nil)")
		}
		o.balancer = b
		return nil
	}
}

// WithPureFunctions declares stored functions read-only, so that SELECTs
// calling them may go to replicas. Names are case-insensitive; "db.fn"
// matches a qualified call db.fn(...) and "fn" a bare call fn(...).
// Without it, a SELECT that calls a function rwsplit does not know as a
// built-in goes to the primary: a stored function may write.
func WithPureFunctions(names ...string) Option {
	return func(o *options) error {
		o.pure = append(o.pure, names...)
		return nil
	}
}

// WithWeights sets one weight per replica, in order, for weighted balancers
// (every weight defaults to 1).
func WithWeights(weights ...int) Option {
	return func(o *options) error {
		for i, w := range weights {
			if w < 0 {
				return fmt.Errorf("rwsplit: WithWeights: weight %d of replica %d is negative", w, i)
			}
		}
		o.weights = weights
		return nil
	}
}

// WithDefaultConsistency sets the consistency of calls whose context names
// none (default Eventual).
func WithDefaultConsistency(c Consistency) Option {
	return func(o *options) error {
		if c.kind == kindUnset {
			return errors.New("rwsplit: WithDefaultConsistency: the zero Consistency is not a mode")
		}
		o.mode = c
		return nil
	}
}

// WithMonitorInterval sets how often the monitor checks every replica
// (default 1 s; at least 10 ms). The monitor is one goroutine per DB, stopped
// by Close.
func WithMonitorInterval(d time.Duration) Option {
	return func(o *options) error {
		if d < 10*time.Millisecond {
			return fmt.Errorf("rwsplit: WithMonitorInterval(%v): want at least 10ms", d)
		}
		o.interval = d
		return nil
	}
}

// WithMaxReplicationLag takes a replica out of rotation while it is more than
// d behind the primary (as the monitor measures it: the age of the oldest
// primary GTID snapshot it has not applied, or Seconds_Behind when larger),
// and brings it back when it catches up. 0 (the default) sets no limit.
func WithMaxReplicationLag(d time.Duration) Option {
	return func(o *options) error {
		if d < 0 {
			return fmt.Errorf("rwsplit: WithMaxReplicationLag(%v): negative", d)
		}
		o.maxLag = d
		return nil
	}
}

// WithPrimaryFallback says where reads go when no replica is usable (all
// down, broken or lagging): to the primary (true, the default), or nowhere:
// they fail with ErrNoReplica (false), protecting the primary.
func WithPrimaryFallback(fallback bool) Option {
	return func(o *options) error {
		o.noFall = !fallback
		return nil
	}
}

// WithWriteTracking makes every write capture its causality token, so that a
// read in a waiting mode without a Session waits for the last write made
// through this DB (process scope) from the first write on. Without it,
// writes capture a token only when their context carries a Session or a
// waiting mode, or after the first process-scope waiting read; a waiting
// default mode (WithDefaultConsistency) turns it on too.
func WithWriteTracking() Option {
	return func(o *options) error {
		o.track = true
		return nil
	}
}

// WithOneRoundTrip declares, per replica in order, that its pool's DSN sets
// multiStatements=true and interpolateParams=true, so that QueryContext can
// send a wait and the read in one round trip. Open detects this from the
// DSNs; New needs to be told.
func WithOneRoundTrip(replicas ...bool) Option {
	return func(o *options) error {
		o.oneTrip = replicas
		return nil
	}
}

// Open opens a pool for the primary and one per replica with sql.Open and
// returns a DB over them. Zero replicas is valid: every call then goes to the
// primary. For the "mysql" driver each DSN is parsed, and the same server
// (address and database) given twice is an error. Close closes every pool.
func Open(driverName, primaryDSN string, replicaDSNs []string, opts ...Option) (*DB, error) {
	if driverName == "" {
		return nil, errors.New("rwsplit: Open: driver name is empty")
	}
	names := make([]string, 0, len(replicaDSNs)+1)
	keys := make(map[string]string, len(replicaDSNs)+1)
	oneTrip := make([]bool, len(replicaDSNs))
	for i, dsn := range append([]string{primaryDSN}, replicaDSNs...) {
		name := "primary DSN"
		if i > 0 {
			name = fmt.Sprintf("replica DSN %d", i-1)
		}
		names = append(names, name)
		if dsn == "" {
			return nil, fmt.Errorf("rwsplit: Open: %s is empty", name)
		}
		key := dsn
		if driverName == "mysql" {
			cfg, err := mysql.ParseDSN(dsn)
			if err != nil {
				return nil, fmt.Errorf("rwsplit: Open: %s does not parse: %w", name, err)
			}
			key = cfg.Net + "(" + cfg.Addr + ")/" + cfg.DBName
			if i > 0 {
				oneTrip[i-1] = cfg.MultiStatements && cfg.InterpolateParams
			}
		}
		if prev, dup := keys[key]; dup {
			return nil, fmt.Errorf("rwsplit: Open: %s and %s name the same server (%s)", prev, name, redact(key))
		}
		keys[key] = name
	}
	var opened []*sql.DB
	closeAll := func() {
		for _, db := range opened {
			_ = db.Close()
		}
	}
	for i, dsn := range append([]string{primaryDSN}, replicaDSNs...) {
		db, err := sql.Open(driverName, dsn)
		if err != nil {
			closeAll()
			return nil, fmt.Errorf("rwsplit: Open: %s: %w", names[i], err)
		}
		opened = append(opened, db)
	}
	db, err := New(opened[0], opened[1:], append([]Option{WithOneRoundTrip(oneTrip...)}, opts...)...)
	if err != nil {
		closeAll()
		return nil, err
	}
	return db, nil
}

// redact keeps a DSN key short and free of credentials for error messages.
func redact(key string) string {
	if len(key) > 120 {
		return key[:120] + "..."
	}
	return key
}

// New returns a DB over pools the caller opened. Zero replicas is valid. A nil
// pool, or the same pool given twice, is an error. Close closes every pool.
func New(primary *sql.DB, replicas []*sql.DB, opts ...Option) (*DB, error) {
	if primary == nil {
		return nil, errors.New("rwsplit: New: primary is nil")
	}
	seen := map[*sql.DB]string{primary: "the primary"}
	for i, r := range replicas {
		if r == nil {
			return nil, fmt.Errorf("rwsplit: New: replica %d is nil", i)
		}
		if prev, dup := seen[r]; dup {
			return nil, fmt.Errorf("rwsplit: New: replica %d is the same *sql.DB as %s", i, prev)
		}
		seen[r] = fmt.Sprintf("replica %d", i)
	}
	o := options{mode: Eventual, interval: time.Second}
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	if o.weights != nil && len(o.weights) != len(replicas) {
		return nil, fmt.Errorf("rwsplit: WithWeights: %d weights for %d replicas", len(o.weights), len(replicas))
	}
	if o.oneTrip != nil && len(o.oneTrip) != len(replicas) {
		return nil, fmt.Errorf("rwsplit: WithOneRoundTrip: %d values for %d replicas", len(o.oneTrip), len(replicas))
	}
	if o.balancer == nil {
		o.balancer = RoundRobin()
	}
	db := &DB{
		balancer:        o.balancer,
		classifier:      sqlclass.New(o.pure...),
		mode:            o.mode,
		last:            NewSession(Token{}),
		interval:        o.interval,
		maxLag:          o.maxLag,
		primaryFallback: !o.noFall,
		replay:          replay.Open(),
	}
	db.tracking.Store(o.track || o.mode.waitsForToken())
	servers := make([]*Server, len(replicas))
	for i, r := range replicas {
		s := newServer(r, i)
		if o.weights != nil {
			s.weight = o.weights[i]
		}
		if o.oneTrip != nil {
			s.oneTrip = o.oneTrip[i]
		}
		servers[i] = s
	}
	db.publish(newServer(primary, -1), servers)
	ctx, cancel := context.WithCancel(context.Background())
	db.stopMonitor = cancel
	db.monitorWG.Add(1)
	go db.monitor(ctx)
	return db, nil
}

// Primary returns the primary's pool.
func (db *DB) Primary() *sql.DB { return db.primaryServer().db }

// Replicas returns the replicas' pools, in order.
func (db *DB) Replicas() []*sql.DB {
	rs := db.topology().replicas
	pools := make([]*sql.DB, len(rs))
	for i, r := range rs {
		pools[i] = r.db
	}
	return pools
}

// PrimaryServer returns the primary as a Server (its detected version, load).
func (db *DB) PrimaryServer() *Server { return db.primaryServer() }

// ReplicaServers returns the replicas as Servers, in order.
func (db *DB) ReplicaServers() []*Server { return append([]*Server(nil), db.topology().replicas...) }

// route is where one call goes.
type route struct {
	server *Server
	read   bool      // a read (on a replica, or on the primary by rule or mode)
	wait   *waitSpec // a wait to send in the same round trip as the query
}

// routeQuery decides where a statement run through Query/QueryRow goes;
// with deferWait the returned route may carry a wait to send with the query.
func (db *DB) routeQuery(ctx context.Context, query string, deferWait bool) (route, error) {
	if db.closed.Load() {
		return route{}, ErrClosed
	}
	cls := db.classifier.Classify(query)
	if !cls.Replica {
		return route{server: db.primaryServer(), read: !cls.Write}, nil
	}
	s, wait, err := db.planRead(ctx, deferWait)
	return route{server: s, read: true, wait: wait}, err
}

// Route returns the server a query would run on under the context's
// consistency mode, as QueryRowContext decides it (running any wait the mode
// asks for). It is for adapters, such as package rwsplitx, that run the query
// through another API on the same pools; it counts in Stats as the call.
func (db *DB) Route(ctx context.Context, query string) (*Server, error) {
	r, err := db.routeQuery(ctx, query, false)
	if err != nil {
		return nil, err
	}
	db.count(r)
	if !r.read {
		db.scope(ctx).markPending(time.Now())
	}
	return r.server, nil
}

// pick asks the balancer for one of candidates, and keeps its answer honest.
func (db *DB) pick(candidates []*Server) *Server {
	if len(candidates) == 1 {
		return candidates[0]
	}
	s := db.balancer.Pick(candidates)
	if s == nil {
		return candidates[0]
	}
	for _, c := range candidates {
		if c == s {
			return s
		}
	}
	return candidates[0]
}

// ExecContext runs a statement that returns no rows on the primary. When the
// context carries a Session or a waiting consistency mode (or write tracking
// is on), it then captures the write's causality token on the same
// connection: one more round trip.
func (db *DB) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if db.closed.Load() {
		return nil, ErrClosed
	}
	s := db.primaryServer()
	db.stats.writes.Add(1)
	t0 := s.begin()
	res, err := db.exec(ctx, s, query, args)
	s.end(t0, err)
	return res, err
}

// exec runs a write on the primary s and records it in the context's scope,
// capturing its token on the same connection when one is needed.
func (db *DB) exec(ctx context.Context, s *Server, query string, args []any) (sql.Result, error) {
	if !db.needsToken(ctx) {
		res, err := s.db.ExecContext(ctx, query, args...)
		if err == nil {
			db.afterWrite(ctx, nil) // records the write's time only
		}
		return res, err
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	res, err := conn.ExecContext(ctx, query, args...)
	if err == nil {
		db.afterWrite(ctx, conn)
	}
	return res, err
}

// QueryContext runs a query on the server its statement and the context's
// consistency mode call for: a replica for a provably read-only statement,
// the primary for anything else (INSERT ... RETURNING included). A wait for
// a replica to catch up rides in the same round trip as the query when the
// replica's DSN allows it (multiStatements and interpolateParams).
func (db *DB) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	rows, r, err := db.query(ctx, query, args, true)
	if err != nil && db.retry(ctx, r, err) {
		rows, _, err = db.query(withoutServer(ctx, r.server), query, args, false)
	}
	return rows, err
}

type excludeKey struct{}

// withoutServer marks a retry: the server that failed is not a candidate.
func withoutServer(ctx context.Context, s *Server) context.Context {
	return context.WithValue(ctx, excludeKey{}, s)
}

// retry reports whether a read that failed with err on r's server should be
// tried once more elsewhere: a read outside a transaction, on a replica,
// that failed for want of a connection (so it did not run, and returned no
// rows). It marks the replica suspect, so the retry goes elsewhere.
func (db *DB) retry(ctx context.Context, r route, err error) bool {
	if r.server == nil || r.server.primary || !r.read || ctx.Err() != nil || !isConnError(err) {
		return false
	}
	db.markSuspect(r.server, err)
	db.stats.retries.Add(1)
	return true
}

// query routes and runs one query; deferWait allows a one-round-trip wait.
func (db *DB) query(ctx context.Context, query string, args []any, deferWait bool) (*sql.Rows, route, error) {
	r, err := db.routeQuery(ctx, query, deferWait)
	if err != nil {
		return nil, r, err
	}
	if r.wait != nil {
		rows, err := db.queryWithWait(ctx, r, query, args)
		if err == nil || !errors.Is(err, errNotCaughtUp) {
			return rows, r, err
		}
		s, _, ferr := db.fallback(db.consistency(ctx), err)
		if ferr != nil {
			return nil, r, ferr
		}
		r = route{server: s, read: true}
	}
	db.count(r)
	t0 := r.server.begin()
	rows, err := r.server.db.QueryContext(ctx, query, args...)
	r.server.end(t0, err)
	if err == nil && !r.read {
		// A write through Query: its position is read before the
		// scope's next waiting read (its rows are still open here).
		db.scope(ctx).markPending(time.Now())
	}
	return rows, r, err
}

// errNotCaughtUp marks a one-round-trip wait that timed out.
var errNotCaughtUp = errors.New("rwsplit: replica not caught up")

// queryWithWait sends the wait and the query in one round trip:
//
//	SET @rwsplit_wait = (SELECT CASE WHEN <wait> THEN 1 ELSE (SELECT 1 UNION ALL SELECT 1) END); <query>
//
// A wait that times out makes the subquery return two rows, which fails the
// whole statement with error 1242 before the query runs. go-sql-driver/mysql
// skips the SET's empty result, so the rows returned are the query's.
func (db *DB) queryWithWait(ctx context.Context, r route, query string, args []any) (*sql.Rows, error) {
	s := r.server
	db.stats.waits.Add(1)
	q := "SET @rwsplit_wait = (SELECT CASE WHEN " + r.wait.call +
		" THEN 1 ELSE (SELECT 1 UNION ALL SELECT 1) END); " + query
	all := append(append(make([]any, 0, len(r.wait.args)+len(args)), r.wait.args...), args...)
	t0 := s.begin()
	rows, err := s.db.QueryContext(ctx, q, all...)
	s.end(t0, err)
	var me *mysql.MySQLError
	if errors.As(err, &me) && me.Number == 1242 {
		s.waitDone(false)
		return nil, fmt.Errorf("%w: %s", errNotCaughtUp, s.name)
	}
	if err != nil {
		return nil, err
	}
	// The driver skips the SET's empty result: rows are the query's.
	s.waitDone(true)
	s.learn(r.wait.tok)
	db.count(r)
	return rows, nil
}

// QueryRowContext is QueryContext for at most one row. rwsplit reads the row
// itself before returning, so that a read that fails on a replica before its
// first row (a connection lost, a server shutting down) is retried like any
// other; errors are deferred to the Row's Scan, as with *sql.DB.
func (db *DB) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if db.closed.Load() {
		return replay.ErrRow(ErrClosed)
	}
	cols, row, r, err := db.firstRow(ctx, query, args, true)
	if err != nil && row == nil && db.retry(ctx, r, err) {
		cols, row, _, err = db.firstRow(withoutServer(ctx, r.server), query, args, false)
	}
	return replay.Row(db.replay, cols, row, err)
}

// firstRow runs a query and reads its first row (nil if none).
func (db *DB) firstRow(ctx context.Context, query string, args []any, deferWait bool) ([]string, []any, route, error) {
	rows, r, err := db.query(ctx, query, args, deferWait)
	if err != nil {
		return nil, nil, r, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, nil, r, err
	}
	if !rows.Next() {
		err := rows.Err()
		if err == nil {
			err = rows.Close()
		}
		return cols, nil, r, err
	}
	row := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range row {
		ptrs[i] = &row[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		return cols, nil, r, err
	}
	// As (*sql.Row).Scan does: an error while closing is the call's error.
	return cols, row, r, rows.Close()
}

func (db *DB) count(r route) {
	switch {
	case !r.server.primary:
		r.server.reads.Add(1)
	case r.read:
		db.stats.primaryReads.Add(1)
	default:
		db.stats.writes.Add(1)
	}
}

// PingContext checks that the primary and every replica answer.
func (db *DB) PingContext(ctx context.Context) error {
	if db.closed.Load() {
		return ErrClosed
	}
	var errs []error
	for _, s := range db.all() {
		if err := s.db.PingContext(ctx); err != nil {
			errs = append(errs, fmt.Errorf("rwsplit: ping %s: %w", s.name, err))
		}
	}
	return errors.Join(errs...)
}

func (db *DB) all() []*Server {
	t := db.topology()
	return append([]*Server{t.primary}, t.replicas...)
}

// Close closes every pool, the primary's and the replicas', including pools
// given to New. Calls after Close return ErrClosed.
func (db *DB) Close() error {
	if db.closed.Swap(true) {
		return nil
	}
	db.stopMonitor()
	db.monitorWG.Wait()
	var errs []error
	_ = db.replay.Close()
	for _, s := range db.all() {
		if err := s.db.Close(); err != nil {
			errs = append(errs, fmt.Errorf("rwsplit: close %s: %w", s.name, err))
		}
	}
	return errors.Join(errs...)
}

// SetMaxOpenConns sets the limit on open connections of every pool.
func (db *DB) SetMaxOpenConns(n int) {
	for _, s := range db.all() {
		s.db.SetMaxOpenConns(n)
	}
}

// SetMaxIdleConns sets the limit on idle connections of every pool.
func (db *DB) SetMaxIdleConns(n int) {
	for _, s := range db.all() {
		s.db.SetMaxIdleConns(n)
	}
}

// SetConnMaxLifetime sets the maximum lifetime of connections of every pool.
func (db *DB) SetConnMaxLifetime(d time.Duration) {
	for _, s := range db.all() {
		s.db.SetConnMaxLifetime(d)
	}
}

// SetConnMaxIdleTime sets the maximum idle time of connections of every pool.
func (db *DB) SetConnMaxIdleTime(d time.Duration) {
	for _, s := range db.all() {
		s.db.SetConnMaxIdleTime(d)
	}
}

// Driver returns the primary's driver.
func (db *DB) Driver() driver.Driver { return db.primaryServer().db.Driver() }

// Exec is ExecContext with context.Background.
func (db *DB) Exec(query string, args ...any) (sql.Result, error) {
	return db.ExecContext(context.Background(), query, args...)
}

// Query is QueryContext with context.Background.
func (db *DB) Query(query string, args ...any) (*sql.Rows, error) {
	return db.QueryContext(context.Background(), query, args...)
}

// QueryRow is QueryRowContext with context.Background.
func (db *DB) QueryRow(query string, args ...any) *sql.Row {
	return db.QueryRowContext(context.Background(), query, args...)
}

// Ping is PingContext with context.Background.
func (db *DB) Ping() error { return db.PingContext(context.Background()) }

// Begin is BeginTx with context.Background and default options.
func (db *DB) Begin() (*Tx, error) { return db.BeginTx(context.Background(), nil) }

// Prepare is PrepareContext with context.Background.
func (db *DB) Prepare(query string) (*Stmt, error) {
	return db.PrepareContext(context.Background(), query)
}
