package rwsplit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/rwsplit/rwsplit/internal/cluster"
	"github.com/rwsplit/rwsplit/internal/dialect"
	"github.com/rwsplit/rwsplit/internal/gtid"
)

// The waits of WaitPosition and WaitGTID: on a replica, until it has applied
// what the read's scope wrote.

// waitSpec is the wait a read needs on one replica before it runs.
type waitSpec struct {
	call string // e.g. "WAIT_FOR_EXECUTED_GTID_SET(?, ?) = 0"
	args []any
	tok  gtid.Token // what the wait establishes (one part: GTIDs or position)
	mode Consistency
	// pos: a position wait, which returns NULL at once while the applier is
	// stopped; timeout: the wait's own timeout.
	pos     bool
	timeout time.Duration
	// apart: the wait runs in its own round trip, never with the query
	// (Galera's wait times out with an error, 1205, that the query itself
	// could raise); timeoutErr: the error number that means the wait
	// timed out (0: it returns a value instead).
	apart      bool
	timeoutErr uint16
}

// missedEarly reports whether a one-round-trip wait that did not succeed
// came back in less than half its timeout after sent: a position wait that
// returned NULL (a timed-out wait takes its whole timeout). Run apart, it is
// tried again within what is left of the timeout.
func (w *waitSpec) missedEarly(sent time.Time) bool {
	return w.pos && time.Since(sent) < w.timeout/2
}

// waitMarker is the value a one-round-trip wait that did not succeed tries to
// give sql_mode, failing the statement before the query runs with an error
// (1231) that names it; a user's query cannot produce that error.
const waitMarker = "rwsplit_wait_timed_out"

// wrap returns query preceded by the wait, to send in one round trip:
//
//	SET @@SESSION.sql_mode = (SELECT CASE WHEN <wait> THEN @@SESSION.sql_mode
//	  ELSE 'rwsplit_wait_timed_out' END); <query>
//
// On success sql_mode is set to itself; go-sql-driver/mysql skips the SET's
// empty result, so the rows returned are the query's.
func (w *waitSpec) wrap(query string, args []any) (string, []any) {
	q := "SET @@SESSION.sql_mode = (SELECT CASE WHEN " + w.call +
		" THEN @@SESSION.sql_mode ELSE '" + waitMarker + "' END); " + query
	return q, append(append(make([]any, 0, len(w.args)+len(args)), w.args...), args...)
}

// waitErrors are the errors a wait function (WAIT_FOR_EXECUTED_GTID_SET,
// SOURCE_POS_WAIT / MASTER_POS_WAIT, MASTER_GTID_WAIT) raises before the
// query of a one-round-trip statement runs: the wait killed (1317), a
// function the server lacks (1305), a malformed GTID set (1772), a replica
// with several sources where the function needs one channel (3117), an
// argument it refuses (1210), GTIDs off (1782, 3046). A user's read could
// raise 1317 or 1210 too; it is then sent once more, apart, at worst.
var waitErrors = [...]uint16{1210, 1305, 1317, 1772, 1782, 3046, 3117}

// isWaitError reports whether err is one a one-round-trip wait raises.
func isWaitError(err error) bool {
	var me *mysql.MySQLError
	if !errors.As(err, &me) {
		return false
	}
	for _, n := range waitErrors {
		if me.Number == n {
			return true
		}
	}
	return false
}

// isWaitMiss reports whether err is a one-round-trip wait's marker error.
func isWaitMiss(err error) bool {
	var me *mysql.MySQLError
	return errors.As(err, &me) && me.Number == 1231 && strings.Contains(me.Message, waitMarker)
}

// waitOutcome judges a one-round-trip wait from the error of the statement
// that carried it: nil when the wait succeeded (the query ran; its own errors
// come later, from the rows), an error wrapping errNotCaughtUp when it did
// not, or the statement's error (a connection error, the caller's context).
func (db *DB) waitOutcome(c *call, r route, t0 time.Time, err error) error {
	s := r.server
	db.stats.waits.Add(1)
	if isWaitMiss(err) {
		err = &WaitError{Server: s, Mode: r.wait.mode, Err: ErrWaitTimedOut}
		db.observeWaitEnd(c.ctx, s, r.wait.mode, true, t0, err)
		s.waitDone(false)
		return fmt.Errorf("%w: %w", errNotCaughtUp, err)
	}
	db.observeWaitEnd(c.ctx, s, r.wait.mode, true, t0, err)
	if err != nil {
		return err
	}
	s.waitDone(true)
	s.learn(r.wait.tok)
	return nil
}

