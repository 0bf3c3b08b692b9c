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
)

// Write safety through a change of primary: a write that finds no primary,
// or a primary that refuses it as read-only, is held until the monitor
// finds the new one (within WithWriteHold's bound); it runs again only when
// nothing of it can have run; every other write that did not succeed says
// whether it may have run (WriteError); a transaction the change
// interrupted says it may be begun again (ErrBeginAgain, RunTx).

// DefaultWriteHold is how long, by default, a call that must reach the
// primary waits for one while none is known (see WithWriteHold): long
// enough for a planned switchover.
const DefaultWriteHold = 5 * time.Second

// WithWriteHold bounds how long a call that must reach the primary (Exec, a
// query that may write, a read-write BeginTx, Conn, a read under Primary or
// falling back to the primary) waits, under WithDiscovery, while no primary
// is known or after the primary refused a write as read-only: it runs as
// soon as the monitor finds the new primary (the refusal asks it to look at
// once), and fails with ErrNoPrimary only once d has passed. The caller's
// context always wins. 0 fails such calls at once. The default is
// DefaultWriteHold. Stats.WriteHolds and Stats.WriteHoldTime count the
// calls held and the time they waited.
func WithWriteHold(d time.Duration) Option {
	return func(o *options) error {
		if d < 0 {
			return fmt.Errorf("rwsplit: WithWriteHold: negative bound %v", d)
		}
		o.writeHold = &d
		return nil
	}
}

// Outcome is what is known of a write that returned an error.
type Outcome int

const (
	// NotRun: the write did not run (a server refused it before running
	// any of it, or it was never sent); running it again is safe.
	NotRun Outcome = iota + 1
	// Unknown: the write may have run, wholly or in part (the connection
	// was lost after it was sent, or a server refused it after some of it
	// ran: a statement of several, a CALL). Check before running it again.
	Unknown
)

func (o Outcome) String() string {
	switch o {
	case NotRun:
		return "not run"
	case Unknown:
		return "outcome unknown"
	}
	return fmt.Sprintf("Outcome(%d)", int(o))
}

// WriteError is a write (an Exec, a query that may write, a COMMIT) that did
// not succeed for want of a usable primary: refused as read-only, never
// sent, or cut off by a lost connection. Outcome says whether it may have
// run. A write's own errors (a duplicate key, a syntax error) are returned
// as the server gave them, not as a WriteError. errors.Is and errors.As see
// the cause through Unwrap (ErrNoPrimary when no primary came within the
// hold, the driver's error otherwise).
type WriteError struct {
	// Server is where the write was sent last (nil if it never was).
	Server  *Server
	Outcome Outcome
	Err     error
}

