package rwsplit

// Test-only access to internals for the external test package.

import (
	"context"
	"database/sql/driver"
	"time"

	"github.com/rwsplit/rwsplit/internal/prefetch"
)

// PrefetchConnector wraps c as Open wraps the pools it opens: every query
// reads its first row before the call returns (tests give such pools to New).
func PrefetchConnector(c driver.Connector) driver.Connector { return prefetch.Connector(c) }

// WithOneRoundTrip declares, per replica in order, what Open detects from the
// DSNs: the pool allows a wait and its read in one round trip.
func WithOneRoundTrip(replicas ...bool) Option { return oneRoundTrip(replicas) }

// DefaultWriteHold is WithWriteHold's default.
const DefaultWriteHold = defaultWriteHold

// SetAfterCaptureHook makes f run after each successful shared read of the
// primary's position (captures, token checks, Latest and Monotonic reads),
// before it is published to its waiters and merged into any scope.
func SetAfterCaptureHook(db *DB, f func()) { db.hooks = &testHooks{afterCapture: f} }

// PreparedOn returns the servers st is prepared on.
func PreparedOn(st *Stmt) []*Server {
	st.mu.Lock()
	defer st.mu.Unlock()
	var out []*Server
	for s := range st.stmts {
		out = append(out, s)
	}
	return out
}

// LastWaitFailed reports whether the last wait on s failed.
func LastWaitFailed(s *Server) bool { return s.lastWaitFailed() }

// DetectVersion detects s's version now, as the monitor's first check
// would (one SELECT VERSION(), the first time), and returns it.
func DetectVersion(ctx context.Context, s *Server) (string, error) {
	v, err := s.version(ctx)
	if err != nil {
		return "", err
	}
	return v.Raw, nil
}

// PrimaryServer returns db's primary, from Servers (nil while none is
// known).
func PrimaryServer(db *DB) *Server {
	if s := db.Servers(); len(s) > 0 && s[0].Index() < 0 {
		return s[0]
	}
	return nil
}

// ReplicaServers returns db's replicas, in order, from Servers.
func ReplicaServers(db *DB) []*Server {
	var rs []*Server
	for _, s := range db.Servers() {
		if s.Index() >= 0 {
			rs = append(rs, s)
		}
	}
	return rs
}

// ReplicaHealth is a replica's Health with its name and index, as tests
// check and print it.
type ReplicaHealth struct {
	Name  string
	Index int
	Health
}

// ReplicaStatus returns every replica's Health, in order.
func ReplicaStatus(db *DB) []ReplicaHealth {
	rs := ReplicaServers(db)
	out := make([]ReplicaHealth, len(rs))
	for i, r := range rs {
		out[i] = ReplicaHealth{Name: r.Name(), Index: i, Health: r.Health()}
	}
	return out
}

// PoolsInUse is the number of connections in use in all of db's pools.
func PoolsInUse(db *DB) (n int) {
	for _, s := range db.Servers() {
		n += s.DB().Stats().InUse
	}
	return n
}

// ReplicaReads returns the reads each replica served, in order.
func ReplicaReads(db *DB) []uint64 {
	rs := ReplicaServers(db)
	out := make([]uint64, len(rs))
	for i, r := range rs {
		out[i] = r.Health().Reads
	}
	return out
}

// BreakWaits breaks db on purpose (test only): every mode but Primary reads
// as Eventual, with no wait and no fallback. The history checker must then
// report violations.
func BreakWaits(db *DB) {
	if db.hooks == nil {
		db.hooks = &testHooks{}
	}
	db.hooks.breakWaits = true
}

// SetHedge replaces db's hedge bound, as WithHedge sets it at New.
func SetHedge(db *DB, floor, ceiling time.Duration) error { return db.setHedge(floor, ceiling) }

// ErrStmtClosedForTest is the error of calls on a closed Stmt.
var ErrStmtClosedForTest = errStmtClosed

// ConsistencyFrom returns the mode set on ctx by WithConsistency.
func ConsistencyFrom(ctx context.Context) (Consistency, bool) { return consistencyFrom(ctx) }

// ErrNotReplicatingForTest is a WaitError's cause when a position wait
// returned NULL.
var ErrNotReplicatingForTest = errNotReplicating

// TxServer is the server tx runs on.
func TxServer(tx *Tx) *Server { return tx.server }
