package rwsplit

import (
	"context"
	"errors"
	"fmt"
	"time"
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
	kindFast
	kindLatest
	kindMonotonic
	kindMaxStaleness
)

// Consistency says how fresh a replica read must be. Choose it per call with
// WithConsistency, or per DB with WithDefaultConsistency. The zero value means
// "not set": the DB's default applies.
//
// The modes, from weakest to strongest, are the five remedies for stale reads
// (read-your-writes): Eventual, Sleep, CaughtUp, WaitPosition, WaitGTID, and
// Primary. The waiting modes read from the primary when no replica catches up
// in time, unless OrFail says to fail with ErrReplicaNotCaughtUp instead.
//
// Four more modes trade differently (modes.go): Fast reads your writes
// without ever waiting (a replica known to have them, else the primary);
// Latest sees every write committed before the read began, whoever made it;
// Monotonic never reads older data than the scope has already read (and
// reads its writes); MaxStaleness bounds how old the data read may be.
type Consistency struct {
	kind kind
	d    time.Duration // Sleep's duration, the wait's timeout, or the staleness bound
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
	case kindFast:
		s = "Fast"
	case kindLatest:
		s = fmt.Sprintf("Latest(%v)", c.d)
	case kindMonotonic:
		s = fmt.Sprintf("Monotonic(%v)", c.d)
	case kindMaxStaleness:
		s = fmt.Sprintf("MaxStaleness(%v)", c.d)
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

// consistencyFrom returns the mode set on ctx by WithConsistency, and whether
// one was set.
func consistencyFrom(ctx context.Context) (Consistency, bool) {
	c, ok := ctx.Value(consistencyKey{}).(Consistency)
	return c, ok && c.kind != kindUnset
}

// consistency is the mode in force for a call on db.
func (db *DB) consistency(ctx context.Context) Consistency {
	c, ok := consistencyFrom(ctx)
	if !ok {
		c = db.mode
	}
	if h := db.hooks; h != nil && h.breakWaits && c.kind != kindPrimary {
		return Eventual
	}
	return c
}

// ErrReplicaNotCaughtUp is returned by a read whose mode was set with OrFail
// when no replica caught up with the write it waits for in time.
var ErrReplicaNotCaughtUp = errors.New("rwsplit: no replica caught up in time")

// planRead chooses the server for a replica-safe read under the context's
// consistency mode. With deferWait, a replica that takes the wait and the
// read in one round trip may be returned with the wait still to send (see
// QueryContext); otherwise every wait has been run when it returns.
func (db *DB) planRead(ctx context.Context, deferWait bool) (*Server, *waitSpec, error) {
	mode := db.consistency(ctx)
	top := db.topology()
	cands := top.usable
	if mode.kind == kindPrimary || len(top.replicas) == 0 {
		s, err := db.readerOnPrimary(ctx)
		return s, nil, err
	}
	failed := retried(ctx).from
	if failed != nil {
		cands = without(cands, failed)
	}
	if len(cands) == 0 {
		if top.primary == nil && mode.kind == kindEventual {
			if s := lastResort(top, failed); s != nil {
				return s, nil, nil
			}
		}
		if !db.primaryFallback {
			return nil, nil, ErrNoReplica
		}
		db.stats.noReplica.Add(1)
		s, err := db.readerOnPrimary(ctx)
		return s, nil, err
	}
	switch mode.kind {
	case kindSleep:
		if err := db.sleep(ctx, mode); err != nil {
			return nil, nil, err
		}
	case kindCaughtUp:
		return db.caughtUp(ctx, cands, mode)
	case kindWaitPosition, kindWaitGTID:
		return db.waitRead(ctx, cands, mode, deferWait)
	case kindFast:
		return db.fastRead(ctx, cands, mode)
	case kindLatest:
		return db.latestRead(ctx, cands, mode, deferWait)
	case kindMonotonic:
		return db.monotonicRead(ctx, cands, mode, deferWait)
	case kindMaxStaleness:
		return db.boundedRead(ctx, cands, mode)
	}
	return db.pick(cands), nil, nil
}

// lastResort is the server an Eventual read uses when no replica is usable
// and no primary is known (under discovery, mid-failover: the replica being
// promoted has stopped replicating and is not writable yet): a server the
// monitor last reached, whatever else it said of it, other than failed.
// Eventual promises no freshness; the read is served rather than failed.
func lastResort(top *topology, failed *Server) *Server {
	for _, r := range top.replicas {
		if v := r.verdict(); r != failed && v.state != StateDown && !v.suspect {
			return r
		}
	}
	return nil
}

// sleep serves Sleep: it waits until mode.d has passed since the scope's
// last write.
func (db *DB) sleep(ctx context.Context, mode Consistency) error {
	last := db.scope(ctx).view().tok.Time
	if last <= 0 {
		return nil
	}
	wait := time.Until(time.UnixMilli(last).Add(mode.d))
	if wait <= 0 {
		return nil
	}
	db.stats.sleeps.Add(1)
	t := time.NewTimer(wait)
	defer t.Stop()
	w0 := db.observeSleep(ctx, mode)
	select {
	case <-ctx.Done():
		db.observeSlept(ctx, mode, w0, ctx.Err())
		return ctx.Err()
	case <-t.C:
		db.observeSlept(ctx, mode, w0, nil)
		return nil
	}
}

// fallback ends a read no replica could serve in time: the primary, or an
// error wrapping ErrReplicaNotCaughtUp and the cause under OrFail. The
// caller's own context error is returned as itself, and counts as neither.
func (db *DB) fallback(ctx context.Context, mode Consistency, cause error) (*Server, *waitSpec, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	noteFallback(ctx, cause)
	if mode.fail {
		db.stats.notCaughtUp.Add(1)
		if cause != nil {
			return nil, nil, fmt.Errorf("%w: %w", ErrReplicaNotCaughtUp, cause)
		}
		return nil, nil, ErrReplicaNotCaughtUp
	}
	db.stats.fallbacks.Add(1)
	s, err := db.readerOnPrimary(ctx)
	return s, nil, err
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
			// The status query is bounded by the mode's timeout (at least
			// 50 ms): a hung replica does not hold the read past it.
			qctx, cancel := context.WithTimeout(ctx, max(time.Until(deadline), 50*time.Millisecond))
			ok, err := s.reportsCaughtUp(qctx)
			cancel()
			if ok {
				return s, nil, nil
			}
			if err != nil {
				lastErr = err
			}
			if ctx.Err() != nil {
				return nil, nil, ctx.Err()
			}
		}
		if time.Until(deadline) <= 0 {
			return db.fallback(ctx, mode, lastErr)
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

// contains reports whether s is among servers.
func contains(servers []*Server, s *Server) bool {
	for _, c := range servers {
		if c == s {
			return true
		}
	}
	return false
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
