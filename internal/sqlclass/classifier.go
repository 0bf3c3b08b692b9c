package sqlclass

import "strings"

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

// normalizeFuncName turns "DB.Fn", "`db`.`fn`" or " fn " into the form
// Classify builds for a call: ASCII lower case, parts joined by ".".
func normalizeFuncName(name string) (string, bool) {
	parts := strings.Split(strings.TrimSpace(name), ".")
	if len(parts) > 2 {
		return "", false
	}
	for i, p := range parts {
		p = strings.TrimSpace(p)
		if len(p) >= 2 && p[0] == '`' && p[len(p)-1] == '`' {
			p = strings.ReplaceAll(p[1:len(p)-1], "``", "`")
		}
		if p == "" || len(p) > 64 {
			return "", false
		}
		b := []byte(p)
		for j, c := range b {
			if 'A' <= c && c <= 'Z' {
				b[j] = c + 'a' - 'A'
			}
		}
		parts[i] = string(b)
	}
	return strings.Join(parts, "."), true
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

// otherReadings classifies query in every other way a server may read it,
// as noted by the main reading's lexer: with backslash escapes off
// (NO_BACKSLASH_ESCAPES, ANSI_QUOTES) when a backslash escaped a quote, and,
// when version-conditional comments appear, as a MySQL or MariaDB server of
// every version that makes a difference. ok reports whether every reading
// allows a replica or is one the server rejects outright (an unterminated
// string, say); write whether some reading may write; reason why not ok.
// This runs only for queries with such escapes or comments.
func (c *Classifier) otherReadings(query string, main *lexer) (ok, write bool, reason string) {
	if main.manyVers {
		return false, true, reasonVersions
	}
	escapes := [...]reading{{}, {noEscSingle: true, noEscDouble: true}, {noEscDouble: true}}
	nEsc := 1
	if main.escSingle || main.escDouble {
		nEsc = 2
	}
	if main.escDouble {
		nEsc = 3
	}
	flavours := []flavour{anyFlavour}
	if main.sawCond {
		flavours = []flavour{mysqlFlavour, mariadbFlavour}
	}
	ok = true
	for e := 0; e < nEsc; e++ {
		for _, f := range flavours {
			for v := -1; v < main.nVersions; v++ {
				if f == anyFlavour && v >= 0 {
					break // the main reading runs every comment
				}
				rd := escapes[e]
				rd.flavour = f
				if v >= 0 {
					if main.versions[v] == 0 {
						continue // no server is older than version 0
					}
					rd.below, rd.hasBelow = main.versions[v], true
				}
				if rd == (reading{}) {
					continue // the main reading
				}
				var alt state
				alt.init(c, query, rd)
				alt.run()
				altOK, altWrite, _ := alt.verdict(true)
				write = write || altWrite
				if !altOK && ok {
					ok, reason = false, reasonVersion
					if e > 0 {
						reason = reasonEscape
					}
				}
			}
		}
	}
	return ok, write, reason
}

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
	flMulti      flagSet = 1 << iota // more than one statement
	flWrite                          // a write keyword, or a CTE over a non-query
	flSeqWrite                       // NEXTVAL, SETVAL, NEXT VALUE FOR
	flLock                           // FOR UPDATE, FOR SHARE, LOCK IN SHARE MODE, NOWAIT, SKIP LOCKED
	flInto                           // INTO
	flFoundRows                      // SQL_CALC_FOUND_ROWS
	flProcedure                      // PROCEDURE clause
	flUserVar                        // @var or :=
	flSessionVar                     // session-bound @@var
	flSessionFn                      // session-bound or side-effect function
	flSeqRead                        // LASTVAL, CURRVAL, PREVIOUS VALUE FOR
	flUnknownFn                      // a call of a function that is not a known built-in
	flTooDeep                        // parentheses nested deeper than maxDepth
	flUnbalanced                     // a ")" without "(" or a "(" without ")"
)

