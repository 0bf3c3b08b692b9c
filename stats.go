package rwsplit

import (
	"database/sql"
	"sync/atomic"
	"time"
)

// counters are the routing figures; all are updated atomically.
type counters struct {
	writes       atomic.Uint64
	primaryReads atomic.Uint64
	roTx, rwTx   atomic.Uint64
	retries      atomic.Uint64
	// holds and holdNanos: calls held for want of a primary, and their
	// waits (writesafety.go); lost: reads that found writes lost.
	holds, holdNanos, lost atomic.Uint64
	noReplica              atomic.Uint64

	captures, waits, waitsSkipped, sleeps atomic.Uint64
	fallbacks, notCaughtUp                atomic.Uint64
}

// Stats reports how a DB routed its calls, and the pools' own statistics.
type Stats struct {
	// Writes counts calls sent as writes: every Exec (on a DB, Stmt, Conn
	// or Tx), and queries that may write (INSERT ... RETURNING, CALL,
	// unknown functions).
	Writes uint64
	// PrimaryReads counts reads sent to the primary: by rule (locking
	// reads, session functions, hints), by consistency mode, or for want of
	// a usable replica.
	PrimaryReads uint64
	// ReplicaReads counts reads sent to each replica, in order.
	ReplicaReads []uint64
	// ReadOnlyTx and ReadWriteTx count transactions begun on a replica and
	// on the primary.
	ReadOnlyTx, ReadWriteTx uint64
	// Captures counts the reads of the primary's position (one round trip
	// each, counted when it succeeded) that a waiting read or Session.Token
	// made for pending writes. One covers every write, of any session,
	// recorded before it began, and concurrent callers share it: pending
	// writes may also be covered by a read made for a token check or a
	// Latest read, counted in ExecutedReads instead. Writes never capture.
	Captures uint64
	// Waits counts replica waits run (WaitPosition, WaitGTID); WaitsSkipped
	// counts reads that needed none because the replica was known to have
	// applied the token; Sleeps counts reads that slept (Sleep).
	Waits, WaitsSkipped, Sleeps uint64
	// Fallbacks counts reads sent to the primary because no replica caught
	// up in time; NotCaughtUp counts reads that failed with
	// ErrReplicaNotCaughtUp instead (OrFail).
	Fallbacks, NotCaughtUp uint64
	// Retries counts reads retried elsewhere after a connection error on a
	// replica; NoReplica counts reads sent to the primary because no
	// replica was usable.
	Retries, NoReplica uint64
	// Hedges counts reads (and read-only BEGINs) sent to a second server
	// because the first had not answered within the hedge bound (see
	// WithHedge); HedgeWins counts those whose second answer was the one
	// returned. A hedged read also counts in PrimaryReads or ReplicaReads
	// for its second server.
	Hedges, HedgeWins uint64
	// HedgeBound is the current hedge bound (0 when hedging is off): a read
	// on a replica that answers nothing for this long is hedged.
	HedgeBound time.Duration
	// TokenClamps counts wait targets cut down to what the primary had
	// executed (a token claiming more: see Token safety); ExecutedReads
	// counts reads of the primary's executed set made for token checks,
	// Latest reads and Monotonic moves.
	TokenClamps, ExecutedReads uint64
	// WriteHolds counts calls that waited for a primary (none known, or
	// the primary refused a write as read-only: see WithWriteHold), and
	// WriteHoldTime the time they waited in all.
	WriteHolds    uint64
	WriteHoldTime time.Duration
	// WritesLost counts reads whose scope's token named writes that a
	// former primary acknowledged and the current primary lacks for good
	// (see ErrWritesLost).
	WritesLost uint64
	// Primary and Replicas are the pools' database/sql statistics.
	Primary  sql.DBStats
	Replicas []sql.DBStats
}

// Stats returns a snapshot of the routing figures.
func (db *DB) Stats() Stats {
	st := Stats{
		Writes:        db.stats.writes.Load(),
		PrimaryReads:  db.stats.primaryReads.Load(),
		ReadOnlyTx:    db.stats.roTx.Load(),
		ReadWriteTx:   db.stats.rwTx.Load(),
		Retries:       db.stats.retries.Load(),
		WriteHolds:    db.stats.holds.Load(),
		WriteHoldTime: time.Duration(db.stats.holdNanos.Load()),
		WritesLost:    db.stats.lost.Load(),
		NoReplica:     db.stats.noReplica.Load(),
		Captures:      db.stats.captures.Load(),
		Waits:         db.stats.waits.Load(),
		WaitsSkipped:  db.stats.waitsSkipped.Load(),
		Sleeps:        db.stats.sleeps.Load(),
		Fallbacks:     db.stats.fallbacks.Load(),
		NotCaughtUp:   db.stats.notCaughtUp.Load(),
		Hedges:        db.hedge.hedges.Load(),
		HedgeWins:     db.hedge.wins.Load(),
		HedgeBound:    db.hedge.bound(),
		TokenClamps:   db.tokens().clamps.Load(),
		ExecutedReads: db.tokens().checks.Load(),
	}
	if p := db.primaryServer(); p != nil {
		st.Primary = p.db.Stats()
	}
	for _, r := range db.topology().replicas {
		st.ReplicaReads = append(st.ReplicaReads, r.reads.Load())
		st.Replicas = append(st.Replicas, r.db.Stats())
	}
	return st
}

// ReplicaStatus is one replica's health and load, as the monitor and the
// router see them.
type ReplicaStatus struct {
	Name  string
	Index int
	// State is StateUp, StateDown, StateBroken, StateLagging or
	// StateUnknown (not checked yet).
	State string
	// Usable reports whether the replica serves reads now; Suspect, that a
	// read failed on it with a connection error, or went unanswered while
	// its hedge answered, since the last good check.
	Usable, Suspect bool
	// Kind is the replica's cluster kind as its last check saw it ("" before
	// the first); MemberState its state in its group (Group Replication's
	// MEMBER_STATE, Galera's wsrep_local_state_comment; "" for async); Queue
	// its applier backlog in transactions (Group Replication's remote
	// applier queue, Galera's wsrep_local_recv_queue; -1 for async, or
	// before the first check).
	Kind        ClusterKind
	MemberState string
	Queue       int64
	// Lag is how far behind the primary the replica was at LastCheck.
	Lag       time.Duration
	LastCheck time.Time
	LastError string
	Weight    int
	InFlight  int64
	Latency   time.Duration
	Reads     uint64
	Calls     uint64
	Errors    uint64
}

// ReplicaStatus returns every replica's status, in order.
func (db *DB) ReplicaStatus() []ReplicaStatus {
	rs := db.topology().replicas
	out := make([]ReplicaStatus, len(rs))
	for i, r := range rs {
		h := &r.health
		st := ReplicaStatus{
			Name: r.name, Index: i, State: h.getState(), Usable: r.usable(), Suspect: h.suspect.Load(),
			Lag: max(time.Duration(h.lag.Load()), 0), Weight: r.weight, InFlight: r.InFlight(), Latency: r.Latency(),
			Reads: r.reads.Load(), Calls: r.calls.Load(), Errors: r.errors.Load(),
		}
		st.Queue = -1
		if m := r.member.Load(); m != nil {
			st.Kind, st.MemberState, st.Queue = ClusterKind(m.Kind.String()), m.State, m.Queue
		}
		if at := h.lastCheck.Load(); at != 0 {
			st.LastCheck = time.Unix(0, at)
		}
		if e := h.lastErr.Load(); e != nil {
			st.LastError = *e
		}
		out[i] = st
	}
	return out
}
