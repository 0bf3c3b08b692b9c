package rwsplit_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/assert"

	"github.com/rwsplit/rwsplit"
)

// The history a chaos run records, and the model it is checked against.
//
// Every client owns some rows of app.chaos and is their only writer; it
// writes strictly increasing values (globally unique, from one counter) with
// UPDATE ... SET v = GREATEST(v, ?), so a row's value never goes back even if
// a write that failed on the client side were applied late, and "a read sees
// write w" is "the value read is at least w's value". A read's obligation is
// therefore the value of the last write it must see: the last one, of the
// writes its guarantee covers, that completed before the read began.
//
// Each write also sets w to its value, its identity, and a trigger appends
// (k, w) to app.chaos_log, a table without a unique key, every time the
// UPDATE runs: a write run twice leaves two rows of its value there, however
// GREATEST hides it in app.chaos. Every write has one of three outcomes
// (chaosWriteOutcome): acknowledged (its effect must be there once); failed
// and not run (a WriteError with NotRun, ErrBeginAgain that RunTx or
// the workload's loop gave up on, ErrNoPrimary, a bare 1290: its effect
// must be absent); or unknown (a WriteError without NotRun, or any other
// error: it may have run; once or not at all, both are right).
// checkWriteLog checks the final primary's log against them.

// chaosOpKind is what an operation did.
type chaosOpKind uint8

const (
	chaosWrite   chaosOpKind = iota + 1 // an UPDATE of one row
	chaosRead                           // a read of one row and @@server_id
	chaosAdvance                        // Session.Advance with a token handed over
	chaosTokenOp                        // Session.TokenContext after a write, to hand the token over
)

func (k chaosOpKind) String() string {
	switch k {
	case chaosWrite:
		return "write"
	case chaosRead:
		return "read"
	case chaosAdvance:
		return "advance"
	case chaosTokenOp:
		return "token"
	}
	return "?"
}

// chaosOutcome is what is known of a write once it returned.
type chaosOutcome uint8

const (
	chaosAcked   chaosOutcome = iota + 1 // it returned no error: it ran, once
	chaosNotRun                          // it failed and did not run
	chaosUnknown                         // it failed and may have run
)

func (o chaosOutcome) String() string {
	switch o {
	case chaosAcked:
		return "acknowledged"
	case chaosNotRun:
		return "not run"
	case chaosUnknown:
		return "outcome unknown"
	}
	return "?"
}

// chaosWriteOutcome judges a write by the error it returned: nil is
// acknowledged; a *rwsplit.WriteError says itself (NotRun or Unknown);
// rwsplit.ErrBeginAgain (a transaction cut off by a change of primary, given
// up on) committed nothing; a bare rwsplit.ErrNoPrimary was never sent; a
// bare 1290/1836 is the server refusing the workload's one statement (or
// its transaction's COMMIT) before it ran. Any other error (a lost
// connection the library did not judge, a deadline) may have come after the
// write ran: unknown.
func chaosWriteOutcome(err error) chaosOutcome {
	var we *rwsplit.WriteError
	switch {
	case err == nil:
		return chaosAcked
	case errors.As(err, &we) && we.NotRun:
		return chaosNotRun
	case errors.As(err, &we):
		return chaosUnknown
	case errors.Is(err, rwsplit.ErrBeginAgain), errors.Is(err, rwsplit.ErrNoPrimary), chaosIs1290(err):
		return chaosNotRun
	}
	return chaosUnknown
}

// chaosScope is the scope an operation ran in.
type chaosScope uint8

const (
	chaosInSession chaosScope = iota + 1 // the client's own Session on db1
	chaosInProcess                       // no Session: db1's process scope
	chaosInToken                         // db2, a Session made from a token handed over through the queue
)

func (s chaosScope) String() string {
	switch s {
	case chaosInSession:
		return "session"
	case chaosInProcess:
		return "process"
	case chaosInToken:
		return "token"
	}
	return "?"
}

// chaosModeKind is a consistency mode, as the checker needs to know it.
type chaosModeKind uint8

const (
	chaosEventual chaosModeKind = iota + 1
	chaosPrimary
	chaosSleep
	chaosCaughtUp
	chaosWaitPosition
	chaosWaitGTID
	chaosFast
	chaosLatest
	chaosMonotonic
	chaosMaxStaleness
)

