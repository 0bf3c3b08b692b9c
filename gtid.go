package rwsplit

import (
	"context"
	"errors"
	"fmt"
	"sync"
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

// Session tracks what one logical client (a user, a request chain, a message
// flow) has written, so that its reads can wait for its own writes wherever
// they were made. Attach it to a context with WithSession: writes through that
// context advance it, and reads through it wait for it under the waiting
// consistency modes. Carry Token() to another request, process or service
// and resume it there with NewSession. A Session is safe for concurrent use.
type Session struct {
	mu  sync.Mutex
	tok gtid.Token
	// pending is set when a write finished whose exact position could not
	// be captured on its connection (a write through Query, a failed
	// capture): the next read captures the primary's current position,
	// which covers it, before waiting.
	pending bool
	gen     uint64 // counts markPending calls, so resolve keeps a newer mark
}

// NewSession returns a session that starts from tok (the zero Token for a
// fresh one).
func NewSession(tok Token) *Session { return &Session{tok: tok.t} }

// Token returns what the session has written so far.
func (s *Session) Token() Token {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Token{s.tok}
}

// Advance merges tok into the session, as if its writes had been made here
// (for a token that arrives mid-request).
func (s *Session) Advance(tok Token) error {
	return s.advance(tok.t)
}

func (s *Session) advance(t gtid.Token) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, err := gtid.Merge(s.tok, t)
	if err != nil {
		return fmt.Errorf("rwsplit: advance session: %w", err)
	}
	s.tok = m
	return nil
}

// markPending notes a write whose position must be read from the primary
// before the session's next waiting read; it also records the write's time.
func (s *Session) markPending(now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pending = true
	s.gen++
	s.tok.Time = max(s.tok.Time, now.UnixMilli())
}

// touch records the time of a write whose position is not needed.
func (s *Session) touch(now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tok.Time = max(s.tok.Time, now.UnixMilli())
}

// state returns the session's token, whether a capture is pending, and the
// pending mark's generation.
func (s *Session) state() (gtid.Token, bool, uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tok, s.pending, s.gen
}

// resolve merges a token captured for a pending write and clears pending,
// unless another write marked it pending after the capture began (gen).
func (s *Session) resolve(t gtid.Token, gen uint64) (gtid.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, err := gtid.Merge(s.tok, t)
	if err != nil {
		return s.tok, fmt.Errorf("rwsplit: advance session: %w", err)
	}
	s.tok = m
	if s.gen == gen {
		s.pending = false
	}
	return m, nil
}

type sessionKey struct{}

// WithSession returns a context whose writes advance s and whose reads wait
// for s under the waiting consistency modes.
func WithSession(ctx context.Context, s *Session) context.Context {
	return context.WithValue(ctx, sessionKey{}, s)
}

// SessionFrom returns the session attached to ctx, or nil.
func SessionFrom(ctx context.Context) *Session {
	s, _ := ctx.Value(sessionKey{}).(*Session)
	return s
}