// maxDepth bounds the parenthesis nesting the classifier tracks; deeper
// statements go to the primary.
const maxDepth = 64

// Per-level state (state.lvl): the CTE recogniser and a VALUES marker.
const (
	cteNone      = 0
	cteWantName  = 1 // after WITH [RECURSIVE] or ",": a CTE name
	cteAfterName = 2 // after the name: column list "(" or AS
	cteWantBody  = 3 // after AS: "("
	cteAfterBody = 4 // after the body: "," or the main statement
	cteMask      = 7
	lvlValues    = 8 // a VALUES keyword was seen at this level (ROW(...) constructors)
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
	flags   flagSet
}

func (st *state) init(c *Classifier, q string, rd reading) {
	st.c = c
	st.lx.init(q, rd)
}

func (st *state) p2() *token  { return &st.ring[(st.at-2)&3] }
func (st *state) p1() *token  { return &st.ring[(st.at-1)&3] }
func (st *state) cur() *token { return &st.ring[st.at&3] }
func (st *state) nx() *token  { return &st.ring[(st.at+1)&3] }

func (st *state) hint() Hint {
	switch {
	case st.lx.hintPrimary:
		return HintPrimary
	case st.lx.hintReplica:
		return HintReplica
	}
	return HintNone
}

// verdict turns the scan into a decision. With ignoreRejected, lexer
// errors on which the server surely rejects the whole statement (an
// unterminated string, a bad hex literal) count as harmless; it is used for
// the alternative readings. Whatever the scan found before the error still
// counts.
func (st *state) verdict(ignoreRejected bool) (replica, write bool, reason string) {
	f := st.flags
	write = st.write || f&(flWrite|flSeqWrite|flUnknownFn) != 0
	err := st.lx.err
	if ignoreRejected && (err == errUnterminated || err == errLiteral) {
		err = errNone
	}
	switch {
	case st.lx.hintPrimary:
		reason = reasonHint
	case err == errUnterminated:
		reason = reasonUnterminated
	case err == errComment:
		reason = reasonComment
	case err == errAmbiguous:
		reason = reasonAmbiguous
	case err == errSyntax:
		reason = reasonSyntax
	case err == errLiteral:
		reason = reasonLiteral
	case f&flMulti != 0:
		reason = reasonMulti
	case st.kind == kindEmpty:
		reason = reasonEmpty
	case st.kind == kindWrite:
		reason = reasonWrite
	case st.kind == kindNoWrite:
		reason = reasonNotQuery
	case st.kind == kindShowOther:
		reason = reasonShow
	case f&flWrite != 0:
		reason = reasonWrite
	case f&(flSeqWrite|flSeqRead) != 0:
		reason = reasonSequence
	case f&flLock != 0:
		reason = reasonLock
	case f&flInto != 0:
		reason = reasonInto
	case f&flFoundRows != 0:
		reason = reasonFoundRows
	case f&flProcedure != 0:
		reason = reasonProcedure
	case f&flUserVar != 0:
		reason = reasonUserVar
	case f&flSessionVar != 0:
		reason = reasonSessionVar
	case f&flSessionFn != 0:
		reason = reasonSessionFn
	case f&flTooDeep != 0:
		reason = reasonTooDeep
	case f&flUnbalanced != 0:
		reason = reasonUnbalanced
	case f&flUnknownFn != 0:
		// The only obstacle left is an unknown function. The caller may
		// vouch for it, in a plain query only.
		if st.lx.hintReplica && st.kind == kindSelect {
			return true, false, ""
		}
		reason = reasonUnknownFn
	default:
		return true, false, ""
	}
	return false, write, reason
}

// run scans the whole input, statement by statement.
func (st *state) run() {
	st.at = 2 // p2 and p1 start as zero tokens
	st.lx.next(st.nx())
	for {
		st.advance()
		st.statement()
		if st.cur().kind != tkSemi {
			return // end of input or lexer error
		}
		if st.nx().kind == tkEOF {
			return // a single trailing ";"
		}
		st.flags |= flMulti
	}
}