// waitRead serves WaitPosition and WaitGTID: a replica known to have applied
// the scope's writes, else one that applies them within the timeout, else the
// fallback.
func (db *DB) waitRead(ctx context.Context, cands []*Server, mode Consistency, deferWait bool) (*Server, *waitSpec, error) {
	tok, err := db.scopeToken(ctx, mode)
	if err = db.lostOrFail(ctx, mode, err); err != nil {
		return db.fallback(ctx, mode, err)
	}
	return db.waitOn(ctx, cands, tok, mode, deferWait)
}

// waitOn reads on a replica among cands that has applied tok (one part, see
// gtid.Token.WaitTarget): one known to have applied it (no round trip), else one that
// applies it within mode's timeout (the balancer's pick first; with
// deferWait and a replica that takes the wait and the read in one round
// trip, the wait is returned to send with the query), else the fallback.
// The waiting modes share it: WaitPosition, WaitGTID, Latest, Monotonic.
func (db *DB) waitOn(ctx context.Context, cands []*Server, tok gtid.Token, mode Consistency, deferWait bool) (*Server, *waitSpec, error) {
	if !tok.HasTarget() {
		return db.pick(cands), nil, nil
	}
	if !tok.Pos.IsZero() {
		// A position is waited for only on replicas of its primary.
		if cands = db.directReplicas(cands, tok.Pos.ServerID); len(cands) == 0 {
			return db.fallback(ctx, mode, errNoDirectReplica)
		}
	}
	first := db.pick(cands)
	// Zero round trips when a replica is known to have applied the token;
	// start at the balancer's pick so the known replicas share the load.
	start := position(cands, first)
	for i := range cands {
		s := cands[(start+i)%len(cands)]
		if s.hasApplied(tok) {
			db.stats.waitsSkipped.Add(1)
			db.observeWaitSkipped(ctx, s, mode)
			return s, nil, nil
		}
	}
	deadline := time.Now().Add(mode.d)
	// Replicas whose last wait succeeded go first (the balancer's pick
	// leading), then those whose last wait failed: a replica that has
	// stopped applying costs one timed-out wait, not one per read.
	order := make([]*Server, 0, len(cands))
	if !first.lastWaitFailed() {
		order = append(order, first)
	}
	for _, s := range cands {
		if s != first && !s.lastWaitFailed() {
			order = append(order, s)
		}
	}
	for _, s := range cands {
		if s.lastWaitFailed() {
			order = append(order, s)
		}
	}
	var lastErr error
	for i, s := range order {
		// Building the wait may read the replica's version and kind: no
		// longer than the wait itself may take.
		fctx, stop := db.hungGuard(ctx, s, deadline)
		spec, err := db.waitFor(fctx, s, tok, mode, time.Until(deadline))
		if stop() && err != nil {
			err = errReplicaHung
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil, nil, ctx.Err()
			}
			if errors.Is(err, errReplicaHung) {
				db.markSuspect(s, err)
			}
			lastErr = err
			continue
		}
		if i == 0 && s == first && deferWait && s.oneTrip.Load() && !spec.apart {
			return s, spec, nil
		}
		w0 := time.Now()
		db.observeWaitStart(ctx, s, spec, w0)
		ok, timedOut, err := db.runWait(ctx, s, spec, time.Until(deadline))
		db.observeWaitEnd(ctx, s, mode, false, w0, err)
		if ctx.Err() != nil {
			// The caller's deadline or cancellation: not the replica's fault.
			return nil, nil, ctx.Err()
		}
		s.waitDone(ok)
		if ok {
			s.learn(spec.tok)
			return s, nil, nil
		}
		if errors.Is(err, errReplicaHung) {
			// No sign of life past its own timeout: the next reads go
			// elsewhere until the monitor sees it healthy.
			db.markSuspect(s, err)
		}
		lastErr = err
		if timedOut || time.Until(deadline) <= 0 {
			break
		}
	}
	return db.fallback(ctx, mode, lastErr)
}

