package rwsplit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/rwsplit/rwsplit/internal/dialect"
	"github.com/rwsplit/rwsplit/internal/gtid"
)

type kind uint8

const (
	kindUnset kind = iota
	kindEventual
	kindPrimary
	kindSleep
	kindCaughtUp
	kindWaitPosition
	kindWaitGTID
)

// Consistency says how fresh a replica read must be. Choose it per call with
// WithConsistency, or per DB with WithDefaultConsistency. The zero value means
// "not set": the DB's default applies.
//
// The modes, from weakest to strongest, are the five remedies for stale reads
// (read-your-writes): Eventual, Sleep, CaughtUp, WaitPosition, WaitGTID, and
// Primary. The waiting modes read from the primary when no replica catches up
// in time, unless OrFail says to fail with ErrReplicaNotCaughtUp instead.
type Consistency struct {
	kind kind
	d    time.Duration // Sleep's duration, or the wait's timeout
	fail bool          // fail with ErrReplicaNotCaughtUp instead of reading the primary
}

var (
	// Eventual reads any usable replica, however far behind (the default).
	Eventual = Consistency{kind: kindEventual}
	// Primary sends the read to the primary.
	Primary = Consistency{kind: kindPrimary}
)

// Sleep reads a replica only once d has passed since the write being waited
// for, sleeping only the remainder (no sleep when the write is older). It is
// the crudest remedy: a replica lagging more than d still serves stale data.
func Sleep(d time.Duration) Consistency { return Consistency{kind: kindSleep, d: max(d, 0)} }

// CaughtUp reads a replica that reports it has applied everything it has
// received, waiting up to timeout for one. It cannot see a write the replica
// has not received yet, so a read right after a write may still be stale:
// use WaitPosition or WaitGTID to read your own writes.
func CaughtUp(timeout time.Duration) Consistency {
	return Consistency{kind: kindCaughtUp, d: max(timeout, 0)}
}

// WaitPosition captures the primary's binlog file and position after each
// write and, before a read, waits up to timeout on the replica until it has
// applied that position (SOURCE_POS_WAIT / MASTER_POS_WAIT).
func WaitPosition(timeout time.Duration) Consistency {
	return Consistency{kind: kindWaitPosition, d: max(timeout, 0)}
}

// WaitGTID captures the GTID of each write and, before a read, waits up to
// timeout on the replica until it has executed it (WAIT_FOR_EXECUTED_GTID_SET
// on MySQL, MASTER_GTID_WAIT on MariaDB). It is the most precise mode.
func WaitGTID(timeout time.Duration) Consistency {
	return Consistency{kind: kindWaitGTID, d: max(timeout, 0)}
}

// OrFail returns c with fail-instead: when no replica is fresh enough in
// time, the read fails with ErrReplicaNotCaughtUp rather than going to the
// primary (protecting the primary from a flood of fallbacks).
func (c Consistency) OrFail() Consistency {
	c.fail = true
	return c
}

// String describes the mode, e.g. "WaitGTID(200ms)" or "Sleep(1s).OrFail()".
func (c Consistency) String() string {
	var s string
	switch c.kind {
	case kindUnset:
		return "unset"
	case kindEventual:
		s = "Eventual"
	case kindPrimary:
		s = "Primary"
	case kindSleep:
		s = fmt.Sprintf("Sleep(%v)", c.d)
	case kindCaughtUp:
		s = fmt.Sprintf("CaughtUp(%v)", c.d)
	case kindWaitPosition:
		s = fmt.Sprintf("WaitPosition(%v)", c.d)
	case kindWaitGTID:
		s = fmt.Sprintf("WaitGTID(%v)", c.d)
	}
	if c.fail {
		s += ".OrFail()"
	}
	return s
}

type consistencyKey struct{}

// WithConsistency returns a context whose reads use mode c. The innermost
// setting wins.
func WithConsistency(ctx context.Context, c Consistency) context.Context {
	return context.WithValue(ctx, consistencyKey{}, c)
}

// ConsistencyFrom returns the mode set on ctx by WithConsistency, and whether
// one was set.
func ConsistencyFrom(ctx context.Context) (Consistency, bool) {
	c, ok := ctx.Value(consistencyKey{}).(Consistency)
	return c, ok && c.kind != kindUnset
}

// consistency is the mode in force for a call on db.
func (db *DB) consistency(ctx context.Context) Consistency {
	if c, ok := ConsistencyFrom(ctx); ok {
		return c
	}
	return db.mode
}

