package rwsplit_test

// Unit tests of the call pipeline against internal/fakedb, an in-memory
// driver that models a primary and replicas (no Docker; `make unit`). The
// replicas' appliers are stopped and apply only what a wait asks for, exactly
// up to its target: a read sees its write on a replica only if the wait
// targeted it, so a missed record, a stale capture or a skipped wait shows up
// as a stale read. The matrix's lines, surfaces, scopes and pairCase are
// in helpers_test.go, shared with the other files' matrices.

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rwsplit/rwsplit"
)

// runPair writes through c.write and reads through c.read on a fresh
// in-memory cluster, and reports what the read saw and where it ran.
func runPair(t *testing.T, c pairCase) (found bool, onReplica bool) {
	t.Helper()
	cl := newLineCluster(c.line)
	stalled(cl)
	open := func() (*rwsplit.DB, error) { return openFake(cl, c.oneTrip, c.prefetch, c.options()...) }
	found, onReplica, err := doPair(c, open, 7)
	require.NoError(t, err)
	return found, onReplica
}

// TestReadYourWritesMatrix: every write surface × scope × mode × where the
// mode is set × flavor × pool kind (one round trip or not, read-ahead or not),
// × cluster kind (async, Group Replication, Galera), each with a read
// surface in turn, reads its own write, on a replica for the waiting modes; Eventual, the control, reads
// stale data on the same setup.
func TestReadYourWritesMatrix(t *testing.T) {
	modes := []rwsplit.Consistency{rwsplit.WaitGTID(5 * time.Second), rwsplit.WaitPosition(5 * time.Second), rwsplit.Primary,
		rwsplit.Latest(5 * time.Second), rwsplit.Monotonic(5 * time.Second), rwsplit.Fast, rwsplit.MaxStaleness(0)}
	// Served by the primary here: Fast (no replica is known to have the
	// write) and MaxStaleness(0) (no replica is that fresh); see modes_test.go.
	onPrimary := map[rwsplit.Consistency]bool{rwsplit.Primary: true, rwsplit.Fast: true, rwsplit.MaxStaleness(0): true}
	n := 0
	for _, line := range fakeLines {
		for pools := range 4 {
			oneTrip, prefetch := pools&1 != 0, pools&2 != 0
			for wi, ws := range writeSurfaces {
				for si, scope := range scopes {
					for mi, mode := range modes {
						for pi, placement := range []string{onRead, onBoth, onDefault} {
							rs := readSurfaces[(wi+si+mi+pi)%len(readSurfaces)]
							c := pairCase{line: line, oneTrip: oneTrip, prefetch: prefetch, write: ws, read: rs, scope: scope, mode: mode, placement: placement}
							name := fmt.Sprintf("%s/onetrip=%v/prefetch=%v/%s/%s/%s/%s/%s", line, oneTrip, prefetch, ws.name, rs.name, scope, mode, placement)
							n++
							t.Run(name, func(t *testing.T) {
								found, onReplica := runPair(t, c)
								assert.True(t, found, "stale read")
								if onPrimary[mode] {
									assert.False(t, onReplica, "read on a replica")
								} else {
									assert.True(t, onReplica, "waiting read not served by a replica")
								}
							})
						}
					}
				}
			}
		}
	}
	t.Logf("%d write→read cases", n)
}

// TestEventualControl: on the same setup Eventual reads stale data through
// every surface and scope, so the matrix above can fail.
func TestEventualControl(t *testing.T) {
	for _, line := range fakeLines {
		for wi, ws := range writeSurfaces {
			for _, scope := range scopes {
				rs := readSurfaces[wi%len(readSurfaces)]
				c := pairCase{line: line, write: ws, read: rs, scope: scope, mode: rwsplit.Eventual, placement: onRead}
				t.Run(fmt.Sprintf("%s/%s/%s/%s", line, ws.name, rs.name, scope), func(t *testing.T) {
					found, onReplica := runPair(t, c)
					assert.False(t, found, "Eventual saw the write: the setup cannot show staleness")
					assert.True(t, onReplica)
				})
			}
		}
	}
}
