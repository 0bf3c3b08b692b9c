package rwsplit

import (
	"context"
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