// advance moves to the next token (statement inlines a copy of it in its
// fast path).
func (st *state) advance() {
	st.at++
	nx := st.nx()
	st.lx.next(nx)
	if nx.kind == tkDot || st.p1().kind == tkDot {
		st.qualify()
	}
}

// qualify works out what the lexer alone cannot: whether the current token
// is part of a qualified name. It only matters next to a dot.
func (st *state) qualify() {
	t := st.cur()
	switch t.kind {
	case tkWord, tkQuoted, tkString:
		p1, p2 := st.p1(), st.p2()
		t.qualified = p1.kind == tkDot && (p2.kind == tkWord || p2.kind == tkQuoted || p2.kind == tkString)
		t.tail = t.qualified && t.adj && p1.adj
		if t.kind == tkWord {
			// Like the server's lexer: a word right after "name." or
			// right before ".name" is an identifier, never a keyword
			// (t.update, select.x).
			nx := st.nx()
			head := nx.kind == tkDot && nx.adj && nx.end < len(st.lx.s) && isIdent(st.lx.s[nx.end])
			t.identOnly = t.tail || head
		}
	}
}

// statement classifies one statement, from st.cur up to ";", the end of
// input or a lexer error.
func (st *state) statement() {
	st.stmts++
	st.depth = 0
	st.lvl[0] = 0
	st.atStart = true
	if st.lx.noLookup { // the previous statement was a write: look its successor up
		st.lx.noLookup = false
		st.lookup(st.cur())
		st.lookup(st.nx())
	}
	k := st.header()
	if st.stmts == 1 {
		st.kind = k
	}
	if k == kindWrite {
		// The statement goes to the primary as a write whatever follows;
		// only hints, the end of the statement and lexer errors still
		// matter, so skip the keyword lookups and the analysis.
		st.write = true
		st.lx.noLookup = true
		for {
			switch st.cur().kind {
			case tkEOF, tkSemi, tkError:
				return
			}
			st.advance()
		}
	}
	for {
		t := st.cur()
		switch t.kind {
		case tkEOF, tkSemi:
			if st.depth != 0 {
				st.flags |= flUnbalanced
			}
			return
		case tkError:
			return
		case tkWord, tkComma, tkNumber, tkParam, tkOp, tkCmp, tkDot:
			// Fast path for what most tokens are: identifiers, keywords
			// that matter only in headers, and punctuation, with no WITH
			// clause being read. advance is inlined by hand.
			if (t.kind != tkWord || (t.fl&fReact == 0 && st.nx().kind != tkLParen)) &&
				st.lvl[st.level()]&cteMask == cteNone {
				st.atStart = false
				st.at++
				nx := st.nx()
				st.lx.next(nx)
				if nx.kind == tkDot || t.kind == tkDot {
					st.qualify()
				}
				continue
			}
		}
		st.process()
		st.advance()
	}
}

// lookup fills in the keyword id and flags of a word lexed without them.
func (st *state) lookup(t *token) {
	if t.kind == tkWord {
		t.id, t.fl = lookupAt(st.lx.s, t.start, t.end)
	}
}

func (st *state) isKw(t *token, id kwID) bool {
	return t.kind == tkWord && !t.identOnly && t.id == id
}

