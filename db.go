package rwsplit

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-sql-driver/mysql"

	"cmp"

	"github.com/rwsplit/rwsplit/internal/cluster"
	"github.com/rwsplit/rwsplit/internal/prefetch"
	"github.com/rwsplit/rwsplit/internal/redact"
	"github.com/rwsplit/rwsplit/internal/replay"
	"github.com/rwsplit/rwsplit/internal/sqlclass"
)

// DB routes calls between a primary and its replicas. It is safe for
// concurrent use; create it with Open or New and close it with Close.
type DB struct {
	topo   atomic.Pointer[topology]
	topoMu sync.Mutex // serialises publishers of topo

	interval        time.Duration
	maxLag          time.Duration
	primaryFallback bool
	minServing      int
	stopMonitor     context.CancelFunc
	monitorWG       sync.WaitGroup
	kicked          chan struct{} // asks the monitor for a round now
	// idle is the monitor's back-off while the DB plans no replica reads
	// (backoff.go).
	idle idleState
	// rounds counts the monitor's rounds begun and ended.
	rounds struct{ started, done atomic.Uint64 }
	// doubt is the primary a connection was last lost to (writesafety.go).
	doubt atomic.Pointer[primaryDoubt]
	// discover: the monitor finds the primary (WithDiscovery);
	// primaryFails counts its rounds in a row without an answer from the
	// primary (the monitor's goroutine only).
	discover bool
	// writeHold bounds the wait for a primary of calls that must reach
	// one (WithWriteHold).
	writeHold    time.Duration
	kind         cluster.Kind // WithClusterKind (Unknown: detect)
	added        atomic.Int64 // replicas given or added: numbers the next one's name
	primaryFails int
	demoted      bool // the last primary was dropped for turning read-only
	// replay builds the *sql.Rows and *sql.Row of writes made through
	// Query, whose results are read before the write is recorded.
	replay *sql.DB

	balancer   Balancer
	classifier *sqlclass.Classifier
	classes    classCache // the classifier's recent verdicts
	mode       Consistency

	// process is the process scope: the writes made through this DB by
	// contexts without a Session.
	process *Session
	// safety is the token safety state: key, what the primary is known to
	// have executed, clamps (position.go).
	safety tokenState
	// hedge is the hedge's bound and figures (hedge.go).
	hedge hedger

	// obs receive routing and health events (WithObserver).
	obs observers

	// hooks are test-only interleaving points (nil in production).
	hooks *testHooks

	stats  counters
	closed atomic.Bool
}