// ErrReplicaNotCaughtUp is returned by a read whose mode was set with OrFail
// when no replica caught up with the write it waits for in time.
var ErrReplicaNotCaughtUp = errors.New("rwsplit: no replica caught up in time")

// waitsForToken reports whether reads in mode c wait for a captured token.
func (c Consistency) waitsForToken() bool {
	return c.kind == kindWaitPosition || c.kind == kindWaitGTID
}

// waitSpec is the wait a read needs on one replica before it runs.
type waitSpec struct {
	call string // e.g. "WAIT_FOR_EXECUTED_GTID_SET(?, ?) = 0"
	args []any
	tok  gtid.Token
	pos  bool // a binlog-position wait (NULL and -1 mean not there)
}

// planRead chooses the server for a replica-safe read under the context's
// consistency mode. With deferWait, a replica that takes the wait and the
// read in one round trip may be returned with the wait still to run (see
// QueryContext); otherwise every wait has been run when it returns.
func (db *DB) planRead(ctx context.Context, deferWait bool) (*Server, *waitSpec, error) {
	mode := db.consistency(ctx)
	top := db.topology()
	cands := top.usable
	if mode.kind == kindPrimary || len(top.replicas) == 0 {
		return top.primary, nil, nil
	}
	if failed, ok := ctx.Value(excludeKey{}).(*Server); ok {
		cands = without(cands, failed)
	}
	if len(cands) == 0 {
		if !db.primaryFallback {
			return nil, nil, ErrNoReplica
		}
		db.stats.noReplica.Add(1)
		return top.primary, nil, nil
	}
	switch mode.kind {
	case kindSleep:
		tok, _, _ := db.scope(ctx).state()
		if tok.Time > 0 {
			wait := time.Until(time.UnixMilli(tok.Time).Add(mode.d))
			if wait > 0 {
				db.stats.sleeps.Add(1)
				t := time.NewTimer(wait)
				select {
				case <-ctx.Done():
					t.Stop()
					return nil, nil, ctx.Err()
				case <-t.C:
				}
			}
		}
	case kindCaughtUp:
		return db.caughtUp(ctx, cands, mode)
	case kindWaitPosition, kindWaitGTID:
		return db.waitRead(ctx, cands, mode, deferWait)
	}
	return db.pick(cands), nil, nil
}

// token returns the scope's token, first reading the primary's position when
// a write's position is pending.
func (db *DB) token(ctx context.Context, mode Consistency) (gtid.Token, error) {
	s := db.scope(ctx)
	if s == db.last {
		// Process scope: from now on every write captures its position.
		db.tracking.Store(true)
	}
	tok, pending, gen := s.state()
	if !pending {
		return tok, nil
	}
	cap, err := db.capture(ctx, db.primaryServer().db, false, mode.kind == kindWaitPosition)
	if err != nil {
		return tok, err
	}
	return s.resolve(cap, gen)
}

