// Package waitoutcome names how a replica wait ended, for the example
// observers (examples/otel, examples/prometheus): one word a span attribute
// or a metric label can carry.
package waitoutcome

import (
	"context"
	"errors"

	"github.com/rwsplit/rwsplit"
)

// Of is e's end in a word: "ok", "skipped" (the replica was known to have
// the writes: no wait sent), "timed out", "canceled" (the caller's context
// ended) or "failed".
func Of(e rwsplit.WaitEvent) string {
	switch {
	case e.Skipped:
		return "skipped"
	case e.Err == nil:
		return "ok"
	case errors.Is(e.Err, rwsplit.ErrWaitTimedOut):
		return "timed out"
	case errors.Is(e.Err, context.Canceled), errors.Is(e.Err, context.DeadlineExceeded):
		return "canceled"
	}
	return "failed"
}
