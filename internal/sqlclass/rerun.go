package sqlclass

import "strings"

// Rerunnable reports whether query is one statement that a server which
// refused it before running it (as read-only: error 1290 or 1836) ran none
// of, so that running it again elsewhere cannot run any of it twice: a
// single statement, read by the lexer with certainty (no conditional
// comment, no lexer error), that is neither CALL (a procedure commits as it
// goes, and may fail on its second statement) nor a compound statement
// (MariaDB's BEGIN NOT ATOMIC). A text of several statements may have run
// its first ones before the refusal. It never allocates and never panics;
// it is meant for the error path, not for every call.
func (c *Classifier) Rerunnable(query string) bool {
	var st state
	st.init(c, query, reading{}, fMySQLOnly|fMariaDBOnly)
	st.run()
	if st.lx.err != errNone || st.flags&flMulti != 0 || st.lx.sawCond || st.stmts > 1 {
		return false
	}
	w := firstWord(query)
	return !strings.EqualFold(w, "call") && !strings.EqualFold(w, "begin")
}

// firstWord returns the statement's first word, after spaces, comments
// and opening parentheses ("" when it starts otherwise).
func firstWord(q string) string {
	for i := 0; i < len(q); {
		switch b := q[i]; {
		case b == ' ' || b == '\t' || b == '\n' || b == '\r' || b == '\f' || b == '(':
			i++
		case strings.HasPrefix(q[i:], "/*"):
			end := strings.Index(q[i+2:], "*/")
			if end < 0 {
				return ""
			}
			i += end + 4
		case strings.HasPrefix(q[i:], "-- ") || b == '#':
			end := strings.IndexByte(q[i:], '\n')
			if end < 0 {
				return ""
			}
			i += end + 1
		default:
			j := i
			for j < len(q) && isIdent(q[j]) {
				j++
			}
			return q[i:j]
		}
	}
	return ""
}