// header reads the words that decide the statement's kind. It leaves
// st.cur on the first token the generic scan should see.
func (st *state) header() stmtKind {
	t := st.cur()
	switch t.kind {
	case tkEOF, tkSemi:
		return kindEmpty
	case tkLParen:
		return st.queryHeader(kindSelect)
	case tkWord:
		if t.identOnly {
			return kindWrite
		}
	default: // a string, number, error ...: not a statement we know
		return kindWrite
	}
	switch t.id {
	case kwSELECT, kwWITH, kwTABLE, kwVALUES:
		return st.queryHeader(kindSelect)
	case kwSHOW:
		st.advance()
		return st.showHeader()
	case kwDESCRIBE, kwDESC, kwEXPLAIN:
		st.advance()
		return st.explainHeader()
	case kwANALYZE:
		st.advance()
		return st.analyzeHeader()
	case kwHELP:
		st.advance()
		return kindHelp
	case kwSET:
		st.advance()
		// SET PASSWORD and SET DEFAULT ROLE write the grant tables;
		// MariaDB's SET STATEMENT ... FOR runs another statement.
		if st.isKw(st.cur(), kwPASSWORD) || st.isKw(st.cur(), kwDEFAULT) || st.isKw(st.cur(), kwSTATEMENT) {
			return kindWrite
		}
		return kindNoWrite
	case kwBEGIN:
		st.advance()
		if st.isKw(st.cur(), kwNOT) { // MariaDB BEGIN NOT ATOMIC ... END: a compound statement
			return kindWrite
		}
		return kindNoWrite
	case kwUSE, kwSTART, kwCOMMIT, kwROLLBACK, kwSAVEPOINT, kwRELEASE, kwXA,
		kwLOCK, kwUNLOCK, kwKILL, kwDEALLOCATE:
		st.advance()
		return kindNoWrite
	}
	st.advance()
	return kindWrite
}

// queryHeader checks that, after any opening parentheses, the statement is
// a query: SELECT, WITH, TABLE or VALUES.
func (st *state) queryHeader(k stmtKind) stmtKind {
	for st.cur().kind == tkLParen {
		st.process()
		st.advance()
	}
	st.atStart = true
	t := st.cur()
	if t.kind == tkWord && !t.identOnly {
		switch t.id {
		case kwSELECT, kwWITH, kwTABLE, kwVALUES:
			return k
		}
	}
	return kindWrite
}

// showHeader accepts the whitelisted SHOW statements, which read catalog
// data that replicas hold as well as the primary.
func (st *state) showHeader() stmtKind {
	cur, nx := st.cur(), st.nx()
	if cur.kind == tkWord && !cur.identOnly {
		switch cur.id {
		case kwTABLES, kwDATABASES, kwSCHEMAS, kwCOLLATION, kwENGINES, kwPLUGINS,
			kwTRIGGERS, kwEVENTS, kwPRIVILEGES, kwCHARSET, kwINDEX, kwINDEXES,
			kwKEYS, kwCOLUMNS, kwFIELDS:
			st.advance()
			return kindShow
		case kwFULL:
			if st.isKw(nx, kwTABLES) || st.isKw(nx, kwCOLUMNS) || st.isKw(nx, kwFIELDS) {
				st.advance()
				st.advance()
				return kindShow
			}
		case kwEXTENDED:
			st.advance()
			cur, nx = st.cur(), st.nx() // the ring moved
			if st.isKw(cur, kwFULL) && (st.isKw(nx, kwCOLUMNS) || st.isKw(nx, kwFIELDS)) {
				st.advance()
				st.advance()
				return kindShow
			}
			if st.isKw(cur, kwCOLUMNS) || st.isKw(cur, kwFIELDS) || st.isKw(cur, kwINDEX) ||
				st.isKw(cur, kwINDEXES) || st.isKw(cur, kwKEYS) {
				st.advance()
				return kindShow
			}
		case kwSTORAGE:
			if st.isKw(nx, kwENGINES) {
				st.advance()
				st.advance()
				return kindShow
			}
		case kwCHARACTER:
			if st.isKw(nx, kwSET) {
				st.advance()
				st.advance()
				return kindShow
			}
		case kwTABLE, kwFUNCTION, kwPROCEDURE:
			if st.isKw(nx, kwSTATUS) {
				st.advance()
				st.advance()
				return kindShow
			}
		case kwCREATE:
			if nx.kind == tkWord && !nx.identOnly {
				switch nx.id {
				case kwTABLE, kwVIEW, kwDATABASE, kwSCHEMA, kwEVENT, kwFUNCTION,
					kwPROCEDURE, kwTRIGGER, kwSEQUENCE, kwUSER, kwPACKAGE:
					st.advance()
					st.advance()
					return kindShow
				}
			}
		}
	}
	// Not whitelisted. Skip the word after SHOW so that, say, SHOW CREATE
	// PACKAGE BODY is not mistaken for a write by the generic scan.
	if cur.kind == tkWord {
		st.advance()
	}
	return kindShowOther
}

