package history

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

// Violation is a broken promise, with the operations involved.
type Violation struct {
	Kind string
	Ops  []*Op
	Note string
}

// Violation kinds.
const (
	ViolRYW        = "read-your-writes"
	ViolMonotonic  = "monotonic reads"
	ViolFailRead   = "failed read"
	ViolFailWrite  = "failed write"
	Viol1290       = "write refused as read-only outside a promotion"
	ViolFuture     = "read a value not yet written"
	ViolPhantom    = "read a value never written"
	ViolToken      = "token"
	ViolTwice      = "write run twice"
	ViolNotRun     = "write reported not run, yet run"
	ViolLost       = "lost write"
	ViolLogPhantom = "write log row of no recorded write"
)

// ModeFigures are the figures of one mode's reads.
type ModeFigures struct {
	// Stale counts the reads that missed a write of their key completed
	// before they began, whoever made it; Violations, those that missed a
	// write they promise to see.
	Reads, Failed, Checked, Stale, Violations int
	lat                                       []time.Duration
}

// Report is the outcome of checking a history.
type Report struct {
	Ops, Writes, Reads, Advances, Tokens int
	FailedWrites, FailedReads            int
	// Acked, NotRun and Unknown split the writes by outcome (see
	// WriteOutcome); BegunAgain counts the transactional writes begun
	// more than once (RunTx, or the loop on ErrBeginAgain).
	Acked, NotRun, Unknown, BegunAgain int
	// The write log's figures (CheckWriteLog): its rows, the writes found
	// there more than once, the not-run writes found there, and the writes
	// of unknown outcome found there (once: they ran) and not.
	LogRows, RunTwice, NotRunPresent int
	UnknownPresent, UnknownAbsent    int
	LogChecked                       bool
	// Modes has the figures per mode kind name; Surfaces and Scopes count
	// the operations of each.
	Modes            map[string]*ModeFigures
	Surfaces, Scopes map[string]int
	Servers          map[int]int // reads answered per @@server_id
	// Checked counts reads with a read-your-writes obligation (a write they
	// must see); StaleEventual, the Eventual reads that missed a write that
	// had completed before they began (EventualChecked had one to miss).
	Checked                        int
	StaleEventual, EventualChecked int
	// StaleCaughtUp and StaleSleep (Sleep reads not claimed, as lag faults
	// were active) are reported, not checked.
	StaleCaughtUp, StaleSleepUnclaimed int
	SleepClaimed                       int
	MonotonicChecked                   int
	Violations                         []Violation
	// Excused are failures the model allows, each described: during a
	// promotion, reads that must reach the primary failing with
	// ErrNoPrimary, writes not run (see WriteOutcome), and writes the
	// library reports of unknown outcome (a *rwsplit.WriteError).
	Excused []string
	// Refused1290 are writes refused as read-only (1290/1836) during a
	// promotion with the server's bare error, which the library neither ran
	// again nor judged (a WriteError, ErrBeginAgain): reported apart.
	Refused1290 []*Op
	Faults      map[string]int
	FaultErrs   []string
}

// Count returns the number of violations of kind ("" for all).
func (r *Report) Count(kind string) int {
	n := 0
	for _, v := range r.Violations {
		if kind == "" || v.Kind == kind {
			n++
		}
	}
	return n
}

// Summary returns the report's figures as lines for the test log.
func (r *Report) Summary() []string {
	var out []string
	out = append(out, fmt.Sprintf("operations %d: %d writes (%d acked, %d failed (not run), %d unknown outcome), %d reads (%d failed), %d tokens taken, %d token advances",
		r.Ops, r.Writes, r.Acked, r.NotRun, r.Unknown, r.Reads, r.FailedReads, r.Tokens, r.Advances))
	if r.LogChecked {
		out = append(out, fmt.Sprintf("write log on the final primary: %d rows; writes run twice %d, not-run writes present %d, unknown-outcome writes present %d / absent %d; transactional writes begun again %d",
			r.LogRows, r.RunTwice, r.NotRunPresent, r.UnknownPresent, r.UnknownAbsent, r.BegunAgain))
	}
	out = append(out, fmt.Sprintf("read-your-writes checked on %d reads (%d Sleep reads in quiet periods), monotonic reads on %d; violations %d",
		r.Checked, r.SleepClaimed, r.MonotonicChecked, len(r.Violations)))
	out = append(out, fmt.Sprintf("stale Eventual reads: %d of %d that had a write to miss; stale CaughtUp reads (not claimed): %d; stale Sleep reads outside quiet periods or under %v (not claimed): %d",
		r.StaleEventual, r.EventualChecked, r.StaleCaughtUp, sleepClaimMin, r.StaleSleepUnclaimed))
	out = append(out, "per mode: stale = missed a write of its row completed before it began (by any client); checked = had a write it promises to see; violations = missed one")
	out = append(out, fmt.Sprintf("  %-13s %7s %7s %7s %8s %10s %9s %9s", "mode", "reads", "failed", "stale", "checked", "violations", "p50", "p99"))
	names := make([]string, 0, len(r.Modes))
	for _, k := range modeKinds {
		if r.Modes[k.String()] != nil {
			names = append(names, k.String())
		}
	}
	for _, n := range names {
		m := r.Modes[n]
		slices.Sort(m.lat)
		out = append(out, fmt.Sprintf("  %-13s %7d %7d %7d %8d %10d %9v %9v", n, m.Reads, m.Failed, m.Stale, m.Checked, m.Violations,
			pct(m.lat, 50).Round(100*time.Microsecond), pct(m.lat, 99).Round(100*time.Microsecond)))
	}
	out = append(out, "surfaces: "+counts(r.Surfaces))
	out = append(out, "scopes: "+counts(r.Scopes))
	servers := map[string]int{}
	for id, n := range r.Servers {
		servers[fmt.Sprintf("server %d", id)] = n
	}
	out = append(out, "reads answered by: "+counts(servers))
	out = append(out, "faults: "+counts(r.Faults))
	out = append(out, fmt.Sprintf("writes refused as read-only during a promotion, unjudged by the library (a bare 1290/1836; reported apart): %d", len(r.Refused1290)))
	out = append(out, fmt.Sprintf("failures excused (during a promotion: no primary known, writes not run or of unknown outcome): %d", len(r.Excused)))
	return out
}

func pct(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, len(sorted)*p/100)]
}

func counts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}

// DescribeViolation prints v with its operations and the faults around it.
func (h *History) DescribeViolation(v Violation) string {
	var b strings.Builder
	fmt.Fprintf(&b, "VIOLATION %s", v.Kind)
	if v.Note != "" {
		fmt.Fprintf(&b, " (%s)", v.Note)
	}
	if len(v.Ops) == 0 {
		return b.String()
	}
	from, to := v.Ops[0].Start, v.Ops[0].End
	for _, o := range v.Ops {
		fmt.Fprintf(&b, "\n    %s", o.Describe(h.t0))
		from, to = minTime(from, o.Start), maxTime(to, o.End)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, f := range h.faults {
		switch {
		case !to.Before(f.Start) && !from.After(f.End):
			fmt.Fprintf(&b, "\n    during %s", f.Describe(h.t0))
		case !to.Before(f.Start) && !from.After(f.End.Add(promotionSettle)):
			fmt.Fprintf(&b, "\n    shortly after %s", f.Describe(h.t0))
		}
	}
	return b.String()
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
