package rwsplit

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
)

// flight is one network call that concurrent callers share instead of each
// making their own, without holding a lock across the network (version
// detection, statement preparation). A caller that finds it in flight waits
// for it or for its own context, whichever ends first.
type flight[T any] struct {
	done chan struct{} // closed when val and err are set
	val  T
	err  error
}

// flights is a set of flights by key, guarded by its own mutex (held only
// to look a flight up, never across the call).
type flights[K comparable, T any] struct {
	mu sync.Mutex
	m  map[K]*flight[T]
	// joined counts the callers that found a flight in flight (tests).
	joined atomic.Int64
}

// do returns the result of call for key: a flight already in flight for it,
// or a new one this caller runs. A caller whose context ends first returns
// its context's error; the flight goes on for the others. A failed flight is
// not kept: the next caller tries again, and so does a waiting caller whose
// own context is live when the flight failed for its runner's context.
func (fs *flights[K, T]) do(ctx context.Context, key K, call func() (T, error)) (T, error) {
	for {
		fs.mu.Lock()
		f, ok := fs.m[key]
		if !ok {
			f = &flight[T]{done: make(chan struct{})}
			if fs.m == nil {
				fs.m = map[K]*flight[T]{}
			}
			fs.m[key] = f
		}
		fs.mu.Unlock()
		if ok {
			fs.joined.Add(1)
		} else {
			f.val, f.err = call()
			fs.mu.Lock()
			delete(fs.m, key)
			fs.mu.Unlock()
			close(f.done)
			return f.val, f.err
		}
		select {
		case <-f.done:
		case <-ctx.Done():
			var zero T
			return zero, ctx.Err()
		}
		if f.err == nil || ctx.Err() != nil ||
			!errors.Is(f.err, context.Canceled) && !errors.Is(f.err, context.DeadlineExceeded) {
			return f.val, f.err
		}
	}
}
