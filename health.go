package rwsplit

import (
	"context"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/rwsplit/rwsplit/internal/cluster"
	"github.com/rwsplit/rwsplit/internal/prefetch"
)

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
// a read, until the monitor next sees it healthy.
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