// errPositionTimeout is why a read whose scope has pending writes went to
// its fallback: the primary did not give its position within the mode's
// budget.
var errPositionTimeout = errors.New("rwsplit: the primary did not give its position in time")

// waitFor builds the wait for tok (one part, see gtid.Token.WaitTarget) on replica s.
func (db *DB) waitFor(ctx context.Context, s *Server, tok gtid.Token, mode Consistency, left time.Duration) (*waitSpec, error) {
	v, err := s.version(ctx)
	if err != nil {
		return nil, err
	}
	timeout := max(left.Seconds(), 0.001)
	switch {
	case !tok.Pos.IsZero() && !tok.MySQL.IsEmpty() && v.Flavor == dialect.MySQL && s.gtidsOn():
		// A WaitPosition target with the GTIDs of the same writes (see
		// positionGTIDs), on a replica with gtid_mode ON: the GTID wait,
		// exact and woken by each commit of the applier.
		g := tok.WaitTarget(true)
		return &waitSpec{call: "WAIT_FOR_EXECUTED_GTID_SET(?, ?) = 0", args: []any{g.MySQL.String(), timeout}, tok: g, mode: mode}, nil
	case !tok.Pos.IsZero():
		return &waitSpec{
			call: v.PosWait() + "(?, ?, ?) >= 0",
			args: []any{tok.Pos.File, tok.Pos.Pos, timeout},
			tok:  tok.WaitTarget(false), mode: mode, pos: true, timeout: left,
		}, nil
	case v.Flavor == dialect.MariaDB && tok.Flavor == dialect.MariaDB:
		// MASTER_GTID_WAIT never succeeds on a Galera node (it reads
		// gtid_slave_pos, which Galera's applier does not advance): know
		// the node's kind before the first wait.
		if k, err := db.kindOf(ctx, s); err != nil {
			return nil, err
		} else if k == cluster.Galera {
			return db.galeraWait(s, tok, mode, left)
		}
		return &waitSpec{call: "MASTER_GTID_WAIT(?, ?) = 0", args: []any{tok.MariaDB.String(), timeout}, tok: tok, mode: mode}, nil
	case v.Flavor == dialect.MySQL && tok.Flavor == dialect.MySQL:
		return &waitSpec{call: "WAIT_FOR_EXECUTED_GTID_SET(?, ?) = 0", args: []any{tok.MySQL.String(), timeout}, tok: tok, mode: mode}, nil
	}
	return nil, fmt.Errorf("rwsplit: a %s token cannot be waited for on %s (%s)", tok.Flavor, s.name, v.Flavor)
}

// galeraWait builds the wait for tok's GTIDs on Galera node s:
// WSREP_SYNC_WAIT_UPTO_GTID on the GTID of the cluster's domain, with a
// timeout in whole seconds (rounded up; the call's context still ends it at
// left + 1 s), in its own round trip. It fails when the node is not in
// wsrep_gtid_mode, or tok holds GTIDs of another domain that s is not known
// to have: no wait on a Galera node establishes those.
func (db *DB) galeraWait(s *Server, tok gtid.Token, mode Consistency, left time.Duration) (*waitSpec, error) {
	m := s.member.Load()
	var known gtid.MariaDBPos
	if a := s.applied.Load(); a != nil {
		known = a.MariaDB
	}
	g, ok := cluster.GaleraWait(m, tok.MariaDB, known)
	if !ok {
		return nil, fmt.Errorf("rwsplit: %s cannot wait for %s (Galera waits for its own domain's GTIDs, with wsrep_gtid_mode on)", s.name, tok.MariaDB)
	}
	secs := int64(math.Ceil(max(left.Seconds(), 0.001)))
	return &waitSpec{call: "WSREP_SYNC_WAIT_UPTO_GTID(?, ?) = 1", args: []any{g, secs}, tok: tok, mode: mode,
		timeout: left, apart: true, timeoutErr: 1205}, nil
}

