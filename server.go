package rwsplit

import (
	"context"
	"database/sql"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/rwsplit/rwsplit/internal/cluster"
	"github.com/rwsplit/rwsplit/internal/dialect"
	"github.com/rwsplit/rwsplit/internal/gtid"
)

// Server is one database server behind a DB: the primary or a replica (see
// DB.Servers). Its Health is what a Balancer chooses by.
type Server struct {
	db      *sql.DB
	name    string
	primary bool
	index   atomic.Int32 // position in DB.Replicas(); -1 for the primary
	weight  int
	reads   atomic.Uint64 // reads routed here (replicas)

	// health is the monitor's last verdict on the server, with any suspect
	// mark since (nil: not checked yet), replaced whole (health.go).
	health atomic.Pointer[verdict]

	inFlight atomic.Int64
	calls    atomic.Uint64
	errors   atomic.Uint64
	latency  atomic.Int64 // EWMA of call latency, nanoseconds

	ver       atomic.Pointer[dialect.Version]
	detecting flights[struct{}, *dialect.Version] // the detection in flight

	// applied is what the replica is known to have applied (learnt from
	// successful waits), so that a read whose token it covers needs no wait.
	applied atomic.Pointer[gtid.Token]
	// oneTrip: the pool's DSN has multiStatements and interpolateParams, so
	// a wait and a read can share one round trip.
	oneTrip bool
	// readsAhead: the pool's connector is wrapped by PrefetchConnector (Open
	// wraps its pools; learnt on a pool given to New), so a write's rows
	// can stream and be recorded when they close.
	readsAhead atomic.Bool
	// noReadAhead: a query on the pool returned rows without reading ahead
	// (a pool given to New unwrapped): its reads are not hedged.
	noReadAhead atomic.Bool
	// lastAnswer is when a call on the server last answered (unix
	// nanoseconds; see isAnswer): the hedge's sign of life.
	lastAnswer atomic.Int64
	// waitFailedAt is when the last wait on this replica timed out or
	// failed (unix nanoseconds), 0 after a successful one.
	waitFailedAt atomic.Int64

	// Identity, as the monitor last saw it (0 until then): the server's
	// @@server_id and, for a replica, its source's server_id (from SHOW
	// REPLICA STATUS). A binlog position means something on a replica only
	// when its source is the primary the position was read from.
	serverID atomic.Int64
	sourceID atomic.Int64
	// uuid is the server's @@server_uuid (MySQL; nil until read, and on
	// MariaDB, which has none).
	uuid atomic.Pointer[string]
	// member is what the server's last check read of it (nil before the
	// first): its cluster kind, role, state and backlog.
	member atomic.Pointer[cluster.Member]
	// refused, set on a primary under discovery before it is published,
	// asks the monitor to look again when a call on it is refused as
	// read-only (the primary was demoted).
	refused func()
	// answered: the latest check of s (the monitor's) succeeded.
	answered atomic.Bool
}

// newServer returns the Server of pool db, named name, at index in the
// replicas (-1: the primary).
func newServer(db *sql.DB, index int, name string) *Server {
	s := &Server{db: db, weight: 1, name: name, primary: index < 0}
	s.index.Store(int32(index))
	return s
}

// DB is the server's pool. Calls made on it bypass the router (see
// DB.Primary); its Stats are the pool's own. No I/O.
func (s *Server) DB() *sql.DB { return s.db }

// Name names the server uniquely among the DB's servers, and never changes:
// its address (host:port, never the credentials) when the DB was opened
// from DSNs by Open; otherwise "primary" or "replica N" (N counting the
// replicas in the order they were given or added), or under WithDiscovery,
// where roles change, "server N" (N its position in the pools given to New,
// the primary's first). No I/O.
func (s *Server) Name() string { return s.name }

// Index is the server's position in DB.Replicas(), or -1 for the primary
// (under WithDiscovery a server that changes role is a new Server). It
// changes when a replica before it is removed. One atomic load.
func (s *Server) Index() int { return int(s.index.Load()) }

// detectTimeout bounds a version detection.
const detectTimeout = 5 * time.Second

// version returns the server's version, detecting it the first time (one
// SELECT VERSION(), shared by concurrent callers, within detectTimeout and
// the caller's context).
func (s *Server) version(ctx context.Context) (*dialect.Version, error) {
	if v := s.ver.Load(); v != nil {
		return v, nil
	}
	return s.detecting.do(ctx, struct{}{}, func() (*dialect.Version, error) {
		if v := s.ver.Load(); v != nil {
			return v, nil
		}
		dctx, cancel := context.WithTimeout(ctx, detectTimeout)
		defer cancel()
		var raw string
		if err := s.db.QueryRowContext(dctx, "SELECT VERSION()").Scan(&raw); err != nil {
			return nil, fmt.Errorf("rwsplit: detect %s version: %w", s.name, err)
		}
		v := dialect.Parse(raw)
		s.ver.Store(&v)
		return &v, nil
	})
}

