package sqlclass

// This file holds the classification state: what a scan records about the
// statements (their kind, flags, nesting) and the token ring it reads from.

// stmtKind is what the first words of a statement make it.
type stmtKind uint8

const (
	kindEmpty     stmtKind = iota // nothing but whitespace and comments
	kindSelect                    // SELECT, WITH ... SELECT, (SELECT ...), TABLE, VALUES
	kindExplain                   // EXPLAIN/DESCRIBE/ANALYZE of a query
	kindDescribe                  // DESCRIBE/EXPLAIN of a table
	kindShow                      // a whitelisted SHOW
	kindHelp                      // HELP 'topic'
	kindShowOther                 // any other SHOW: primary, not a write
	kindNoWrite                   // SET, USE, transaction control, LOCK TABLES ...: primary, not a write
	kindWrite                     // anything else: primary, may write
)

// flagSet records what the token scan found.
type flagSet uint32

const (
	flMulti        flagSet = 1 << iota // more than one statement
	flWrite                            // a write keyword, or a CTE over a non-query
	flSeqWrite                         // NEXTVAL, SETVAL, NEXT VALUE FOR
	flLock                             // FOR UPDATE, FOR SHARE, LOCK IN SHARE MODE, NOWAIT, SKIP LOCKED
	flInto                             // INTO
	flFoundRows                        // SQL_CALC_FOUND_ROWS
	flProcedure                        // PROCEDURE clause
	flUserVar                          // @var or :=
	flSessionVar                       // session-bound @@var
	flSessionFn                        // session-bound or side-effect function
	flSessionTable                     // a table describing the current connection
	flSeqRead                          // LASTVAL, CURRVAL, PREVIOUS VALUE FOR
	flUnknownFn                        // a call of a function that is not a known built-in
	flTooDeep                          // parentheses nested deeper than maxDepth
	flUnbalanced                       // a ")" without "(" or a "(" without ")"
	flSessionState                     // a call of a function that leaves state on the connection
)

// sessionFlags: what makes a statement leave state on its connection (see
// Result.Session): user variables (read ones too: they only mean something
// on the connection that set them), INTO (@var), a function that may be a
// stored function (it may do anything), NEXTVAL (LASTVAL's state),
// SQL_CALC_FOUND_ROWS (FOUND_ROWS' state) and lock functions.
const sessionFlags = flUserVar | flInto | flUnknownFn | flSeqWrite | flFoundRows | flSessionState

// maxDepth bounds the parenthesis nesting the classifier tracks; deeper
// statements go to the primary.
const maxDepth = 64

// Per-level state (state.lvl): the CTE recogniser, markers of what the
// level has seen, and two one-shot checks of a parenthesised list.
const (
	cteNone      = 0
	cteWantName  = 1 // after WITH [RECURSIVE] or ",": a CTE name
	cteAfterName = 2 // after the name: column list "(" or AS
	cteWantBody  = 3 // after AS: "("
	cteAfterBody = 4 // after the body: "," or the main statement
	cteMask      = 7
	lvlValues    = 8  // a VALUES keyword was seen at this level (ROW(...) constructors)
	lvlMatch     = 16 // a MATCH keyword was seen at this level (MATCH a, b AGAINST (...))
	lvlRow       = 32 // ROW( opened this level and no "," followed yet: ROW(x) may be a call
	lvlLateral   = 64 // LATERAL( opened this level: a derived table only if SELECT or WITH follows
	// lvlSlow: states under which every token of the level goes through
	// state.process (the fast path of state.statement skips them).
	lvlSlow = cteMask | lvlRow | lvlLateral
)

// state is the per-call classification state. It lives on the stack.
type state struct {
	c  *Classifier
	lx lexer
	// ring holds the tokens p2, p1 (the two before the current one), cur
	// (being processed) and nx (the one after it), at indexes at-2 .. at+1
	// modulo 4. Advancing moves at instead of copying tokens.
	ring    [4]token
	at      uint
	depth   int
	lvl     [maxDepth + 1]uint8
	atStart bool // cur starts a query: statement start or just after "("
	cteName bool // cur is a CTE name (its "(" opens a column list)
	kind    stmtKind
	stmts   int
	write   bool // some statement is of kind kindWrite
	// session: some statement leaves state on the connection for a reason
	// other than sessionFlags (its kind, or what a write loop saw).
	session bool
	flags   flagSet
	// done, doneWrite and doneSession are flags, write and session as they
	// were when the current statement started: what the statements before
	// it did.
	done        flagSet
	doneWrite   bool
	doneSession bool
	// excl: word flags that make a function name no built-in on the
	// servers considered (see Flavor.exclude).
	excl wordFlags
	// nextLvl is the level state the next "(" opens with (lvlRow after
	// ROW, lvlLateral after LATERAL).
	nextLvl uint8
}

func (st *state) init(c *Classifier, q string, rd reading, excl wordFlags) {
	st.c = c
	st.excl = excl
	st.lx.init(q, rd)
}

func (st *state) p2() *token  { return &st.ring[(st.at-2)&3] }
func (st *state) p1() *token  { return &st.ring[(st.at-1)&3] }
func (st *state) cur() *token { return &st.ring[st.at&3] }
func (st *state) nx() *token  { return &st.ring[(st.at+1)&3] }

// lookup fills in the keyword id and flags of a word lexed without them.
func (st *state) lookup(t *token) {
	if t.kind == tkWord {
		t.id, t.fl = lookupAt(st.lx.s, t.start, t.end)
	}
}

func (st *state) isKw(t *token, id kwID) bool {
	return t.kind == tkWord && !t.identOnly && t.id == id
}

// level is the index into st.lvl for the current depth.
func (st *state) level() int {
	if st.depth > maxDepth {
		return maxDepth
	}
	return st.depth
}
