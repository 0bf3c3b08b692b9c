package history

import (
	"fmt"
	"os"
	"strings"
	"time"
)

// Describe prints the operation for a violation report, times relative to
// t0, the run's start (History.Start).
func (o *Op) Describe(t0 time.Time) string {
	var b strings.Builder
	fmt.Fprintf(&b, "#%d %s [%s → %s] client %d db%d %s %s via %s key %d",
		o.ID, o.Kind, rel(o.Start, t0), rel(o.End, t0), o.Client, o.DB, o.Scope, o.Mode, o.Surface, o.Key)
	switch o.Kind {
	case OpWrite:
		fmt.Fprintf(&b, " wrote %d", o.Value)
		if o.Begun > 1 {
			fmt.Fprintf(&b, " (transaction begun %d times)", o.Begun)
		}
	case OpRead:
		fmt.Fprintf(&b, " saw %d", o.Value)
	case OpAdvance:
		fmt.Fprintf(&b, " advanced by the token of write #%d (value %d)", o.Producer, o.Value)
	case OpToken:
		fmt.Fprintf(&b, " took the token after write #%d (value %d)", o.Producer, o.Value)
	}
	if o.Scope == InToken {
		fmt.Fprintf(&b, " (token of write #%d, value %d)", o.Producer, o.Min)
	}
	if o.Server != 0 {
		fmt.Fprintf(&b, " on server %d", o.Server)
	}
	switch {
	case o.Err != nil && o.Kind == OpWrite:
		fmt.Fprintf(&b, " ERROR (%s): %v", WriteOutcome(o.Err), o.Err)
	case o.Err != nil:
		fmt.Fprintf(&b, " ERROR: %v", o.Err)
	}
	return b.String()
}

func rel(t, t0 time.Time) string {
	return fmt.Sprintf("%.3fs", t.Sub(t0).Seconds())
}

// Describe prints the fault, times relative to t0, the run's start.
func (f *Fault) Describe(t0 time.Time) string {
	s := fmt.Sprintf("fault %s %s%s [%s → restored %s → caught up %s]", f.Kind, f.Target, f.Detail,
		rel(f.Start, t0), rel(f.Restored, t0), rel(f.End, t0))
	if f.Err != nil {
		s += fmt.Sprintf(" ERROR: %v", f.Err)
	}
	return s
}

// Write writes every fault and operation, in the order recorded, to path.
func (h *History) Write(path string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	var b strings.Builder
	for _, f := range h.faults {
		fmt.Fprintln(&b, f.Describe(h.t0))
	}
	for _, o := range h.ops {
		fmt.Fprintln(&b, o.Describe(h.t0))
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}