func (e *WriteError) Error() string {
	name := "no server"
	if e.Server != nil {
		name = e.Server.Name()
	}
	return fmt.Sprintf("rwsplit: write on %s (%s): %v", name, e.Outcome, e.Err)
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
// ErrBeginAgain: nothing of it committed) it is begun again, on the primary
// the monitor finds, and fn runs again, up to 5 times within the write hold
// (WithWriteHold) and ctx; any other error, fn's own included, is returned
// after a rollback. A COMMIT whose outcome is unknown (WriteError with
// Unknown) is never run again. fn must not keep tx, and must be safe to run
// again: what it does outside the transaction is not undone.
//
// Cost: what the transaction costs; a retry adds the wait for the new
// primary.
func (db *DB) RunTx(ctx context.Context, opts *sql.TxOptions, fn func(tx *Tx) error) error {
	const attempts = 5
	var err error
	for i := 0; i < attempts; i++ {
		p := db.primaryServer()
		var tx *Tx
		if tx, err = db.BeginTx(ctx, opts); err == nil {
			p = tx.server
			if err = fn(tx); err == nil {
				err = tx.Commit()
			} else {
				_ = tx.Rollback()
			}
		}
		if err == nil || !errors.Is(err, ErrBeginAgain) || ctx.Err() != nil {
			return err
		}
		db.awaitOther(ctx, p)
	}
	return err
}

// awaitOther gives the monitor, asked to look now, up to two of its rounds
// (within the write hold and ctx) to find a primary other than s; it
// returns at once without discovery.
func (db *DB) awaitOther(ctx context.Context, s *Server) {
	if !db.discover || db.writeHold <= 0 || s == nil {
		return
	}
	hctx, cancel := context.WithTimeout(ctx, min(db.writeHold, 2*db.interval))
	defer cancel()
	db.awaitNewPrimary(hctx, s, false)
}

// primary returns the primary for a call that must reach it: the current
// one, else (under discovery, while none is known) the one the monitor
// finds within the write hold; ErrNoPrimary after it, or ctx's error.
func (db *DB) primary(ctx context.Context) (*Server, error) {
	if p := db.primaryServer(); p != nil {
		if d := db.doubt.Load(); d == nil || d.srv != p || db.writeHold <= 0 {
			return p, nil
		}
		return db.holdDoubted(ctx, p)
	}
	if !db.discover || db.writeHold <= 0 {
		return nil, ErrNoPrimary
	}
	np, err := db.hold(ctx, nil)
	if np == nil && err == nil {
		err = ErrNoPrimary
	}
	return np, err
}

// hold waits, within the write hold and ctx, for a primary other than old
// (nil: any), counting the call and its wait in Stats. It returns nil with
// ctx's error when ctx ended first, nil with ErrNoPrimary when the hold did.
func (db *DB) hold(ctx context.Context, old *Server) (*Server, error) {
	t0 := time.Now()
	db.stats.holds.Add(1)
	hctx, cancel := context.WithTimeout(ctx, db.writeHold)
	np := db.awaitNewPrimary(hctx, old, false)
	cancel()
	db.stats.holdNanos.Add(uint64(time.Since(t0)))
	switch {
	case np != nil:
		return np, nil
	case ctx.Err() != nil:
		return nil, ctx.Err()
	}
	return nil, ErrNoPrimary
}

// notSent reports whether err means the statement never reached a server
// (database/sql found no usable connection, the dial failed) or a server
// refused it before running any of it (too many connections; a Galera node
// not ready). A read-only refusal is judged apart (isReadOnlyError): it
// proves nothing of a statement of several.
func notSent(err error) bool {
	if errors.Is(err, driver.ErrBadConn) {
		return true
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Op == "dial" {
		return true
	}
	var me *mysql.MySQLError
	return errors.As(err, &me) && (me.Number == 1040 || me.Number == 1047)
}

// rerunnable reports whether c, refused as read-only, ran none of itself:
// one statement, not a CALL (see sqlclass's Rerunnable). A prepared
// statement is always one statement.
func (db *DB) rerunnable(c *call) bool {
	return db.classifier.Rerunnable(c.query)
}

// writeFailed judges a routed write (not pinned) that failed with err on s:
// the server to run it again on (the new primary, found within the write
// hold, when nothing of it ran), or the error to return: a WriteError
// saying whether it may have run, or err itself (the write's own error, or
// the caller's context).
func (db *DB) writeFailed(c *call, s *Server, err error) (*Server, error) {
	refused := isReadOnlyError(err)
	switch {
	case c.ctx.Err() != nil:
		return nil, err
	case refused && !db.rerunnable(c):
		return nil, &WriteError{Server: s, Outcome: Unknown, Err: err}
	case !refused && !notSent(err):
		if isConnError(err) {
			db.doubtPrimary(s)
			return nil, &WriteError{Server: s, Outcome: Unknown, Err: err}
		}
		return nil, err
	case !db.discover || db.writeHold <= 0:
		return nil, &WriteError{Server: s, Outcome: NotRun, Err: err}
	}
	np, herr := db.hold(c.ctx, s)
	if np == nil {
		if errors.Is(herr, ErrNoPrimary) {
			herr = fmt.Errorf("%w (after %w)", ErrNoPrimary, err)
		}
		return nil, &WriteError{Server: s, Outcome: NotRun, Err: herr}
	}
	db.stats.retries.Add(1)
	db.observeRetry(c.ctx, s, np, err, true)
	return np, nil
}

// pinnedFailed judges a statement of a Tx or Conn (pinned to s) that failed
// with err: inside a transaction, a read-only refusal or a lost connection
// is ErrBeginAgain (nothing of the transaction committed); on a Conn, a
// write refused as read-only is ErrBeginAgain when nothing of it ran, else
// a WriteError of unknown outcome, as is a write cut off by a lost
// connection. Other errors are returned as they are.
func (db *DB) pinnedFailed(c *call, s *Server, write bool, err error) error {
	switch {
	case err == nil || c.ctx.Err() != nil:
		return err
	case c.inTx && (isReadOnlyError(err) || isConnError(err) || errors.Is(err, sql.ErrConnDone)):
		return &beginAgainError{err: err}
	case isReadOnlyError(err) && !db.rerunnable(c):
		return &WriteError{Server: s, Outcome: Unknown, Err: err}
	case isReadOnlyError(err):
		return &beginAgainError{err: &WriteError{Server: s, Outcome: NotRun, Err: err}}
	case write && isConnError(err) && !notSent(err):
		return &WriteError{Server: s, Outcome: Unknown, Err: err}
	}
	return err
}

// primaryDoubt is a primary a connection was lost to: calls that must
// reach it wait until the monitor has seen it answer, or another primary
// (see holdDoubted).
type primaryDoubt struct{ srv *Server }

// doubtPrimary notes, under discovery, that a connection to s (the
// primary) was lost, and asks the monitor to look now.
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

// holdDoubted waits, within the write hold and ctx, until the monitor has
// seen doubted primary p answer (then p), or found another primary (then
// that one), rather than send more calls down a pool whose connections
// may all be dead. After the hold it returns the primary as it then is.
func (db *DB) holdDoubted(ctx context.Context, p *Server) (*Server, error) {
	db.stats.holds.Add(1)
	t0 := time.Now()
	defer func() { db.stats.holdNanos.Add(uint64(time.Since(t0))) }()
	hctx, cancel := context.WithTimeout(ctx, db.writeHold)
	defer cancel()
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for {
		cur := db.primaryServer()
		if d := db.doubt.Load(); cur != nil && (d == nil || d.srv != cur) {
			return cur, nil
		}
		select {
		case <-hctx.Done():
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			if cur = db.primaryServer(); cur != nil {
				return cur, nil
			}
			return nil, ErrNoPrimary
		case <-t.C:
		}
	}
}