// waitRead serves WaitPosition and WaitGTID: a replica known to have applied
// the token, else one that applies it within the timeout, else the fallback.
func (db *DB) waitRead(ctx context.Context, cands []*Server, mode Consistency, deferWait bool) (*Server, *waitSpec, error) {
	tok, err := db.token(ctx, mode)
	if err != nil {
		return db.fallback(mode, err)
	}
	if !hasTarget(tok) {
		return db.pick(cands), nil, nil
	}
	first := db.pick(cands)
	// Zero round trips when a replica is known to have applied the token;
	// start at the balancer's pick so the known replicas share the load.
	start := position(cands, first)
	for i := range cands {
		s := cands[(start+i)%len(cands)]
		if s.hasApplied(tok) {
			db.stats.waitsSkipped.Add(1)
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
		spec, err := db.waitFor(ctx, s, tok, mode, time.Until(deadline))
		if err != nil {
			lastErr = err
			continue
		}
		if i == 0 && s == first && deferWait && s.oneTrip {
			return s, spec, nil
		}
		ok, timedOut, err := db.runWait(ctx, s, spec, time.Until(deadline))
		s.waitDone(ok)
		if ok {
			s.learn(tok)
			return s, nil, nil
		}
		lastErr = err
		if timedOut || time.Until(deadline) <= 0 {
			break
		}
	}
	return db.fallback(mode, lastErr)
}

// hasTarget reports whether tok names anything to wait for.
func hasTarget(t gtid.Token) bool {
	return !t.MySQL.IsEmpty() || !t.MariaDB.IsEmpty() || !t.Pos.IsZero()
}

// waitFor builds the wait for tok on replica s: a GTID wait under WaitGTID (a
// position wait when the token has only a position), a position wait under
// WaitPosition (a GTID wait when the token has no position).
func (db *DB) waitFor(ctx context.Context, s *Server, tok gtid.Token, mode Consistency, left time.Duration) (*waitSpec, error) {
	v, err := s.version(ctx)
	if err != nil {
		return nil, err
	}
	timeout := max(left.Seconds(), 0.001)
	usePos := !tok.Pos.IsZero() && (mode.kind == kindWaitPosition || (tok.MySQL.IsEmpty() && tok.MariaDB.IsEmpty()))
	if usePos {
		return &waitSpec{
			call: v.PosWait() + "(?, ?, ?) >= 0",
			args: []any{tok.Pos.File, tok.Pos.Pos, timeout},
			tok:  tok, pos: true,
		}, nil
	}
	switch {
	case v.Flavor == dialect.MariaDB && tok.Flavor == gtid.FlavorMariaDB:
		return &waitSpec{call: "MASTER_GTID_WAIT(?, ?) = 0", args: []any{tok.MariaDB.String(), timeout}, tok: tok}, nil
	case v.Flavor == dialect.MySQL && tok.Flavor == gtid.FlavorMySQL:
		return &waitSpec{call: "WAIT_FOR_EXECUTED_GTID_SET(?, ?) = 0", args: []any{tok.MySQL.String(), timeout}, tok: tok}, nil
	}
	return nil, fmt.Errorf("rwsplit: a %s token cannot be waited for on %s (%s)", tok.Flavor, s.name, v.Flavor)
}

// runWait runs spec on s in its own round trip.
func (db *DB) runWait(ctx context.Context, s *Server, spec *waitSpec, left time.Duration) (ok, timedOut bool, err error) {
	db.stats.waits.Add(1)
	wctx, cancel := context.WithTimeout(ctx, left+time.Second)
	defer cancel()
	var res sql.NullInt64
	t0 := s.begin()
	err = s.db.QueryRowContext(wctx, "SELECT "+spec.call, spec.args...).Scan(&res)
	s.end(t0, err)
	switch {
	case err != nil:
		return false, false, fmt.Errorf("rwsplit: wait on %s: %w", s.name, err)
	case !res.Valid:
		return false, false, fmt.Errorf("rwsplit: wait on %s: NULL (replication not running?)", s.name)
	case res.Int64 == 1:
		return true, false, nil
	}
	return false, true, fmt.Errorf("rwsplit: wait on %s: timed out", s.name)
}

// fallback ends a read no replica could serve in time: the primary, or
// ErrReplicaNotCaughtUp under OrFail.
func (db *DB) fallback(mode Consistency, cause error) (*Server, *waitSpec, error) {
	if mode.fail {
		db.stats.notCaughtUp.Add(1)
		if cause != nil {
			return nil, nil, fmt.Errorf("%w: %v", ErrReplicaNotCaughtUp, cause)
		}
		return nil, nil, ErrReplicaNotCaughtUp
	}
	db.stats.fallbacks.Add(1)
	return db.primaryServer(), nil, nil
}

// caughtUp serves CaughtUp: a replica that reports it has applied all it
// received, polled until the timeout.
func (db *DB) caughtUp(ctx context.Context, cands []*Server, mode Consistency) (*Server, *waitSpec, error) {
	deadline := time.Now().Add(mode.d)
	var lastErr error
	for {
		start := position(cands, db.pick(cands))
		for i := range cands {
			s := cands[(start+i)%len(cands)]
			ok, err := s.reportsCaughtUp(ctx)
			if ok {
				return s, nil, nil
			}
			if err != nil {
				lastErr = err
			}
		}
		if time.Until(deadline) <= 0 {
			return db.fallback(mode, lastErr)
		}
		t := time.NewTimer(min(20*time.Millisecond, time.Until(deadline)))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, nil, ctx.Err()
		case <-t.C:
		}
	}
}

// position is the index of s in cands (0 when absent).
func position(cands []*Server, s *Server) int {
	for i, c := range cands {
		if c == s {
			return i
		}
	}
	return 0
}

// without returns cands less s (a copy, only when s is among them).
func without(cands []*Server, s *Server) []*Server {
	for i, c := range cands {
		if c == s {
			return append(append([]*Server(nil), cands[:i]...), cands[i+1:]...)
		}
	}
	return cands
}
