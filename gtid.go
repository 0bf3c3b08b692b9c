package rwsplit

import (
	"context"
	"fmt"
	"sync"
	"time"

	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"

	"github.com/rwsplit/rwsplit/internal/gtid"
)

// Session tracks what one logical client (a user, a request chain, a message
// flow) has written, so that its reads can wait for its own writes wherever
// they were made. Attach it to a context with WithSession: writes through that
// context advance it, and reads through it wait for it under the waiting
// consistency modes. Carry Token() to another request, process or service
// (as text: DB.FormatToken and DB.ParseToken, signed under WithTokenKey when
// the token crosses a trust boundary) and resume it there with NewSession.
// A Session is safe for concurrent use.
//
// A write records itself in its Session at no cost: the primary's position
// that covers it is read later, once for all the writes made until then, by
// the first read that waits for them or by Token. A Session follows one
// cluster: its pending writes are resolved on the primary of the DB that made
// the latest of them.
//
// The same rules apply to the process scope, the Session every *DB keeps for
// the calls whose context carries none.
type Session struct {
	mu  sync.Mutex
	tok gtid.Token
	// writes counts the writes recorded; gtidAt and posAt how many of them
	// tok's GTIDs and tok's binlog position are known to cover. A waiting
	// read first brings the part its mode waits for up to date.
	writes, gtidAt, posAt uint64
	owner                 *DB       // resolves pending writes: made the latest
	lastWrite             time.Time // when the latest write was recorded (monotonic)
	// pending holds when the writes not yet covered by the token's GTIDs
	// began, in runs (see pendingRun): the earliest is what a capture's
	// compaction must prove unchanged since (compactCapture).
	pending []pendingRun
	// wprimary is the primary when the latest write was recorded, wserverID
	// its server_id then, and firstOn the number of the first write
	// recorded with both the same: a capture keeps only the primary's own
	// GTIDs (compact) when every write it covers was made there.
	wprimary  *Server
	wserverID int64
	firstOn   uint64
	// Monotonic reads (consistency.go): floor covers everything the reads folded
	// into it may have shown (read on the primary after they answered);
	// seen holds the reads answered since, one mark per server.
	floor gtid.Token
	seen  []readMark
}

// pendingRun is a run of consecutive writes of a Session: those numbered
// after the previous run's upto, up to its own upto, the earliest of which
// began at began.
type pendingRun struct {
	upto  uint64
	began time.Time
}

// maxPendingRuns bounds a Session's pending runs: past it the newest run
// takes in the new writes (its began stays the earliest of them), so a scope
// that writes without ever being read keeps a few bytes, not one entry per
// write.
const maxPendingRuns = 16

// sessionView is a consistent copy of a Session's state.
type sessionView struct {
	tok                   gtid.Token
	writes, gtidAt, posAt uint64
	owner                 *DB
	lastWrite             time.Time
	firstPending          time.Time
	wprimary              *Server
	wserverID             int64
	firstOn               uint64
}

// onePrimary reports whether every write after the first `after` was
// recorded while p, with server_id sid, was the primary (an unknown
// server_id matches any).
func (v *sessionView) onePrimary(after uint64, p *Server, sid int64) bool {
	return v.wprimary == p && (v.wserverID == 0 || sid == 0 || v.wserverID == sid) && v.firstOn <= after+1
}

// NewSession returns a session that starts from tok (the zero Token for a
// fresh one). A time in tok more than a second ahead of this machine's clock
// is taken as now.
func NewSession(tok Token) *Session {
	tok.t.Time = clampTime(tok.t.Time)
	return &Session{tok: tok.t}
}

// tokenTimeout bounds the primary query Token makes for pending writes.
const tokenTimeout = 5 * time.Second

// Token returns what the session has written so far, reading the primary's
// position first (one round trip, within 5 s) when writes made since the last
// read of it are pending. If that read fails, the token returned lacks those
// writes' positions (it still carries their time, for Sleep): use
// TokenContext to see the error.
func (s *Session) Token() Token {
	ctx, cancel := context.WithTimeout(context.Background(), tokenTimeout)
	defer cancel()
	t, _ := s.TokenContext(ctx)
	return t
}

// TokenContext is Token under ctx: it returns the session's token and, if the
// primary's position of pending writes could not be read, the error and the
// token without them.
func (s *Session) TokenContext(ctx context.Context) (Token, error) {
	v := s.view()
	if v.owner == nil || (v.writes == v.gtidAt && v.writes == v.posAt) {
		return Token{v.tok}, nil
	}
	t, err := v.owner.resolve(ctx, s, v, v.writes > v.gtidAt, v.writes > v.posAt)
	return Token{t}, err
}

// Advance merges tok into the session, as if its writes had been made here
// (for a token that arrives mid-request, or to wait for several tokens): the
// session then waits for the union of their GTIDs, the later binlog
// position and the later time. A time in tok more than a second ahead of
// this machine's clock is taken as now. A token of another flavor (MySQL,
// MariaDB) does not merge: Advance returns an error and leaves the session
// as it was. No I/O.
func (s *Session) Advance(tok Token) error {
	tok.t.Time = clampTime(tok.t.Time)
	s.mu.Lock()
	defer s.mu.Unlock()
	m, err := gtid.Merge(s.tok, tok.t)
	if err != nil {
		return fmt.Errorf("rwsplit: advance session: %w", err)
	}
	s.tok = m
	return nil
}

