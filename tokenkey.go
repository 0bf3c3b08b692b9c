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

// TokenKey signs tokens and verifies signed ones: an HMAC-SHA256 of the
// token's text under a key the services share, cut to 16 bytes and appended
// in base64url (23 bytes more per token). Create it once with NewTokenKey
// and use it from any goroutine.
//
// Use Format where you would use Token.String, and Parse where you would
// use ParseToken: Parse rejects a token that was altered, made up, signed
// with another key, or not signed at all. Whatever a token claims, a DB
// waits only for what its primary has executed (see Session), so signing
// is about trust in the claim, not about bounding the wait.
type TokenKey struct {
	keys [][]byte // keys[0] signs; every key verifies
}

// MinTokenKeyLen is the shortest key NewTokenKey accepts, in bytes. Use 32
// random bytes (crypto/rand).
const MinTokenKeyLen = 16

// tokenMACLen is the length of a token's MAC, in bytes before base64url.
const tokenMACLen = 16

// tokenMACText is the length of a token's MAC in base64url, unpadded:
// base64.RawURLEncoding.EncodedLen(tokenMACLen).
const tokenMACText = 22

// MaxSignedTokenLen is the length of the longest signed token Parse accepts.
const MaxSignedTokenLen = MaxTokenLen + 1 + tokenMACText

// tokenMACDomain separates token MACs from anything else signed with the
// same key.
const tokenMACDomain = "rwsplit token\x00"

// NewTokenKey returns a key that signs with key and verifies with key and
// with each of previous (older keys still accepted while tokens signed with
// them are in circulation: rotate by putting the new key first). Each key
// must be at least MinTokenKeyLen bytes; the keys are copied.
func NewTokenKey(key []byte, previous ...[]byte) (*TokenKey, error) {
	k := &TokenKey{}
	for i, b := range append([][]byte{key}, previous...) {
		if len(b) < MinTokenKeyLen {
			what := "key"
			if i > 0 {
				what = fmt.Sprintf("previous key %d", i-1)
			}
			return nil, fmt.Errorf("rwsplit: NewTokenKey: %s is %d bytes, want at least %d", what, len(b), MinTokenKeyLen)
		}
		k.keys = append(k.keys, append([]byte(nil), b...))
	}
	return k, nil
}

// Format returns the signed text form of t: t.String(), '~', and the MAC
// (22 characters of [A-Za-z0-9_-]); "" for the zero Token. It costs one
// HMAC-SHA256 of the text.
func (k *TokenKey) Format(t Token) string {
	s := t.String()
	if s == "" {
		return ""
	}
	return s + "~" + base64.RawURLEncoding.EncodeToString(k.mac(k.keys[0], s))
}

// Parse reads a token made by Format, with a key of k. The input is
// untrusted: the MAC is checked (in constant time) before the token is
// read, then the token is read as ParseToken does (and its time clamped
// likewise). A token that is not signed, altered, made up, or signed with
// another key is an error wrapping ErrBadToken; "" is the zero Token.
func (k *TokenKey) Parse(s string) (Token, error) {
	if s == "" {
		return Token{}, nil
	}
	if len(s) > MaxSignedTokenLen {
		return Token{}, fmt.Errorf("%w: %d bytes, longer than the %d-byte limit", ErrBadToken, len(s), MaxSignedTokenLen)
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
func (*TokenKey) mac(key []byte, text string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(tokenMACDomain))
	h.Write([]byte(text))
	return h.Sum(nil)[:tokenMACLen]
}

// FormatToken returns t's text form for a client to carry: signed with the
// DB's token key (see WithTokenKey) when it has one, else t.String(). One
// HMAC-SHA256 when signed, no I/O.
func (db *DB) FormatToken(t Token) string {
	if k := db.tokens().key; k != nil {
		return k.Format(t)
	}
	return t.String()
}

// ParseToken reads a token from untrusted text: with the DB's token key
// (see WithTokenKey) as TokenKey.Parse does, rejecting a token that is not
// signed with it; without one as the package's ParseToken does. Errors wrap
// ErrBadToken. No I/O.
func (db *DB) ParseToken(s string) (Token, error) {
	if k := db.tokens().key; k != nil {
		return k.Parse(s)
	}
	return ParseToken(s)
}

// errSignedToken explains why ParseToken refuses a signed token.
var errSignedToken = errors.New("a signed token: read it with TokenKey.Parse (or DB.ParseToken)")