var chaosModeNames = map[chaosModeKind]string{
	chaosEventual: "Eventual", chaosPrimary: "Primary", chaosSleep: "Sleep", chaosCaughtUp: "CaughtUp",
	chaosWaitPosition: "WaitPosition", chaosWaitGTID: "WaitGTID",
	chaosFast: "Fast", chaosLatest: "Latest", chaosMonotonic: "Monotonic", chaosMaxStaleness: "MaxStaleness",
}

// chaosMode is the mode of one read: a kind and its duration (Sleep's delay,
// a wait's timeout), and whether it came from the DB's default rather than
// the context.
type chaosMode struct {
	kind   chaosModeKind
	d      time.Duration
	byDflt bool
}

func (m chaosMode) consistency() rwsplit.Consistency {
	switch m.kind {
	case chaosPrimary:
		return rwsplit.Primary
	case chaosSleep:
		return rwsplit.Sleep(m.d)
	case chaosCaughtUp:
		return rwsplit.CaughtUp(m.d)
	case chaosWaitPosition:
		return rwsplit.WaitPosition(m.d)
	case chaosWaitGTID:
		return rwsplit.WaitGTID(m.d)
	case chaosFast:
		return rwsplit.Fast
	case chaosLatest:
		return rwsplit.Latest(m.d)
	case chaosMonotonic:
		return rwsplit.Monotonic(m.d)
	case chaosMaxStaleness:
		return rwsplit.MaxStaleness(m.d)
	}
	return rwsplit.Eventual
}

func (m chaosMode) String() string {
	s := m.consistency().String()
	if m.byDflt {
		s += " (DB default)"
	}
	return s
}

// waits reports whether the mode promises read-your-writes (WaitPosition,
// WaitGTID, and Fast and Monotonic, which read the scope's writes too).
func (m chaosMode) waits() bool {
	switch m.kind {
	case chaosWaitPosition, chaosWaitGTID, chaosFast, chaosMonotonic:
		return true
	}
	return false
}

// chaosOp is one recorded operation.
type chaosOp struct {
	ID     int
	Kind   chaosOpKind
	Client int // clients 0..n-1 on db1; consumers n, n+1, ... on db2
	DB     int // 1 or 2
	Scope  chaosScope
	// Session identifies the Session used: the client's for chaosInSession,
	// the producing write's op ID for chaosInToken; -1 in the process scope.
	Session int
	Mode    chaosMode
	Surface string
	Key     int64
	// Value is the value written, seen, or covered by the advanced token.
	Value int64
	// Min is, for a read in chaosInToken, the value of the producing write
	// the token covers; Producer is that write's op ID (chaosInToken reads
	// and advances).
	Min      int64
	Producer int
	// Server is the @@server_id that answered (0 when unknown: writes
	// outside a transaction or Conn).
	Server int
	// Begun counts the transactions a transactional write began (more
	// than 1: begun again after ErrBeginAgain); 0 outside a transaction.
	Begun      int
	Start, End time.Time
	Err        error
}

// ok reports whether the operation succeeded.
func (o *chaosOp) ok() bool { return o.Err == nil }

// describe prints the operation for a violation report, times relative to
// the run's start.
func (o *chaosOp) describe(t0 time.Time) string {
	var b strings.Builder
	fmt.Fprintf(&b, "#%d %s [%s → %s] client %d db%d %s %s via %s key %d",
		o.ID, o.Kind, chaosRel(o.Start, t0), chaosRel(o.End, t0), o.Client, o.DB, o.Scope, o.Mode, o.Surface, o.Key)
	switch o.Kind {
	case chaosWrite:
		fmt.Fprintf(&b, " wrote %d", o.Value)
		if o.Begun > 1 {
			fmt.Fprintf(&b, " (transaction begun %d times)", o.Begun)
		}
	case chaosRead:
		fmt.Fprintf(&b, " saw %d", o.Value)
	case chaosAdvance:
		fmt.Fprintf(&b, " advanced by the token of write #%d (value %d)", o.Producer, o.Value)
	case chaosTokenOp:
		fmt.Fprintf(&b, " took the token after write #%d (value %d)", o.Producer, o.Value)
	}
	if o.Scope == chaosInToken {
		fmt.Fprintf(&b, " (token of write #%d, value %d)", o.Producer, o.Min)
	}
	if o.Server != 0 {
		fmt.Fprintf(&b, " on server %d", o.Server)
	}
	switch {
	case o.Err != nil && o.Kind == chaosWrite:
		fmt.Fprintf(&b, " ERROR (%s): %v", chaosWriteOutcome(o.Err), o.Err)
	case o.Err != nil:
		fmt.Fprintf(&b, " ERROR: %v", o.Err)
	}
	return b.String()
}

