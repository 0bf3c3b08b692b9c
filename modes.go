package rwsplit

import (
	"context"
	"errors"
	"time"

	"github.com/rwsplit/rwsplit/internal/gtid"
)

// The modes beyond the five remedies: Fast, Latest, Monotonic and
// MaxStaleness. Each is planned here (planRead hands over) and served by the
// same pipeline as the others; Latest and Monotonic wait as WaitGTID does
// (waitOn), and every mode that may fall back does so through fallback.

var (
	// Fast reads your writes without ever waiting: on a replica already
	// known to have applied the scope's writes (by the monitor's last look
	// at its applied GTIDs, or by an earlier wait there), otherwise on the
	// primary (counted in Stats.Fallbacks; with Fast.OrFail() the read
	// fails with ErrReplicaNotCaughtUp instead). With nothing written in its
	// scope it reads any usable replica, as Eventual does. This is
	// MaxScale's "fast" causal reads.
	//
	// Cost: no wait, ever. Choosing the replica is a lookup; the first Fast
	// read after writes whose position is still pending reads it on the
	// primary (one round trip, shared with the scope's other readers, as
	// every waiting mode does). Right after a write the read usually goes to
	// the primary: a replica becomes known to have the write at the
	// monitor's next look (WithMonitorInterval) or when a waiting read
	// waited for it there. A token naming GTIDs no server has sends the
	// reads of its scope to the primary: sign tokens (WithTokenKey) when
	// clients can forge them.
	Fast = Consistency{kind: kindFast}
)

// Latest reads everything the primary had committed when the read began,
// whoever wrote it: clients that share no Session or token see each
// other's writes (MaxScale's "universal" causal reads). It reads the
// primary's executed GTID set (within timeout), then reads on a replica
// known to have applied it or one that applies it within timeout, else on
// the primary (or fails under OrFail). It ignores the scope: what the scope
// wrote before the read began is part of what the primary had committed.
//
// Cost: one query on the primary per read, shared by the Latest reads that
// begin while it is in flight (a burst of concurrent reads costs the
// primary at most two), plus the wait on the replica, in the read's own
// round trip where the replica's DSN allows it (see WithOneRoundTrip),
// unless the replica is known to have applied the set already.
func Latest(timeout time.Duration) Consistency {
	return Consistency{kind: kindLatest, d: max(timeout, 0)}
}

// Monotonic reads never go back in time within the scope (the context's
// Session, else the DB's process scope): a Monotonic read shows at least
// everything any earlier Monotonic read of the scope showed, once that read
// has returned, whichever servers served them. It also reads the scope's
// writes, as WaitGTID(timeout) does, with the same fallback to the primary
// (or ErrReplicaNotCaughtUp under OrFail).
//
// Monotonic reads of a scope stay on the replica that served its latest one
// while it is usable: a replica never un-applies, so they need no wait for
// what was read (only for the scope's writes, as WaitGTID). When they must
// move (that replica is down, suspect, lagging or removed, or the latest
// read was served by the primary), the next read waits on its new replica
// for what the primary had executed after the earlier reads returned, read
// once on the primary.
//
// Cost: nothing while the reads stay on one replica beyond WaitGTID's own
// cost for the scope's writes (none when there are none). A move costs one
// query on the primary (shared with concurrent readers, and none when
// another read of the primary's executed set began after the earlier reads
// returned) and usually a wait. Reads under other modes neither move the
// scope's floor nor are held by it. The floor is kept in the Session value,
// not in its Token: a Session resumed elsewhere from a Token reads its
// writes but starts a new monotonic history. Under the process scope every
// Monotonic read of the DB without a Session shares one history, and so one
// replica at a time: give each client its own Session to spread them.
func Monotonic(timeout time.Duration) Consistency {
	return Consistency{kind: kindMonotonic, d: max(timeout, 0)}
}

