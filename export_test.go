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
