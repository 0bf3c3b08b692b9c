package rwsplit

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/rwsplit/rwsplit/internal/prefetch"
)

// Write safety through a change of primary: a write that finds no primary,
// or a primary that refuses it as read-only, is held until the monitor
// finds the new one (within WithWriteHold's bound); it runs again only when
// nothing of it can have run; every other write that did not succeed says
// whether it may have run (WriteError); a transaction the change
// interrupted says it may be begun again (ErrBeginAgain, RunTx).

// defaultWriteHold is how long, by default, a call that must reach the
// primary waits for one while none is known (see WithWriteHold): long
// enough for a planned switchover.
const defaultWriteHold = 5 * time.Second

// WithWriteHold bounds how long a call that must reach the primary (Exec, a
// query that may write, a read-write BeginTx, Conn, PrepareContext of a
// write, a read under Primary or falling back to the primary) waits, under
// WithDiscovery, while no primary is known, or after a call failed on the
// primary for want of a usable one (a write refused as read-only, a
// connection refused or lost: the primary is in doubt, and the monitor
// looks at once). It runs as soon as the monitor finds the new primary or
// sees the old one answer writable, and fails with ErrNoPrimary once d has
// passed (all the waits of one call share d). The caller's context always
// wins; Close ends the wait with ErrClosed. 0 fails such calls at once.
// The default is 5 s. Stats.WriteHolds and Stats.WriteHoldTime
// count the calls held and the time they waited.
func WithWriteHold(d time.Duration) Option {
	return func(o *options) error {
		if d < 0 {
			return fmt.Errorf("rwsplit: WithWriteHold: negative bound %v", d)
		}
		o.writeHold = &d
		return nil
	}
}

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

func (e *beginAgainError) Error() string        { return ErrBeginAgain.Error() + ": " + e.err.Error() }
func (e *beginAgainError) Unwrap() error        { return e.err }
func (e *beginAgainError) Is(target error) bool { return target == ErrBeginAgain }

// RunTx runs fn in a transaction begun with opts and commits it. When the
// transaction is cut off by a change of primary (its error is
// ErrBeginAgain: nothing of it committed) it is begun again, once the
// monitor has found the primary to run it on (within two monitor rounds or
// the write hold, whichever is shorter), and fn runs again: at most 5 times
// in all, within ctx. Any other error, fn's own included, is returned after
// a rollback (so is a panic of fn, after a rollback). A COMMIT whose outcome
// is unknown (a WriteError, not NotRun) is never run again. fn must not keep
// tx, and must be safe to run again: what it does outside the transaction
// is not undone. An ErrBeginAgain that fn returns from another transaction
// makes this one begin again too.
//
// Cost: what the transaction costs; a retry adds the wait for the primary.
func (db *DB) RunTx(ctx context.Context, opts *sql.TxOptions, fn func(tx *Tx) error) error {
	const attempts = 5
	var err error
	for i := 0; i < attempts; i++ {
		p := db.primaryServer()
		var tx *Tx
		if tx, err = db.BeginTx(ctx, opts); err == nil {
			p = tx.server
			err = runTxOnce(tx, fn)
		}
		if err == nil || !errors.Is(err, ErrBeginAgain) || ctx.Err() != nil || i == attempts-1 {
			return err
		}
		if p != nil && db.holding() {
			_, _ = db.hold(ctx, p, min(db.writeHold, 2*db.interval))
		}
	}
	return err
}

// runTxOnce runs fn in tx and commits it, or rolls it back when fn fails or
// panics.
func runTxOnce(tx *Tx, fn func(tx *Tx) error) (err error) {
	done := false
	defer func() {
		if !done {
			_ = tx.Rollback()
		}
	}()
	if err = fn(tx); err != nil {
		return err
	}
	done = true
	return tx.Commit()
}

// holding reports whether calls that must reach the primary wait for one
// (WithDiscovery, and a write hold).
func (db *DB) holding() bool { return db.discover && db.writeHold > 0 }

