package rwsplit

import (
	"context"
	"database/sql"
	"fmt"
	"sync/atomic"
	"time"

	"database/sql/driver"
	"errors"
	"io"
	"net"
	"strings"

	"github.com/go-sql-driver/mysql"
	"github.com/rwsplit/rwsplit/internal/cluster"
	"github.com/rwsplit/rwsplit/internal/dialect"
	"github.com/rwsplit/rwsplit/internal/gtid"
	"github.com/rwsplit/rwsplit/internal/prefetch"
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
	// mark since (nil: not checked yet), replaced whole (server.go).
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
	// a wait and a read can share one round trip; oneTripKnown: that is
	// decided (from Open's DSN, or by probing a pool given to New once:
	// probeOneTrip).
	oneTrip, oneTripKnown atomic.Bool
	// readsAhead: the pool's connector reads each query's first row ahead (Open
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

	// owner is the DB that published s (set once, before it is
	// published: nil for a Server no DB published), whose monitor s asks
	// for checks (backoff.go).
	owner *DB
	// checkSoon: a sign from real traffic asked for a check now; sched is
	// s's place in the monitor's back-off (its goroutine only).
	checkSoon atomic.Bool
	sched     schedule
	// forms remembers the identity query forms the server refused.
	forms cluster.Forms
	// appliedAt is when what s has applied was last read or learnt (unix
	// nanoseconds): older than the DB's freshFor, it is not trusted.
	appliedAt atomic.Int64
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

// end marks a call begun at start as done, folds its latency into the
// server's moving average, and returns it.
// quietSince is when s last showed a sign of life, if after t (a call on it
// that answered: lastAnswer), else t: the hedge rule and a wait's hung
// guard measure a replica's silence from it.
func (s *Server) quietSince(t time.Time) time.Time {
	if last := s.lastAnswer.Load(); last > t.UnixNano() {
		return time.Unix(0, last)
	}
	return t
}

func (s *Server) end(start time.Time, err error) time.Duration {
	s.inFlight.Add(-1)
	d := time.Since(start) // one clock read (monotonic), not time.Now's two
	if err != nil {
		s.errors.Add(1)
		if s.refused != nil && isReadOnlyError(err) {
			s.refused()
		}
	}
	if o := s.owner; o != nil && !s.primary && (signals(err) || d > o.slowAnswer()) {
		s.ask() // a sign of trouble from real traffic: look at once
	}
	if isAnswer(err) {
		s.lastAnswer.Store(start.UnixNano() + int64(d))
	}
	s.observe(d)
	return d
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

// hasApplied reports whether the replica is known to have applied tok, by
// a look fresh enough to trust (see fresh): its GTIDs, or its binlog
// position. A target with both (WaitPosition's, see positionGTIDs) names
// the same writes twice: either part known applied will do.
func (s *Server) hasApplied(tok gtid.Token) bool {
	a := s.applied.Load()
	hasG := !tok.MySQL.IsEmpty() || !tok.MariaDB.IsEmpty()
	switch {
	case a == nil:
		return false
	case !s.fresh():
		return false
	case hasG && gtid.Covers(*a, tok):
		return true
	case !tok.Pos.IsZero():
		c, ok := a.Pos.Compare(tok.Pos)
		return ok && c >= 0
	}
	return !hasG
}

// gtidsOn reports whether s's last check found it a MySQL server with
// gtid_mode ON (see cluster.Identity.GTIDsOn); false before the first.
func (s *Server) gtidsOn() bool {
	m := s.member.Load()
	return m != nil && m.GTIDsOn
}

// fresh reports whether what s is known to have applied was read or learnt
// recently enough to trust (within its DB's freshFor). A
// replica its DB has not read from for a while is checked less often
// (backoff.go); its old look counts as unknown, and asks for a new one.
func (s *Server) fresh() bool {
	o := s.owner
	if o == nil || time.Now().UnixNano()-s.appliedAt.Load() <= int64(o.freshFor()) {
		return true
	}
	if o.idle.backedOff.Load() {
		s.ask() // checked less often: look again now (else its next tick will)
	}
	return false
}

// learn records that the replica has applied tok.
func (s *Server) learn(tok gtid.Token) {
	s.appliedAt.Store(time.Now().UnixNano())
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
	s.appliedAt.Store(time.Now().UnixNano())
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
		s.ask() // a timed-out or failed wait: a sign of lag worth a look now
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

// A server's health: what the monitor (monitor.go) and failed reads say of
// it, and whether it may serve reads.

// State is a server's health as its last check saw it.
type State string

// Health states, as Health.State and HealthEvent report them.
const (
	StateUnknown State = "unknown" // not checked yet: serves reads
	StateUp      State = "up"      // reachable, replicating, within the lag limit
	StateDown    State = "down"    // unreachable, or its check failed
	StateBroken  State = "broken"  // a replication thread stopped with an error, or not a replica
	StateLagging State = "lagging" // behind the primary by more than WithMaxReplicationLag
)

// Health is one server's health and load (see Server.Health): everything a
// user or a Balancer reads about it. The verdict (State through Version) is
// one check's, with any suspect mark since, taken together: it never mixes
// two checks. The counters (Weight through Errors) are read when Health is
// called, one atomic load each, so they may be a moment newer than the
// verdict.
type Health struct {
	// State is StateUp, StateDown, StateBroken, StateLagging or
	// StateUnknown (not checked yet). The primary is StateUp when its last
	// check answered, StateDown when not.
	State State
	// Usable reports whether the verdict lets the server serve reads (its
	// State is StateUp or StateUnknown, and it is not Suspect); Suspect,
	// that a read failed on it with a connection error, or went unanswered
	// while its hedge answered, since the last good check. WithMinServing
	// may still send reads to a lagging replica that is not Usable.
	Usable, Suspect bool
	// Kind is the server's cluster kind as its last check saw it ("" before
	// the first); MemberState its state in its group (Group Replication's
	// MEMBER_STATE, Galera's wsrep_local_state_comment; "" for async); Queue
	// its applier backlog in transactions (Group Replication's remote
	// applier queue, Galera's wsrep_local_recv_queue; -1 for async, or
	// before the first check).
	Kind        ClusterKind
	MemberState string
	Queue       int64
	// Lag is how far behind the primary the replica was at LastCheck (0
	// for the primary, and when unknown).
	Lag time.Duration
	// LastCheck is when the last check ended (zero before the first);
	// LastError is the error of that check, or of a read that marked the
	// server suspect since ("" when neither failed).
	LastCheck time.Time
	LastError string
	// Version is VERSION() as the server reported it ("" before the first
	// check): "8.4.3", "11.4.2-MariaDB-log", ...
	Version string
	// Weight is the replica's weight for the weighted balancer (see
	// WithWeights; 1 by default).
	Weight int
	// InFlight is the number of calls running on the server now, counted
	// until each call returns its result (rows are not tracked while being
	// read).
	InFlight int64
	// Latency is the moving average (EWMA) of the latency of calls on the
	// server, until each returned; 0 before the first call.
	Latency time.Duration
	// Reads counts the reads routed to the server as a replica; Calls the
	// calls rwsplit sent to it; Errors those that returned an error.
	Reads, Calls, Errors uint64
}

// verdict is a server's health as the monitor's last check and failed reads
// since left it: immutable, replaced whole (Server.health), so that every
// reader sees one check's values together.
type verdict struct {
	state State
	lag   time.Duration // lagUnknown when not measured
	at    time.Time     // when the check ended (zero: none yet)
	err   string
	// member is what the check read of the server as a member of its
	// cluster (nil: nothing yet); version its VERSION() ("" unknown).
	member  *cluster.Member
	version string
	// suspect: a read failed on it with a connection error, at suspectAt
	// (unix nanoseconds); only a check begun after that clears it.
	suspect   bool
	suspectAt int64
}

// unchecked is the verdict of a server not checked yet.
var unchecked = &verdict{state: StateUnknown}

// usable reports whether the verdict lets the server serve reads.
func (v *verdict) usable() bool {
	return (v.state == StateUp || v.state == StateUnknown) && !v.suspect
}

// verdict returns s's current verdict (never nil). One atomic load.
func (s *Server) verdict() *verdict {
	if v := s.health.Load(); v != nil {
		return v
	}
	return unchecked
}

// usable reports whether the replica may serve reads.
func (s *Server) usable() bool { return s.verdict().usable() }

// Health returns the server's health and load now (see Health): its last
// verdict, read in one atomic load, and its live counters. No I/O; it
// allocates nothing.
func (s *Server) Health() Health {
	v := s.verdict()
	h := Health{
		State: v.state, Usable: v.usable(), Suspect: v.suspect, Queue: -1,
		Lag: max(v.lag, 0), LastCheck: v.at, LastError: v.err, Version: v.version,
		Weight: s.weight, InFlight: s.inFlight.Load(), Latency: time.Duration(s.latency.Load()),
		Reads: s.reads.Load(), Calls: s.calls.Load(), Errors: s.errors.Load(),
	}
	if m := v.member; m != nil {
		h.Kind, h.MemberState, h.Queue = ClusterKind(m.Kind.String()), m.State, m.Queue
	}
	return h
}

// setHealth records the verdict of a check begun at start, which read m
// of the server (nil: nothing), and reports whether usability changed.
// Only a check begun after a read marked the server suspect clears the
// mark.
func (s *Server) setHealth(state State, lag time.Duration, err error, m *cluster.Member, start time.Time) bool {
	next := &verdict{state: state, lag: lag, at: time.Now(), member: m}
	if err != nil {
		next.err = err.Error()
	}
	if v := s.ver.Load(); v != nil {
		next.version = v.Raw
	}
	for {
		old := s.health.Load()
		prev := s.verdict()
		next.suspect, next.suspectAt = false, 0
		if prev.suspect && (state != StateUp || start.UnixNano() <= prev.suspectAt) {
			next.suspect, next.suspectAt = true, prev.suspectAt
		}
		if s.health.CompareAndSwap(old, next) {
			return prev.usable() != next.usable()
		}
	}
}

// markSuspect takes a replica out of rotation after a connection error on
// a read, until the monitor next sees it healthy: after a connection
// error it asks for that check at once.
func (db *DB) markSuspect(s *Server, err error) {
	msg, now := err.Error(), time.Now().UnixNano()
	for {
		old := s.health.Load()
		next := *s.verdict()
		was := next.suspect
		next.suspect, next.suspectAt, next.err = true, now, msg
		if s.health.CompareAndSwap(old, &next) {
			if !was {
				db.refresh()
				db.observeSuspect(s, err)
				if isConnError(err) {
					// Only a check begun after the mark clears it. (A
					// replica that went silent is left to its next
					// check: a check now would wait on it too.)
					s.ask()
				}
			}
			return
		}
	}
}

// isReadOnlyError reports whether err is a server refusing a write because
// it is read-only (1290 naming --read-only or --super-read-only: 1290 is any
// option refusing a statement, secure_file_priv too; 1836: read-only mode):
// the statement refused did not run, but statements before it in the same
// text may have (see writeFate).
func isReadOnlyError(err error) bool {
	var me *mysql.MySQLError
	if !errors.As(err, &me) {
		return false
	}
	return me.Number == 1836 || me.Number == 1290 && strings.Contains(me.Message, "read-only")
}

// isConnError reports whether err means the connection or the server is
// gone, as opposed to an error in the statement or the caller's context
// ending (context.DeadlineExceeded is also a net.Error: it is never a lost
// connection). A read that failed so returned nothing and may be retried; a
// write may have run (see notSent for one that surely did not).
func isConnError(err error) bool {
	var ne net.Error
	var me *mysql.MySQLError
	switch {
	case err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		return false
	case errors.Is(err, driver.ErrBadConn), errors.Is(err, mysql.ErrInvalidConn), errors.Is(err, prefetch.ErrConnLost),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.As(err, &ne):
		return true
	case errors.As(err, &me):
		// Server shutting down, too many connections, lost connection; a
		// Galera node out of the primary component or not synced yet
		// (1047: "WSREP has not yet prepared node for application use",
		// the statement did not run).
		switch me.Number {
		case 1040, 1047, 1053, 1077, 1078, 1079, 1080, 2006, 2013:
			return true
		}
	}
	return false
}