// MaxStaleness reads any usable replica whose data is at most d old, as far
// as the monitor knows: its measured lag (Health.Lag) plus the time since
// that measure (Health.LastCheck) is at most d. With none, the
// read goes to the primary (counted in Stats.Fallbacks), or fails with
// ErrReplicaNotCaughtUp under OrFail; it never waits, since a replica's lag
// is measured only once per monitor interval. A replica not checked yet is
// not within any bound.
//
// It bounds staleness, not causality: it does not wait for the scope's
// writes (use WaitGTID, Fast or Monotonic for that). The monitor measures
// lag against its snapshots of the primary, one per interval, so a
// replica's true staleness may exceed the bound by up to about one monitor
// interval; and a healthy replica looks up to one interval old between
// checks. Choose d of at least twice the interval (WithMonitorInterval,
// default 1 s), or lower the interval.
//
// Cost: no round trip; a lookup of each replica's last measure.
func MaxStaleness(d time.Duration) Consistency {
	return Consistency{kind: kindMaxStaleness, d: max(d, 0)}
}

// fastRead serves Fast: a replica among cands known to have applied the
// scope's writes, else the fallback.
func (db *DB) fastRead(ctx context.Context, cands []*Server, mode Consistency) (*Server, *waitSpec, error) {
	tok, _, err := db.boundedScope(ctx, mode, true)
	if err != nil {
		return db.fallback(ctx, mode, err)
	}
	t := waitTarget(tok, true)
	if !hasTarget(t) {
		return db.pick(cands), nil, nil
	}
	known := db.knownApplied(cands, t)
	if len(known) == 0 {
		return db.fallback(ctx, mode, errNotKnownApplied)
	}
	db.stats.waitsSkipped.Add(1)
	return db.pick(known), nil, nil
}

// knownApplied returns the replicas among cands known to have applied t
// (one part, see waitTarget): for a binlog position, only replicas of its
// primary. No I/O.
func (db *DB) knownApplied(cands []*Server, t gtid.Token) []*Server {
	if !t.Pos.IsZero() {
		cands = db.directReplicas(cands, t.Pos.ServerID)
	}
	var known []*Server
	for _, s := range cands {
		if s.hasApplied(t) {
			if known == nil {
				known = make([]*Server, 0, len(cands))
			}
			known = append(known, s)
		}
	}
	return known
}

// fastReplicas returns the replicas among cands a Fast read in ctx may go
// to without a round trip (for a hedge): all of them when the scope has no
// writes, none while a write of it is pending, else those known to have
// applied its writes. No I/O.
func (db *DB) fastReplicas(ctx context.Context, cands []*Server) []*Server {
	v := db.scope(ctx).view()
	if v.writes > v.gtidAt {
		return nil
	}
	t := waitTarget(v.tok, true)
	if !hasTarget(t) {
		return cands
	}
	return db.knownApplied(cands, t)
}

// errNotKnownApplied is why a Fast read goes to the primary.
var errNotKnownApplied = errors.New("rwsplit: no usable replica is known to have applied the writes")

// never is the enough of readExecuted for a reader that needs a read of the
// primary begun after its own moment, whatever an earlier one returned.
func never(gtid.Token) bool { return false }

// latestRead serves Latest: the primary's executed set, read once the read
// began (shared, see readExecuted), waited for on a replica.
func (db *DB) latestRead(ctx context.Context, cands []*Server, mode Consistency, deferWait bool) (*Server, *waitSpec, error) {
	p := db.primaryServer()
	if p == nil {
		return db.fallback(ctx, mode, ErrNoPrimary)
	}
	since := time.Now()
	rctx, cancel := context.WithTimeout(ctx, max(mode.d, 10*time.Millisecond))
	e, err := db.readExecuted(rctx, p, since, true, false, never)
	cancel()
	if err != nil {
		return db.fallback(ctx, mode, err)
	}
	return db.waitOn(ctx, cands, waitTarget(e, true), mode, deferWait)
}