// Open opens a pool for the primary and one per replica with the driver
// registered as driverName (go-sql-driver/mysql's "mysql", or any driver
// registered over it, a tracing wrapper's included), and returns a DB over
// them. Each pool reads every query's first row before the call returns, so
// that a read that fails before its first row is retried elsewhere and a
// slow one can be hedged (see WithHedge); and where a replica's DSN sets
// multiStatements=true and interpolateParams=true, a read's wait is sent with
// the read in one round trip. Zero replicas is valid: every call then goes to the
// primary. For the "mysql" driver each DSN is parsed, and the same server
// (address and database) given twice is an error; over TCP or a Unix socket
// the pools dial through a function of their own (the DSN's Config.DialFunc),
// so that a hedged read's first attempt is ended by interrupting its
// connection rather than by a context the driver watches at every call (so
// a dial function registered with mysql.RegisterDialContext for "tcp" or
// "unix" is not used: register it under a network name of its own; and
// go-sql-driver logs an i/o error line for each attempt so ended). Close
// closes every pool.
func Open(driverName, primaryDSN string, replicaDSNs []string, opts ...Option) (*DB, error) {
	if driverName == "" {
		return nil, errors.New("rwsplit: Open: driver name is empty")
	}
	names := make([]string, 0, len(replicaDSNs)+1)
	keys := make(map[string]string, len(replicaDSNs)+1)
	oneTrip := make([]bool, len(replicaDSNs))
	var addrs []string // each server's address, when every DSN parses
	primaryOneTrip := false
	for i, dsn := range append([]string{primaryDSN}, replicaDSNs...) {
		name := "primary DSN"
		if i > 0 {
			name = fmt.Sprintf("replica DSN %d", i-1)
		}
		names = append(names, name)
		if dsn == "" {
			return nil, fmt.Errorf("rwsplit: Open: %s is empty", name)
		}
		// The server's identity, never shown with its credentials: for
		// "mysql" (and wrapper drivers whose DSNs parse the same way) its
		// address and database; else the DSN itself, never printed.
		key, shown := dsn, ""
		cfg, perr := mysql.ParseDSN(dsn)
		switch {
		case perr == nil:
			key = cfg.Net + "(" + cfg.Addr + ")/" + cfg.DBName
			if slices.Contains(addrs, cfg.Addr) {
				cfg.Addr += "/" + cfg.DBName // another database on the same server
			}
			addrs = append(addrs, cfg.Addr)
			shown = " (" + shorten(redact.Of(dsn).Mask(key)) + ")"
			if i > 0 {
				oneTrip[i-1] = cfg.MultiStatements && cfg.InterpolateParams
			} else {
				primaryOneTrip = cfg.MultiStatements && cfg.InterpolateParams
			}
		case driverName == "mysql":
			return nil, fmt.Errorf("rwsplit: Open: %s does not parse: %w", name, redact.DSN(perr, dsn))
		}
		if prev, dup := keys[key]; dup {
			return nil, fmt.Errorf("rwsplit: Open: %s and %s name the same server%s", prev, name, shown)
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
		db, err := openPool(driverName, dsn)
		if err != nil {
			closeAll()
			return nil, fmt.Errorf("rwsplit: Open: %s: %w", names[i], err)
		}
		opened = append(opened, db)
	}
	readAhead := func(o *options) error {
		o.readAhead, o.primaryOneTrip = true, primaryOneTrip
		if len(addrs) == len(opened) {
			o.names = addrs
		}
		return nil
	}
	db, err := New(opened[0], opened[1:], append([]Option{oneRoundTrip(oneTrip), readAhead}, opts...)...)
	if err != nil {
		closeAll()
		return nil, err
	}
	return db, nil
}

// openPool opens a pool for dsn whose queries read their first row before
// the query call returns: a failure a server reports in place of the first
// row (a connection lost, a server shutting down) then fails the call itself,
// before any row was seen, and the read can be retried elsewhere. It costs
// one slice of the row's width per query. (*sql.Conn).Raw sees a wrapper
// whose Unwrap method returns the driver's own connection.
func openPool(driverName, dsn string) (*sql.DB, error) {
	probe, err := sql.Open(driverName, dsn) // finds the registered driver
	if err != nil {
		return nil, redact.DSN(err, dsn)
	}
	d := probe.Driver()
	_ = probe.Close()
	secret := redact.Of(dsn)
	c, err := connectorFor(d, dsn)
	if err != nil {
		return nil, redact.Err(err, secret)
	}
	return sql.OpenDB(prefetch.Connector(redact.Connector(c, secret))), nil
}

// connectorFor returns d's connector for dsn. go-sql-driver/mysql's, over
// TCP or a Unix socket with no dial function of the DSN's own, dials
// through prefetch.Dial: the pool can then end a hedged read's first
// attempt by interrupting its connection's I/O, and the driver is given no
// context to watch per call (which costs it two goroutine switches a call).
func connectorFor(d driver.Driver, dsn string) (driver.Connector, error) {
	switch d.(type) {
	case mysql.MySQLDriver, *mysql.MySQLDriver:
		cfg, err := mysql.ParseDSN(dsn)
		if err != nil {
			return nil, err
		}
		if cfg.DialFunc == nil && (cfg.Net == "tcp" || cfg.Net == "unix") {
			var nd net.Dialer
			cfg.DialFunc = prefetch.Dial(nd.DialContext)
			return mysql.NewConnector(cfg)
		}
	}
	return prefetch.ForDSN(d, dsn)
}

// shorten keeps a DSN key short and free of credentials for error messages.
func shorten(key string) string {
	if len(key) > 120 {
		return key[:120] + "..."
	}
	return key
}

// New returns a DB over pools the caller opened. Zero replicas is valid. A nil
// pool, or the same pool given twice, is an error. Close closes every pool.
// Such pools do not read ahead as Open's do: a read that fails at its first
// row fails (it is not retried elsewhere) and reads are not hedged; use
// Open (with any registered driver name) for those. Whether a pool's DSN lets
// a wait ride in its read's round trip (multiStatements and
// interpolateParams) the monitor learns at its first check of the server,
// with one probe query.
//
// Cost: before it returns, New looks at the primary once (its version,
// identity and executed GTIDs: three queries, within 1 s; a primary that
// does not answer makes New wait that second, not fail), so that the
// tokens of the first writes are compacted too; under WithDiscovery it also
// runs the monitor's first round.
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
		return nil, fmt.Errorf("rwsplit: one-round-trip flags: %d values for %d replicas", len(o.oneTrip), len(replicas))
	}
	if o.balancer == nil {
		o.balancer = LeastInFlight()
	}
	db := &DB{
		balancer:        o.balancer,
		classifier:      sqlclass.New(o.pure...),
		mode:            o.mode,
		process:         NewSession(Token{}),
		interval:        o.interval,
		maxLag:          o.maxLag,
		primaryFallback: !o.noFall,
		minServing:      o.minServing,
		discover:        o.discover,
		writeHold:       defaultWriteHold,
		kind:            o.kind,
		kicked:          make(chan struct{}, 1),
		idle:            idleState{woken: make(chan struct{}, 1)},
		replay:          replay.Open(),
		obs:             o.observers,
	}
	db.safety.key = o.tokenKey
	if o.writeHold != nil {
		db.writeHold = *o.writeHold
	}
	if o.hedge != nil {
		db.hedge.cfg.Store(o.hedge)
	}
	db.added.Store(int64(len(replicas)))
	name := func(i int) string { // i: 0 for the primary, 1+ for the replicas
		switch {
		case o.names != nil:
			return o.names[i]
		case o.discover:
			return fmt.Sprintf("server %d", i)
		case i == 0:
			return "primary"
		}
		return fmt.Sprintf("replica %d", i-1)
	}
	servers := make([]*Server, len(replicas))
	for i, r := range replicas {
		s := newServer(r, i, name(i+1))
		if o.weights != nil {
			s.weight = o.weights[i]
		}
		if o.oneTrip != nil {
			s.oneTrip.Store(o.oneTrip[i])
			s.oneTripKnown.Store(true)
		}
		servers[i] = s
	}
	p := newServer(primary, -1, name(0))
	if o.readAhead { // opened by Open: its DSN says
		p.oneTrip.Store(o.primaryOneTrip)
		p.oneTripKnown.Store(true)
	}
	for _, s := range append(servers, p) {
		s.readsAhead.Store(o.readAhead)
	}
	ctx, cancel := context.WithCancel(context.Background())
	db.stopMonitor = cancel
	var snaps []snapshot
	if o.discover {
		// Every server a replica until the first round finds the primary.
		first := p.reborn(0, false)
		first.health.Store(nil)
		db.publish(nil, append([]*Server{first}, servers...))
		snaps = db.checkAll(ctx, nil, roundAll)
	} else {
		db.publish(p, servers)
	}
	// One look at the primary (its identity and executed GTIDs: three
	// queries with the version's, within firstLookTimeout) before New
	// returns: token
	// compaction (compactCapture) proves the history's uuids unchanged
	// since before a write by such a look, so the first writes' tokens
	// stay small too. A failure is no error: the monitor looks again.
	if p := db.primaryServer(); p != nil {
		lctx, cancel := context.WithTimeout(ctx, firstLookTimeout)
		if _, snap := db.lookAtPrimary(lctx, p); snap != nil {
			snaps = append(snaps, *snap)
		}
		cancel()
	}
	db.monitorWG.Add(1)
	go db.monitor(ctx, snaps, o.discover)
	return db, nil
}

