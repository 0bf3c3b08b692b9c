package rwsplit_test

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/rwsplit/rwsplit/rwsplittest"
)

// The integration tests share one cluster per flavor, started on first use
// and terminated after every test of the package ran. Tests that inject lag
// or faults put the cluster back as they found it.
var clusters struct {
	sync.Mutex
	m   map[rwsplittest.Flavor]*rwsplittest.Cluster
	err map[rwsplittest.Flavor]error
}

func TestMain(m *testing.M) {
	code := m.Run()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for f, c := range clusters.m {
		if err := c.Terminate(ctx); err != nil {
			fmt.Fprintf(os.Stderr, "terminate %s cluster: %v\n", f, err)
		}
	}
	os.Exit(code)
}

// cluster returns the shared cluster of flavor f, starting it if needed. It
// skips the test in -short mode, and without Docker outside CI.
func cluster(t testing.TB, f rwsplittest.Flavor) *rwsplittest.Cluster {
	t.Helper()
	if testing.Short() && !rwsplittest.InCI() {
		t.Skip("integration test: skipped in -short mode")
	}
	clusters.Lock()
	defer clusters.Unlock()
	if c := clusters.m[f]; c != nil {
		return c
	}
	if err := clusters.err[f]; err != nil {
		t.Fatalf("%s cluster failed to start earlier: %v", f, err)
	}
	if clusters.m == nil {
		clusters.m = map[rwsplittest.Flavor]*rwsplittest.Cluster{}
		clusters.err = map[rwsplittest.Flavor]error{}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	c, err := rwsplittest.StartCluster(ctx, f)
	if err != nil {
		clusters.err[f] = err
		rwsplittest.SkipOrFail(t, err)
	}
	t.Logf("%s cluster (%s) ready in %v", f, c.Version, c.StartupTime.Round(time.Millisecond))
	clusters.m[f] = c
	return c
}

// forEachFlavor runs test once per flavor, as subtests named after it.
func forEachFlavor(t *testing.T, test func(t *testing.T, c *rwsplittest.Cluster)) {
	for _, f := range rwsplittest.Flavors {
		t.Run(string(f), func(t *testing.T) { test(t, cluster(t, f)) })
	}
}
