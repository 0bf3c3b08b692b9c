package rwsplit

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

// A caller that waited for a flight that failed for its runner's context
// tries again itself; other failures are shared.
func TestFlightRetriesAfterTheRunnersContext(t *testing.T) {
	var fs flights[int, string]
	var calls atomic.Int32
	started := make(chan struct{})
	release := make(chan struct{})
	leaderCtx, cancel := context.WithCancel(context.Background())
	leaderDone := make(chan error, 1)
	go func() {
		_, err := fs.do(leaderCtx, 1, func() (string, error) {
			calls.Add(1)
			close(started)
			<-release
			return "", leaderCtx.Err()
		})
		leaderDone <- err
	}()
	<-started
	followerDone := make(chan string, 1)
	go func() {
		v, err := fs.do(context.Background(), 1, func() (string, error) {
			calls.Add(1)
			select {
			case <-release:
			default:
				t.Error("the follower ran its own call while the leader's was in flight")
			}
			return "ok", nil
		})
		if err != nil {
			t.Errorf("follower: %v", err)
		}
		followerDone <- v
	}()
	for fs.joined.Load() == 0 { // the follower waits for the leader's flight
		time.Sleep(time.Millisecond)
	}
	cancel()
	close(release)
	if err := <-leaderDone; !errors.Is(err, context.Canceled) {
		t.Fatalf("leader: %v", err)
	}
	if v := <-followerDone; v != "ok" {
		t.Fatalf("follower got %q", v)
	}
	if n := calls.Load(); n != 2 {
		t.Fatalf("%d calls, want 2", n)
	}

	boom := errors.New("boom")
	_, err := fs.do(context.Background(), 2, func() (string, error) { return "", boom })
	if !errors.Is(err, boom) {
		t.Fatalf("got %v", err)
	}
}