// primary returns the primary for a call that must reach it: the current
// one, unless (under discovery) none is known or a connection to it was
// just lost; then the one the monitor finds (or sees answer) within the
// write hold, else ErrNoPrimary, or ctx's error.
func (db *DB) primary(ctx context.Context) (*Server, error) {
	return db.primaryWithin(ctx, db.writeHold)
}

// primaryWithin is primary with the hold bounded by budget.
func (db *DB) primaryWithin(ctx context.Context, budget time.Duration) (*Server, error) {
	p := db.primaryServer()
	if d := db.doubt.Load(); p != nil && (d == nil || d.srv != p) {
		return p, nil
	}
	if !db.holding() || budget <= 0 {
		if p != nil {
			return p, nil
		}
		return nil, ErrNoPrimary
	}
	return db.hold(ctx, nil, budget)
}

// primaryFor is primary for call c, whose holds share one write hold.
func (db *DB) primaryFor(c *call) (*Server, error) {
	if p := db.primaryServer(); p != nil && db.doubt.Load() == nil {
		return p, nil // no clock read on the common path
	}
	t0 := time.Now()
	p, err := db.primaryWithin(c.ctx, db.writeHold-c.held)
	c.held += time.Since(t0)
	return p, err
}

// hold waits, within budget and ctx, for a primary the DB trusts: one known
// and not in doubt (a connection to it lost, or a call it failed, since the
// monitor last saw it answer writable). With s, the primary a call just
// failed on for want of a usable primary, s is put in doubt first: the
// monitor looks at once, and the wait ends when it has seen s answer
// writable, or found another primary. The call and its wait count in
// Stats. It returns ErrNoPrimary when budget ran out, ctx's error when ctx
// ended first, ErrClosed when the DB was closed.
func (db *DB) hold(ctx context.Context, s *Server, budget time.Duration) (*Server, error) {
	if s != nil {
		db.doubtPrimary(s)
	}
	db.stats.holds.Add(1)
	t0 := time.Now()
	defer func() { db.stats.holdNanos.Add(uint64(time.Since(t0))) }()
	hctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for {
		if db.closed.Load() {
			return nil, ErrClosed
		}
		cur := db.primaryServer()
		if d := db.doubt.Load(); cur != nil && (d == nil || d.srv != cur) {
			return cur, nil
		}
		select {
		case <-hctx.Done():
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			return nil, ErrNoPrimary
		case <-t.C:
		}
	}
}

// The fates of a write that failed, by its error.
const (
	fateOwn       = iota // the write's own error: it ran, or the server judged it
	fateNotSent          // it never reached a server: run it again, whatever it is
	fateRefused          // refused before it ran: none of it, if it is one statement
	fateUnknown          // cut off after it was sent: it may have run
	fateCancelled        // the caller's context ended
)

// writeFate classifies the error of a write.
func writeFate(err error) int {
	var me *mysql.MySQLError
	var oe *net.OpError
	switch {
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		return fateCancelled
	case errors.As(err, &oe) && oe.Op == "dial",
		errors.As(err, &me) && me.Number == 1040: // too many connections: at connect
		return fateNotSent
	case errors.Is(err, prefetch.ErrConnLost):
		return fateUnknown // sent; it wraps driver.ErrBadConn
	case isReadOnlyError(err), errors.As(err, &me) && me.Number == 1047,
		// database/sql's: the driver said it was not sent; also what
		// go-sql-driver's rejectReadOnly makes of a refusal, which may
		// come after the first statements of a text ran.
		errors.Is(err, driver.ErrBadConn):
		return fateRefused
	case isConnError(err):
		return fateUnknown
	}
	return fateOwn
}

// notSent reports whether nothing of the statement that failed with err
// can have run (see writeFate), for a statement of one or several.
func notSent(err error) bool { return writeFate(err) == fateNotSent }

// rerunnable reports whether c, refused as read-only, ran none of itself:
// one statement, not a CALL (see sqlclass's Rerunnable). A prepared
// statement is always one statement.
func (db *DB) rerunnable(c *call) bool {
	return db.classifier.Rerunnable(c.query)
}

