package rwsplit

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/rwsplit/rwsplit/internal/gtid"
)

// ErrBadToken is returned (wrapped) by ParseToken and DB.ParseToken for a
// malformed token, and by DB.ParseToken also for a token whose signature
// does not match its key (WithTokenKey).
var ErrBadToken = errors.New("rwsplit: malformed token")

// Token is a causality token: what a reader must wait for to see a write. It
// holds the write's GTIDs (on MySQL the GTIDs of the primary's own
// @@server_uuid, on MariaDB a GTID position), the primary's binlog position
// when it was captured with the primary's @@server_id, and the time of the
// write. The zero Token constrains nothing. Get one from Session.Token;
// combine tokens with Session.Advance.
//
// A token has two text forms, both compact (under 100 bytes for one MySQL
// primary, however many server uuids the cluster's history holds) and safe
// unescaped in a cookie, an HTTP header, a URL or a queue message:
//
//   - the unsigned form: Token.String writes it, ParseToken reads it. Anyone
//     can make up a well-formed one.
//   - the signed form: DB.FormatToken writes it and DB.ParseToken reads it on
//     a DB given a key with WithTokenKey; it is the unsigned form followed by
//     a MAC, and DB.ParseToken rejects one the services did not issue. Without
//     a key, DB.FormatToken and DB.ParseToken are Token.String and ParseToken.
//
// A token that crosses a trust boundary (through a browser, a mobile client,
// a partner's system) should be signed with WithTokenKey and read with
// DB.ParseToken.
type Token struct{ t gtid.Token }

// MaxTokenLen is the length of the longest text a token can have in either
// form, in bytes: that of the signed form (DB.FormatToken under
// WithTokenKey), which is the unsigned form (Token.String, at most
// MaxTokenLen-23 bytes) followed by a 23-byte MAC. Size a header, cookie or
// message field with it. ParseToken and DB.ParseToken refuse input longer
// than their form allows before any other work.
const MaxTokenLen = gtid.MaxTokenLen + 1 + tokenMACText

// ParseToken reads the unsigned form of a token, made by Token.String (in
// this format or the previous one). The input is untrusted: it is checked
// strictly (length, alphabet, every field), and "" is the zero Token. A
// malformed token is an error wrapping ErrBadToken, never a wait. A time
// more than a second ahead of this machine's clock is taken as now (a token
// from the future must not make Sleep wait). No I/O.
//
// ParseToken does not authenticate: a client can make up any well-formed
// token, and ParseToken refuses the signed form. A DB waits only for what
// its primary has executed, whatever a token claims; to reject tokens the
// services did not issue, sign them with WithTokenKey and read them with
// DB.ParseToken.
func ParseToken(s string) (Token, error) {
	t, err := gtid.Decode(s)
	if err != nil {
		if strings.Count(s, "~") == 5 && len(s) <= MaxTokenLen {
			return Token{}, fmt.Errorf("%w: %w", ErrBadToken, errSignedToken)
		}
		return Token{}, fmt.Errorf("%w: %v", ErrBadToken, err)
	}
	t.Time = clampTime(t.Time)
	return Token{t}, nil
}

// maxTokenSkew is how far ahead of this machine's clock a token's time may
// be (another machine's clock) before it is taken as now.
const maxTokenSkew = time.Second

// clampTime returns ms (unix milliseconds), or now if ms is more than
// maxTokenSkew ahead of now: the write it dates happened before the token
// reached this process, so now is a safe upper bound of its time.
func clampTime(ms int64) int64 {
	now := time.Now()
	if ms > now.Add(maxTokenSkew).UnixMilli() {
		return now.UnixMilli()
	}
	return ms
}

// String returns the token's unsigned text form ("" for the zero Token),
// which ParseToken reads back. For a token that will cross a trust
// boundary, use DB.FormatToken under WithTokenKey instead. No I/O.
func (t Token) String() string { return gtid.Encode(t.t) }

// IsZero reports whether the token constrains nothing.
func (t Token) IsZero() bool { return t.t.IsZero() }

// Time is when the token's latest write was made (zero if unknown).
func (t Token) Time() time.Time {
	if t.t.Time <= 0 {
		return time.Time{}
	}
	return time.UnixMilli(t.t.Time)
}
