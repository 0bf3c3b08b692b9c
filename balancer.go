package rwsplit

import "sync/atomic"

// Balancer chooses the replica that serves a read. Pick is given the usable
// replicas (never empty) and returns one of them; it is called concurrently
// and must not block or allocate. Returning nil or a Server not in
// candidates sends the read to candidates[0].
type Balancer interface {
	Pick(candidates []*Server) *Server
}

// BalancerFunc adapts a function to the Balancer interface.
type BalancerFunc func(candidates []*Server) *Server

// Pick calls f(candidates).
func (f BalancerFunc) Pick(candidates []*Server) *Server { return f(candidates) }

// RoundRobin returns the default balancer: each read goes to the next
// candidate in turn.
func RoundRobin() Balancer { return new(roundRobin) }

type roundRobin struct{ next atomic.Uint64 }

func (r *roundRobin) Pick(c []*Server) *Server {
	return c[(r.next.Add(1)-1)%uint64(len(c))]
}
