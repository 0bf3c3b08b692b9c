// Package rwsplit is a read/write-splitting router for MySQL and MariaDB over
// database/sql. A *DB holds one primary and any number of replica pools,
// classifies every call, sends writes and anything unsafe to the primary and
// provably read-only reads to a replica, and lets the caller choose per call,
// through the context, how fresh a replica read must be (see Consistency).
//
// A statement goes to a replica only when a SQL lexer proves it read-only and
// independent of session state; when in doubt it goes to the primary.
//
// Every way in (DB, Tx, Stmt, Conn, the Connector, and package rwsplitx) runs through one
// call pipeline (pipeline.go): classify, choose the server and any wait, run,
// record the write, count. A guarantee made by one holds for all. (A
// transaction's own prepared statements run on its *sql.Tx: pinned and
// recorded by Commit like the rest of the transaction, but not counted.)
package rwsplit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/rwsplit/rwsplit/internal/cluster"
	"github.com/rwsplit/rwsplit/internal/prefetch"
	"github.com/rwsplit/rwsplit/internal/redact"
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
	// ErrNoPrimary is returned by writes, and by reads that must go to the
	// primary, when no primary is known: under WithDiscovery, when the
	// monitor has found no writable server within the write hold
	// (WithWriteHold) after the one it knew stopped answering or became
	// read-only.
	ErrNoPrimary = errors.New("rwsplit: no primary known")
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
	mode       Consistency

	// process is the process scope: the writes made through this DB by
	// contexts without a Session.
	process *Session
	// safety is the token safety state: key, what the primary is known to
	// have executed, clamps (clamp.go).
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
// (address and database) given twice is an error. Close closes every pool.
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
	c, err := prefetch.ForDSN(d, dsn)
	if err != nil {
		return nil, redact.Err(err, secret)
	}
	return sql.OpenDB(prefetch.Connector(redact.Connector(c, secret))), nil
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
// row fails (it is not retried elsewhere), reads are not hedged, and a wait
// takes its own round trip before the read. Use Open for those.
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
			s.oneTrip = o.oneTrip[i]
		}
		servers[i] = s
	}
	p := newServer(primary, -1, name(0))
	p.oneTrip = o.primaryOneTrip
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
		snaps = db.checkAll(ctx, nil)
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
