package history

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/rwsplit/rwsplit"
)

// Margins of the model.
const (
	// sleepClaimMin is the shortest Sleep for which read-your-writes is
	// claimed (in quiet periods only): replication of a commit takes
	// milliseconds here, so a second covers a loaded 2-core machine.
	sleepClaimMin = time.Second
	// faultSettle extends every fault past its catch-up for the Sleep claim
	// and for discovery to settle after a promotion.
	faultSettle = time.Second
	// promotionSettle extends a promotion's window for what a promotion
	// excuses (ErrNoPrimary, writes refused by the fenced old primary):
	// discovery follows within a few monitor rounds.
	promotionSettle = 3 * time.Second
)

// lastBefore returns the last op of ops (sorted by End) that ended before t,
// or nil.
func lastBefore(ops []*Op, t time.Time) *Op {
	i := sort.Search(len(ops), func(i int) bool { return !ops[i].End.Before(t) })
	if i == 0 {
		return nil
	}
	return ops[i-1]
}

// maxOp returns whichever of a and b has the larger Value (nil-safe).
func maxOp(a, b *Op) *Op {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	case b.Value > a.Value:
		return b
	}
	return a
}

type sessionKey struct {
	session int
	key     int64
}

// Check checks the history against the model (see the Violation kinds) and
// returns the report.
func (h *History) Check() *Report {
	h.mu.Lock()
	ops := slices.Clone(h.ops)
	faults := slices.Clone(h.faults)
	h.mu.Unlock()
	t0 := h.t0
	r := &Report{Ops: len(ops), Modes: map[string]*ModeFigures{}, Surfaces: map[string]int{},
		Scopes: map[string]int{}, Servers: map[int]int{}, Faults: map[string]int{}}

	for _, f := range faults {
		r.Faults[f.Kind]++
		if f.Err != nil {
			r.FaultErrs = append(r.FaultErrs, f.Describe(t0))
		}
	}
	inPromotion := func(from, to time.Time) bool {
		for _, f := range faults {
			if f.Kind == FaultPromote && !to.Before(f.Start) && !from.After(f.End.Add(promotionSettle)) {
				return true
			}
		}
		return false
	}
	// quiet reports whether no fault was under way from from to to, nor
	// had ended (every replica caught up) less than faultSettle before.
	// A Sleep(d) read that began in a period quiet since d before it sees
	// its scope's writes: one completed before a fault was put back was
	// applied when the replicas caught up, one completed after replicated
	// with no fault, and the read came at least d after it.
	quiet := func(from, to time.Time) bool {
		for _, f := range faults {
			if !to.Before(f.Start) && !from.After(f.End.Add(faultSettle)) {
				return false
			}
		}
		return true
	}

	// The writes each read may have to see: successful writes by key (all
	// of db1's), by session and key; advances by session and key. A key's
	// writes come from its one owner, one at a time, so their order by end
	// is their order by value (not so for advances: tokens of one key may
	// be advanced in any order).
	byKey := map[int64][]*Op{}
	bySession := map[sessionKey][]*Op{}
	advances := map[sessionKey][]*Op{}
	byValue := map[int64]*Op{}
	for _, o := range ops {
		switch o.Kind {
		case OpWrite:
			byValue[o.Value] = o
			if !o.OK() {
				continue
			}
			byKey[o.Key] = append(byKey[o.Key], o)
			if o.Scope == InSession {
				sk := sessionKey{o.Session, o.Key}
				bySession[sk] = append(bySession[sk], o)
			}
		case OpAdvance:
			if o.OK() {
				sk := sessionKey{o.Session, o.Key}
				advances[sk] = append(advances[sk], o)
			}
		}
	}
	byEnd := func(l []*Op) {
		sort.Slice(l, func(i, j int) bool { return l[i].End.Before(l[j].End) })
	}
	for _, l := range byKey {
		byEnd(l)
	}
	for _, l := range bySession {
		byEnd(l)
	}

	// The last read of each (session, session row) under WaitGTID, for the
	// monotonic check: a client's operations do not overlap, so ops are in
	// its order.
	lastGTIDRead := map[sessionKey]*Op{}
	lastMonotonic := map[sessionKey]*Op{}

	for _, o := range ops {
		r.Surfaces[o.Kind.String()+" "+o.Surface]++
		r.Scopes[o.Kind.String()+" "+o.Scope.String()]++
		switch o.Kind {
		case OpAdvance:
			r.Advances++
			if !o.OK() {
				r.Violations = append(r.Violations, Violation{Kind: ViolToken, Ops: []*Op{o},
					Note: "Session.Advance failed on a token handed over"})
			}
		case OpToken:
			r.Tokens++
			switch {
			case o.OK():
			case inPromotion(o.Start, o.End):
				r.Excused = append(r.Excused, "token not taken during a promotion: "+o.Describe(t0))
			default:
				r.Violations = append(r.Violations, Violation{Kind: ViolToken, Ops: []*Op{o},
					Note: "TokenContext could not read the primary's position while the primary was up"})
			}
		case OpWrite:
			r.Writes++
			if o.Begun > 1 {
				r.BegunAgain++
			}
			out := WriteOutcome(o.Err)
			switch out {
			case Acked:
				r.Acked++
				continue
			case NotRun:
				r.NotRun++
			default:
				r.Unknown++
			}
			r.FailedWrites++
			var we *rwsplit.WriteError
			judged := errors.As(o.Err, &we) || errors.Is(o.Err, rwsplit.ErrBeginAgain)
			switch promo := inPromotion(o.Start, o.End); {
			case is1290(o.Err) && !judged && promo:
				r.Refused1290 = append(r.Refused1290, o)
			case is1290(o.Err) && !judged:
				r.Violations = append(r.Violations, Violation{Kind: Viol1290, Ops: []*Op{o}})
			case promo && out == NotRun:
				// No primary within the hold, a transaction cut off
				// more often than it is begun again, a Conn on the
				// fenced primary: nothing ran (checkWriteLog checks it).
				r.Excused = append(r.Excused, "write not run during a promotion: "+o.Describe(t0))
			case promo && judged:
				// The library cannot tell (a connection lost once the
				// write was sent): either result is right, not two.
				r.Excused = append(r.Excused, "write of unknown outcome during a promotion: "+o.Describe(t0))
			default:
				r.Violations = append(r.Violations, Violation{Kind: ViolFailWrite, Ops: []*Op{o}})
			}
		case OpRead:
			r.Reads++
			name := o.Mode.Kind.String()
			mf := r.Modes[name]
			if mf == nil {
				mf = &ModeFigures{}
				r.Modes[name] = mf
			}
			mf.Reads++
			mf.lat = append(mf.lat, o.End.Sub(o.Start))
			if !o.OK() {
				mf.Failed++
				r.FailedReads++
				if o.Surface == "ParseToken" {
					r.Violations = append(r.Violations, Violation{Kind: ViolToken, Ops: []*Op{o},
						Note: "a token handed over does not parse"})
					continue
				}
				if errors.Is(o.Err, rwsplit.ErrNoPrimary) && inPromotion(o.Start, o.End) &&
					(o.Mode.Kind != Eventual && o.Mode.Kind != Sleep || pinnedToPrimary(o.Surface)) {
					r.Excused = append(r.Excused, "read failed with ErrNoPrimary during a promotion (it must read the primary): "+o.Describe(t0))
					continue
				}
				r.Violations = append(r.Violations, Violation{Kind: ViolFailRead, Ops: []*Op{o},
					Note: "reads fall back to the primary and must not fail while a server that may serve them is up"})
				continue
			}
			r.Servers[o.Server]++

			// Sanity: the value was written, and not after the read ended.
			if o.Value != 0 {
				w := byValue[o.Value]
				switch {
				case w == nil:
					r.Violations = append(r.Violations, Violation{Kind: ViolPhantom, Ops: []*Op{o}})
				case w.Key != o.Key:
					r.Violations = append(r.Violations, Violation{Kind: ViolPhantom, Ops: []*Op{o, w},
						Note: "the value belongs to another key"})
				case w.Start.After(o.End):
					r.Violations = append(r.Violations, Violation{Kind: ViolFuture, Ops: []*Op{o, w}})
				case WriteOutcome(w.Err) == NotRun:
					r.Violations = append(r.Violations, Violation{Kind: ViolNotRun, Ops: []*Op{o, w},
						Note: "the read saw the value of a write that failed as not run"})
				}
			}

			all := lastBefore(byKey[o.Key], o.Start) // every write of db1
			var scoped *Op                           // the writes of the read's scope
			switch o.Scope {
			case InProcess:
				scoped = all
			case InSession:
				sk := sessionKey{o.Session, o.Key}
				scoped = maxOp(lastBefore(bySession[sk], o.Start), advanced(advances[sk], o.Start, byValue))
			case InToken:
				if o.Min > 0 {
					scoped = byValue[o.Min]
				}
			}

			// The obligation, per mode.
			var must *Op
			claim := ""
			switch {
			case (o.Mode.Kind == Primary || pinnedToPrimary(o.Surface)) && o.DB == 1:
				must, claim = maxOp(all, scoped), "reads the primary, which has every write"
			case o.Mode.Kind == Primary || pinnedToPrimary(o.Surface):
				must, claim = scoped, "reads the primary"
			case o.Mode.waits():
				must, claim = scoped, fmt.Sprintf("%s waits for its scope", o.Mode)
			case o.Mode.Kind == Latest && o.DB == 1:
				// Every write acknowledged before the read began, by anyone.
				must, claim = maxOp(all, scoped), fmt.Sprintf("%s sees every write committed before it began", o.Mode)
			case o.Mode.Kind == Sleep && o.Mode.Duration >= sleepClaimMin && scoped != nil &&
				quiet(o.Start.Add(-o.Mode.Duration), o.End):
				must, claim = scoped, fmt.Sprintf("%s covers the replication delay of a quiet period", o.Mode)
				r.SleepClaimed++
			}
			if must != nil {
				r.Checked++
				mf.Checked++
				if o.Value < must.Value {
					mf.Violations++
					note := fmt.Sprintf("%s: it must see the write below, which completed %v before the read began",
						claim, o.Start.Sub(must.End).Round(time.Millisecond))
					if o.DB == 2 && inPromotion(must.Start, o.End) {
						note += "; db2 read during a promotion, which its discovery may not have seen yet"
					}
					r.Violations = append(r.Violations, Violation{Kind: ViolRYW, Ops: []*Op{o, must}, Note: note})
				}
			}
			if ref := maxOp(all, scoped); ref != nil && o.Value < ref.Value {
				mf.Stale++
			}
			switch {
			case o.Mode.Kind == Eventual && all != nil && !pinnedToPrimary(o.Surface):
				r.EventualChecked++
				if o.Value < all.Value {
					r.StaleEventual++
				}
			case o.Mode.Kind == CaughtUp && scoped != nil && o.Value < scoped.Value:
				r.StaleCaughtUp++
			case o.Mode.Kind == Sleep && must == nil && scoped != nil && o.Value < scoped.Value:
				r.StaleSleepUnclaimed++
			}

			// Monotonic reads: a Session's WaitGTID reads of its own
			// session rows never go back.
			if owner, sessionRow := KeyOwner(o.Key); o.Scope == InSession && o.Mode.Kind == WaitGTID &&
				sessionRow && owner == o.Session && o.DB == 1 {
				sk := sessionKey{o.Session, o.Key}
				if prev := lastGTIDRead[sk]; prev != nil {
					r.MonotonicChecked++
					if o.Value < prev.Value {
						v := Violation{Kind: ViolMonotonic, Ops: []*Op{prev, o},
							Note: "a later WaitGTID read of the session's own row saw an older value"}
						if w := byValue[prev.Value]; w != nil {
							v.Ops = append(v.Ops, w)
						}
						r.Violations = append(r.Violations, v)
					}
				}
				lastGTIDRead[sk] = o
			}
			// Monotonic: a Session's Monotonic reads of any row never go
			// back (its reads are sequential: each began after the last
			// returned).
			if o.Scope == InSession && o.Mode.Kind == Monotonic && o.DB == 1 {
				sk := sessionKey{o.Session, o.Key}
				if prev := lastMonotonic[sk]; prev != nil && !prev.End.After(o.Start) {
					r.MonotonicChecked++
					if o.Value < prev.Value {
						r.Violations = append(r.Violations, Violation{Kind: ViolMonotonic, Ops: []*Op{prev, o},
							Note: "a later Monotonic read of the session saw an older value than an earlier one"})
					}
				}
				if prev := lastMonotonic[sk]; prev == nil || o.Value >= prev.Value {
					lastMonotonic[sk] = o
				}
			}
		}
	}
	return r
}

// advanced is the latest write covered by the advances of l that ended
// before t (the write of the largest value), or nil.
func advanced(l []*Op, t time.Time, byValue map[int64]*Op) *Op {
	var best *Op
	for _, a := range l {
		if a.End.Before(t) {
			best = maxOp(best, byValue[a.Value])
		}
	}
	return best
}

// pinnedToPrimary reports whether reads through surface always run on the
// primary (a Conn, a read-write transaction), whatever the mode.
func pinnedToPrimary(surface string) bool {
	return strings.HasPrefix(surface, "Conn.") || strings.HasSuffix(surface, "Tx.ReadWrite")
}