// markWrite records a write made through db that began at began and
// completed at now: its time, and that its position is still to be read.
func (s *Session) markWrite(db *DB, began, now time.Time) {
	p := db.primaryServer()
	var sid int64
	if p != nil {
		sid = p.serverID.Load()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writes++
	s.owner = db
	if n := len(s.pending); n == maxPendingRuns {
		last := &s.pending[n-1]
		last.upto = s.writes
		if began.Before(last.began) {
			last.began = began
		}
	} else {
		s.pending = append(s.pending, pendingRun{upto: s.writes, began: began})
	}
	if now.After(s.lastWrite) {
		s.lastWrite = now
	}
	s.tok.Time = max(s.tok.Time, now.UnixMilli())
	switch {
	case p != s.wprimary || sid != 0 && s.wserverID != 0 && sid != s.wserverID:
		s.wprimary, s.wserverID, s.firstOn = p, sid, s.writes
	case sid != 0:
		s.wserverID = sid
	}
}

func (s *Session) view() sessionView {
	s.mu.Lock()
	defer s.mu.Unlock()
	var first time.Time
	for _, r := range s.pending {
		if first.IsZero() || r.began.Before(first) {
			first = r.began
		}
	}
	return sessionView{tok: s.tok, writes: s.writes, gtidAt: s.gtidAt, posAt: s.posAt, owner: s.owner, lastWrite: s.lastWrite, firstPending: first,
		wprimary: s.wprimary, wserverID: s.wserverID, firstOn: s.firstOn}
}

// resolved merges t, captured after the first `at` writes had completed, and
// notes which parts of the token now cover them. A write recorded while the
// capture ran stays pending.
func (s *Session) resolved(t gtid.Token, at uint64, gtids, pos bool) (gtid.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, err := gtid.Merge(s.tok, t)
	if err != nil {
		return s.tok, fmt.Errorf("rwsplit: advance session: %w", err)
	}
	s.tok = m
	if gtids {
		s.gtidAt = max(s.gtidAt, at)
		i := 0
		for i < len(s.pending) && s.pending[i].upto <= s.gtidAt {
			i++
		}
		s.pending = append(s.pending[:0], s.pending[i:]...) // the runs with a write still pending
	}
	if pos {
		s.posAt = max(s.posAt, at)
	}
	return m, nil
}

// readMark is a Monotonic read that a server answered: the latest at which
// one did. What it showed is at most what the server had applied then.
type readMark struct {
	srv *Server
	at  time.Time
}

// noteRead records that srv answered a Monotonic read of the session at at.
func (s *Session) noteRead(srv *Server, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.seen {
		if s.seen[i].srv == srv {
			if at.After(s.seen[i].at) {
				s.seen[i].at = at
			}
			return
		}
	}
	s.seen = append(s.seen, readMark{srv: srv, at: at})
}

// monoView returns the session's floor and a copy of its read marks.
func (s *Session) monoView() (gtid.Token, []readMark) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.floor, append([]readMark(nil), s.seen...)
}

