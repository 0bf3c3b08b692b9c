package rwsplittest_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rwsplit/rwsplit/rwsplittest"
)

// TestMakeActiveActiveRefuses: only a primary and one asynchronous replica
// become a pair, and nothing is touched otherwise.
func TestMakeActiveActiveRefuses(t *testing.T) {
	ctx := context.Background()
	p := &rwsplittest.Node{Name: "primary", ServerID: 1}
	r := func(i int) *rwsplittest.Node {
		return &rwsplittest.Node{Name: "replica", ServerID: i + 1, Replica: true, Source: p}
	}
	for name, c := range map[string]*rwsplittest.Cluster{
		"two replicas":      {Kind: rwsplittest.Async, Primary: p, Replicas: []*rwsplittest.Node{r(1), r(2)}},
		"no replica":        {Kind: rwsplittest.Async, Primary: p},
		"group replication": {Kind: rwsplittest.GroupReplication, Primary: p, Replicas: []*rwsplittest.Node{r(1)}},
		"semi-sync":         {Kind: rwsplittest.Async, Primary: p, Replicas: []*rwsplittest.Node{r(1)}, SemiSyncAcks: 1},
	} {
		t.Run(name, func(t *testing.T) {
			err := c.MakeActiveActive(ctx)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "MakeActiveActive")
		})
	}
}

// TestMakeActiveActive: after MakeActiveActive both servers are writable and
// a write on either reaches the other.
func TestMakeActiveActive(t *testing.T) {
	if testing.Short() && !rwsplittest.InCI() {
		t.Skip("integration test: skipped in -short mode (make unit)")
	}
	for _, flavor := range rwsplittest.Flavors {
		t.Run(string(flavor), func(t *testing.T) {
			c := rwsplittest.Start(t, flavor, rwsplittest.WithReplicas(1))
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			p, r := c.Primary, c.Replicas[0]
			_, err := open(t, p.DSN()).Exec("CREATE TABLE kit (id INT PRIMARY KEY, v VARCHAR(20))")
			require.NoError(t, err)
			require.NoError(t, c.WaitCaughtUp(ctx))

			begin := time.Now()
			require.NoError(t, c.MakeActiveActive(ctx))
			t.Logf("%s: active–active in %v", flavor, time.Since(begin).Round(time.Millisecond))
			assert.Same(t, r, p.Source)
			assert.Same(t, p, r.Source)
			assert.True(t, p.Replica)
			assert.True(t, r.Replica)
			require.Error(t, c.MakeActiveActive(ctx), "a pair is made once")

			insert(t, p, 1)
			insert(t, r, 2) // replica1 is writable now
			for _, n := range []*rwsplittest.Node{p, r} {
				for _, id := range []int{1, 2} {
					assert.Eventually(t, func() bool { return has(t, n, id) == 1 }, 10*time.Second, 50*time.Millisecond,
						"%s has row %d", n.Name, id)
				}
			}
			require.NoError(t, c.WaitCaughtUp(ctx))
			for _, n := range []*rwsplittest.Node{p, r} {
				st, err := n.ReplicaStatus(ctx)
				require.NoError(t, err)
				assert.Empty(t, st["Last_SQL_Error"], "%s", n.Name)
			}
		})
	}
}
