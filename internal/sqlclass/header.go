package sqlclass

// This file holds the statement headers: the first words that decide a
// statement's kind (query, SHOW, EXPLAIN, DESCRIBE, ANALYZE, SET ...).

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
