package rwsplit_test

import (
	"context"
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

// createKV creates, on the primary, the kv table and the kv_put procedure and
// stored function the surfaces write through, and waits until the replicas
// have them.
func createKV(t *testing.T, c *rwsplittest.Cluster) {
	t.Helper()
	ctx := context.Background()
	admin := c.Primary.Admin()
	for _, q := range []string{
		"CREATE TABLE IF NOT EXISTS app.kv (k BIGINT PRIMARY KEY, v BIGINT)",
		"DROP PROCEDURE IF EXISTS app.kv_put",
		"CREATE PROCEDURE app.kv_put(IN pk BIGINT, IN pv BIGINT) BEGIN " +
			"INSERT INTO app.kv (k, v) VALUES (pk, pv) ON DUPLICATE KEY UPDATE v = pv; SELECT pk AS k, pv AS v; END",
		"DROP FUNCTION IF EXISTS app.kv_put",
		"CREATE FUNCTION app.kv_put(pk BIGINT, pv BIGINT) RETURNS BIGINT DETERMINISTIC MODIFIES SQL DATA BEGIN " +
			"INSERT INTO app.kv (k, v) VALUES (pk, pv) ON DUPLICATE KEY UPDATE v = pv; RETURN pv; END",
	} {
		_, err := admin.ExecContext(ctx, q)
		require.NoError(t, err, q)
	}
	require.NoError(t, c.WaitCaughtUp(ctx))
}

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

// realPair is runPair on a real cluster, with key k.
func realPair(c *rwsplittest.Cluster, pc pairCase, k int64) (found, onReplica bool, err error) {
	var params []string
	if pc.oneTrip {
		params = []string{"multiStatements=true", "interpolateParams=true"}
	}
	return doPair(pc, func() (*rwsplit.DB, error) {
		return rwsplit.Open("mysql", c.Primary.DSN(), c.ReplicaDSNs(params...), pc.options()...)
	}, k)
}