// firstLookTimeout bounds New's look at the primary's executed GTIDs.
const firstLookTimeout = time.Second

// Primary returns the primary's pool (nil under WithDiscovery while no
// primary is known). Calls made on it bypass the router: nothing routes,
// waits, records or counts them. No I/O.
func (db *DB) Primary() *sql.DB {
	if p := db.primaryServer(); p != nil {
		return p.db
	}
	return nil
}

// Replicas returns the replicas' pools, in order. Calls made on them bypass
// the router, as with Primary. No I/O; one allocation of the slice.
func (db *DB) Replicas() []*sql.DB {
	rs := db.topology().replicas
	pools := make([]*sql.DB, len(rs))
	for i, r := range rs {
		pools[i] = r.db
	}
	return pools
}

// Servers returns the servers behind db: the primary first (absent under
// WithDiscovery while no primary is known), then the replicas in order, as
// they are now. The slice is the caller's; discovery, AddReplica,
// RemoveReplica and ReplacePrimary change later calls' answer, not this
// one. Each Server's Health reports its health and load. Cost: no I/O, one
// allocation of the slice.
func (db *DB) Servers() []*Server { return db.all() }

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

// all returns every server: the primary (if known) and the replicas.
func (db *DB) all() []*Server {
	t := db.topology()
	if t.primary == nil {
		return append([]*Server(nil), t.replicas...)
	}
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

// DB's call entry points: thin adapters that describe a call and hand it to
// the pipeline (router.go). dbRunner runs statements on a server's pool.

type dbRunner struct{}

func (dbRunner) query(ctx context.Context, s *Server, q string, args []any) (*sql.Rows, error) {
	return s.db.QueryContext(ctx, q, args...)
}

func (dbRunner) queryRow(ctx context.Context, s *Server, q string, args []any) *sql.Row {
	return s.db.QueryRowContext(ctx, q, args...)
}

func (dbRunner) exec(ctx context.Context, s *Server, q string, args []any) (sql.Result, error) {
	return s.db.ExecContext(ctx, q, args...)
}

func (dbRunner) oneTrip() bool { return true }

// ExecContext runs a statement that returns no rows on the primary, with
// database/sql's own retry of a stale pooled connection. It records the write
// in the context's scope without a round trip: the write's position is read
// only when a waiting read (or Session.Token) needs it.
func (db *DB) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return db.execCall(&call{ctx: ctx, query: query, args: args, run: dbRunner{}})
}

