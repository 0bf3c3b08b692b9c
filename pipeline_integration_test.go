package rwsplit_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rwsplit/rwsplit"
	"github.com/rwsplit/rwsplit/rwsplittest"
)

// TestReadYourWritesReal runs the write→read matrix of the unit tests against
// real replication with both replicas' appliers stopped: every surface ×
// scope × waiting mode × where the mode is set (with and without the one
// round trip) reads its own write (the wait times out and the read goes to
// the primary); Eventual, the control, reads stale data on a replica.
func TestReadYourWritesReal(t *testing.T) {
	forEachFlavor(t, func(t *testing.T, c *rwsplittest.Cluster) {
		createKV(t, c)
		stopAppliers(t, c)
		var next atomic.Int64
		next.Store(time.Now().UnixNano() % 1e12 * 1000)
		modes := []rwsplit.Consistency{rwsplit.WaitGTID(100 * time.Millisecond), rwsplit.WaitPosition(100 * time.Millisecond)}
		var mu sync.Mutex
		stale, control, cases := 0, 0, 0
		sem := make(chan struct{}, 8)
		var wg sync.WaitGroup
		i := 0
		for wi, ws := range writeSurfaces {
			if c.Flavor == rwsplittest.MySQL && strings.Contains(ws.name, "RETURNING") {
				continue // MariaDB only
			}
			for si, scope := range scopes {
				for mi, mode := range append(modes, rwsplit.Eventual) {
					for pi, placement := range []string{onRead, onBoth, onDefault} {
						if mode == rwsplit.Eventual && placement != onRead {
							continue
						}
						i++
						pc := pairCase{write: ws, read: readSurfaces[(wi+si+mi+pi)%len(readSurfaces)],
							scope: scope, mode: mode, placement: placement, oneTrip: i%2 == 0}
						k := next.Add(1)
						wg.Add(1)
						sem <- struct{}{}
						go func() {
							defer wg.Done()
							defer func() { <-sem }()
							found, onReplica, err := realPair(c, pc, k)
							mu.Lock()
							defer mu.Unlock()
							name := fmt.Sprintf("%s→%s/%s/%s/%s/onetrip=%v", pc.write.name, pc.read.name, pc.scope, pc.mode, pc.placement, pc.oneTrip)
							if err != nil {
								t.Errorf("%s: %v", name, err)
								return
							}
							if pc.mode == rwsplit.Eventual {
								if found || !onReplica {
									t.Errorf("%s: the control saw the write (found %v, on a replica %v)", name, found, onReplica)
								} else {
									control++
								}
								return
							}
							cases++
							if !found {
								stale++
								t.Errorf("%s: stale read", name)
							}
						}()
					}
				}
			}
		}
		wg.Wait()
		t.Logf("%s: %d write→read cases, %d stale; %d Eventual controls, all stale", c.Flavor, cases, stale, control)
		assert.Positive(t, cases)
		assert.Positive(t, control)
	})
}

// TestNewPoolsLearnOneTrip: pools given to New (their DSNs unseen) get the
// one-round-trip wait where their DSN allows it, learnt by the monitor's
// first check with one probe query: a WaitGTID read right after a write
// sends its wait with the query on pools opened with multiStatements and
// interpolateParams, and apart on pools without them; both read the write.
func TestNewPoolsLearnOneTrip(t *testing.T) {
	forEachFlavor(t, func(t *testing.T, c *rwsplittest.Cluster) {
		createKV(t, c)
		for _, multi := range []bool{true, false} {
			t.Run(fmt.Sprintf("multiStatements=%v", multi), func(t *testing.T) {
				var params []string
				if multi {
					params = []string{"multiStatements=true", "interpolateParams=true"}
				}
				var pools []*sql.DB
				for _, dsn := range append([]string{c.Primary.DSN(params...)}, c.ReplicaDSNs(params...)...) {
					p, err := sql.Open("mysql", dsn)
					require.NoError(t, err)
					t.Cleanup(func() { _ = p.Close() })
					pools = append(pools, p)
				}
				db, err := rwsplit.New(pools[0], pools[1:], rwsplit.WithMonitorInterval(100*time.Millisecond))
				require.NoError(t, err)
				t.Cleanup(func() { _ = db.Close() })
				for _, s := range db.Servers()[1:] {
					require.Eventually(t, func() bool { return !s.Health().LastCheck.IsZero() }, 10*time.Second, 10*time.Millisecond)
				}
				k := time.Now().UnixNano() % 1e12
				var tr rwsplit.Trace
				ctx := rwsplit.WithTrace(rwsplit.WithSession(context.Background(), rwsplit.NewSession(rwsplit.Token{})), &tr)
				ctx = rwsplit.WithConsistency(ctx, rwsplit.WaitGTID(5*time.Second))
				_, err = db.ExecContext(ctx, "INSERT INTO kv (k, v) VALUES (?, ?)", k, 7)
				require.NoError(t, err)
				var v int64
				require.NoError(t, db.QueryRowContext(ctx, "SELECT v FROM kv WHERE k = ?", k).Scan(&v))
				assert.EqualValues(t, 7, v)
				waits := tr.Waits()
				require.Len(t, waits, 1, "one wait: %s", tr.String())
				assert.Equal(t, multi, waits[0].OneTrip, "%s", tr.String())
				assert.NoError(t, waits[0].Err)
			})
		}
	})
}
