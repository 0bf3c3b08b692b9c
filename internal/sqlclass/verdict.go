package sqlclass

// This file holds the verdict: how the scan's findings become a routing
// decision, a reason and a hint.

func (st *state) hint() Hint {
	switch {
	case st.lx.hintPrimary:
		return HintPrimary
	case st.lx.hintReplica:
		return HintReplica
	}
	return HintNone
}

// verdict turns the scan into a decision. Whatever the scan found before a
// lexer error counts. Text that servers may read differently from the
// lexer (errAmbiguous, errCharset) may hold anything after the error, so it
// may write.
//
// With ignoreRejected, used for the alternative readings, a lexer error on
// which the server surely rejects the statement (an unterminated string, a
// bad hex literal) means that the statement in which it occurs never runs,
// nor anything after it: only the statements before it count. A reading
// that fails in its first statement is a syntax error, harmless.
func (st *state) verdict(ignoreRejected bool) (replica, write bool, reason string) {
	f := st.flags
	write = st.write || f&(flWrite|flSeqWrite|flUnknownFn) != 0
	err := st.lx.err
	if err != errNone {
		switch {
		case ignoreRejected && (err == errUnterminated || err == errLiteral):
			if st.stmts <= 1 {
				return true, false, ""
			}
			f = st.done
			return false, st.doneWrite || f&(flWrite|flSeqWrite|flUnknownFn) != 0, reasonMulti
		case err == errAmbiguous || err == errCharset:
			write = true
		}
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
	case err == errCharset:
		reason = reasonCharset
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
	case f&flSessionTable != 0:
		reason = reasonSessionTable
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

// sessionVerdict says whether the statements may leave state on their
// connection (see Result.Session). A lexer error counts as state, except,
// with ignoreRejected (the alternative readings), one on which the server
// surely rejects the statement: then only the statements before it count,
// as in verdict.
func (st *state) sessionVerdict(ignoreRejected bool) bool {
	f, s := st.flags, st.session
	switch err := st.lx.err; {
	case err == errNone:
	case ignoreRejected && (err == errUnterminated || err == errLiteral):
		f, s = st.done, st.doneSession
	default:
		return true
	}
	return s || f&sessionFlags != 0
}
