package rwsplit

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-sql-driver/mysql"
)

// The monitor's idle back-off: a DB that plans no reads on its replicas
// checks them less and less often, so that a fleet of idle instances costs
// the replicas little; the first read, and any sign of trouble from real
// traffic, brings the checks back at once.
//
//   - While the DB plans replica reads (any read a replica may serve, under
//     any mode but Strong), every replica is checked each interval, as
//     before: lag exclusion reacts within two intervals, a replica out of
//     rotation is seen back within one.
//   - A replica checked with no such read since its previous check is next
//     checked 4 intervals later, then 16, then every idleCap (30 s by
//     default), each gap ±20% at random so that instances started together
//     spread their checks.
//   - The first read after a pause wakes the monitor: every replica checked
//     less often is checked at once. The read itself goes by the last look
//     (Eventual promises no freshness); what needs fresh knowledge does not
//     trust an old one (see Server.fresh).
//   - A read on a replica that fails (not a statement error), or answers
//     more slowly than a check's deadline (a slow read, a long or timed-out
//     wait), checks that replica at once, whatever its rate.
//   - The primary is checked each interval, always (failover in two rounds,
//     the write hold); under WithDiscovery every replica's identity too
//     (one query), and a replica seen writable, or changed, is checked
//     fully in the same round.

// idleCap is the longest gap between two checks of a replica while its
// DB plans no reads (never less than the interval).
const idleCap = 30 * time.Second

// idleJitter is the relative spread of a backed-off gap.
const idleJitter = 0.2

// idleState is the DB's side of the back-off.
type idleState struct {
	// readSeen: a replica read was planned since the monitor's last
	// round; backedOff: some replica is checked less often than each
	// interval (set by the monitor).
	readSeen, backedOff atomic.Bool
	// woken asks the monitor for a wake round.
	woken chan struct{}
	// mu guards lastActive, when a round last saw readSeen, and every
	// replica's sched (held for no I/O: a round's checks run concurrently,
	// and a test may run a round beside the monitor's).
	mu         sync.Mutex
	lastActive time.Time
}

// schedule is a replica's place in the back-off (under idleState.mu): when its next check is due, how many checks in a row saw no read,
// and when its last check began.
type schedule struct {
	next      time.Time
	streak    int
	lastStart time.Time
}

// wake asks the monitor for a wake round, without waiting for it.
func (st *idleState) wake() {
	select {
	case st.woken <- struct{}{}:
	default:
	}
}

// noteReplicaRead records that a read a replica may serve is being planned:
// one atomic load once the round has seen one; the first after a pause
// wakes the monitor.
func (db *DB) noteReplicaRead() {
	if db.idle.readSeen.Load() {
		return
	}
	db.idle.readSeen.Store(true)
	if db.idle.backedOff.Load() {
		db.idle.wake()
	}
}

// look is how much of a replica a round checks.
type look uint8

const (
	lookNone     look = iota // not this round
	lookIdentity             // its identity only (under discovery)
	lookFull                 // identity and replication state
)

// planRound decides what round rk checks of each of top's replicas at now.
func (db *DB) planRound(top *topology, rk roundKind, now time.Time) []look {
	db.idle.mu.Lock()
	defer db.idle.mu.Unlock()
	if db.idle.readSeen.Swap(false) {
		db.idle.lastActive = now
	}
	resumed := db.idle.lastActive.Equal(now)
	plan := make([]look, len(top.replicas))
	for i, r := range top.replicas {
		sc := &r.sched
		if resumed && sc.streak > 0 {
			// Reads resumed: back to the normal rate, at once for a
			// replica last looked at an interval ago or more.
			sc.streak, sc.next = 0, sc.lastStart.Add(db.interval)
		}
		due := !now.Before(sc.next)
		switch {
		case rk == roundAll, r.checkSoon.Load(), sc.lastStart.IsZero():
			plan[i] = lookFull
		case rk == roundWake:
			if resumed && due {
				plan[i] = lookFull
			}
		case due:
			plan[i] = lookFull
		case db.discover:
			// What failover needs each round: the primary's check, and
			// whether a replica turned writable.
			plan[i] = lookIdentity
			if db.primaryFails > 0 || top.primary == nil {
				plan[i] = lookFull
			}
		}
	}
	return plan
}