// skipExplainOptions skips FORMAT=name, and with words also ANALYZE,
// EXTENDED and PARTITIONS.
func (st *state) skipExplainOptions(words bool) {
	for {
		t := st.cur()
		if t.kind != tkWord || t.identOnly {
			return
		}
		switch {
		case words && (t.id == kwANALYZE || t.id == kwEXTENDED || t.id == kwPARTITIONS):
			st.advance()
		case t.id == kwFORMAT && st.nx().kind == tkCmp && st.nx().end-st.nx().start == 1 && st.lx.s[st.nx().start] == '=':
			st.advance()
			st.advance()
			if st.cur().kind == tkWord || st.cur().kind == tkString {
				st.advance()
			}
		default:
			return
		}
	}
}

// explainHeader handles what follows EXPLAIN, DESCRIBE or DESC.
func (st *state) explainHeader() stmtKind {
	st.skipExplainOptions(true)
	t := st.cur()
	switch t.kind {
	case tkLParen:
		return st.queryHeader(kindExplain)
	case tkQuoted:
		return kindDescribe
	case tkWord:
		if t.identOnly { // db.tbl
			return kindDescribe
		}
		switch t.id {
		case kwSELECT, kwWITH, kwTABLE, kwVALUES:
			return st.queryHeader(kindExplain)
		case kwFOR, kwINTO: // EXPLAIN FOR CONNECTION n, EXPLAIN INTO @v ...
			return kindNoWrite
		}
		if t.fl&(fWrite|fSyntax) != 0 { // EXPLAIN UPDATE ..., EXPLAIN ANALYZE DELETE ...
			return kindWrite
		}
		return kindDescribe
	}
	return kindWrite
}

// analyzeHeader handles what follows ANALYZE: MariaDB's ANALYZE SELECT runs
// the query (fine on a replica); ANALYZE TABLE and ANALYZE UPDATE write.
func (st *state) analyzeHeader() stmtKind {
	st.skipExplainOptions(false)
	t := st.cur()
	if t.kind == tkLParen {
		return st.queryHeader(kindExplain)
	}
	if t.kind == tkWord && !t.identOnly {
		switch t.id {
		case kwSELECT, kwWITH, kwVALUES:
			return st.queryHeader(kindExplain)
		}
	}
	return kindWrite
}

// level is the index into st.lvl for the current depth.
func (st *state) level() int {
	if st.depth > maxDepth {
		return maxDepth
	}
	return st.depth
}

// process looks at st.cur in the generic scan.
func (st *state) process() {
	t := st.cur()
	d := st.level()
	st.cteName = false
	if st.lvl[d]&cteMask != cteNone {
		st.cteStep(d)
	}
	switch t.kind {
	case tkLParen:
		st.depth++
		if st.depth > maxDepth {
			st.flags |= flTooDeep
		} else {
			st.lvl[st.depth] = 0
		}
		st.atStart = true
		return
	case tkRParen:
		if st.depth == 0 {
			st.flags |= flUnbalanced
		} else {
			st.depth--
		}
	case tkWord:
		// Most words are plain identifiers: nothing to do unless the word
		// is in the table or starts a call.
		if t.id != kwNone || t.fl != 0 || st.nx().kind == tkLParen {
			st.word(d)
		}
	case tkQuoted, tkString:
		// `fn`(...) calls a stored function; so does "fn"(...) under
		// ANSI_QUOTES ('fn'(...) is a syntax error, harmless to flag).
		if st.nx().kind == tkLParen && !st.aliasContext() {
			st.unknownCall()
		}
	case tkUserVar, tkAssign:
		st.flags |= flUserVar
	case tkSysVar:
		if t.session {
			st.flags |= flSessionVar
		}
	}
	st.atStart = false
}