func chaosRel(t, t0 time.Time) string {
	return fmt.Sprintf("%.3fs", t.Sub(t0).Seconds())
}

// chaosFault is one injected fault: from its start until the cluster was
// put back (Restored) and every replica had caught up with the primary (End).
type chaosFault struct {
	Kind, Target, Detail string
	Start, Restored, End time.Time
	Err                  error
}

func (f *chaosFault) describe(t0 time.Time) string {
	s := fmt.Sprintf("fault %s %s%s [%s → restored %s → caught up %s]", f.Kind, f.Target, f.Detail,
		chaosRel(f.Start, t0), chaosRel(f.Restored, t0), chaosRel(f.End, t0))
	if f.Err != nil {
		s += fmt.Sprintf(" ERROR: %v", f.Err)
	}
	return s
}

// chaosHistory is what a run recorded. It is safe for concurrent use.
type chaosHistory struct {
	t0     time.Time
	mu     sync.Mutex
	ops    []*chaosOp
	faults []*chaosFault
}

func newChaosHistory() *chaosHistory { return &chaosHistory{t0: time.Now()} }

// add records op and returns its ID.
func (h *chaosHistory) add(op *chaosOp) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	op.ID = len(h.ops)
	h.ops = append(h.ops, op)
	return op.ID
}

func (h *chaosHistory) addFault(f *chaosFault) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.faults = append(h.faults, f)
}

// chaosViolation is a broken promise, with the operations involved.
type chaosViolation struct {
	Kind string
	Ops  []*chaosOp
	Note string
}

// chaosModeFigures are the figures of one mode's reads.
type chaosModeFigures struct {
	// Stale counts the reads that missed a write of their key completed
	// before they began, whoever made it; Violations, those that missed a
	// write they promise to see.
	Reads, Failed, Checked, Stale, Violations int
	lat                                       []time.Duration
}

// chaosReport is the outcome of checking a history.
type chaosReport struct {
	Ops, Writes, Reads, Advances, Tokens int
	FailedWrites, FailedReads            int
	// Acked, NotRun and Unknown split the writes by outcome (see
	// chaosWriteOutcome); BegunAgain counts the transactional writes begun
	// more than once (RunTx, or the loop on ErrBeginAgain).
	Acked, NotRun, Unknown, BegunAgain int
	// The write log's figures (checkWriteLog): its rows, the writes found
	// there more than once, the not-run writes found there, and the writes
	// of unknown outcome found there (once: they ran) and not.
	LogRows, RunTwice, NotRunPresent int
	UnknownPresent, UnknownAbsent    int
	LogChecked                       bool
	// Modes has the figures per mode kind name; Surfaces and Scopes count
	// the operations of each.
	Modes            map[string]*chaosModeFigures
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
	Violations                         []chaosViolation
	// Excused are failures the model allows, each described: during a
	// promotion, reads that must reach the primary failing with
	// ErrNoPrimary, writes not run (see chaosWriteOutcome), and writes the
	// library reports of unknown outcome (a *rwsplit.WriteError).
	Excused []string
	// Refused1290 are writes refused as read-only (1290/1836) during a
	// promotion with the server's bare error, which the library neither ran
	// again nor judged (a WriteError, ErrBeginAgain): reported apart.
	Refused1290 []*chaosOp
	Faults      map[string]int
	FaultErrs   []string
}

// count returns the number of violations of kind ("" for all).
func (r *chaosReport) count(kind string) int {
	n := 0
	for _, v := range r.Violations {
		if kind == "" || v.Kind == kind {
			n++
		}
	}
	return n
}

