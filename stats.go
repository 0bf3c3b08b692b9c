package rwsplit

import (
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

// Stats reports how a DB routed its calls. Per-server figures are in
// DB.Servers (Server.Health), and each pool's own statistics in
// Server.DB().Stats().
type Stats struct {
	// Writes counts calls sent as writes: every Exec (on a DB, Stmt, Conn
	// or Tx), and queries that may write (INSERT ... RETURNING, CALL,
	// unknown functions).
	Writes uint64
	// PrimaryReads counts reads sent to the primary: by rule (locking
	// reads, session functions, hints), by consistency mode, or for want of
	// a usable replica.
	PrimaryReads uint64
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
	// returned. A hedged read also counts in PrimaryReads, or in its
	// second server's Health().Reads.
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
}

// Stats returns a snapshot of the routing figures: one atomic load per
// figure, no I/O.
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
	return st
}
