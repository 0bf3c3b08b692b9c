package rwsplit

import (
	"context"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/rwsplit/rwsplit/internal/prefetch"
)

// A replica's health: what the monitor (monitor.go) and failed reads say of
// it, and whether it may serve reads.

// Replica health states, as ReplicaStatus reports them.
const (
	StateUnknown = "unknown" // not checked yet: serves reads
	StateUp      = "up"      // reachable, replicating, within the lag limit
	StateDown    = "down"    // unreachable, or its check failed
	StateBroken  = "broken"  // a replication thread stopped with an error, or not a replica
	StateLagging = "lagging" // behind the primary by more than WithMaxReplicationLag
)

// serverHealth is a replica's health as the monitor and failed reads see it.
type serverHealth struct {
	state     atomic.Pointer[string]
	suspect   atomic.Bool  // a read failed on it with a connection error
	suspectAt atomic.Int64 // when (unix nanoseconds)
	lag       atomic.Int64 // nanoseconds, as of lastCheck
	lastCheck atomic.Int64 // unix nanoseconds
	lastErr   atomic.Pointer[string]
}

func (h *serverHealth) getState() string {
	if p := h.state.Load(); p != nil {
		return *p
	}
	return StateUnknown
}

// usable reports whether the replica may serve reads.
func (s *Server) usable() bool {
	st := s.health.getState()
	return (st == StateUp || st == StateUnknown) && !s.health.suspect.Load()
}

// setHealth records the verdict of a check begun at start and reports
// whether usability changed. Only a check begun after a read marked the
// replica suspect clears the mark.
func (s *Server) setHealth(state string, lag time.Duration, err error, start time.Time) bool {
	before := s.usable()
	s.health.state.Store(&state)
	s.health.lag.Store(int64(lag))
	s.health.lastCheck.Store(time.Now().UnixNano())
	if err != nil {
		msg := err.Error()
		s.health.lastErr.Store(&msg)
	} else {
		s.health.lastErr.Store(nil)
	}
	if state == StateUp && start.UnixNano() > s.health.suspectAt.Load() {
		s.health.suspect.Store(false)
	}
	return before != s.usable()
}

// markSuspect takes a replica out of rotation after a connection error on
// a read, until the monitor next sees it healthy.
func (db *DB) markSuspect(s *Server, err error) {
	msg := err.Error()
	s.health.lastErr.Store(&msg)
	s.health.suspectAt.Store(time.Now().UnixNano())
	if !s.health.suspect.Swap(true) {
		db.refresh()
		db.observeSuspect(s, err)
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