// Violation kinds.
const (
	chaosViolRYW        = "read-your-writes"
	chaosViolMonotonic  = "monotonic reads"
	chaosViolFailRead   = "failed read"
	chaosViolFailWrite  = "failed write"
	chaosViol1290       = "write refused as read-only outside a promotion"
	chaosViolFuture     = "read a value not yet written"
	chaosViolPhantom    = "read a value never written"
	chaosViolToken      = "token"
	chaosViolTwice      = "write run twice"
	chaosViolNotRun     = "write reported not run, yet run"
	chaosViolLost       = "lost write"
	chaosViolLogPhantom = "write log row of no recorded write"
)

// Margins of the model.
const (
	// chaosSleepClaimMin is the shortest Sleep for which read-your-writes is
	// claimed (in quiet periods only): replication of a commit takes
	// milliseconds here, so a second covers a loaded 2-core machine.
	chaosSleepClaimMin = time.Second
	// chaosFaultSettle extends every fault past its catch-up for the Sleep claim
	// and for discovery to settle after a promotion.
	chaosFaultSettle = time.Second
	// chaosPromotionSettle extends a promotion's window for what a promotion
	// excuses (ErrNoPrimary, writes refused by the fenced old primary):
	// discovery follows within a few monitor rounds.
	chaosPromotionSettle = 3 * time.Second
)

// chaosKeyOwner is the client that owns key k, and whether k is one of its
// session rows (written through its Session) rather than a process row
// (written without one).
func chaosKeyOwner(k int64) (client int, sessionRow bool) {
	return int(k / chaosKeysPerClient), k%chaosKeysPerClient < chaosSessionKeys
}

// chaosIs1290 reports whether err is a write refused by a read-only server.
func chaosIs1290(err error) bool {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me.Number == 1290 || me.Number == 1836
	}
	return err != nil && (strings.Contains(err.Error(), "Error 1290") || strings.Contains(err.Error(), "Error 1836"))
}

// chaosLastBefore returns the last op of ops (sorted by End) that ended before t,
// or nil.
func chaosLastBefore(ops []*chaosOp, t time.Time) *chaosOp {
	i := sort.Search(len(ops), func(i int) bool { return !ops[i].End.Before(t) })
	if i == 0 {
		return nil
	}
	return ops[i-1]
}

