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

// The Connector's internals (connector.go).

// ConnectorStmts returns, by query text, how many prepared statements of
// virtual connections share the connector's Stmt.
func ConnectorStmts(c driver.Connector) map[string]int {
	cn := c.(*connector)
	cn.mu.Lock()
	defer cn.mu.Unlock()
	out := map[string]int{}
	for q, ss := range cn.stmts {
		out[q] = ss.refs
	}
	return out
}

// ConnectorPreparedOn returns the servers the connector's shared Stmt for
// query is prepared on (nil if there is none).
func ConnectorPreparedOn(c driver.Connector, query string) []*Server {
	cn := c.(*connector)
	cn.mu.Lock()
	ss := cn.stmts[query]
	cn.mu.Unlock()
	if ss == nil {
		return nil
	}
	return PreparedOn(ss.st)
}

// The modes' internals, for consistency_test.go.

// MonitorRound runs one round of the monitor's checks now, without the
// primary's history (so it measures no lag from it): what each replica has
// applied is noted, as the monitor's own rounds do.
func MonitorRound(db *DB) { db.checkAll(context.Background(), nil, roundAll) }

// ReadsNoted is how many servers have a Monotonic read of s on record.
func ReadsNoted(s *Session) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.seen)
}

// Token safety internals (gtid.go, position.go).

// TokenClamps is how many wait targets db cut down to what its primary had.
func TokenClamps(db *DB) uint64 { return db.tokens().clamps.Load() }

// TokenChecks is how many times db read its primary's executed set to check
// a wait target.
func TokenChecks(db *DB) uint64 { return db.tokens().checks.Load() }

// SetSourceID sets what the monitor saw as s's source server_id.
func SetSourceID(s *Server, id int64) { s.sourceID.Store(id) }

// ServerIDOf is s's server_id as last recorded (0: unknown).
func ServerIDOf(s *Server) int64 { return s.serverID.Load() }

// WithTime returns t with its time set to ms (unix milliseconds), unclamped.
func WithTime(t Token, ms int64) Token {
	t.t.Time = ms
	return t
}

// PosServerID is the server_id t's binlog position names (0: unknown).
func PosServerID(t Token) uint32 { return t.t.Pos.ServerID }

// TokenUUIDs is how many server uuids t's MySQL GTIDs name.
func TokenUUIDs(t Token) int { return t.t.MySQL.UUIDs() }

// PrimaryLooked reports whether db has read its current primary's executed
// GTIDs at least once (the monitor's first round, a capture): a token
// captured for writes begun after that keeps only the uuids they may have
// used.
func PrimaryLooked(db *DB) bool {
	st := db.tokens().stable.Load()
	return st != nil && st.srv == db.primaryServer()
}

// Write-safety internals.

// IsConnError is isConnError: whether err means a lost connection.
var IsConnError = isConnError
