package rwsplit_test

// Unit tests of which wait a read sends (wait.go) against internal/fakedb.

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rwsplit/rwsplit"
	"github.com/rwsplit/rwsplit/internal/fakedb"
)

// TestWaitPositionWaitsByGTID: on MySQL, a WaitPosition read right after a
// write waits with WAIT_FOR_EXECUTED_GTID_SET for the GTIDs captured with
// the position (SOURCE_POS_WAIT waits for the applier's checkpoint on a
// multi-threaded replica) when the primary and the replica both report
// gtid_mode ON; with either below ON (a write may then have no GTID) it
// waits for the position. Either way it reads its write on the replica,
// a token resumed in another process waits the same way, and a second read
// is served without a wait.
func TestWaitPositionWaitsByGTID(t *testing.T) {
	for _, tc := range []struct {
		name             string
		primary, replica string // gtid_mode as reported; "" is ON
		byGTID           bool
	}{
		{"gtid_mode ON", "", "", true},
		{"primary ON_PERMISSIVE", "ON_PERMISSIVE", "", false},
		{"replica OFF_PERMISSIVE", "", "OFF_PERMISSIVE", false},
	} {
		for _, oneTrip := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/onetrip=%v", tc.name, oneTrip), func(t *testing.T) {
				cl := fakedb.NewCluster(fakedb.MySQL, 1)
				stalled(cl)
				r := cl.Replicas()[0]
				if tc.primary != "" {
					cl.Primary().SetGTIDMode(tc.primary)
				}
				if tc.replica != "" {
					r.SetGTIDMode(tc.replica)
				}
				db := fakeDB(t, cl, oneTrip)
				rwsplit.MonitorRound(db)
				mode := rwsplit.WaitPosition(5 * time.Second).OrFail()
				counts := func() (gtids, pos int) {
					return r.Count("WAIT_FOR_EXECUTED_GTID_SET"), r.Count("SOURCE_POS_WAIT")
				}
				wantG, wantP := 0, 1
				if tc.byGTID {
					wantG, wantP = 1, 0
				}

				s := rwsplit.NewSession(rwsplit.Token{})
				ctx := rwsplit.WithConsistency(rwsplit.WithSession(context.Background(), s), mode)
				_, err := db.ExecContext(ctx, insertKV, 1, 1)
				require.NoError(t, err)
				v, found := readKV(t, ctx, db, 1)
				require.True(t, found, "the read saw its write")
				assert.EqualValues(t, 1, v)
				g, p := counts()
				assert.Equal(t, wantG, g, "GTID waits")
				assert.Equal(t, wantP, p, "position waits")
				_, found = readKV(t, ctx, db, 1)
				assert.True(t, found)
				g, p = counts()
				assert.Equal(t, wantG+wantP, g+p, "the second read is known applied: no wait")

				// Another process: the token as text, a write not yet
				// applied, a DB that has not captured anything.
				_, err = db.ExecContext(ctx, insertKV, 2, 2)
				require.NoError(t, err)
				text := db.FormatToken(s.Token())
				other := fakeDB(t, cl, oneTrip)
				rwsplit.MonitorRound(other)
				tok, err := other.ParseToken(text)
				require.NoError(t, err)
				octx := rwsplit.WithConsistency(rwsplit.WithSession(context.Background(), rwsplit.NewSession(tok)), mode)
				_, found = readKV(t, octx, other, 2)
				require.True(t, found, "the other process saw the write")
				g, p = counts()
				assert.Equal(t, 2*wantG, g, "GTID waits")
				assert.Equal(t, 2*wantP, p, "position waits")
				assert.Zero(t, db.Stats().Fallbacks+other.Stats().Fallbacks)
			})
		}
	}
}
