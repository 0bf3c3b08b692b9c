package rwsplit

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/rwsplit/rwsplit/internal/gtid"
)

// ErrBadToken is returned (wrapped) by ParseToken for a malformed token, and
// by TokenKey.Parse and DB.ParseToken also for a token whose signature does
// not match.
var ErrBadToken = errors.New("rwsplit: malformed token")

// Token is a causality token: what a reader must wait for to see a write. It
// holds the write's GTIDs (on MySQL the GTIDs of the primary's own
// @@server_uuid, on MariaDB a GTID position), the primary's binlog position
// when it was captured with the primary's @@server_id, and the time of the
// write. The zero Token constrains nothing.
//
// Its String form is compact (under 100 bytes for one MySQL primary,
// however many server uuids the cluster's history holds) and safe unescaped
// in a cookie, an HTTP header, a URL or a queue message; ParseToken reads it
// back strictly. TokenKey signs it.
type Token struct{ t gtid.Token }

// MaxTokenLen is the length of the longest token ParseToken accepts.
const MaxTokenLen = gtid.MaxTokenLen

// ParseToken reads a token made by Token.String (in this format or the
// previous one). The input is untrusted: it is checked strictly (length,
// alphabet, every field), and "" is the zero Token. A malformed token is an
// error wrapping ErrBadToken, never a wait. A time more than a second ahead
// of this machine's clock is taken as now (a token from the future must not
// make Sleep wait). No I/O.
//
// ParseToken does not authenticate: a client can make up any well-formed
// token. A DB waits only for what its primary has executed, whatever a
// token claims; to reject tokens the services did not issue, sign them
// (TokenKey, DB.ParseToken).
func ParseToken(s string) (Token, error) {
	t, err := gtid.Decode(s)
	if err != nil {
		if strings.Count(s, "~") == 5 && len(s) <= MaxSignedTokenLen {
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
