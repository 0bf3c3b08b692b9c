package rwsplittest

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"
)

// InCI reports whether the CI environment variable is "true" (or "1"): there
// an integration test must run, never skip.
func InCI() bool {
	v := os.Getenv("CI")
	return v == "true" || v == "1"
}

// Start starts a cluster for a test (of any kind: WithKind) and terminates
// it when the test ends.
// Without a Docker engine or a local image it skips the test with a message
// saying what is missing, except under CI=true, where it fails the test.
func Start(t testing.TB, flavor Flavor, opts ...Option) *Cluster {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	c, err := StartCluster(ctx, flavor, opts...)
	if err != nil {
		SkipOrFail(t, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := c.Terminate(ctx); err != nil {
			t.Errorf("terminate %s cluster: %v", flavor, err)
		}
	})
	if c.Kind == Async {
		t.Logf("%s cluster (%s, %s) with %d replicas ready in %v",
			flavor, c.Image, c.Version, len(c.Replicas), c.StartupTime.Round(time.Millisecond))
	} else {
		t.Logf("%s %s cluster (%s, %s) of %d members ready in %v",
			flavor, c.Kind, c.Image, c.Version, len(c.Nodes()), c.StartupTime.Round(time.Millisecond))
	}
	return c
}

// SkipOrFail ends a test whose cluster did not start: it skips when Docker
// or an image is missing outside CI (saying what is missing), and fails in
// CI or on any other error.
func SkipOrFail(t testing.TB, err error) {
	t.Helper()
	if !InCI() && (errors.Is(err, ErrNoDocker) || errors.Is(err, ErrNoImage)) {
		t.Skipf("skipping integration test (run `make test` to set Docker and images up): %v", err)
	}
	t.Fatalf("start cluster: %v", err)
}