// setCTE sets the CTE recogniser state of level d.
func (st *state) setCTE(d int, s uint8) {
	st.lvl[d] = st.lvl[d]&^cteMask | s
}

// cteStep advances the recogniser of WITH name [(cols)] AS (query), ... at
// level d. A main statement other than a query (WITH ... UPDATE/DELETE)
// makes the statement a write.
func (st *state) cteStep(d int) {
	t := st.cur()
	switch st.lvl[d] & cteMask {
	case cteWantName:
		if st.isKw(t, kwRECURSIVE) && st.isKw(st.p1(), kwWITH) {
			return
		}
		if t.kind == tkWord || t.kind == tkQuoted {
			st.setCTE(d, cteAfterName)
			st.cteName = true
			return
		}
	case cteAfterName:
		if t.kind == tkLParen { // column list
			return
		}
		if st.isKw(t, kwAS) {
			st.setCTE(d, cteWantBody)
			return
		}
	case cteWantBody:
		if t.kind == tkLParen {
			st.setCTE(d, cteAfterBody)
			return
		}
	case cteAfterBody:
		if t.kind == tkComma {
			st.setCTE(d, cteWantName)
			return
		}
		st.setCTE(d, cteNone)
		if t.kind == tkLParen || st.isKw(t, kwSELECT) || st.isKw(t, kwTABLE) || st.isKw(t, kwVALUES) {
			return
		}
		st.flags |= flWrite
		return
	}
	// Not the shape of a WITH clause: treat as an unknown statement.
	st.setCTE(d, cteNone)
	st.flags |= flWrite
}

// aliasContext reports whether a name followed by "(" at st.cur is a column
// list rather than a call: a CTE name, "AS name (", or ") name (" (a derived
// table alias, MATCH ... AGAINST (, ... OVER ().
func (st *state) aliasContext() bool {
	if st.cteName {
		return true
	}
	p := st.p1()
	return p.kind == tkRParen || st.isKw(p, kwAS)
}

// word handles an unquoted word in the generic scan.
func (st *state) word(d int) {
	t := st.cur()
	fl := t.fl
	call := st.nx().kind == tkLParen
	if fl&fSeqWrite != 0 {
		st.flags |= flSeqWrite
	}
	if fl&fSeqRead != 0 {
		st.flags |= flSeqRead
	}
	if call {
		switch {
		case t.qualified: // db.fn(...), db . fn (...): a stored function, whatever its name
			st.unknownCall()
		case fl&fSessionFn != 0:
			st.flags |= flSessionFn
		case !st.knownCall(d):
			st.unknownCall()
		}
	}
	if t.identOnly {
		return
	}
	switch t.id {
	case kwUPDATE:
		if st.isKw(st.p1(), kwFOR) {
			st.flags |= flLock
		} else {
			st.flags |= flWrite
		}
	case kwSHARE:
		if st.isKw(st.p1(), kwFOR) {
			st.flags |= flLock
		}
	case kwLOCK, kwNOWAIT:
		st.flags |= flLock
	case kwLOCKED:
		if st.isKw(st.p1(), kwSKIP) {
			st.flags |= flLock
		}
	case kwINTO:
		st.flags |= flInto
	case kwSQLCalcFoundRows:
		st.flags |= flFoundRows
	case kwPROCEDURE:
		st.flags |= flProcedure
	case kwFOR:
		if st.isKw(st.p1(), kwVALUE) {
			if st.isKw(st.p2(), kwNEXT) {
				st.flags |= flSeqWrite
			} else if st.isKw(st.p2(), kwPREVIOUS) {
				st.flags |= flSeqRead
			}
		}
	case kwVALUES:
		st.lvl[d] |= lvlValues
	case kwWITH:
		if st.atStart {
			st.setCTE(d, cteWantName)
		}
	}
	if fl&fWrite != 0 && t.id != kwUPDATE && !(call && fl&fBuiltin != 0) {
		st.flags |= flWrite
	}
}

