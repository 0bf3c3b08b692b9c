package rwsplit_test

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

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