// QueryContext runs a query on the server its statement and the context's
// consistency mode call for: a replica for a provably read-only statement,
// the primary for anything else. A wait for a replica to catch up rides in
// the same round trip as the query when the replica's DSN allows it
// (multiStatements and interpolateParams). A read that fails on a replica for
// want of a connection is retried once elsewhere.
//
// A query that may write (INSERT ... RETURNING, CALL, a stored function) is
// recorded once complete: when its rows are closed, on a pool that reads
// ahead (Open's); on another pool its results are read
// in full first and the rows returned replay them from memory.
//
// The statement's classification is kept by text, per DB (at most 1,024
// texts of up to 1 KiB, emptied when full): a text run again costs one
// lock-free look-up, not a new reading. Pass values as arguments rather
// than in the text for the cache to hold.
func (db *DB) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return db.queryCall(&call{ctx: ctx, query: query, args: args, cls: db.classify(query), run: dbRunner{}})
}

// QueryRowContext is QueryContext for at most one row; errors are deferred to
// the Row's Scan, as with *sql.DB. The Row is the pool's own (no copy). A
// read that fails on a replica before its first row (connection refused or
// lost, server shutting down) is retried once elsewhere; for a failure
// reported in place of the first row this needs a pool that reads ahead, as
// Open's do.
func (db *DB) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if db.closed.Load() {
		return replay.ErrRow(ErrClosed)
	}
	return db.queryRowCall(&call{ctx: ctx, query: query, args: args, cls: db.classify(query), run: dbRunner{}})
}

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

