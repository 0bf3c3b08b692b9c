package rwsplit

import (
	"errors"
	"fmt"

	"github.com/rwsplit/rwsplit/internal/gtid"
)

// ErrReplicaNotCaughtUp is returned by a read whose mode was set with OrFail
// when no replica caught up with the write it waits for in time.
var ErrReplicaNotCaughtUp = errors.New("rwsplit: no replica caught up in time")

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

// ErrBadToken is returned (wrapped) by ParseToken and DB.ParseToken for a
// malformed token, and by DB.ParseToken also for a token whose signature
// does not match its key (WithTokenKey).
var ErrBadToken = errors.New("rwsplit: malformed token")

// ErrWritesLost means that the read's scope (its Session or token) names
// writes that a former primary acknowledged and that the current primary
// does not have, and never will: the former primary was replaced before
// its replicas received them. The read does not wait for them. Under
// OrFail the read fails with an error wrapping ErrReplicaNotCaughtUp and
// ErrWritesLost; otherwise it goes on, reading the rest of its scope's
// writes, and the loss is counted (Stats.WritesLost) and reported
// (Observer.WritesLost). The application decides: write again what it
// can, tell the user, or reconcile from the former primary's binary log.
// It is reported on asynchronous replication only (Group Replication and
// Galera keep every write they acknowledged), once the current primary's
// executed set, read fresh, lacks them, the writes came from another
// server than the current primary, and the current primary no longer
// applies a replication backlog.
var ErrWritesLost = errors.New("rwsplit: writes acknowledged by a former primary are lost")

// lostError is ErrWritesLost with the GTIDs lost.
type lostError struct {
	primary *Server
	lost    gtid.Token
}

func (e *lostError) Error() string {
	return fmt.Sprintf("%v: %s lacks %s", ErrWritesLost, e.primary.Name(), lostText(e.lost))
}

func (e *lostError) Is(target error) bool { return target == ErrWritesLost }

// errStmtClosed is returned by calls on a closed Stmt (unexported, as
// database/sql's own is).
var errStmtClosed = errors.New("rwsplit: statement is closed")

// errNotCaughtUp marks a one-round-trip wait that did not succeed.
var errNotCaughtUp = errors.New("rwsplit: replica not caught up")

// ErrWaitTimedOut is a WaitError's cause when the replica had not applied
// the writes when the wait's timeout ran out.
var ErrWaitTimedOut = errors.New("rwsplit: wait timed out")

// errNotReplicating is a WaitError's cause when the wait returned NULL, as a
// position wait does on a replica whose applier is stopped (after retrying
// within the timeout).
var errNotReplicating = errors.New("rwsplit: wait returned NULL (replication not running)")

// WaitError is a wait on a replica that did not succeed: it names the
// replica, the mode and the cause (ErrWaitTimedOut; the replica not
// replicating, a position wait's NULL; or the wait query's own error). Under OrFail the read's error wraps
// ErrReplicaNotCaughtUp and the last WaitError; errors.As finds it.
type WaitError struct {
	Server *Server
	Mode   Consistency
	Err    error
}

// Error says which mode's wait failed on which replica, and why.
func (e *WaitError) Error() string {
	name := "no server"
	if e.Server != nil {
		name = e.Server.Name()
	}
	return fmt.Sprintf("rwsplit: %s wait on %s: %v", e.Mode, name, e.Err)
}

// Unwrap returns the cause.
func (e *WaitError) Unwrap() error { return e.Err }

// WriteError is a write (an Exec, a query that may write, a COMMIT) that did
// not succeed for want of a usable primary: refused as read-only, never
// sent, or cut off by a lost connection. NotRun says whether it may have
// run. A write's own errors (a duplicate key, a syntax error) are returned
// as the server gave them, not as a WriteError. errors.Is and errors.As see
// the cause through Unwrap (ErrNoPrimary when no primary came within the
// hold, the driver's error otherwise).
type WriteError struct {
	// Server is where the write was sent last (nil if it never was).
	Server *Server
	// NotRun: the write did not run (a server refused it before running
	// any of it, or it was never sent); running it again is safe. Else its
	// outcome is unknown: it may have run, wholly or in part (the
	// connection was lost after it was sent, or a server refused it after
	// some of it ran: a statement of several, a CALL); check before
	// running it again.
	NotRun bool
	Err    error
}

// Error says where the write was sent, whether it may have run, and why it
// did not succeed.
func (e *WriteError) Error() string {
	name := "no server"
	if e.Server != nil {
		name = e.Server.Name()
	}
	outcome := "outcome unknown"
	if e.NotRun {
		outcome = "not run"
	}
	return fmt.Sprintf("rwsplit: write on %s (%s): %v", name, outcome, e.Err)
}

// Unwrap returns the cause.
func (e *WriteError) Unwrap() error { return e.Err }

// ErrBeginAgain means that a transaction (or a Conn) was cut off by a
// change of primary: its server refused a statement as read-only, or its
// connection to the primary was lost before COMMIT was sent. Nothing of the
// transaction committed; begin it again (RunTx does) and it runs on the new
// primary. A Conn's earlier statements outside a transaction stand; take a
// new Conn. A transaction that ran a statement committing implicitly (DDL)
// committed up to that statement: do not run DDL in a transaction you
// begin again.
var ErrBeginAgain = errors.New("rwsplit: the primary changed under the transaction; begin it again")

// beginAgainError is ErrBeginAgain with its cause.
type beginAgainError struct{ err error }

func (e *beginAgainError) Error() string { return ErrBeginAgain.Error() + ": " + e.err.Error() }

func (e *beginAgainError) Unwrap() error { return e.err }

func (e *beginAgainError) Is(target error) bool { return target == ErrBeginAgain }