// waitGrace is how long past a wait's own timeout a replica that has shown
// no sign of life is taken for hung: the hedge bound when hedging is on
// (the hedge rule), else 1 s.
func (db *DB) waitGrace() time.Duration {
	if b := db.hedge.bound(); b > 0 {
		return b
	}
	return time.Second
}

// errReplicaHung is why a wait ended on a replica that had answered nothing
// for a whole grace past the wait's own timeout.
var errReplicaHung = errors.New("rwsplit: the replica answered nothing past the wait's timeout")

// hungGuard returns a context for a call on replica s that should end by
// until: as the hedge rule does, it is cancelled once s has answered nothing
// (no call on it, the monitor's included) for a whole grace (waitGrace)
// since until or its last answer, and in any case 1 s plus a grace past
// until. stop releases it and reports whether s was found hung.
func (db *DB) hungGuard(ctx context.Context, s *Server, until time.Time) (context.Context, func() (hung bool)) {
	grace := db.waitGrace()
	limit := until.Add(time.Second + grace)
	gctx, cancel := context.WithCancel(ctx)
	var mu sync.Mutex
	stopped, hung := false, false
	var timer *time.Timer
	check := func() {
		mu.Lock()
		defer mu.Unlock()
		if stopped {
			return
		}
		now := time.Now()
		quiet := s.quietSince(until)
		if due := quiet.Add(grace); due.After(now) && now.Before(limit) {
			if due.After(limit) {
				due = limit
			}
			timer.Reset(due.Sub(now)) // a sign of life
			return
		}
		hung = !quiet.Add(grace).After(now)
		cancel()
	}
	mu.Lock()
	timer = time.AfterFunc(time.Until(until.Add(grace)), check)
	mu.Unlock()
	return gctx, func() bool {
		mu.Lock()
		defer mu.Unlock()
		stopped = true
		timer.Stop()
		cancel()
		return hung
	}
}

// notReplicatingRetry is how often a wait that returned NULL (a position wait
// on a replica whose applier is stopped) is tried again within its timeout.
const notReplicatingRetry = 50 * time.Millisecond

// runWait runs spec on s in its own round trip, within left. A wait that
// returns NULL (the applier stopped, maybe for a moment) is tried again until
// left runs out. A failure is a *WaitError.
func (db *DB) runWait(ctx context.Context, s *Server, spec *waitSpec, left time.Duration) (ok, timedOut bool, err error) {
	deadline := time.Now().Add(left)
	for {
		db.stats.waits.Add(1)
		until := deadline
		if secs, ok := spec.args[len(spec.args)-1].(int64); ok && spec.timeoutErr != 0 {
			// A wait whose timeout is whole seconds, rounded up: the
			// server's own timeout ends it first.
			until = time.Now().Add(time.Duration(secs) * time.Second)
		}
		wctx, stop := db.hungGuard(ctx, s, until)
		var res sql.NullInt64
		t0 := s.begin()
		args := spec.args
		if len(args) == 3 { // a position wait: what is left of the timeout
			args = []any{args[0], args[1], max(time.Until(deadline).Seconds(), 0.001)}
		}
		err = s.db.QueryRowContext(wctx, "SELECT "+spec.call, args...).Scan(&res)
		s.end(t0, err)
		if stop() && err != nil {
			err = errReplicaHung
		}
		var me *mysql.MySQLError
		switch {
		case err != nil && spec.timeoutErr != 0 && errors.As(err, &me) && me.Number == spec.timeoutErr && ctx.Err() == nil:
			return false, true, &WaitError{Server: s, Mode: spec.mode, Err: ErrWaitTimedOut}
		case err != nil:
			return false, false, &WaitError{Server: s, Mode: spec.mode, Err: err}
		case res.Valid && res.Int64 == 1:
			return true, false, nil
		case res.Valid:
			return false, true, &WaitError{Server: s, Mode: spec.mode, Err: ErrWaitTimedOut}
		}
		// NULL: not replicating now; again, while time is left.
		pause := min(notReplicatingRetry, time.Until(deadline))
		if pause <= 0 {
			return false, false, &WaitError{Server: s, Mode: spec.mode, Err: errNotReplicating}
		}
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return false, false, ctx.Err()
		case <-t.C:
		}
	}
}
