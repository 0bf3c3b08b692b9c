package rwsplit

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/rwsplit/rwsplit/internal/cluster"
)

// TestHealthIsOneCheck: Health never mixes two checks' values. Two writers
// record verdicts that each hold together (up, no lag, no error, a Group
// Replication member; lagging, 5 s behind, an error, a Galera node) while
// readers take Health: every reading is one of the two.
func TestHealthIsOneCheck(t *testing.T) {
	s := newServer(nil, 0, "replica 0")
	up := &cluster.Member{Identity: cluster.Identity{Kind: cluster.Group}, State: "ONLINE", Queue: 0}
	lag := &cluster.Member{Identity: cluster.Identity{Kind: cluster.Galera}, State: "Synced", Queue: 7}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if i == 0 {
					s.setHealth(StateUp, 0, nil, up, time.Now())
				} else {
					s.setHealth(StateLagging, 5*time.Second, errors.New("behind"), lag, time.Now())
				}
			}
		}()
	}
	deadline := time.Now().Add(200 * time.Millisecond)
	seen := map[State]int{}
	for time.Now().Before(deadline) {
		h := s.Health()
		seen[h.State]++
		switch h.State {
		case StateUnknown:
			assert.True(t, h.Usable)
			assert.Zero(t, h.LastCheck)
		case StateUp:
			ok := h.Usable && h.Lag == 0 && h.LastError == "" && h.Kind == ClusterGroupReplication && h.MemberState == "ONLINE" && h.Queue == 0
			assert.True(t, ok, "mixed: %+v", h)
		case StateLagging:
			ok := !h.Usable && h.Lag == 5*time.Second && h.LastError == "behind" && h.Kind == ClusterGalera && h.MemberState == "Synced" && h.Queue == 7
			assert.True(t, ok, "mixed: %+v", h)
		default:
			t.Fatalf("state %q", h.State)
		}
	}
	close(stop)
	wg.Wait()
	t.Logf("readings: %v", seen)
}

// TestHealthSuspect: a read's connection error marks the server suspect
// (not usable, its error shown) until a check begun after it sees the
// server up; a check begun before does not clear it, nor does one that
// finds it lagging.
func TestHealthSuspect(t *testing.T) {
	db := &DB{}
	db.topo.Store(&topology{})
	s := newServer(nil, 0, "replica 0")
	s.setHealth(StateUp, 0, nil, nil, time.Now())
	before := time.Now()
	time.Sleep(time.Millisecond)
	db.markSuspect(s, errors.New("connection lost"))
	h := s.Health()
	assert.Equal(t, StateUp, h.State)
	assert.True(t, h.Suspect)
	assert.False(t, h.Usable)
	assert.Equal(t, "connection lost", h.LastError)

	assert.False(t, s.setHealth(StateUp, 0, nil, nil, before), "a check begun before the mark cleared it")
	assert.True(t, s.Health().Suspect)
	assert.False(t, s.setHealth(StateLagging, time.Second, nil, nil, time.Now()))
	assert.True(t, s.Health().Suspect, "a lagging verdict cleared the mark")
	assert.True(t, s.setHealth(StateUp, 0, nil, nil, time.Now()), "usable again")
	h = s.Health()
	assert.False(t, h.Suspect)
	assert.True(t, h.Usable)
	assert.Empty(t, h.LastError)
}

// TestHealthAllocs: Health and the built-in balancers' picks allocate
// nothing.
func TestHealthAllocs(t *testing.T) {
	if testing.CoverMode() != "" {
		t.Skip("coverage counters may allocate")
	}
	s := newServer(nil, 0, "replica 0")
	s.setHealth(StateUp, time.Second, nil, &cluster.Member{Identity: cluster.Identity{Kind: cluster.Async}, Queue: -1}, time.Now())
	var h Health
	assert.Zero(t, testing.AllocsPerRun(100, func() { h = s.Health() }))
	assert.Equal(t, StateUp, h.State)
	assert.Equal(t, ClusterAsync, h.Kind)
}
