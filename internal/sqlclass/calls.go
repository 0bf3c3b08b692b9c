package sqlclass

import "strings"

// This file holds function calls: telling a call from a column list, known
// built-ins from possible stored functions, and the stored functions the
// caller declared pure.

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

// knownCall reports whether the word at st.cur, followed by "(", is syntax
// or a known function rather than a possible stored function.
func (st *state) knownCall(d int) bool {
	t := st.cur()
	fl := t.fl
	if fl&fSyntax != 0 || st.aliasContext() {
		return true
	}
	p := st.p1()
	if fl&fSelectOpt != 0 && (st.isKw(p, kwSELECT) || (p.kind == tkWord && !p.identOnly && p.fl&fSelectOpt != 0)) {
		return true // SELECT SQL_NO_CACHE (SELECT 1): an option, then an expression
	}
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
	case kwLATERAL: // JOIN LATERAL (subquery), t1, LATERAL (subquery)
		// LATERAL is reserved in MySQL. In MariaDB it is no keyword:
		// lateral(...) may call a stored function unless a query follows
		// (see state.slowLevel).
		if !st.isKw(p, kwJOIN) && st.excl&fMySQLOnly != 0 {
			st.nextLvl = lvlLateral
		}
		return true
	case kwROW: // VALUES ROW(...), ROW(...); ROW(a, b) = ROW(1, 2)
		if !st.isKw(p, kwVALUES) && !(p.kind == tkComma && st.lvl[d]&lvlValues != 0) {
			st.nextLvl = lvlRow // a constructor if two or more elements follow
		}
		return true
	case kwAGAINST: // MATCH a, b AGAINST (...)
		if st.lvl[d]&lvlMatch != 0 {
			return true
		}
	}
	known := fl & (fBuiltin | fSessionFn | fSeqWrite | fSeqRead)
	return known != 0 && fl&st.excl == 0 && (st.nx().adj || fl&fSpaceSensitive == 0)
}

// unknownCall records a call of a function that is not a known built-in,
// unless the caller declared it pure.
func (st *state) unknownCall() {
	if !st.declaredPure() {
		st.flags |= flUnknownFn
	}
}

// syntaxCall records what may be a call of a stored function named like a
// keyword (row, lateral), which the caller cannot declare pure by name.
func (st *state) syntaxCall() {
	if st.c == nil || !st.c.anyPure {
		st.flags |= flUnknownFn
	}
}

// maxNameLen bounds the normalised name of a called function.
const maxNameLen = 256

// declaredPure reports whether the function called at st.cur (bare, or
// qualified by st.p2) is in the caller's pure list.
func (st *state) declaredPure() bool {
	if st.c == nil {
		return false
	}
	if st.c.anyPure {
		return true
	}
	if len(st.c.pure) == 0 {
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