// scheduleNext sets when replica r, whose check began at start, is next
// due: one interval later if the DB planned replica reads since its
// previous check, else a growing gap (see idleGap).
func (db *DB) scheduleNext(r *Server, start time.Time) {
	db.idle.mu.Lock()
	defer db.idle.mu.Unlock()
	sc := &r.sched
	if db.idle.lastActive.After(sc.lastStart) {
		sc.streak = 0
	} else {
		sc.streak++
	}
	sc.lastStart = start
	sc.next = start.Add(db.idleGap(sc.streak))
}

// idleGap is the gap before the next check of a replica whose last streak
// checks saw no read: the interval for none, then 4, 16, ... intervals up
// to idleCap, ±idleJitter.
func (db *DB) idleGap(streak int) time.Duration {
	if streak == 0 {
		return db.interval
	}
	limit := max(idleCap, db.interval)
	gap := db.interval
	for i := 0; i < streak && gap < limit; i++ {
		gap *= 4
	}
	gap = min(gap, limit)
	spread := 1 + idleJitter*(2*rand.Float64()-1)
	return max(time.Duration(float64(gap)*spread), db.interval)
}

// noteBackedOff records whether some replica is checked less often than
// each interval, so that the next read wakes the monitor.
func (db *DB) noteBackedOff(top *topology) {
	db.idle.mu.Lock()
	defer db.idle.mu.Unlock()
	off := false
	for _, r := range top.replicas {
		off = off || r.sched.streak > 0
	}
	db.idle.backedOff.Store(off)
}

// identityOnly reads replica r's identity (under discovery, between its
// full checks) into p, and reports whether that is enough: not when r
// answers writable (a promotion: the round needs its replication state
// to decide), changed, or is a member of a group (whose role only its
// member check tells). A server that does not answer is enough: p says so,
// and its verdict becomes StateDown.
func (db *DB) identityOnly(ctx context.Context, r *Server, p *probe) bool {
	last := r.member.Load()
	id, err := db.identify(ctx, r)
	if err != nil {
		if ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return true // closing
		}
		p.err = err
		r.answered.Store(false)
		before := db.healthOf(r)
		if r.setHealth(StateDown, 0, err, nil, time.Now()) {
			db.refresh()
		}
		db.observeHealth(r, before, err)
		return true
	}
	if last == nil || id.Kind.Grouped() || !id.ReadOnly || last.Kind != id.Kind || last.ServerID != id.ServerID || last.UUID != id.UUID {
		return false
	}
	m := *last
	m.Identity = id
	m.Writable = false
	p.m = m
	r.answered.Store(true)
	return true
}

// ask asks the monitor to check replica s at once (a sign from real
// traffic), without waiting for it. No I/O.
func (s *Server) ask() {
	if s.owner == nil || s.primary {
		return
	}
	s.checkSoon.Store(true)
	s.owner.idle.wake()
}

// signals reports whether a call on a replica that failed with err is a
// sign of trouble worth a check: a lost connection, a timeout, a server
// error that is not about the statement; not a statement's own error
// (syntax, a duplicate key, a lock wait), nor the caller giving up.
func signals(err error) bool {
	switch {
	case err == nil || errors.Is(err, context.Canceled):
		return false
	case isConnError(err), errors.Is(err, context.DeadlineExceeded):
		return true
	}
	return !isServerError(err)
}

// isServerError reports whether err is a MySQL server error (apart from
// signals, so that a call without an error allocates nothing for it).
func isServerError(err error) bool {
	var me *mysql.MySQLError
	return errors.As(err, &me)
}

// slowAnswer is how long a call on a replica may take before it asks for
// a check: a check's own deadline.
func (db *DB) slowAnswer() time.Duration { return max(2*db.interval, time.Second) }

// freshFor is how old a look at a replica may be and still be trusted by
// what needs fresh knowledge (what it has applied, for Fast and for
// skipping a wait): two intervals, and never less than an interval plus a
// second (a check may take up to its deadline, at least a second: at a
// short interval a look is routinely older than two).
func (db *DB) freshFor() time.Duration { return max(2*db.interval, db.interval+time.Second) }
