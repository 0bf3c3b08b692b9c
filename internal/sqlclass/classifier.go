package sqlclass

// Hint is a routing hint found in a comment of the statement.
type Hint uint8

const (
	// HintNone: the statement carries no rwsplit hint.
	HintNone Hint = iota
	// HintPrimary: a comment reads "rwsplit:primary"; the statement goes to
	// the primary whatever it is.
	HintPrimary
	// HintReplica: a comment reads "rwsplit:replica". It only relaxes the
	// rule for unknown (possibly stored) functions in a plain query.
	HintReplica
)

// Result is the classification of one statement.
type Result struct {
	// Replica is true only when the statement is provably read-only,
	// session-independent, and a single statement.
	Replica bool
	// Write is true when the statement may change data or schema (DML, DDL,
	// CALL, DO, LOAD, a query calling an unknown function, an unknown
	// statement ...). It is false for reads (locking reads included), SET,
	// USE, SHOW, transaction control and empty input.
	Write bool
	// Hint reports the rwsplit hint comment found, if any. When both hints
	// appear, HintPrimary wins.
	Hint Hint
	// Reason says, in a constant string, why the statement goes to the
	// primary; it is "" when Replica is true.
	Reason string
}

// Reasons. They are constants so that Classify never allocates.
const (
	reasonHint         = "rwsplit:primary hint"
	reasonUnterminated = "unterminated string or quoted identifier"
	reasonComment      = "unterminated comment"
	reasonAmbiguous    = "comment boundaries depend on the server"
	reasonSyntax       = "invalid character"
	reasonLiteral      = "invalid hex or bit literal"
	reasonEscape       = "reading depends on NO_BACKSLASH_ESCAPES or ANSI_QUOTES"
	reasonVersion      = "reading depends on the server version or flavour"
	reasonVersions     = "too many version-dependent comments"
	reasonMulti        = "multiple statements"
	reasonEmpty        = "empty statement"
	reasonWrite        = "statement may write"
	reasonNotQuery     = "not a read-only query"
	reasonShow         = "SHOW statement not known to be replica-safe"
	reasonSequence     = "sequence access"
	reasonLock         = "locking read"
	reasonInto         = "INTO clause"
	reasonFoundRows    = "SQL_CALC_FOUND_ROWS"
	reasonProcedure    = "PROCEDURE clause"
	reasonUserVar      = "user variable"
	reasonSessionVar   = "session-bound system variable"
	reasonSessionFn    = "session-bound or side-effect function"
	reasonTooDeep      = "nesting too deep"
	reasonUnbalanced   = "unbalanced parentheses"
	reasonUnknownFn    = "unknown function (may be a stored function that writes)"
)

// Classifier decides where a statement may run. It is safe for concurrent
// use and immutable after New.
type Classifier struct {
	// pure holds the normalised (lower-case, "name" or "schema.name")
	// stored functions the caller declared read-only.
	pure map[string]struct{}
}

// New returns a classifier. pure lists stored (user-defined) function names
// the caller declares read-only (case-insensitive, may be schema-qualified
// like "db.fn" or bare "fn"); SELECTs calling them may go to replicas.
//
// A qualified name matches only a qualified call (db.fn(...)) and a bare name
// only a bare call (fn(...)): a bare call resolves in the connection's
// current database, which the classifier cannot know. Names may be quoted
// with backticks; malformed names are ignored.
func New(pure ...string) *Classifier {
	c := &Classifier{}
	for _, name := range pure {
		n, ok := normalizeFuncName(name)
		if !ok {
			continue
		}
		if c.pure == nil {
			c.pure = make(map[string]struct{}, len(pure))
		}
		c.pure[n] = struct{}{}
	}
	return c
}

// Classify classifies one SQL string. It never allocates and never panics.
func (c *Classifier) Classify(query string) Result {
	var st state
	st.init(c, query, reading{})
	st.run()
	replica, write, reason := st.verdict(false)
	r := Result{Replica: replica, Write: write, Reason: reason, Hint: st.hint()}
	lx := &st.lx
	if (replica || !write) && (lx.escSingle || lx.escDouble || lx.sawCond) {
		// Another reading may forbid the replica, or write.
		ok, w, why := c.otherReadings(query, lx)
		if replica && !ok {
			r.Replica, r.Reason = false, why
		}
		r.Write = r.Write || w
	}
	return r
}
