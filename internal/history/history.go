// Package history is the randomized history checker of TestChaos: the
// history a chaos run records (operations and faults), the model it is
// checked against, and the report.
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
// (WriteOutcome): acknowledged (its effect must be there once); failed
// and not run (a WriteError with NotRun, ErrBeginAgain that RunTx or
// the workload's loop gave up on, ErrNoPrimary, a bare 1290: its effect
// must be absent); or unknown (a WriteError without NotRun, or any other
// error: it may have run; once or not at all, both are right).
// Report.CheckWriteLog checks the final primary's log against them.
package history

import (
	"slices"
	"sync"
	"time"
)

// The rows of the model: client c owns keys c*KeysPerClient and the next
// ones; the first SessionKeys of them are written through the client's
// Session, the others without one (in the process scope only).
const (
	KeysPerClient = 4
	SessionKeys   = 2
)

// KeyOwner is the client that owns key k, and whether k is one of its
// session rows (written through its Session) rather than a process row
// (written without one).
func KeyOwner(k int64) (client int, sessionRow bool) {
	return int(k / KeysPerClient), k%KeysPerClient < SessionKeys
}

// OpKind is what an operation did.
type OpKind uint8

const (
	OpWrite   OpKind = iota + 1 // an UPDATE of one row
	OpRead                      // a read of one row and @@server_id
	OpAdvance                   // Session.Advance with a token handed over
	OpToken                     // Session.TokenContext after a write, to hand the token over
)

func (k OpKind) String() string {
	switch k {
	case OpWrite:
		return "write"
	case OpRead:
		return "read"
	case OpAdvance:
		return "advance"
	case OpToken:
		return "token"
	}
	return "?"
}

// Scope is the scope an operation ran in.
type Scope uint8

const (
	InSession Scope = iota + 1 // the client's own Session on db1
	InProcess                  // no Session: db1's process scope
	InToken                    // db2, a Session made from a token handed over through the queue
)

func (s Scope) String() string {
	switch s {
	case InSession:
		return "session"
	case InProcess:
		return "process"
	case InToken:
		return "token"
	}
	return "?"
}

// Op is one recorded operation.
type Op struct {
	ID     int
	Kind   OpKind
	Client int // clients 0..n-1 on db1; consumers n, n+1, ... on db2
	DB     int // 1 or 2
	Scope  Scope
	// Session identifies the Session used: the client's for InSession,
	// the producing write's op ID for InToken; -1 in the process scope.
	Session int
	Mode    Mode
	Surface string
	Key     int64
	// Value is the value written, seen, or covered by the advanced token.
	Value int64
	// Min is, for a read in InToken, the value of the producing write
	// the token covers; Producer is that write's op ID (InToken reads
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

// OK reports whether the operation succeeded.
func (o *Op) OK() bool { return o.Err == nil }

// FaultPromote is the Kind of a promotion fault (a replica promoted, or an
// election): the failures a promotion excuses are checked against these.
const FaultPromote = "promote"

// Fault is one injected fault: from its start until the cluster was
// put back (Restored) and every replica had caught up with the primary (End).
type Fault struct {
	Kind, Target, Detail string
	Start, Restored, End time.Time
	Err                  error
}

// History is what a run recorded. It is safe for concurrent use.
type History struct {
	t0     time.Time
	mu     sync.Mutex
	ops    []*Op
	faults []*Fault
}

// New returns an empty history that starts now.
func New() *History { return &History{t0: time.Now()} }

// Start is when the history began: reports give times relative to it.
func (h *History) Start() time.Time { return h.t0 }

// Add records op and returns its ID.
func (h *History) Add(op *Op) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	op.ID = len(h.ops)
	h.ops = append(h.ops, op)
	return op.ID
}

// AddFault records f.
func (h *History) AddFault(f *Fault) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.faults = append(h.faults, f)
}

// Ops returns the operations recorded so far, in the order recorded.
func (h *History) Ops() []*Op {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.ops)
}

// Faults returns the faults recorded so far, in the order recorded.
func (h *History) Faults() []*Fault {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.faults)
}