// begin marks a call as started on s and returns its start time.
func (s *Server) begin() time.Time {
	s.inFlight.Add(1)
	s.calls.Add(1)
	return time.Now()
}

// end marks a call begun at start as done, and folds its latency into the
// server's moving average.
// quietSince is when s last showed a sign of life, if after t (a call on it
// that answered: lastAnswer), else t: the hedge rule and a wait's hung
// guard measure a replica's silence from it.
func (s *Server) quietSince(t time.Time) time.Time {
	if last := s.lastAnswer.Load(); last > t.UnixNano() {
		return time.Unix(0, last)
	}
	return t
}

func (s *Server) end(start time.Time, err error) {
	s.inFlight.Add(-1)
	now := time.Now()
	if err != nil {
		s.errors.Add(1)
		if s.refused != nil && isReadOnlyError(err) {
			s.refused()
		}
	}
	if isAnswer(err) {
		s.lastAnswer.Store(now.UnixNano())
	}
	s.observe(now.Sub(start))
}

// ewmaShift sets the weight of a new sample in the latency average: 1/8.
const ewmaShift = 3

// observe folds one latency sample into the moving average.
func (s *Server) observe(d time.Duration) {
	sample := max(int64(d), 1)
	for {
		old := s.latency.Load()
		next := sample
		if old != 0 {
			next = old + (sample-old)>>ewmaShift
		}
		if s.latency.CompareAndSwap(old, next) {
			return
		}
	}
}

// hasApplied reports whether the replica is known to have applied tok.
func (s *Server) hasApplied(tok gtid.Token) bool {
	a := s.applied.Load()
	switch {
	case a == nil:
		return false
	case !tok.MySQL.IsEmpty() || !tok.MariaDB.IsEmpty():
		return covers(*a, tok)
	case !tok.Pos.IsZero():
		c, ok := a.Pos.Compare(tok.Pos)
		return ok && c >= 0
	}
	return true
}

// learn records that the replica has applied tok.
func (s *Server) learn(tok gtid.Token) {
	tok.Time = 0
	for {
		old := s.applied.Load()
		next := tok
		if old != nil {
			m, err := gtid.Merge(*old, tok)
			if err != nil {
				// A token of another flavor: start again from this one.
				m = tok
			}
			next = m
		}
		if s.applied.CompareAndSwap(old, &next) {
			return
		}
	}
}

// noteApplied records what the monitor read the replica has applied: its
// GTIDs replace what was known (so that a replica that lost transactions,
// rebuilt or re-pointed, is not taken to have them); a binlog position
// learnt by a wait is kept.
func (s *Server) noteApplied(tok gtid.Token) {
	tok.Time = 0
	for {
		old := s.applied.Load()
		next := tok
		if old != nil && old.Flavor == tok.Flavor {
			next.Pos = old.Pos
		}
		if s.applied.CompareAndSwap(old, &next) {
			return
		}
	}
}

// forgetPositions drops the binlog position the replica is known to have
// applied (after the primary changed), keeping its GTIDs.
func (s *Server) forgetPositions() {
	for {
		old := s.applied.Load()
		if old == nil || old.Pos.IsZero() {
			return
		}
		next := *old
		next.Pos = gtid.BinlogPos{}
		if s.applied.CompareAndSwap(old, &next) {
			return
		}
	}
}

// reportsCaughtUp asks the replica whether it has applied everything it has
// received, as its cluster kind tells (see cluster.CaughtUp): an async
// replica by its replica status, a Group Replication member or a Galera
// node by an empty applier queue.
func (s *Server) reportsCaughtUp(ctx context.Context) (bool, error) {
	v, err := s.version(ctx)
	if err != nil {
		return false, err
	}
	ok, err := cluster.CaughtUp(ctx, s.db, *v, s.kind())
	if err != nil {
		return false, fmt.Errorf("rwsplit: %s: %w", s.name, err)
	}
	return ok, nil
}

// kind is the server's cluster kind as its last check saw it (Unknown
// before the first).
func (s *Server) kind() cluster.Kind {
	if m := s.member.Load(); m != nil {
		return m.Kind
	}
	return cluster.Unknown
}

// waitDone records the outcome of a wait on the replica.
func (s *Server) waitDone(ok bool) {
	switch {
	case !ok:
		s.waitFailedAt.Store(time.Now().UnixNano())
	case s.waitFailedAt.Load() != 0:
		s.waitFailedAt.Store(0)
	}
}

// waitRetryAfter is how long a replica whose wait failed goes last in the
// wait order before it is tried first again.
const waitRetryAfter = time.Second

// lastWaitFailed reports whether a wait on the replica failed recently.
func (s *Server) lastWaitFailed() bool {
	at := s.waitFailedAt.Load()
	return at != 0 && time.Since(time.Unix(0, at)) < waitRetryAfter
}