// chaosMaxOp returns whichever of a and b has the larger Value (nil-safe).
func chaosMaxOp(a, b *chaosOp) *chaosOp {
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

type chaosSessionKey struct {
	session int
	key     int64
}

// check checks the history against the model (see the Violation kinds) and
// returns the report.
func (h *chaosHistory) check() *chaosReport {
	h.mu.Lock()
	ops := slices.Clone(h.ops)
	faults := slices.Clone(h.faults)
	h.mu.Unlock()
	t0 := h.t0
	r := &chaosReport{Ops: len(ops), Modes: map[string]*chaosModeFigures{}, Surfaces: map[string]int{},
		Scopes: map[string]int{}, Servers: map[int]int{}, Faults: map[string]int{}}

	for _, f := range faults {
		r.Faults[f.Kind]++
		if f.Err != nil {
			r.FaultErrs = append(r.FaultErrs, f.describe(t0))
		}
	}
	inPromotion := func(from, to time.Time) bool {
		for _, f := range faults {
			if f.Kind == faultPromote && !to.Before(f.Start) && !from.After(f.End.Add(chaosPromotionSettle)) {
				return true
			}
		}
		return false
	}
	// quiet reports whether no fault was under way from from to to, nor
	// had ended (every replica caught up) less than chaosFaultSettle before.
	// A Sleep(d) read that began in a period quiet since d before it sees
	// its scope's writes: one completed before a fault was put back was
	// applied when the replicas caught up, one completed after replicated
	// with no fault, and the read came at least d after it.
	quiet := func(from, to time.Time) bool {
		for _, f := range faults {
			if !to.Before(f.Start) && !from.After(f.End.Add(chaosFaultSettle)) {
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
	byKey := map[int64][]*chaosOp{}
	bySession := map[chaosSessionKey][]*chaosOp{}
	advances := map[chaosSessionKey][]*chaosOp{}
	byValue := map[int64]*chaosOp{}
	for _, o := range ops {
		switch o.Kind {
		case chaosWrite:
			byValue[o.Value] = o
			if !o.ok() {
				continue
			}
			byKey[o.Key] = append(byKey[o.Key], o)
			if o.Scope == chaosInSession {
				sk := chaosSessionKey{o.Session, o.Key}
				bySession[sk] = append(bySession[sk], o)
			}
		case chaosAdvance:
			if o.ok() {
				sk := chaosSessionKey{o.Session, o.Key}
				advances[sk] = append(advances[sk], o)
			}
		}
	}
	byEnd := func(l []*chaosOp) {
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
	lastGTIDRead := map[chaosSessionKey]*chaosOp{}
	lastMonotonic := map[chaosSessionKey]*chaosOp{}

	for _, o := range ops {
		r.Surfaces[o.Kind.String()+" "+o.Surface]++
		r.Scopes[o.Kind.String()+" "+o.Scope.String()]++
		switch o.Kind {
		case chaosAdvance:
			r.Advances++
			if !o.ok() {
				r.Violations = append(r.Violations, chaosViolation{Kind: chaosViolToken, Ops: []*chaosOp{o},
					Note: "Session.Advance failed on a token handed over"})
			}
		case chaosTokenOp:
			r.Tokens++
			switch {
			case o.ok():
			case inPromotion(o.Start, o.End):
				r.Excused = append(r.Excused, "token not taken during a promotion: "+o.describe(t0))
			default:
				r.Violations = append(r.Violations, chaosViolation{Kind: chaosViolToken, Ops: []*chaosOp{o},
					Note: "TokenContext could not read the primary's position while the primary was up"})
			}
		case chaosWrite:
			r.Writes++
			if o.Begun > 1 {
				r.BegunAgain++
			}
			out := chaosWriteOutcome(o.Err)
			switch out {
			case chaosAcked:
				r.Acked++
				continue
			case chaosNotRun:
				r.NotRun++
			default:
				r.Unknown++
			}
			r.FailedWrites++
			var we *rwsplit.WriteError
			judged := errors.As(o.Err, &we) || errors.Is(o.Err, rwsplit.ErrBeginAgain)
			switch promo := inPromotion(o.Start, o.End); {
			case chaosIs1290(o.Err) && !judged && promo:
				r.Refused1290 = append(r.Refused1290, o)
			case chaosIs1290(o.Err) && !judged:
				r.Violations = append(r.Violations, chaosViolation{Kind: chaosViol1290, Ops: []*chaosOp{o}})
			case promo && out == chaosNotRun:
				// No primary within the hold, a transaction cut off
				// more often than it is begun again, a Conn on the
				// fenced primary: nothing ran (checkWriteLog checks it).
				r.Excused = append(r.Excused, "write not run during a promotion: "+o.describe(t0))
			case promo && judged:
				// The library cannot tell (a connection lost once the
				// write was sent): either result is right, not two.
				r.Excused = append(r.Excused, "write of unknown outcome during a promotion: "+o.describe(t0))
			default:
				r.Violations = append(r.Violations, chaosViolation{Kind: chaosViolFailWrite, Ops: []*chaosOp{o}})
			}
		case chaosRead:
			r.Reads++
			name := chaosModeNames[o.Mode.kind]
			mf := r.Modes[name]
			if mf == nil {
				mf = &chaosModeFigures{}
				r.Modes[name] = mf
			}
			mf.Reads++
			mf.lat = append(mf.lat, o.End.Sub(o.Start))
			if !o.ok() {
				mf.Failed++
				r.FailedReads++
				if o.Surface == "ParseToken" {
					r.Violations = append(r.Violations, chaosViolation{Kind: chaosViolToken, Ops: []*chaosOp{o},
						Note: "a token handed over does not parse"})
					continue
				}
				if errors.Is(o.Err, rwsplit.ErrNoPrimary) && inPromotion(o.Start, o.End) &&
					(o.Mode.kind != chaosEventual && o.Mode.kind != chaosSleep || chaosPinnedToPrimary(o.Surface)) {
					r.Excused = append(r.Excused, "read failed with ErrNoPrimary during a promotion (it must read the primary): "+o.describe(t0))
					continue
				}
				r.Violations = append(r.Violations, chaosViolation{Kind: chaosViolFailRead, Ops: []*chaosOp{o},
					Note: "reads fall back to the primary and must not fail while a server that may serve them is up"})
				continue
			}
			r.Servers[o.Server]++

			// Sanity: the value was written, and not after the read ended.
			if o.Value != 0 {
				w := byValue[o.Value]
				switch {
				case w == nil:
					r.Violations = append(r.Violations, chaosViolation{Kind: chaosViolPhantom, Ops: []*chaosOp{o}})
				case w.Key != o.Key:
					r.Violations = append(r.Violations, chaosViolation{Kind: chaosViolPhantom, Ops: []*chaosOp{o, w},
						Note: "the value belongs to another key"})
				case w.Start.After(o.End):
					r.Violations = append(r.Violations, chaosViolation{Kind: chaosViolFuture, Ops: []*chaosOp{o, w}})
				case chaosWriteOutcome(w.Err) == chaosNotRun:
					r.Violations = append(r.Violations, chaosViolation{Kind: chaosViolNotRun, Ops: []*chaosOp{o, w},
						Note: "the read saw the value of a write that failed as not run"})
				}
			}

			all := chaosLastBefore(byKey[o.Key], o.Start) // every write of db1
			var scoped *chaosOp                           // the writes of the read's scope
			switch o.Scope {
			case chaosInProcess:
				scoped = all
			case chaosInSession:
				sk := chaosSessionKey{o.Session, o.Key}
				scoped = chaosMaxOp(chaosLastBefore(bySession[sk], o.Start), chaosAdvanced(advances[sk], o.Start, byValue))
			case chaosInToken:
				if o.Min > 0 {
					scoped = byValue[o.Min]
				}
			}

			// The obligation, per mode.
			var must *chaosOp
			claim := ""
			switch {
			case (o.Mode.kind == chaosPrimary || chaosPinnedToPrimary(o.Surface)) && o.DB == 1:
				must, claim = chaosMaxOp(all, scoped), "reads the primary, which has every write"
			case o.Mode.kind == chaosPrimary || chaosPinnedToPrimary(o.Surface):
				must, claim = scoped, "reads the primary"
			case o.Mode.waits():
				must, claim = scoped, fmt.Sprintf("%s waits for its scope", o.Mode)
			case o.Mode.kind == chaosLatest && o.DB == 1:
				// Every write acknowledged before the read began, by anyone.
				must, claim = chaosMaxOp(all, scoped), fmt.Sprintf("%s sees every write committed before it began", o.Mode)
			case o.Mode.kind == chaosSleep && o.Mode.d >= chaosSleepClaimMin && scoped != nil &&
				quiet(o.Start.Add(-o.Mode.d), o.End):
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
					r.Violations = append(r.Violations, chaosViolation{Kind: chaosViolRYW, Ops: []*chaosOp{o, must}, Note: note})
				}
			}
			if ref := chaosMaxOp(all, scoped); ref != nil && o.Value < ref.Value {
				mf.Stale++
			}
			switch {
			case o.Mode.kind == chaosEventual && all != nil && !chaosPinnedToPrimary(o.Surface):
				r.EventualChecked++
				if o.Value < all.Value {
					r.StaleEventual++
				}
			case o.Mode.kind == chaosCaughtUp && scoped != nil && o.Value < scoped.Value:
				r.StaleCaughtUp++
			case o.Mode.kind == chaosSleep && must == nil && scoped != nil && o.Value < scoped.Value:
				r.StaleSleepUnclaimed++
			}

			// Monotonic reads: a Session's WaitGTID reads of its own
			// session rows never go back.
			if owner, sessionRow := chaosKeyOwner(o.Key); o.Scope == chaosInSession && o.Mode.kind == chaosWaitGTID &&
				sessionRow && owner == o.Session && o.DB == 1 {
				sk := chaosSessionKey{o.Session, o.Key}
				if prev := lastGTIDRead[sk]; prev != nil {
					r.MonotonicChecked++
					if o.Value < prev.Value {
						v := chaosViolation{Kind: chaosViolMonotonic, Ops: []*chaosOp{prev, o},
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
			if o.Scope == chaosInSession && o.Mode.kind == chaosMonotonic && o.DB == 1 {
				sk := chaosSessionKey{o.Session, o.Key}
				if prev := lastMonotonic[sk]; prev != nil && !prev.End.After(o.Start) {
					r.MonotonicChecked++
					if o.Value < prev.Value {
						r.Violations = append(r.Violations, chaosViolation{Kind: chaosViolMonotonic, Ops: []*chaosOp{prev, o},
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

// chaosAdvanced is the latest write covered by the advances of l that ended
// before t (the write of the largest value), or nil.
func chaosAdvanced(l []*chaosOp, t time.Time, byValue map[int64]*chaosOp) *chaosOp {
	var best *chaosOp
	for _, a := range l {
		if a.End.Before(t) {
			best = chaosMaxOp(best, byValue[a.Value])
		}
	}
	return best
}

// checkWriteLog checks the writes of ops against runs, the number of rows
// of each value in the final primary's app.chaos_log (one per run of the
// write of that value): no write ran twice, an acknowledged write ran once,
// a write that failed as not run did not run, and a write of unknown outcome
// ran once or not at all; every row is a recorded write's. It counts the
// unknown writes found and not found.
func (r *chaosReport) checkWriteLog(ops []*chaosOp, runs map[int64]int) {
	r.LogChecked = true
	left := maps.Clone(runs)
	for _, n := range runs {
		r.LogRows += n
	}
	for _, o := range ops {
		if o.Kind != chaosWrite {
			continue
		}
		n := runs[o.Value]
		delete(left, o.Value)
		if n > 1 {
			r.RunTwice++
			r.Violations = append(r.Violations, chaosViolation{Kind: chaosViolTwice, Ops: []*chaosOp{o},
				Note: fmt.Sprintf("the final primary's app.chaos_log has %d rows of this write's value: it ran %d times", n, n)})
			continue
		}
		switch chaosWriteOutcome(o.Err) {
		case chaosAcked:
			if n == 0 {
				r.Violations = append(r.Violations, chaosViolation{Kind: chaosViolLost, Ops: []*chaosOp{o},
					Note: "acknowledged, and absent from the final primary's app.chaos_log"})
			}
		case chaosNotRun:
			if n > 0 {
				r.NotRunPresent++
				r.Violations = append(r.Violations, chaosViolation{Kind: chaosViolNotRun, Ops: []*chaosOp{o},
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
		r.Violations = append(r.Violations, chaosViolation{Kind: chaosViolLogPhantom,
			Note: fmt.Sprintf("app.chaos_log has %d rows of value %d, which no write of the history wrote", left[w], w)})
	}
}

func chaosMinTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// chaosPinnedToPrimary reports whether reads through surface always run on the
// primary (a Conn, a read-write transaction), whatever the mode.
func chaosPinnedToPrimary(surface string) bool {
	return strings.HasPrefix(surface, "Conn.") || strings.HasSuffix(surface, "Tx.ReadWrite")
}

// summary returns the report's figures as lines for the test log.
func (r *chaosReport) summary() []string {
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
		r.StaleEventual, r.EventualChecked, r.StaleCaughtUp, chaosSleepClaimMin, r.StaleSleepUnclaimed))
	out = append(out, "per mode: stale = missed a write of its row completed before it began (by any client); checked = had a write it promises to see; violations = missed one")
	out = append(out, fmt.Sprintf("  %-13s %7s %7s %7s %8s %10s %9s %9s", "mode", "reads", "failed", "stale", "checked", "violations", "p50", "p99"))
	names := make([]string, 0, len(r.Modes))
	for _, k := range []chaosModeKind{chaosEventual, chaosPrimary, chaosSleep, chaosCaughtUp, chaosWaitPosition, chaosWaitGTID,
		chaosFast, chaosLatest, chaosMonotonic, chaosMaxStaleness} {
		if r.Modes[chaosModeNames[k]] != nil {
			names = append(names, chaosModeNames[k])
		}
	}
	for _, n := range names {
		m := r.Modes[n]
		slices.Sort(m.lat)
		out = append(out, fmt.Sprintf("  %-13s %7d %7d %7d %8d %10d %9v %9v", n, m.Reads, m.Failed, m.Stale, m.Checked, m.Violations,
			chaosPct(m.lat, 50).Round(100*time.Microsecond), chaosPct(m.lat, 99).Round(100*time.Microsecond)))
	}
	out = append(out, "surfaces: "+chaosCounts(r.Surfaces))
	out = append(out, "scopes: "+chaosCounts(r.Scopes))
	servers := map[string]int{}
	for id, n := range r.Servers {
		servers[fmt.Sprintf("server %d", id)] = n
	}
	out = append(out, "reads answered by: "+chaosCounts(servers))
	out = append(out, "faults: "+chaosCounts(r.Faults))
	out = append(out, fmt.Sprintf("writes refused as read-only during a promotion, unjudged by the library (a bare 1290/1836; reported apart): %d", len(r.Refused1290)))
	out = append(out, fmt.Sprintf("failures excused (during a promotion: no primary known, writes not run or of unknown outcome): %d", len(r.Excused)))
	return out
}

func chaosPct(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, len(sorted)*p/100)]
}

func chaosCounts(m map[string]int) string {
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

// describeViolation prints v with its operations and the faults around it.
func (h *chaosHistory) describeViolation(v chaosViolation) string {
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
		fmt.Fprintf(&b, "\n    %s", o.describe(h.t0))
		from, to = chaosMinTime(from, o.Start), chaosMaxTime(to, o.End)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, f := range h.faults {
		switch {
		case !to.Before(f.Start) && !from.After(f.End):
			fmt.Fprintf(&b, "\n    during %s", f.describe(h.t0))
		case !to.Before(f.Start) && !from.After(f.End.Add(chaosPromotionSettle)):
			fmt.Fprintf(&b, "\n    shortly after %s", f.describe(h.t0))
		}
	}
	return b.String()
}

func chaosMaxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// write writes every fault and operation, in the order recorded, to path.
func (h *chaosHistory) write(path string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	var b strings.Builder
	for _, f := range h.faults {
		fmt.Fprintln(&b, f.describe(h.t0))
	}
	for _, o := range h.ops {
		fmt.Fprintln(&b, o.describe(h.t0))
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

// TestChaosWriteLogCheck: the write log check (no Docker) tells each outcome
// apart and catches a write run twice, an acknowledged write absent, a write
// reported not run that ran, and a row of no write.
func TestChaosWriteLogCheck(t *testing.T) {
	notRun := &rwsplit.WriteError{NotRun: true, Err: rwsplit.ErrNoPrimary}
	unknown := &rwsplit.WriteError{Err: errors.New("invalid connection")}
	beginAgain := fmt.Errorf("tx: %w", rwsplit.ErrBeginAgain)
	for _, c := range []struct {
		err  error
		want chaosOutcome
	}{
		{nil, chaosAcked}, {notRun, chaosNotRun}, {unknown, chaosUnknown}, {beginAgain, chaosNotRun},
		{rwsplit.ErrNoPrimary, chaosNotRun}, {context.DeadlineExceeded, chaosUnknown},
		{fmt.Errorf("%w", &rwsplit.WriteError{Err: beginAgain}), chaosUnknown},
		{&mysql.MySQLError{Number: 1290}, chaosNotRun},
		{&rwsplit.WriteError{Err: &mysql.MySQLError{Number: 1290}}, chaosUnknown},
	} {
		assert.Equal(t, c.want, chaosWriteOutcome(c.err), "%v", c.err)
	}

	w := func(v int64, err error) *chaosOp { return &chaosOp{Kind: chaosWrite, Value: v, Err: err} }
	ops := []*chaosOp{
		w(1, nil),                           // ran once: right
		w(2, nil),                           // absent: lost
		w(3, notRun),                        // present: ran although not run
		w(4, unknown),                       // present: either is right
		w(5, context.DeadlineExceeded),      // absent: either is right
		w(6, nil),                           // twice
		w(7, beginAgain),                    // absent: right
		w(8, unknown),                       // twice, even of unknown outcome
		{Kind: chaosRead, Value: 1, Key: 0}, // not a write
	}
	r := &chaosReport{}
	r.checkWriteLog(ops, map[int64]int{1: 1, 3: 1, 4: 1, 6: 2, 8: 2, 99: 1})
	assert.Equal(t, 8, r.LogRows)
	assert.Equal(t, 2, r.RunTwice)
	assert.Equal(t, 1, r.NotRunPresent)
	assert.Equal(t, 1, r.UnknownPresent)
	assert.Equal(t, 1, r.UnknownAbsent)
	kinds := map[string]int{}
	for _, v := range r.Violations {
		kinds[v.Kind]++
	}
	assert.Equal(t, map[string]int{chaosViolTwice: 2, chaosViolLost: 1, chaosViolNotRun: 1, chaosViolLogPhantom: 1}, kinds)
}