// ClusterKind is a kind of cluster rwsplit runs on. The monitor detects
// each server's kind from what it reports (a Group Replication group name,
// wsrep_on) and Health.Kind shows it; WithClusterKind forces one.
//
//   - async: asynchronous or semi-synchronous replication, cascaded, an
//     active–passive or active–active pair. Roles from read_only and SHOW
//     REPLICA STATUS; reads wait with WAIT_FOR_EXECUTED_GTID_SET,
//     MASTER_GTID_WAIT or a binlog position wait.
//   - group-replication: MySQL Group Replication (InnoDB Cluster), single-
//     or multi-primary. Roles and state from
//     performance_schema.replication_group_members (only ONLINE members
//     serve); reads wait with WAIT_FOR_EXECUTED_GTID_SET.
//   - galera: MariaDB Galera Cluster. State from wsrep_* status (ready,
//     in the primary component, Synced or Desynced, not rejecting queries);
//     one node takes the writes; reads wait with WSREP_SYNC_WAIT_UPTO_GTID.
//
// On group-replication and galera a binlog position means nothing across
// members: WaitPosition waits for the GTIDs of the same writes instead.
type ClusterKind string

// Cluster kinds. The zero ClusterKind ("") stands for none given: detected.
const (
	ClusterAsync            ClusterKind = "async"             // asynchronous replication
	ClusterGroupReplication ClusterKind = "group-replication" // MySQL Group Replication
	ClusterGalera           ClusterKind = "galera"            // MariaDB Galera Cluster
)

// grouped reports whether db's cluster is a group of peers (Group
// Replication, Galera), identifying the primary first (one query, once)
// when no server has been checked yet.
func (db *DB) grouped(ctx context.Context) bool {
	k := db.clusterKind()
	if p := db.primaryServer(); k == cluster.Unknown && p != nil {
		k, _ = db.kindOf(ctx, p)
	}
	return k.Grouped()
}

// kindOf returns s's cluster kind, checking s first (identity and member
// state: two queries, once) when the monitor has not yet.
func (db *DB) kindOf(ctx context.Context, s *Server) (cluster.Kind, error) {
	if k := s.kind(); k != cluster.Unknown {
		return k, nil
	}
	m, err := db.checkMember(ctx, s, !s.primary)
	return m.Kind, err
}

// clusterKind returns the kind of db's cluster as its servers' last checks
// saw it: the primary's, else the first replica's that was checked, else
// WithClusterKind's (Unknown by default). No I/O.
func (db *DB) clusterKind() cluster.Kind {
	t := db.topology()
	if t.primary != nil {
		if k := t.primary.kind(); k != cluster.Unknown {
			return k
		}
	}
	for _, r := range t.replicas {
		if k := r.kind(); k != cluster.Unknown {
			return k
		}
	}
	return db.kind
}

// topology is an immutable snapshot of the servers behind a DB. The hot path
// reads it through an atomic pointer, without a lock; changes (monitor
// verdicts, AddReplica, RemoveReplica, ReplacePrimary) publish a new one.
type topology struct {
	primary  *Server
	replicas []*Server // every replica, in order
	usable   []*Server // the replicas that may serve reads now
}

// topology returns the current snapshot.
func (db *DB) topology() *topology { return db.topo.Load() }

// primaryServer returns the current primary: nil only under WithDiscovery
// while no server is known to be writable.
func (db *DB) primaryServer() *Server { return db.topo.Load().primary }

// writer returns the current primary, or ErrNoPrimary while none is known.
func (db *DB) writer() (*Server, error) {
	if p := db.primaryServer(); p != nil {
		return p, nil
	}
	return nil, ErrNoPrimary
}

// publish stores a new snapshot built from primary and replicas, computing
// which replicas are usable. Callers hold db.topoMu.
func (db *DB) publish(primary *Server, replicas []*Server) {
	for _, s := range append([]*Server{primary}, replicas...) {
		if s != nil && s.owner == nil {
			s.owner = db // not published yet: no reader
		}
	}
	t := &topology{primary: primary, replicas: replicas}
	var lagging []*Server
	for i, r := range replicas {
		r.index.Store(int32(i))
		switch v := r.verdict(); {
		case v.usable():
			t.usable = append(t.usable, r)
		case v.state == StateLagging && !v.suspect:
			lagging = append(lagging, r)
		}
	}
	if n := db.minServing - len(t.usable); n > 0 && len(lagging) > 0 {
		// The floor (WithMinServing): the least-lagged lagging replicas
		// serve too.
		slices.SortStableFunc(lagging, func(a, b *Server) int {
			return cmp.Compare(a.verdict().lag, b.verdict().lag)
		})
		t.usable = append(t.usable, lagging[:min(n, len(lagging))]...)
	}
	old := db.topo.Load()
	db.topo.Store(t)
	db.observeTopology(old, t)
}