// knownCall reports whether the word at st.cur, followed by "(", is syntax
// or a known function rather than a possible stored function.
func (st *state) knownCall(d int) bool {
	t := st.cur()
	fl := t.fl
	if fl&fSyntax != 0 || st.aliasContext() {
		return true
	}
	p := st.p1()
	switch t.id {
	case kwCOLUMNS: // JSON_TABLE(doc, '$' COLUMNS (...))
		if p.kind == tkString || p.kind == tkParam {
			return true
		}
	case kwOF: // MEMBER OF (json)
		if st.isKw(p, kwMEMBER) {
			return true
		}
	case kwANY, kwSOME: // = ANY (subquery)
		if p.kind == tkCmp {
			return true
		}
	case kwLATERAL: // JOIN LATERAL (subquery)
		if st.isKw(p, kwJOIN) {
			return true
		}
	case kwROW: // VALUES ROW(...), ROW(...)
		if st.isKw(p, kwVALUES) || (p.kind == tkComma && st.lvl[d]&lvlValues != 0) {
			return true
		}
	}
	known := fl & (fBuiltin | fSessionFn | fSeqWrite | fSeqRead)
	return known != 0 && (st.nx().adj || fl&fSpaceSensitive == 0)
}

// unknownCall records a call of a function that is not a known built-in,
// unless the caller declared it pure.
func (st *state) unknownCall() {
	if !st.declaredPure() {
		st.flags |= flUnknownFn
	}
}

// maxNameLen bounds the normalised name of a called function.
const maxNameLen = 256

// declaredPure reports whether the function called at st.cur (bare, or
// qualified by st.p2) is in the caller's pure list.
func (st *state) declaredPure() bool {
	if st.c == nil || len(st.c.pure) == 0 {
		return false
	}
	var buf [maxNameLen]byte
	n := 0
	ok := true
	t := st.cur()
	if t.qualified {
		q := st.p2()
		if q.qualified { // a.b.c(...)
			return false
		}
		if n, ok = appendName(buf[:], 0, st.lx.s, q); !ok || n >= len(buf) {
			return false
		}
		buf[n] = '.'
		n++
	}
	if n, ok = appendName(buf[:], n, st.lx.s, t); !ok {
		return false
	}
	_, found := st.c.pure[string(buf[:n])]
	return found
}

// appendName appends the ASCII-lower-cased name that token t spells to
// buf[:n]. It fails when the name does not fit or is an escaped string.
func appendName(buf []byte, n int, s string, t *token) (int, bool) {
	text := s[t.start:t.end]
	switch t.kind {
	case tkWord:
	case tkQuoted, tkString:
		if len(text) < 2 {
			return n, false
		}
		quote := text[0]
		text = text[1 : len(text)-1]
		for i := 0; i < len(text); i++ {
			c := text[i]
			if c == '\\' && quote != '`' {
				return n, false
			}
			if c == quote { // doubled quote
				i++
			}
			if n >= len(buf) {
				return n, false
			}
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			buf[n] = c
			n++
		}
		return n, true
	default:
		return n, false
	}
	for i := 0; i < len(text); i++ {
		if n >= len(buf) {
			return n, false
		}
		c := text[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[n] = c
		n++
	}
	return n, true
}
