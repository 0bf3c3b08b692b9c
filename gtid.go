package rwsplit

import (
	"errors"
	"fmt"
	"time"

	"github.com/rwsplit/rwsplit/internal/gtid"
)

// ErrBadToken is returned (wrapped) by ParseToken for a malformed token.
var ErrBadToken = errors.New("rwsplit: malformed token")

// Token is a causality token: what a reader must wait for to see a write. It
// holds the write's GTIDs (a MySQL GTID set or a MariaDB GTID position), the
// primary's binlog position when it was captured, and the time of the write.
// The zero Token constrains nothing.
//
// Its String form is compact and safe unescaped in a cookie, an HTTP header,
// a URL or a queue message; ParseToken reads it back strictly.
type Token struct{ t gtid.Token }

// MaxTokenLen is the length of the longest token ParseToken accepts.
const MaxTokenLen = gtid.MaxTokenLen

// ParseToken reads a token made by Token.String. The input is untrusted: it
// is checked strictly (length, alphabet, every field), and "" is the zero
// Token. A malformed token is an error wrapping ErrBadToken, never a wait.
func ParseToken(s string) (Token, error) {
	t, err := gtid.Decode(s)
	if err != nil {
		return Token{}, fmt.Errorf("%w: %v", ErrBadToken, err)
	}
	return Token{t}, nil
}

// String encodes the token ("" for the zero Token).
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

// Merge returns a token that waits for both t and o: the union of their
// GTIDs, the later binlog position and the later time. Tokens of different
// flavors do not merge.
func (t Token) Merge(o Token) (Token, error) {
	m, err := gtid.Merge(t.t, o.t)
	if err != nil {
		return t, fmt.Errorf("rwsplit: merge tokens: %w", err)
	}
	return Token{m}, nil
}

// MarshalText encodes the token, as String does.
func (t Token) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// UnmarshalText decodes a token, as ParseToken does.
func (t *Token) UnmarshalText(b []byte) error {
	p, err := ParseToken(string(b))
	if err != nil {
		return err
	}
	*t = p
	return nil
}
