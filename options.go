package rwsplit

import (
	"github.com/rwsplit/rwsplit/internal/cluster"

	"errors"
	"fmt"
	"time"
)

type options struct {
	writeHold *time.Duration // WithWriteHold (nil: defaultWriteHold)
	balancer  Balancer
	pure      []string
	weights   []int
	mode      Consistency
	oneTrip   []bool
	interval  time.Duration
	maxLag    time.Duration
	noFall    bool
	// readAhead: the pools were opened by Open (they read ahead: openPool).
	readAhead bool
	// primaryOneTrip: Open's primary DSN allows one-round-trip waits (it
	// may serve as a replica under discovery).
	primaryOneTrip bool
	discover       bool
	minServing     int
	tokenKey       *tokenKey
	observers      observers    // WithObserver's (observer.go)
	hedge          *hedgeConfig // WithHedge's (nil: the default)
	kind           cluster.Kind // WithClusterKind's (Unknown: detect)
	// names: Open's server names (addresses), the primary's first.
	names []string
}

// Option configures a DB.
type Option func(*options) error

// WithBalancer sets how reads are spread over replicas (default LeastInFlight).
func WithBalancer(b Balancer) Option {
	return func(o *options) error {
		if b == nil {
			return errors.New("rwsplit: WithBalancer(nil)")
		}
		o.balancer = b
		return nil
	}
}

// WithPureFunctions declares stored functions read-only, so that SELECTs
// calling them may go to replicas. Names are case-insensitive; "db.fn"
// matches a qualified call db.fn(...) and "fn" a bare call fn(...).
// Without it, a SELECT that calls a function rwsplit does not know as a
// built-in goes to the primary: a stored function may write.
func WithPureFunctions(names ...string) Option {
	return func(o *options) error {
		o.pure = append(o.pure, names...)
		return nil
	}
}

// WithWeights sets one weight per replica, in order, for weighted balancers
// (every weight defaults to 1).
func WithWeights(weights ...int) Option {
	return func(o *options) error {
		for i, w := range weights {
			if w < 0 {
				return fmt.Errorf("rwsplit: WithWeights: weight %d of replica %d is negative", w, i)
			}
		}
		o.weights = weights
		return nil
	}
}

// WithDefaultConsistency sets the consistency of calls whose context names
// none (default Eventual).
func WithDefaultConsistency(c Consistency) Option {
	return func(o *options) error {
		if c.kind == kindUnset {
			return errors.New("rwsplit: WithDefaultConsistency: the zero Consistency is not a mode")
		}
		o.mode = c
		return nil
	}
}

// WithMonitorInterval sets how often the monitor checks every replica
// (default 1 s; at least 10 ms). The monitor is one goroutine per DB, stopped
// by Close.
func WithMonitorInterval(d time.Duration) Option {
	return func(o *options) error {
		if d < 10*time.Millisecond {
			return fmt.Errorf("rwsplit: WithMonitorInterval(%v): want at least 10ms", d)
		}
		o.interval = d
		return nil
	}
}

// WithMaxReplicationLag takes a replica out of rotation while it is more than
// d behind the primary (as the monitor measures it: the age of the oldest
// primary GTID snapshot it has not applied, or Seconds_Behind when larger),
// and brings it back when it catches up. 0 (the default) sets no limit.
func WithMaxReplicationLag(d time.Duration) Option {
	return func(o *options) error {
		if d < 0 {
			return fmt.Errorf("rwsplit: WithMaxReplicationLag(%v): negative", d)
		}
		o.maxLag = d
		return nil
	}
}

// WithPrimaryFallback says where reads go when no replica is usable (all
// down, broken or lagging): to the primary (true, the default), or nowhere:
// they fail with ErrNoReplica (false), protecting the primary.
func WithPrimaryFallback(fallback bool) Option {
	return func(o *options) error {
		o.noFall = !fallback
		return nil
	}
}

// oneRoundTrip declares, per replica in order, that its pool's DSN sets
// multiStatements=true and interpolateParams=true, so that QueryContext can
// send a wait and the read in one round trip (Open detects it from the DSNs).
func oneRoundTrip(replicas []bool) Option {
	return func(o *options) error {
		o.oneTrip = replicas
		return nil
	}
}

// WithTokenKey signs the DB's tokens with key, and verifies them with key or
// any of the previous keys: DB.FormatToken signs (an HMAC-SHA256 of the
// token's text, 23 bytes more per token), DB.ParseToken rejects a token not
// signed by one of them, forged or altered, with an error wrapping
// ErrBadToken. Give every DB that issues or reads the tokens (every service)
// the same keys. To rotate, put the new key first and the old one in
// previous until the tokens signed with it are out of circulation.
//
// Each key must be at least 16 bytes (use 32 random bytes from crypto/rand);
// otherwise New and Open return an error naming the key that is too short.
// The keys are copied. It costs one HMAC-SHA256 per token formatted and one
// per key per token parsed, and no I/O.
func WithTokenKey(key []byte, previous ...[]byte) Option {
	return func(o *options) error {
		k, err := newTokenKey(key, previous...)
		if err != nil {
			return err
		}
		o.tokenKey = k
		return nil
	}
}