// opaque returns err, or, when its chain holds driver.ErrBadConn, an error
// with its text only: database/sql (the Connector's pool, a caller's
// wrapper) runs a statement again by itself on driver.ErrBadConn, which a
// write that may have run must never be.
func opaque(err error) error {
	if errors.Is(err, driver.ErrBadConn) {
		return errors.New(err.Error())
	}
	return err
}

// writeFailed judges a routed write (not pinned) that failed with err on s:
// the server to run it again on (the primary the monitor finds, or sees
// answer, within what is left of the call's write hold, when nothing of the
// write ran and last is unset), or the error to return: a WriteError saying
// whether it may have run, or err itself (the write's own error, or the
// caller's context: the write may then have run).
func (db *DB) writeFailed(c *call, s *Server, err error, last bool) (*Server, error) {
	notRun := true
	switch writeFate(err) {
	case fateOwn, fateCancelled:
		return nil, err
	case fateRefused:
		notRun = db.rerunnable(c)
	case fateUnknown:
		notRun = false
	}
	if !notRun {
		if isConnError(err) {
			db.doubtPrimary(s)
		}
		return nil, &WriteError{Server: s, Err: opaque(err)}
	}
	if last || !db.holding() || db.writeHold-c.held <= 0 {
		return nil, &WriteError{Server: s, NotRun: true, Err: err}
	}
	t0 := time.Now()
	np, herr := db.hold(c.ctx, s, db.writeHold-c.held)
	c.held += time.Since(t0)
	if np == nil {
		if errors.Is(herr, ErrNoPrimary) {
			herr = fmt.Errorf("%w (after %w)", ErrNoPrimary, err)
		}
		return nil, &WriteError{Server: s, NotRun: true, Err: herr}
	}
	db.stats.retries.Add(1)
	db.observeRetry(c, s, np, err)
	return np, nil
}

// pinnedFailed is the pipeline's judgement of a statement of a Tx or Conn
// pinned to the primary (c.pin) that failed with err: inside a
// transaction, a read-only refusal or a lost connection is ErrBeginAgain
// (nothing of the transaction committed); on a Conn, a write refused as
// read-only is ErrBeginAgain when nothing of it ran, else a WriteError of
// unknown outcome, as is a write cut off by a lost connection. Other errors,
// and those of routed calls or of a transaction on a replica (which may be
// begun again elsewhere, see Tx.restart), are returned as they are.
func (db *DB) pinnedFailed(c *call, write bool, err error) error {
	s := c.pin
	if err == nil || s == nil || !s.primary || c.ctx.Err() != nil {
		return err
	}
	fate := writeFate(err)
	switch {
	case c.inTx && (fate == fateRefused || fate == fateUnknown || errors.Is(err, sql.ErrConnDone)):
		if fate == fateUnknown {
			db.doubtPrimary(s)
		}
		return &beginAgainError{err: opaque(err)}
	case !write || fate != fateRefused && fate != fateUnknown:
		return err
	case fate == fateRefused && isReadOnlyError(err) && db.rerunnable(c):
		return &beginAgainError{err: &WriteError{Server: s, NotRun: true, Err: err}}
	case fate == fateRefused && errors.Is(err, driver.ErrBadConn) && db.rerunnable(c):
		return err // not sent: database/sql may run it again, as it would
	}
	if isConnError(err) {
		db.doubtPrimary(s)
	}
	return &WriteError{Server: s, Err: opaque(err)}
}

// primaryDoubt is a primary a call just failed on for want of a usable
// primary (a connection lost, a write refused or never sent): calls that
// must reach it wait until the monitor has seen it answer writable, or
// found another primary (see hold).
type primaryDoubt struct{ srv *Server }

// doubtPrimary puts s, if it is the primary, in doubt (under discovery) and
// asks the monitor to look now.
func (db *DB) doubtPrimary(s *Server) {
	if !db.discover || s == nil || s != db.primaryServer() {
		return
	}
	db.doubt.Store(&primaryDoubt{srv: s})
	db.kick()
}

// trustPrimary ends the doubt on p: the monitor saw it answer.
func (db *DB) trustPrimary(p *Server) {
	if d := db.doubt.Load(); d != nil && d.srv == p {
		db.doubt.CompareAndSwap(d, nil)
	}
}
