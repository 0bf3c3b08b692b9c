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
