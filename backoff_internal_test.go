package rwsplit

import (
	"context"
	"database/sql/driver"
	"fmt"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/assert"
)

// TestSignals: which failed calls on a replica ask for a check at once.
func TestSignals(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{nil, false},
		{context.Canceled, false},
		{fmt.Errorf("read: %w", context.Canceled), false},
		{&mysql.MySQLError{Number: 1064, Message: "syntax"}, false},
		{&mysql.MySQLError{Number: 1205, Message: "lock wait timeout"}, false},
		{&mysql.MySQLError{Number: 1053, Message: "server shutdown in progress"}, true},
		{context.DeadlineExceeded, true},
		{driver.ErrBadConn, true},
		{mysql.ErrInvalidConn, true},
	} {
		assert.Equal(t, c.want, signals(c.err), "%v", c.err)
	}
}

// TestIdleGap: the gaps of an idle replica grow 4 intervals, 16, then the
// cap, each within ±20%, never below the interval.
func TestIdleGap(t *testing.T) {
	db := &DB{interval: time.Second}
	assert.Equal(t, time.Second, db.idleGap(0))
	for streak, want := range map[int]time.Duration{1: 4 * time.Second, 2: 16 * time.Second, 3: idleCap, 9: idleCap} {
		for range 50 {
			g := db.idleGap(streak)
			assert.InDelta(t, float64(want), float64(g), idleJitter*float64(want)+1, "streak %d", streak)
		}
	}
	slow := &DB{interval: time.Minute}
	assert.GreaterOrEqual(t, slow.idleGap(5), time.Minute, "never below the interval")
}
