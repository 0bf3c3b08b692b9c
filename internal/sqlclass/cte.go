package sqlclass

// This file holds the recogniser of WITH clauses (common table expressions).

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