// monotonicRead serves Monotonic: the replica that served the scope's
// latest Monotonic read when it still may (nothing to wait for but the
// scope's writes), else any, after waiting for what the primary had
// executed once the earlier reads returned (see Monotonic).
func (db *DB) monotonicRead(ctx context.Context, cands []*Server, mode Consistency, deferWait bool) (*Server, *waitSpec, error) {
	scope := db.scope(ctx)
	w, gtidsFresh, err := db.boundedScope(ctx, mode, true)
	if err != nil {
		return db.fallback(ctx, mode, err)
	}
	floor, seen := scope.monoView()
	var last *Server
	var lastAt time.Time
	for _, r := range seen {
		if last == nil || r.at.After(lastAt) {
			last, lastAt = r.srv, r.at
		}
	}
	stay := last != nil && contains(cands, last)
	// since: when the latest read the next server cannot vouch for
	// answered; the primary's executed set read after it covers it.
	var since time.Time
	for _, r := range seen {
		if (!stay || r.srv != last) && r.at.After(since) {
			since = r.at
		}
	}
	if !since.IsZero() {
		p := db.primaryServer()
		if p == nil {
			return db.fallback(ctx, mode, ErrNoPrimary)
		}
		rctx, cancel := context.WithTimeout(ctx, max(mode.d, 10*time.Millisecond))
		u, err := db.readExecuted(rctx, p, since, true, false, never)
		cancel()
		if err != nil {
			return db.fallback(ctx, mode, err)
		}
		if floor, err = scope.fold(u, since); err != nil {
			return db.fallback(ctx, mode, err)
		}
	}
	full, err := gtid.Merge(w, floor)
	if err != nil {
		return db.fallback(ctx, mode, err)
	}
	tok, err := db.safeTarget(ctx, full, true, gtidsFresh, mode.d)
	if err = db.lostOrFail(ctx, mode, err); err != nil {
		return db.fallback(ctx, mode, err)
	}
	if stay {
		cands = []*Server{last}
	}
	return db.waitOn(ctx, cands, tok, mode, deferWait)
}

// readDone is the pipeline's last word on a read that ran (err nil: its
// statement returned without error) on r's server, the one that answered:
// under Monotonic it records that server's answer in the scope.
func (db *DB) readDone(ctx context.Context, r route, err error) {
	if err != nil || !r.read || r.server == nil || db.consistency(ctx).kind != kindMonotonic {
		return
	}
	db.scope(ctx).noteRead(r.server, time.Now())
}

// errTooStale is why a MaxStaleness read goes to the primary.
var errTooStale = errors.New("rwsplit: no usable replica is within the staleness bound")

// boundedRead serves MaxStaleness: a replica among cands within the bound,
// else the fallback.
func (db *DB) boundedRead(ctx context.Context, cands []*Server, mode Consistency) (*Server, *waitSpec, error) {
	fresh := withinStaleness(cands, mode.d, time.Now())
	if len(fresh) == 0 {
		return db.fallback(ctx, mode, errTooStale)
	}
	return db.pick(fresh), nil, nil
}

// withinStaleness returns the replicas among cands whose data is at most d
// old at now, as far as the monitor knows (see staleness). No I/O.
func withinStaleness(cands []*Server, d time.Duration, now time.Time) []*Server {
	var fresh []*Server
	for _, s := range cands {
		// d > 0: no replica is fresher than the primary (MaxStaleness(0)
		// is the primary, even when a check lands at the very moment).
		if st, ok := s.staleness(now); ok && d > 0 && st <= d {
			if fresh == nil {
				fresh = make([]*Server, 0, len(cands))
			}
			fresh = append(fresh, s)
		}
	}
	return fresh
}

// staleness is how old replica s's data may be at now, as far as the
// monitor knows: its lag when last checked plus the time since; not ok
// before its first check.
func (s *Server) staleness(now time.Time) (time.Duration, bool) {
	v := s.verdict()
	if v.at.IsZero() || v.lag < 0 {
		return 0, false // not checked yet, or lag unknown
	}
	return v.lag + max(now.Sub(v.at), 0), true
}
