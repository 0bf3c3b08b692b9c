package history

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/rwsplit/rwsplit"
)

// TestCheck: the check (no Docker) holds a waiting read to its scope's
// writes, counts a stale Eventual read without blaming it, excuses a read
// that fails with ErrNoPrimary during a promotion and no other failed read,
// and catches a Session's WaitGTID reads going back.
func TestCheck(t *testing.T) {
	h := New()
	at := func(ms int) time.Time { return h.Start().Add(time.Duration(ms) * time.Millisecond) }
	add := func(o *Op, from, to int) *Op {
		o.Start, o.End = at(from), at(to)
		h.Add(o)
		return o
	}
	// Client 0 owns keys 0-3; keys 0 and 1 are its session rows.
	add(&Op{Kind: OpWrite, Scope: InSession, Session: 0, Key: 0, Value: 1}, 0, 10)
	add(&Op{Kind: OpWrite, Scope: InSession, Session: 0, Key: 0, Value: 2}, 20, 30)
	wait := Mode{Kind: WaitGTID, Duration: time.Second}
	ryw := add(&Op{Kind: OpRead, DB: 1, Scope: InSession, Session: 0, Key: 0, Value: 1, Mode: wait, Surface: "DB.QueryRow"}, 40, 50)
	add(&Op{Kind: OpRead, DB: 1, Scope: InSession, Session: 0, Key: 0, Value: 2, Mode: wait, Surface: "DB.QueryRow"}, 60, 70)
	back := add(&Op{Kind: OpRead, DB: 1, Scope: InSession, Session: 0, Key: 0, Value: 1, Mode: wait, Surface: "DB.QueryRow"}, 80, 90)
	add(&Op{Kind: OpRead, DB: 1, Scope: InProcess, Session: -1, Key: 0, Value: 1, Mode: Mode{Kind: Eventual}, Surface: "DB.QueryRow"}, 100, 110)
	failed := add(&Op{Kind: OpRead, DB: 1, Scope: InProcess, Session: -1, Key: 0, Mode: wait, Surface: "DB.QueryRow",
		Err: errors.New("invalid connection")}, 120, 130)
	h.AddFault(&Fault{Kind: FaultPromote, Start: at(200), Restored: at(300), End: at(400)})
	add(&Op{Kind: OpRead, DB: 1, Scope: InProcess, Session: -1, Key: 0, Mode: wait, Surface: "DB.QueryRow",
		Err: rwsplit.ErrNoPrimary}, 250, 260)

	r := h.Check()
	assert.Equal(t, 2, r.Count(ViolRYW)) // both reads of 1 after the write of 2
	assert.Equal(t, 1, r.Count(ViolMonotonic))
	assert.Equal(t, 1, r.Count(ViolFailRead))
	assert.Equal(t, 4, r.Count(""))
	var missed []*Op
	for _, v := range r.Violations {
		switch v.Kind {
		case ViolRYW:
			missed = append(missed, v.Ops[0])
		case ViolMonotonic:
			assert.Same(t, back, v.Ops[1])
		case ViolFailRead:
			assert.Same(t, failed, v.Ops[0])
		}
		assert.Contains(t, h.DescribeViolation(v), "VIOLATION "+v.Kind)
	}
	assert.ElementsMatch(t, []*Op{ryw, back}, missed)
	assert.Equal(t, 1, r.StaleEventual)
	assert.Equal(t, 1, r.EventualChecked)
	assert.Len(t, r.Excused, 1)
	assert.Equal(t, 1, r.Faults[FaultPromote])
	assert.Equal(t, 2, r.Writes)
	assert.Equal(t, 6, r.Reads)
	assert.Equal(t, 2, r.Modes["WaitGTID"].Violations)
	assert.Equal(t, 2, r.Modes["WaitGTID"].Failed)
	assert.NotEmpty(t, r.Summary())
}
