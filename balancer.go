package rwsplit

import (
	"math/bits"
	"math/rand/v2"
	"sync/atomic"
)

// Balancer chooses the replica that serves a read. Pick is given the usable
// replicas (never empty, no nil entries) and returns one of them; it is
// called concurrently and must not block or allocate. Returning nil or a
// Server not in candidates sends the read to candidates[0]. A Balancer of
// one's own reads each candidate's Server.Health (one atomic load and a
// few counters, no allocation); the balancers of this package read only the
// figures they need.
//
// The balancers of this package return nil for an empty candidates slice and
// never panic otherwise.
type Balancer interface {
	Pick(candidates []*Server) *Server
}

// RoundRobin returns a balancer that sends each read to the next candidate
// in turn, whatever each is doing. Use it when the replicas are alike and
// always fast. Under concurrent load it convoys: a replica that stalls
// briefly (a CPU quota, a flush, a slow query) keeps getting its turn until
// every caller waits on it, so two such replicas serve little more than one
// (measured in docs/bench: LeastInFlight, the default, does not). A pick
// costs one atomic add on a counter shared by all goroutines.
func RoundRobin() Balancer { return new(roundRobin) }

type roundRobin struct{ next atomic.Uint64 }

func (r *roundRobin) Pick(c []*Server) *Server {
	if len(c) == 0 {
		return nil
	}
	return c[(r.next.Add(1)-1)%uint64(len(c))]
}

// Random returns a balancer that sends each read to a candidate chosen
// uniformly at random. Use it when the replicas are alike and many
// processes share them, so that their choices stay uncorrelated. A pick
// costs one draw from math/rand/v2's goroutine-safe generator and shares no
// state between goroutines.
func Random() Balancer { return random{} }

type random struct{}

func (random) Pick(c []*Server) *Server {
	if len(c) == 0 {
		return nil
	}
	return c[rand.IntN(len(c))]
}

// Weighted returns a balancer that sends each read to a candidate chosen at
// random in proportion to its weight (Health.Weight, see WithWeights): weights 3 and
// 1 give the first about 75% of the reads. A candidate of weight 0 gets no
// reads unless every candidate has weight 0; then the choice is uniform. Use
// it when the replicas differ in capacity. A pick costs one random draw and
// two passes over the candidates, with no shared state.
func Weighted() Balancer { return weighted{} }

type weighted struct{}

func (weighted) Pick(c []*Server) *Server {
	if len(c) == 0 {
		return nil
	}
	// The total weight in 128 bits, so that huge weights cannot wrap it.
	var hi, total uint64
	for _, s := range c {
		var carry uint64
		total, carry = bits.Add64(total, uint64(max(s.weight, 0)), 0)
		hi += carry
	}
	// If it needs more than 64 bits, scale every weight down alike: only
	// weights too small to matter next to the total become 0.
	shift := uint(bits.Len64(hi))
	if shift > 0 {
		total = 0
		for _, s := range c {
			total += uint64(max(s.weight, 0)) >> shift
		}
	}
	if total == 0 {
		return c[rand.IntN(len(c))]
	}
	r := rand.N(total)
	for _, s := range c {
		w := uint64(max(s.weight, 0)) >> shift
		if r < w {
			return s
		}
		r -= w
	}
	return c[len(c)-1] // not reached: r < total
}

// LeastInFlight returns the default balancer: each read goes to the
// candidate with the fewest calls running (Health.InFlight), the rule
// MaxScale's readwritesplit uses by default (LEAST_CURRENT_OPERATIONS).
// Candidates tied for the fewest take turns, by a counter shared by all
// goroutines, so idle or equally busy replicas share the reads evenly as
// with RoundRobin. Use it unless the replicas differ in capacity (Weighted)
// or in speed (LatencyAware): a replica stuck on slow queries or stalled
// gets fewer new ones, so reads scale with the replicas under concurrent
// load. A pick costs one or two atomic loads per candidate, plus one atomic
// add on the shared counter when there is a tie.
func LeastInFlight() Balancer { return new(leastInFlight) }

type leastInFlight struct{ next atomic.Uint64 }

func (l *leastInFlight) Pick(c []*Server) *Server {
	if len(c) == 0 {
		return nil
	}
	best, least, ties := c[0], c[0].inFlight.Load(), uint64(1)
	for _, s := range c[1:] {
		switch f := s.inFlight.Load(); {
		case f < least:
			best, least, ties = s, f, 1
		case f == least:
			ties++
		}
	}
	if ties == 1 {
		return best
	}
	// Take the turn-th of the tied candidates. Their counts may have moved
	// since: then keep the first one found.
	turn := (l.next.Add(1) - 1) % ties
	for _, s := range c {
		if s.inFlight.Load() == least {
			if turn == 0 {
				return s
			}
			turn--
		}
	}
	return best
}

// LatencyAware returns a balancer that samples two distinct candidates at
// random and sends the read to the one with the lower score, Health.Latency
// × (Health.InFlight + 1): the "power of two choices". A candidate with no
// latency sample yet is preferred, so that it gets measured; between two
// such, the one with fewer calls running wins. Use it when the replicas
// differ in speed or load over time (other tenants, cold caches, a replica
// catching up): slow ones get few reads but are still sampled. Sampling two
// rather than taking the best of all keeps many clients from herding onto
// the same replica. A pick costs two random draws and four atomic loads,
// with no shared state.
func LatencyAware() Balancer { return latencyAware{} }

type latencyAware struct{}

func (latencyAware) Pick(c []*Server) *Server {
	n := len(c)
	switch n {
	case 0:
		return nil
	case 1:
		return c[0]
	}
	i := rand.IntN(n)
	j := rand.IntN(n - 1)
	if j >= i {
		j++
	}
	a, b := c[i], c[j]
	la, lb := a.latency.Load(), b.latency.Load()
	fa, fb := uint64(max(a.inFlight.Load(), 0)), uint64(max(b.inFlight.Load(), 0))
	switch {
	case la <= 0 && lb <= 0:
		if fb < fa {
			return b
		}
		return a
	case la <= 0:
		return a
	case lb <= 0:
		return b
	}
	// Compare the 128-bit products: latency in nanoseconds times calls in
	// flight overflows 64 bits on a badly overloaded replica.
	ha, sa := bits.Mul64(uint64(la), fa+1)
	hb, sb := bits.Mul64(uint64(lb), fb+1)
	if hb < ha || (hb == ha && sb < sa) {
		return b
	}
	return a
}

// pick asks the balancer for one of candidates, and keeps its answer honest.
func (db *DB) pick(candidates []*Server) *Server {
	if len(candidates) == 1 {
		return candidates[0]
	}
	s := db.balancer.Pick(candidates)
	if s == nil {
		return candidates[0]
	}
	for _, c := range candidates {
		if c == s {
			return s
		}
	}
	return candidates[0]
}
