package rwsplit

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

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
