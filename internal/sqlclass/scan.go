package sqlclass

// This file holds the generic token scan: statement by statement, after the
// header, each token is looked at for what may write or tie the statement
// to the session.

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
	case tkWord:
		p1, p2 := st.p1(), st.p2()
		t.qualified = p1.kind == tkDot && (p2.kind == tkWord || p2.kind == tkQuoted || p2.kind == tkString)
		t.tail = t.qualified && t.adj && p1.adj
		// Like the server's lexer: a word right after "name." or right
		// before ".name" is an identifier, never a keyword (t.update,
		// select.x).
		nx := st.nx()
		head := nx.kind == tkDot && nx.adj && nx.end < len(st.lx.s) && isIdent(st.lx.s[nx.end])
		t.identOnly = t.tail || head
	case tkQuoted, tkString:
		p1, p2 := st.p1(), st.p2()
		t.qualified = p1.kind == tkDot && (p2.kind == tkWord || p2.kind == tkQuoted || p2.kind == tkString)
		t.tail = t.qualified && t.adj && p1.adj
		if t.qualified {
			st.qualifiedName(t, p2)
		}
	}
}

// qualifiedName looks at t, the last part of a name qualified by q, when t
// is quoted (unquoted words are handled by state.word): a table of
// information_schema or performance_schema that describes the connection
// (information_schema.`SESSION_VARIABLES`), or a sequence pseudo-column
// (MariaDB's s.`nextval`).
func (st *state) qualifiedName(t, q *token) {
	fl := st.nameFlags(t)
	if fl&fSessionTable != 0 && st.nameFlags(q)&fSysSchema != 0 {
		st.flags |= flSessionTable
	}
	if fl&fSeqWrite != 0 {
		st.flags |= flSeqWrite
	}
	if fl&fSeqRead != 0 {
		st.flags |= flSeqRead
	}
}

// nameFlags returns the word flags of the name that token t spells: an
// unquoted word, or a `quoted` (or, under ANSI_QUOTES, "quoted") name
// without doubled quotes or backslashes. Other tokens have none.
func (st *state) nameFlags(t *token) wordFlags {
	switch t.kind {
	case tkWord:
		return t.fl
	case tkQuoted, tkString:
		s := st.lx.s
		p, q := t.start+1, t.end-1
		if q <= p || q-p > maxWordLen {
			return 0
		}
		for i := p; i < q; i++ {
			if c := s[i]; c == s[t.start] || c == '\\' {
				return 0 // no name of the table has either
			}
		}
		_, fl := lookupAt(s, p, q)
		return fl
	}
	return 0
}

