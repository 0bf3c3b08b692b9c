package history

import (
	"fmt"
	"maps"
	"slices"
)

// CheckWriteLog checks the writes of ops against runs, the number of rows
// of each value in the final primary's app.chaos_log (one per run of the
// write of that value): no write ran twice, an acknowledged write ran once,
// a write that failed as not run did not run, and a write of unknown outcome
// ran once or not at all; every row is a recorded write's. It counts the
// unknown writes found and not found.
func (r *Report) CheckWriteLog(ops []*Op, runs map[int64]int) {
	r.LogChecked = true
	left := maps.Clone(runs)
	for _, n := range runs {
		r.LogRows += n
	}
	for _, o := range ops {
		if o.Kind != OpWrite {
			continue
		}
		n := runs[o.Value]
		delete(left, o.Value)
		if n > 1 {
			r.RunTwice++
			r.Violations = append(r.Violations, Violation{Kind: ViolTwice, Ops: []*Op{o},
				Note: fmt.Sprintf("the final primary's app.chaos_log has %d rows of this write's value: it ran %d times", n, n)})
			continue
		}
		switch WriteOutcome(o.Err) {
		case Acked:
			if n == 0 {
				r.Violations = append(r.Violations, Violation{Kind: ViolLost, Ops: []*Op{o},
					Note: "acknowledged, and absent from the final primary's app.chaos_log"})
			}
		case NotRun:
			if n > 0 {
				r.NotRunPresent++
				r.Violations = append(r.Violations, Violation{Kind: ViolNotRun, Ops: []*Op{o},
					Note: "the final primary's app.chaos_log has this write"})
			}
		default:
			if n > 0 {
				r.UnknownPresent++
			} else {
				r.UnknownAbsent++
			}
		}
	}
	for _, w := range slices.Sorted(maps.Keys(left)) {
		r.Violations = append(r.Violations, Violation{Kind: ViolLogPhantom,
			Note: fmt.Sprintf("app.chaos_log has %d rows of value %d, which no write of the history wrote", left[w], w)})
	}
}

// CheckLost checks that no acknowledged write of ops is lost: final, the
// final primary's value of each row, is at least the value of the row's
// last acknowledged write.
func (r *Report) CheckLost(ops []*Op, final map[int64]int64) {
	last := map[int64]*Op{}
	for _, o := range ops {
		if o.Kind == OpWrite && o.OK() {
			last[o.Key] = maxOp(last[o.Key], o)
		}
	}
	for k, w := range last {
		if final[k] < w.Value {
			r.Violations = append(r.Violations, Violation{Kind: ViolLost, Ops: []*Op{w},
				Note: fmt.Sprintf("the primary has %d after the run", final[k])})
		}
	}
}
