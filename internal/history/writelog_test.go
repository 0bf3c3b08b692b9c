package history

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/assert"

	"github.com/rwsplit/rwsplit"
)

// TestWriteLogCheck: the write log check (no Docker) tells each outcome
// apart and catches a write run twice, an acknowledged write absent, a write
// reported not run that ran, and a row of no write.
func TestWriteLogCheck(t *testing.T) {
	notRun := &rwsplit.WriteError{NotRun: true, Err: rwsplit.ErrNoPrimary}
	unknown := &rwsplit.WriteError{Err: errors.New("invalid connection")}
	beginAgain := fmt.Errorf("tx: %w", rwsplit.ErrBeginAgain)
	for _, c := range []struct {
		err  error
		want Outcome
	}{
		{nil, Acked}, {notRun, NotRun}, {unknown, Unknown}, {beginAgain, NotRun},
		{rwsplit.ErrNoPrimary, NotRun}, {context.DeadlineExceeded, Unknown},
		{fmt.Errorf("%w", &rwsplit.WriteError{Err: beginAgain}), Unknown},
		{&mysql.MySQLError{Number: 1290}, NotRun},
		{&rwsplit.WriteError{Err: &mysql.MySQLError{Number: 1290}}, Unknown},
	} {
		assert.Equal(t, c.want, WriteOutcome(c.err), "%v", c.err)
	}

	w := func(v int64, err error) *Op { return &Op{Kind: OpWrite, Value: v, Err: err} }
	ops := []*Op{
		w(1, nil),                        // ran once: right
		w(2, nil),                        // absent: lost
		w(3, notRun),                     // present: ran although not run
		w(4, unknown),                    // present: either is right
		w(5, context.DeadlineExceeded),   // absent: either is right
		w(6, nil),                        // twice
		w(7, beginAgain),                 // absent: right
		w(8, unknown),                    // twice, even of unknown outcome
		{Kind: OpRead, Value: 1, Key: 0}, // not a write
	}
	r := &Report{}
	r.CheckWriteLog(ops, map[int64]int{1: 1, 3: 1, 4: 1, 6: 2, 8: 2, 99: 1})
	assert.Equal(t, 8, r.LogRows)
	assert.Equal(t, 2, r.RunTwice)
	assert.Equal(t, 1, r.NotRunPresent)
	assert.Equal(t, 1, r.UnknownPresent)
	assert.Equal(t, 1, r.UnknownAbsent)
	kinds := map[string]int{}
	for _, v := range r.Violations {
		kinds[v.Kind]++
	}
	assert.Equal(t, map[string]int{ViolTwice: 2, ViolLost: 1, ViolNotRun: 1, ViolLogPhantom: 1}, kinds)
}

// TestCheckLost: an acknowledged write is lost when the final primary's row
// is below its value; failed writes and reads are not counted.
func TestCheckLost(t *testing.T) {
	ops := []*Op{
		{Kind: OpWrite, Key: 1, Value: 10},
		{Kind: OpWrite, Key: 1, Value: 20},
		{Kind: OpWrite, Key: 1, Value: 30, Err: rwsplit.ErrNoPrimary},
		{Kind: OpWrite, Key: 2, Value: 40},
		{Kind: OpRead, Key: 3, Value: 50},
	}
	r := &Report{}
	r.CheckLost(ops, map[int64]int64{1: 10, 2: 40})
	if assert.Len(t, r.Violations, 1) {
		v := r.Violations[0]
		assert.Equal(t, ViolLost, v.Kind)
		assert.Equal(t, int64(20), v.Ops[0].Value)
		assert.Equal(t, "the primary has 10 after the run", v.Note)
	}
}