// refresh republishes the snapshot after a replica's health changed.
func (db *DB) refresh() {
	db.topoMu.Lock()
	defer db.topoMu.Unlock()
	t := db.topology()
	db.publish(t.primary, t.replicas)
}

// AddReplica adds a replica pool at runtime with the given weight (for
// weighted balancers; 1 if weight < 1). It serves reads at once, and is
// checked by the monitor from its next round. The DB closes it on Close.
func (db *DB) AddReplica(replica *sql.DB, weight int) error {
	if replica == nil {
		return errors.New("rwsplit: AddReplica: replica is nil")
	}
	if db.closed.Load() {
		return ErrClosed
	}
	db.topoMu.Lock()
	defer db.topoMu.Unlock()
	t := db.topology()
	if t.primary != nil && replica == t.primary.db {
		return errors.New("rwsplit: AddReplica: the replica is the primary's *sql.DB")
	}
	for _, r := range t.replicas {
		if r.db == replica {
			return fmt.Errorf("rwsplit: AddReplica: already %s", r.name)
		}
	}
	s := newServer(replica, len(t.replicas), fmt.Sprintf("replica %d", db.added.Add(1)-1))
	s.weight = max(weight, 1)
	db.publish(t.primary, append(append([]*Server(nil), t.replicas...), s))
	return nil
}

// RemoveReplica stops sending reads to a replica pool. Calls already running
// on it finish normally; transactions and statements that hold it keep it
// until they end. It does not close the pool: the caller owns it again.
func (db *DB) RemoveReplica(replica *sql.DB) error {
	db.topoMu.Lock()
	defer db.topoMu.Unlock()
	t := db.topology()
	rest := make([]*Server, 0, len(t.replicas))
	found := false
	for _, r := range t.replicas {
		if r.db == replica {
			found = true
			continue
		}
		rest = append(rest, r)
	}
	if !found {
		return errors.New("rwsplit: RemoveReplica: not a replica of this DB")
	}
	db.publish(t.primary, rest)
	return nil
}

// ReplacePrimary makes primary the pool writes go to, after a failover (a
// replica promoted with STOP REPLICA; RESET REPLICA ALL; SET GLOBAL
// read_only = OFF, or a Redis-style REPLICAOF NO ONE). Calls already running
// on the old primary finish normally. If primary was one of the replicas, it
// stops serving reads as a replica. It returns the old primary's pool, which
// the caller owns again (close it, or AddReplica it once it replicates from
// the new primary). Tokens captured on the old primary stay valid for a
// MySQL GTID set or a MariaDB GTID position (the new primary carries the same
// GTIDs); binlog positions are not comparable across servers.
func (db *DB) ReplacePrimary(primary *sql.DB) (*sql.DB, error) {
	if primary == nil {
		return nil, errors.New("rwsplit: ReplacePrimary: primary is nil")
	}
	if db.closed.Load() {
		return nil, ErrClosed
	}
	db.topoMu.Lock()
	defer db.topoMu.Unlock()
	t := db.topology()
	if t.primary != nil && primary == t.primary.db {
		return nil, errors.New("rwsplit: ReplacePrimary: already the primary")
	}
	rest := make([]*Server, 0, len(t.replicas))
	for _, r := range t.replicas {
		if r.db != primary {
			rest = append(rest, r)
		}
	}
	var old *sql.DB
	if t.primary != nil {
		old = t.primary.db
	}
	for _, r := range rest {
		r.forgetPositions() // binlog positions of the old primary mean nothing now
	}
	name := "primary"
	for _, r := range t.replicas {
		if r.db == primary {
			name = r.name // it was a replica: it keeps its name
		}
	}
	db.publish(newServer(primary, -1, name), rest)
	return old, nil
}
