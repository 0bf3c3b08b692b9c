package rwsplit

import (
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// balancers are the policies under test, by name as in BenchmarkPick.
var balancers = []struct {
	name string
	new  func() Balancer
}{
	{"RoundRobin", RoundRobin},
	{"Random", Random},
	{"Weighted", Weighted},
	{"LeastInFlight", LeastInFlight},
	{"LatencyAware", LatencyAware},
}

// testServers returns n idle replicas of weight 1 and no latency sample.
func testServers(n int) []*Server {
	s := make([]*Server, n)
	for i := range s {
		s[i] = newServer(nil, i, fmt.Sprintf("replica %d", i))
	}
	return s
}

// pickCounts calls b.Pick(c) n times and counts the picks by candidate
// position; it fails the test if a pick is not one of c.
func pickCounts(t *testing.T, b Balancer, c []*Server, n int) []int {
	t.Helper()
	counts := make([]int, len(c))
	stray := 0
	for range n {
		if i := slices.Index(c, b.Pick(c)); i >= 0 {
			counts[i]++
		} else {
			stray++
		}
	}
	require.Zero(t, stray, "picks not among the candidates")
	return counts
}

func TestBalancerEmptyAndSingle(t *testing.T) {
	one := testServers(1)
	for _, p := range balancers {
		t.Run(p.name, func(t *testing.T) {
			b := p.new()
			assert.Nil(t, b.Pick(nil))
			assert.Nil(t, b.Pick([]*Server{}))
			for range 10 {
				assert.Same(t, one[0], b.Pick(one))
			}
		})
	}
}

// TestBalancerNeverPanics drives every policy with odd but legal figures:
// weights of 0 and near MaxInt, huge in-flight counts and latencies, and
// candidate lists of every length up to 9.
func TestBalancerNeverPanics(t *testing.T) {
	c := testServers(9)
	for i, s := range c {
		switch i % 3 {
		case 0:
			s.weight = 0
		case 1:
			s.weight = math.MaxInt
			s.inFlight.Store(math.MaxInt64)
			s.latency.Store(math.MaxInt64)
		case 2:
			s.inFlight.Store(int64(i))
			s.latency.Store(int64(i) * int64(time.Millisecond))
		}
	}
	for _, p := range balancers {
		t.Run(p.name, func(t *testing.T) {
			b := p.new()
			for n := 1; n <= len(c); n++ {
				assert.NotPanics(t, func() {
					pickCounts(t, b, c[:n], 100)
				}, "%d candidates", n)
			}
		})
	}
}

func TestBalancerRoundRobinEven(t *testing.T) {
	c := testServers(3)
	counts := pickCounts(t, RoundRobin(), c, 3000)
	assert.Equal(t, []int{1000, 1000, 1000}, counts)
}

func TestBalancerRandomUniform(t *testing.T) {
	const n = 10000
	c := testServers(4)
	counts := pickCounts(t, Random(), c, n)
	for i, k := range counts {
		assert.InDelta(t, 0.25, float64(k)/n, 0.05, "share of %s", c[i].Name())
	}
}

func TestBalancerWeighted(t *testing.T) {
	const n = 10000

	t.Run("3:1", func(t *testing.T) {
		c := testServers(2)
		c[0].weight = 3
		counts := pickCounts(t, Weighted(), c, n)
		assert.InDelta(t, 0.75, float64(counts[0])/n, 0.05)
	})

	t.Run("ZeroNeverPicked", func(t *testing.T) {
		c := testServers(3)
		c[1].weight = 0
		counts := pickCounts(t, Weighted(), c, n)
		assert.Zero(t, counts[1])
		assert.InDelta(t, 0.5, float64(counts[0])/n, 0.05)
	})

	t.Run("AllZeroUniform", func(t *testing.T) {
		c := testServers(4)
		for _, s := range c {
			s.weight = 0
		}
		counts := pickCounts(t, Weighted(), c, n)
		for i, k := range counts {
			assert.InDelta(t, 0.25, float64(k)/n, 0.05, "share of %s", c[i].Name())
		}
	})

	t.Run("HugeWeights", func(t *testing.T) {
		// The total does not fit in 64 bits; the shares must still follow
		// the weights.
		c := testServers(4)
		for _, s := range c[:3] {
			s.weight = math.MaxInt
		}
		counts := pickCounts(t, Weighted(), c, n)
		for i, k := range counts[:3] {
			assert.InDelta(t, 1.0/3, float64(k)/n, 0.05, "share of %s", c[i].Name())
		}
		assert.Zero(t, counts[3])
	})
}

func TestBalancerLeastInFlight(t *testing.T) {
	t.Run("PicksLeastLoaded", func(t *testing.T) {
		c := testServers(4)
		for i, f := range []int64{7, 3, 1, 5} {
			c[i].inFlight.Store(f)
		}
		counts := pickCounts(t, LeastInFlight(), c, 100)
		assert.Equal(t, []int{0, 0, 100, 0}, counts)
	})

	t.Run("SpreadsTies", func(t *testing.T) {
		c := testServers(4)
		for i, f := range []int64{2, 2, 9, 2} {
			c[i].inFlight.Store(f)
		}
		counts := pickCounts(t, LeastInFlight(), c, 3000)
		assert.Zero(t, counts[2])
		for _, i := range []int{0, 1, 3} {
			assert.InDelta(t, 1000, counts[i], 1000*0.05, "picks of %s", c[i].Name())
		}
	})

	t.Run("IdleServersShare", func(t *testing.T) {
		c := testServers(3)
		counts := pickCounts(t, LeastInFlight(), c, 3000)
		assert.Equal(t, []int{1000, 1000, 1000}, counts)
	})
}

func TestBalancerLatencyAware(t *testing.T) {
	t.Run("PrefersLowerScore", func(t *testing.T) {
		// Score = latency × (in flight + 1): 2ms×(1+1)=4ms beats 1ms×(4+1)=5ms.
		c := testServers(2)
		c[0].latency.Store(int64(time.Millisecond))
		c[0].inFlight.Store(4)
		c[1].latency.Store(int64(2 * time.Millisecond))
		c[1].inFlight.Store(1)
		counts := pickCounts(t, LatencyAware(), c, 100)
		assert.Equal(t, []int{0, 100}, counts)
	})

	t.Run("PrefersUnmeasured", func(t *testing.T) {
		c := testServers(2)
		c[0].latency.Store(int64(time.Microsecond))
		c[1].inFlight.Store(3) // no latency sample yet
		counts := pickCounts(t, LatencyAware(), c, 100)
		assert.Equal(t, []int{0, 100}, counts)
	})

	t.Run("UnmeasuredByInFlight", func(t *testing.T) {
		c := testServers(2)
		c[0].inFlight.Store(2)
		c[1].inFlight.Store(1)
		counts := pickCounts(t, LatencyAware(), c, 100)
		assert.Equal(t, []int{0, 100}, counts)
	})

	t.Run("SamplesEveryCandidate", func(t *testing.T) {
		// With three equal candidates every one must be drawn: the two
		// choices are random, not always the same pair.
		c := testServers(3)
		for _, s := range c {
			s.latency.Store(int64(time.Millisecond))
		}
		counts := pickCounts(t, LatencyAware(), c, 3000)
		for i, k := range counts {
			assert.Positive(t, k, "picks of %s", c[i].Name())
		}
	})

	t.Run("AvoidsSlowReplicaUnderLoad", func(t *testing.T) {
		// Two replicas, one 10x slower, and a steady stream of reads: round
		// robin sends half of them to the slow one whatever happens, while
		// latency-aware picks shift the load to the fast one (until its
		// growing in-flight count makes the slow one worth a try).
		rr := simulateSlowReplica(t, RoundRobin())
		la := simulateSlowReplica(t, LatencyAware())
		t.Logf("share of the slow replica: round robin %.1f%%, latency-aware %.1f%%", 100*rr, 100*la)
		assert.InDelta(t, 0.5, rr, 0.01)
		assert.Less(t, la, 0.2)
	})
}

// simulateSlowReplica runs 10,000 reads, one every 100µs of simulated time,
// over two replicas that take 1ms and 10ms to answer, keeping their InFlight
// and Latency figures as the router would, and returns the share of the
// reads that went to the slow one.
func simulateSlowReplica(t *testing.T, b Balancer) float64 {
	t.Helper()
	const (
		reads   = 10000
		arrival = 100 * time.Microsecond
	)
	c := testServers(2)
	took := []time.Duration{time.Millisecond, 10 * time.Millisecond}
	// pending[i] holds the end times of the reads running on c[i], in order
	// (every read on a replica takes as long, so they end as they began).
	pending := make([][]time.Duration, len(c))
	slow := 0
	for k := range reads {
		now := time.Duration(k) * arrival
		for i, s := range c {
			for len(pending[i]) > 0 && pending[i][0] <= now {
				pending[i] = pending[i][1:]
				s.inFlight.Add(-1)
				s.observe(took[i])
			}
		}
		i := slices.Index(c, b.Pick(c))
		if i < 0 {
			require.Fail(t, "Pick returned a server not in candidates")
		}
		c[i].inFlight.Add(1)
		pending[i] = append(pending[i], now+took[i])
		if i == 1 {
			slow++
		}
	}
	return float64(slow) / reads
}

// lastPicker is a user-written Balancer: the last candidate, recording what
// it was given.
type lastPicker struct{ got []*Server }

func (b *lastPicker) Pick(candidates []*Server) *Server {
	b.got = candidates
	return candidates[len(candidates)-1]
}

func TestUserBalancer(t *testing.T) {
	c := testServers(3)
	b := &lastPicker{}
	var _ Balancer = b
	db := &DB{balancer: b}
	assert.Same(t, c[2], db.pick(c))
	assert.Equal(t, c, b.got)
}

func TestBalancerPickAllocs(t *testing.T) {
	if testing.CoverMode() != "" {
		t.Skip("coverage counters may allocate")
	}
	c := testServers(3)
	for i, s := range c {
		s.weight = i + 1
		s.inFlight.Store(int64(i))
		s.latency.Store(int64(i+1) * int64(time.Millisecond))
	}
	for _, p := range balancers {
		t.Run(p.name, func(t *testing.T) {
			b := p.new()
			allocs := testing.AllocsPerRun(1000, func() { b.Pick(c) })
			assert.Zero(t, allocs)
		})
	}
}

// TestBalancerConcurrentPicks runs 8 goroutines picking with each policy
// while others change the servers' in-flight counts and latencies, as the
// router does; run it with -race.
func TestBalancerConcurrentPicks(t *testing.T) {
	const (
		pickers = 8
		picks   = 2000
	)
	c := testServers(3)
	for i, s := range c {
		s.weight = i + 1
	}
	var (
		stop    atomic.Bool
		writers sync.WaitGroup
	)
	for _, s := range c {
		writers.Go(func() {
			for n := int64(1); !stop.Load(); n++ {
				s.inFlight.Add(1)
				s.observe(time.Duration(n%7+1) * time.Millisecond)
				s.inFlight.Add(-1)
			}
		})
		writers.Go(func() {
			for n := int64(1); !stop.Load(); n++ {
				s.latency.Store(n % 5 * int64(time.Millisecond)) // 0 at times
			}
		})
	}
	defer func() {
		stop.Store(true)
		writers.Wait()
	}()

	for _, p := range balancers {
		t.Run(p.name, func(t *testing.T) {
			b := p.new()
			var (
				pickersWG sync.WaitGroup
				bad       atomic.Int64
			)
			for range pickers {
				pickersWG.Go(func() {
					for range picks {
						if !slices.Contains(c, b.Pick(c)) {
							bad.Add(1)
						}
					}
				})
			}
			pickersWG.Wait()
			assert.Zero(t, bad.Load(), "picks not among the candidates")
		})
	}
}

// BenchmarkPick measures one pick over 3 candidates per policy.
func BenchmarkPick(b *testing.B) {
	c := testServers(3)
	for i, s := range c {
		s.weight = i + 1
		s.inFlight.Store(int64(3 - i))
		s.latency.Store(int64(i+1) * int64(time.Millisecond))
	}
	for _, p := range balancers {
		b.Run(p.name, func(b *testing.B) {
			bal := p.new()
			b.ReportAllocs()
			for b.Loop() {
				bal.Pick(c)
			}
		})
	}
}

// BenchmarkPickParallel measures picks from all Ps at once, which shows the
// cost of the counters RoundRobin and LeastInFlight share.
func BenchmarkPickParallel(b *testing.B) {
	c := testServers(3)
	for i, s := range c {
		s.weight = i + 1
		s.inFlight.Store(int64(3 - i))
		s.latency.Store(int64(i+1) * int64(time.Millisecond))
	}
	for _, p := range balancers {
		b.Run(p.name, func(b *testing.B) {
			bal := p.new()
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					bal.Pick(c)
				}
			})
		})
	}
}
