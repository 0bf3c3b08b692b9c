package rwsplit

import (
	"database/sql"
	"sync/atomic"
)

// counters are the routing figures; all are updated atomically.
type counters struct {
	writes       atomic.Uint64
	primaryReads atomic.Uint64
	replicaReads []atomic.Uint64
	roTx, rwTx   atomic.Uint64

	captures, waits, waitsSkipped, sleeps atomic.Uint64
	fallbacks, notCaughtUp                atomic.Uint64
}

// Stats reports how a DB routed its calls, and the pools' own statistics.
type Stats struct {
	// Writes counts calls sent to the primary as writes: every Exec, and
	// queries that may write (INSERT ... RETURNING, unknown functions).
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
	// Captures counts writes whose causality token was read from the
	// primary (one round trip each).
	Captures uint64
	// Waits counts replica waits run (WaitPosition, WaitGTID); WaitsSkipped
	// counts reads that needed none because the replica was known to have
	// applied the token; Sleeps counts reads that slept (Sleep).
	Waits, WaitsSkipped, Sleeps uint64
	// Fallbacks counts reads sent to the primary because no replica caught
	// up in time; NotCaughtUp counts reads that failed with
	// ErrReplicaNotCaughtUp instead (OrFail).
	Fallbacks, NotCaughtUp uint64
	// Primary and Replicas are the pools' database/sql statistics.
	Primary  sql.DBStats
	Replicas []sql.DBStats
}

// Stats returns a snapshot of the routing figures.
func (db *DB) Stats() Stats {
	st := Stats{
		Writes:       db.stats.writes.Load(),
		PrimaryReads: db.stats.primaryReads.Load(),
		ReadOnlyTx:   db.stats.roTx.Load(),
		ReadWriteTx:  db.stats.rwTx.Load(),
		Captures:     db.stats.captures.Load(),
		Waits:        db.stats.waits.Load(),
		WaitsSkipped: db.stats.waitsSkipped.Load(),
		Sleeps:       db.stats.sleeps.Load(),
		Fallbacks:    db.stats.fallbacks.Load(),
		NotCaughtUp:  db.stats.notCaughtUp.Load(),
		Primary:      db.primary.db.Stats(),
	}
	for i, r := range db.replicas {
		st.ReplicaReads = append(st.ReplicaReads, db.stats.replicaReads[i].Load())
		st.Replicas = append(st.Replicas, r.db.Stats())
	}
	return st
}
