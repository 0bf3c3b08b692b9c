package sqlclass

import "github.com/rwsplit/rwsplit/internal/dialect"

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

// Result is the classification of one statement. It carries two verdicts
// that answer different questions and must not be confused:
//
//   - Replica: may the statement run on a replica? Only when it is provably
//     read-only, session-independent and a single statement.
//   - Write: may the statement change data or schema? This is what a router
//     counts as a write (and what advances a consistency scope).
//
// A statement sent to the primary only because it reads session state (a
// session-bound function or variable, a table describing the connection,
// a locking read, SHOW WARNINGS ...) has Replica false and Write false.
// Write implies !Replica, never the other way round.
type Result struct {
	// Replica is true only when the statement is provably read-only,
	// session-independent, and a single statement.
	Replica bool
	// Write is true when the statement may change data or schema: DML,
	// DDL, CALL, DO, LOAD, a query calling a function that may be a stored
	// function, an unknown statement, or text that servers may split into
	// statements differently than the classifier does (comment boundaries
	// that depend on the server version, bytes that depend on the character
	// set). It is false for reads (locking reads included), SET, USE, SHOW,
	// transaction control, empty input and text every server rejects
	// outright (an unterminated string or comment, a bad hex literal, a
	// stray character): statements before the rejected one still count.
	Write bool
	// Hint reports the rwsplit hint comment found, if any. When both hints
	// appear, HintPrimary wins.
	Hint Hint
	// Reason says, in a constant string, why the statement goes to the
	// primary; it is "" when Replica is true.
	Reason string
	// Session is true when the statement may leave state on its connection
	// that later statements on that connection could see: SET (variables,
	// character set, autocommit, the next transaction's characteristics),
	// USE, transaction control, LOCK and UNLOCK, KILL, DEALLOCATE, any write
	// that is not a plain INSERT, REPLACE, UPDATE or DELETE (DDL such as
	// CREATE TEMPORARY TABLE, CALL, DO, PREPARE, EXECUTE, HANDLER, FLUSH,
	// LOAD ...), a user variable anywhere (@x, @x := ...), INTO, a call of
	// GET_LOCK, RELEASE_LOCK, RELEASE_ALL_LOCKS or NEXTVAL, SQL_CALC_FOUND_ROWS,
	// a call of a function that may be a stored function (in a query), and
	// anything the lexer cannot read with certainty. A router that lends
	// pooled connections statement by statement keeps such a statement's
	// connection for its caller. It is conservative: when in doubt, true. It
	// does not see state left by a trigger, or by a stored function called
	// from a plain INSERT, REPLACE, UPDATE or DELETE. Replica implies
	// !Session.
	Session bool
}

// Reasons. They are constants so that Classify never allocates.
const (
	reasonHint         = "rwsplit:primary hint"
	reasonUnterminated = "unterminated string or quoted identifier"
	reasonComment      = "unterminated comment"
	reasonAmbiguous    = "comment boundaries depend on the server"
	reasonCharset      = "reading depends on the character set"
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
	reasonSessionTable = "table describing the current connection"
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
	// anyPure declares every function read-only. Only tests set it: it
	// tells which statements have no obstacle but unknown functions.
	anyPure bool
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

// exclude returns the word flags that, on a server of flavour f, mean that
// a function name is not a built-in there.
func exclude(f dialect.Flavor) wordFlags {
	switch f {
	case dialect.MySQL:
		return fMariaDBOnly
	case dialect.MariaDB:
		return fMySQLOnly
	}
	return fMySQLOnly | fMariaDBOnly
}

// flavour returns the lexer's reading of version-conditional comments for
// a server of flavour f: anyFlavour runs every executable comment.
func flavourOf(f dialect.Flavor) flavour {
	switch f {
	case dialect.MySQL:
		return mysqlFlavour
	case dialect.MariaDB:
		return mariadbFlavour
	}
	return anyFlavour
}

// Classify classifies one SQL string for a server of unknown flavour, as
// ClassifyFlavor(query, dialect.Unknown) does. It never allocates and never
// panics.
func (c *Classifier) Classify(query string) Result {
	return c.classify(query, reading{}, fMySQLOnly|fMariaDBOnly)
}

// ClassifyFlavor classifies one SQL string for a server of flavour f: a
// function name counts as a built-in only if it is one of f (of both
// flavours for dialect.Unknown, or a value it does not know), and
// version-conditional comments are read as servers of f read them. It
// never allocates and never panics.
func (c *Classifier) ClassifyFlavor(query string, f dialect.Flavor) Result {
	return c.classify(query, reading{flavour: flavourOf(f)}, exclude(f))
}

// classify classifies query in the main reading rd, which may assume a
// flavour, taking no function name with a flag of excl for a built-in.
func (c *Classifier) classify(query string, rd reading, excl wordFlags) Result {
	var st state
	st.init(c, query, rd, excl)
	st.run()
	replica, write, reason := st.verdict(false)
	r := Result{Replica: replica, Write: write, Reason: reason, Hint: st.hint(), Session: st.sessionVerdict(false)}
	lx := &st.lx
	if (replica || !write || !r.Session) && (lx.escSingle || lx.escDouble || lx.sawCond) {
		// Another reading may forbid the replica, write, or leave state.
		ok, w, sess, why := c.otherReadings(query, lx, excl)
		if replica && !ok {
			r.Replica, r.Reason = false, why
		}
		r.Write = r.Write || w
		r.Session = r.Session || sess
	}
	if r.Replica {
		// Provably session-independent; with the replica hint, the caller
		// vouches for the unknown functions as well.
		r.Session = false
	}
	return r
}
