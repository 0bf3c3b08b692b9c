package rwsplit_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"fmt"
	"time"

	"github.com/rwsplit/rwsplit"
)

func TestOpenErrors(t *testing.T) {
	const p = "app:pw@tcp(127.0.0.1:3306)/app"
	const r = "app:pw@tcp(127.0.0.1:3307)/app"
	for _, tc := range []struct {
		name     string
		driver   string
		primary  string
		replicas []string
		want     string
	}{
		{"no driver", "", p, nil, "driver name is empty"},
		{"empty primary", "mysql", "", nil, "primary DSN is empty"},
		{"empty replica", "mysql", p, []string{r, ""}, "replica DSN 1 is empty"},
		{"bad primary", "mysql", "app:pw@tcp(127.0.0.1:3306", nil, "primary DSN does not parse"},
		{"bad replica", "mysql", p, []string{"nonsense"}, "replica DSN 0 does not parse"},
		{"primary as replica", "mysql", p, []string{r, p}, "primary DSN and replica DSN 1 name the same server"},
		{"replica twice", "mysql", p, []string{r, "other:x@tcp(127.0.0.1:3307)/app?parseTime=true"}, "replica DSN 0 and replica DSN 1 name the same server"},
		{"unknown driver", "nodriver", p, nil, `unknown driver "nodriver"`},
		{"wrapper driver, same server", "otelmysql", p, []string{p}, "primary DSN and replica DSN 0 name the same server (tcp(127.0.0.1:3306)/app)"},
		{"other DSN format, same DSN", "other", "host=db password=pw", []string{"host=db password=pw"}, "primary DSN and replica DSN 0 name the same server"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, err := rwsplit.Open(tc.driver, tc.primary, tc.replicas)
			assert.Nil(t, db)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.NotContains(t, err.Error(), "pw", "error must not leak the password")
		})
	}

	db, err := rwsplit.Open("mysql", p, nil)
	require.NoError(t, err, "zero replicas is valid")
	require.NoError(t, db.Close())
}

func TestNewErrors(t *testing.T) {
	a, err := sql.Open("mysql", "u:p@tcp(127.0.0.1:1)/x")
	require.NoError(t, err)
	b, err := sql.Open("mysql", "u:p@tcp(127.0.0.1:2)/x")
	require.NoError(t, err)
	defer a.Close()
	defer b.Close()

	_, err = rwsplit.New(nil, nil)
	assert.ErrorContains(t, err, "primary is nil")
	_, err = rwsplit.New(a, []*sql.DB{b, nil})
	assert.ErrorContains(t, err, "replica 1 is nil")
	_, err = rwsplit.New(a, []*sql.DB{a})
	assert.ErrorContains(t, err, "replica 0 is the same *sql.DB as the primary")
	_, err = rwsplit.New(a, []*sql.DB{b, b})
	assert.ErrorContains(t, err, "replica 1 is the same *sql.DB as replica 0")
	_, err = rwsplit.New(a, []*sql.DB{b}, rwsplit.WithWeights(1, 2))
	assert.ErrorContains(t, err, "2 weights for 1 replicas")
	_, err = rwsplit.New(a, []*sql.DB{b}, rwsplit.WithWeights(-1))
	assert.ErrorContains(t, err, "negative")
	_, err = rwsplit.New(a, []*sql.DB{b}, rwsplit.WithBalancer(nil))
	assert.ErrorContains(t, err, "WithBalancer(nil)")
	_, err = rwsplit.New(a, []*sql.DB{b}, rwsplit.WithDefaultConsistency(rwsplit.Consistency{}))
	assert.ErrorContains(t, err, "zero Consistency")
}

func TestClosed(t *testing.T) {
	db, err := rwsplit.Open("mysql", "u:p@tcp(127.0.0.1:1)/x", []string{"u:p@tcp(127.0.0.1:2)/x"})
	require.NoError(t, err)
	require.NoError(t, db.Close())
	require.NoError(t, db.Close(), "Close twice is fine")
	_, err = db.Exec("INSERT INTO t VALUES (1)")
	assert.ErrorIs(t, err, rwsplit.ErrClosed)
	_, err = db.Query("SELECT 1")
	assert.ErrorIs(t, err, rwsplit.ErrClosed)
	var x int
	assert.ErrorIs(t, db.QueryRow("SELECT 1").Scan(&x), rwsplit.ErrClosed)
	_, err = db.Begin()
	assert.ErrorIs(t, err, rwsplit.ErrClosed)
	_, err = db.Prepare("SELECT 1")
	assert.ErrorIs(t, err, rwsplit.ErrClosed)
	_, err = db.Conn(context.Background())
	assert.ErrorIs(t, err, rwsplit.ErrClosed)
}

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
	// write) and MaxStaleness(0) (no replica is that fresh); see consistency_test.go.
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