// statement classifies one statement, from st.cur up to ";", the end of
// input or a lexer error.
func (st *state) statement() {
	st.stmts++
	st.done, st.doneWrite, st.doneSession = st.flags, st.write, st.session
	st.depth = 0
	st.lvl[0] = 0
	st.atStart = true
	if st.lx.noLookup { // the previous statement was a write: look its successor up
		st.lx.noLookup = false
		st.lookup(st.cur())
		st.lookup(st.nx())
	}
	dml := st.isDML(st.cur())
	k := st.header()
	if st.stmts == 1 {
		st.kind = k
	}
	switch {
	case k == kindNoWrite: // SET, USE, BEGIN, LOCK TABLES ...
		st.session = true
	case k == kindWrite && !dml: // DDL, CALL, DO, PREPARE, HANDLER ...
		st.session = true
	}
	if k == kindWrite {
		// The statement goes to the primary as a write whatever follows;
		// only hints, the end of the statement and lexer errors still
		// matter, so skip the keyword lookups and the analysis. A plain
		// DML statement is only looked at for what leaves state on the
		// connection: user variables and calls of lock or sequence
		// functions.
		st.write = true
		st.lx.noLookup = true
		for {
			t := st.cur()
			switch t.kind {
			case tkEOF, tkSemi, tkError:
				return
			case tkUserVar, tkAssign:
				st.session = true
			case tkWord:
				if !st.session && st.nx().kind == tkLParen {
					st.lookup(t)
					if !t.qualified && t.fl&(fSessionState|fSeqWrite) != 0 {
						st.session = true
					}
				}
			}
			// advance, inlined by hand.
			st.at++
			nx := st.nx()
			st.lx.next(nx)
			if nx.kind == tkDot || t.kind == tkDot {
				st.qualify()
			}
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
				st.lvl[st.level()]&lvlSlow == 0 {
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

// isDML reports whether t, the first token of a statement, starts a plain
// INSERT, REPLACE, UPDATE or DELETE: statements that leave no state on the
// connection beyond what the next statement replaces (LAST_INSERT_ID,
// ROW_COUNT, warnings).
func (st *state) isDML(t *token) bool {
	if t.kind != tkWord || t.identOnly {
		return false
	}
	switch t.id {
	case kwINSERT, kwREPLACE, kwUPDATE, kwDELETE:
		return true
	}
	return false
}

// process looks at st.cur in the generic scan.
func (st *state) process() {
	t := st.cur()
	d := st.level()
	st.cteName = false
	if st.lvl[d]&lvlSlow != 0 {
		st.slowLevel(d)
	}
	switch t.kind {
	case tkLParen:
		st.depth++
		if st.depth > maxDepth {
			st.flags |= flTooDeep
		} else {
			st.lvl[st.depth] = st.nextLvl
		}
		st.nextLvl = 0
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

// slowLevel runs the checks that level d is under (see lvlSlow) on st.cur:
// the WITH clause recogniser, and the checks of what a "(" after ROW or
// LATERAL holds.
func (st *state) slowLevel(d int) {
	t := st.cur()
	if st.lvl[d]&cteMask != cteNone {
		st.cteStep(d)
	}
	if st.lvl[d]&lvlLateral != 0 {
		// LATERAL (SELECT ...) and LATERAL (WITH ...) are derived tables
		// to MySQL, and syntax errors to MariaDB, where a function argument
		// cannot be a bare query. Anything else may call a MariaDB stored
		// function named lateral.
		st.lvl[d] &^= lvlLateral
		if !st.isKw(t, kwSELECT) && !st.isKw(t, kwWITH) {
			st.syntaxCall()
		}
	}
	if st.lvl[d]&lvlRow != 0 {
		// ROW(a, b): a row constructor. ROW(a) is a syntax error to MySQL,
		// where ROW is reserved, but may call a MariaDB stored function.
		switch t.kind {
		case tkComma:
			st.lvl[d] &^= lvlRow
		case tkRParen:
			st.lvl[d] &^= lvlRow
			st.syntaxCall()
		}
	}
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
	if fl&fSessionTable != 0 && t.qualified && st.nameFlags(st.p2())&fSysSchema != 0 {
		st.flags |= flSessionTable // information_schema.session_variables
	}
	if call {
		if fl&fSessionState != 0 {
			st.flags |= flSessionState
		}
		switch {
		case t.qualified: // db.fn(...), db . fn (...): a stored function, whatever its name
			st.unknownCall()
		case fl&fSessionFn != 0 && fl&st.excl == 0:
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
	case kwMATCH:
		st.lvl[d] |= lvlMatch
	case kwROWCOUNT:
		// MariaDB's Oracle mode reads SQL%ROWCOUNT as ROW_COUNT(). In other
		// modes it is a syntax error (SQL is reserved): no harm either way.
		if p := st.p1(); p.kind == tkOp && st.lx.s[p.start] == '%' && st.isKw(st.p2(), kwSQL) {
			st.flags |= flSessionFn
		}
	case kwWITH:
		if st.atStart {
			st.setCTE(d, cteWantName)
		}
	}
	if fl&fWrite != 0 && t.id != kwUPDATE && !(call && fl&fBuiltin != 0) {
		st.flags |= flWrite
	}
}