// fold merges u, what the primary had executed when a read of it began at
// or after since, into the floor and drops the read marks it covers (those
// answered by since). It returns the new floor.
func (s *Session) fold(u gtid.Token, since time.Time) (gtid.Token, error) {
	u.Time = 0
	s.mu.Lock()
	defer s.mu.Unlock()
	m, err := gtid.Merge(s.floor, u)
	if err != nil {
		return s.floor, fmt.Errorf("rwsplit: monotonic floor: %w", err)
	}
	s.floor = m
	kept := s.seen[:0]
	for _, r := range s.seen {
		if r.at.After(since) {
			kept = append(kept, r)
		}
	}
	clear(s.seen[len(kept):])
	s.seen = kept
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

// MarshalText encodes the token as String does (the unsigned form), so that a
// Token field travels in JSON (and any encoding.TextMarshaler format) as its
// text. For a token that crosses a trust boundary, carry DB.FormatToken's
// signed text in a string field instead. No I/O.
func (t Token) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// UnmarshalText decodes a token's unsigned text, as ParseToken does (a
// malformed or signed one is an error wrapping ErrBadToken; the empty text
// is the zero Token). No I/O.
func (t *Token) UnmarshalText(b []byte) error {
	p, err := ParseToken(string(b))
	if err != nil {
		return err
	}
	*t = p
	return nil
}

// Time is when the token's latest write was made (zero if unknown).
func (t Token) Time() time.Time {
	if t.t.Time <= 0 {
		return time.Time{}
	}
	return time.UnixMilli(t.t.Time)
}

// Signed tokens: a token that travels through a client (a cookie, a header)
// can be altered or made up by it. Signed with a key only the services
// hold, a token is checked before anything in it is believed.

// tokenKey signs tokens and verifies signed ones (WithTokenKey): an
// HMAC-SHA256 of the token's text under a key the services share, cut to 16
// bytes and appended in base64url (23 bytes more per token). It is read-only
// once made, so any goroutine may use it.
type tokenKey struct {
	keys [][]byte // keys[0] signs; every key verifies
}

// minTokenKeyLen is the shortest key WithTokenKey accepts, in bytes.
const minTokenKeyLen = 16

// tokenMACLen is the length of a token's MAC, in bytes before base64url.
const tokenMACLen = 16

// tokenMACText is the length of a token's MAC in base64url, unpadded:
// base64.RawURLEncoding.EncodedLen(tokenMACLen).
const tokenMACText = 22

// tokenMACDomain separates token MACs from anything else signed with the
// same key.
const tokenMACDomain = "rwsplit token\x00"

// newTokenKey returns a key that signs with key and verifies with key and
// with each of previous. Each key must be at least minTokenKeyLen bytes; the
// error names the one that is not. The keys are copied.
func newTokenKey(key []byte, previous ...[]byte) (*tokenKey, error) {
	k := &tokenKey{}
	for i, b := range append([][]byte{key}, previous...) {
		if len(b) < minTokenKeyLen {
			what := "key"
			if i > 0 {
				what = fmt.Sprintf("previous key %d", i-1)
			}
			return nil, fmt.Errorf("rwsplit: WithTokenKey: %s is %d bytes, want at least %d (32 random bytes from crypto/rand)", what, len(b), minTokenKeyLen)
		}
		k.keys = append(k.keys, append([]byte(nil), b...))
	}
	return k, nil
}

// format returns the signed text form of t: t.String(), '~', and the MAC
// (22 characters of [A-Za-z0-9_-]); "" for the zero Token. It costs one
// HMAC-SHA256 of the text.
func (k *tokenKey) format(t Token) string {
	s := t.String()
	if s == "" {
		return ""
	}
	return s + "~" + base64.RawURLEncoding.EncodeToString(k.mac(k.keys[0], s))
}

// parse reads a token made by format, with a key of k. The input is
// untrusted: the MAC is checked (in constant time) before the token is
// read, then the token is read as ParseToken does (and its time clamped
// likewise). A token that is not signed, altered, made up, or signed with
// another key is an error wrapping ErrBadToken; "" is the zero Token.
func (k *tokenKey) parse(s string) (Token, error) {
	if s == "" {
		return Token{}, nil
	}
	if len(s) > MaxTokenLen {
		return Token{}, fmt.Errorf("%w: %d bytes, longer than the %d-byte limit", ErrBadToken, len(s), MaxTokenLen)
	}
	i := strings.LastIndexByte(s, '~')
	if i < 0 || len(s)-i-1 != tokenMACText {
		return Token{}, fmt.Errorf("%w: not a signed token", ErrBadToken)
	}
	body := s[:i]
	got, err := base64.RawURLEncoding.Strict().DecodeString(s[i+1:])
	if err != nil || len(got) != tokenMACLen {
		return Token{}, fmt.Errorf("%w: not a signed token", ErrBadToken)
	}
	ok := false
	for _, key := range k.keys {
		// Every key is tried, so the time taken does not say which matched.
		if hmac.Equal(got, k.mac(key, body)) {
			ok = true
		}
	}
	if !ok {
		return Token{}, errForged
	}
	return ParseToken(body)
}

// errForged is a signed token whose MAC does not match.
var errForged = fmt.Errorf("%w: signature does not match (altered, forged, or signed with another key)", ErrBadToken)

// mac is the token MAC of text under key.
func (*tokenKey) mac(key []byte, text string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(tokenMACDomain))
	h.Write([]byte(text))
	return h.Sum(nil)[:tokenMACLen]
}

// FormatToken returns t's text form for a client or another service to
// carry. With a token key (WithTokenKey) it is the signed form: t.String(),
// '~', and a MAC of it under the current key (22 characters of
// [A-Za-z0-9_-]), at most MaxTokenLen bytes; without one it is t.String().
// The zero Token is "" either way. It costs one HMAC-SHA256 when signing,
// and no I/O.
func (db *DB) FormatToken(t Token) string {
	if k := db.tokens().key; k != nil {
		return k.format(t)
	}
	return t.String()
}

// ParseToken reads a token from untrusted text made by FormatToken. With a
// token key (WithTokenKey) it checks the MAC first, in constant time, against
// the current key and every previous one, and rejects a token that is not
// signed, altered, made up, or signed with another key; then it reads the
// token as the package's ParseToken does (which is all it does without a
// key). "" is the zero Token. Errors wrap ErrBadToken. It costs one
// HMAC-SHA256 per key when signed, and no I/O.
func (db *DB) ParseToken(s string) (Token, error) {
	if k := db.tokens().key; k != nil {
		return k.parse(s)
	}
	return ParseToken(s)
}

// errSignedToken explains why ParseToken refuses a signed token.
var errSignedToken = errors.New("a signed token: read it with DB.ParseToken on a DB with its key (WithTokenKey)")
