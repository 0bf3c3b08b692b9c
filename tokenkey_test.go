package rwsplit_test

import (
	"bytes"
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rwsplit/rwsplit"
	"github.com/rwsplit/rwsplit/internal/fakedb"
)

const signedSample = "2~my~3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5~binlog.000042:1234:1~1700000000000"

func mustKey(t testing.TB, key []byte, previous ...[]byte) *rwsplit.TokenKey {
	t.Helper()
	k, err := rwsplit.NewTokenKey(key, previous...)
	require.NoError(t, err)
	return k
}

// TestTokenKeyRoundTrip: a signed token reads back as the token it signed;
// it is the unsigned text, '~' and 22 base64url characters.
func TestTokenKeyRoundTrip(t *testing.T) {
	k := mustKey(t, bytes.Repeat([]byte("k"), 32))
	tok, err := rwsplit.ParseToken(signedSample)
	require.NoError(t, err)
	s := k.Format(tok)
	require.True(t, strings.HasPrefix(s, signedSample+"~"), s)
	assert.Len(t, s, len(signedSample)+23)
	for _, c := range s[len(signedSample)+1:] {
		assert.True(t, 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_', "%q", c)
	}
	got, err := k.Parse(s)
	require.NoError(t, err)
	assert.Equal(t, signedSample, got.String())
	assert.Equal(t, s, k.Format(got), "deterministic")

	// The zero token is "" either way.
	assert.Equal(t, "", k.Format(rwsplit.Token{}))
	got, err = k.Parse("")
	require.NoError(t, err)
	assert.True(t, got.IsZero())
}

// TestTokenKeyRejectsForgeries: in signed mode a token that was altered in
// any byte, made up, unsigned, truncated, or signed with another key is an
// error wrapping ErrBadToken, and yields the zero Token.
func TestTokenKeyRejectsForgeries(t *testing.T) {
	k := mustKey(t, bytes.Repeat([]byte("k"), 32))
	other := mustKey(t, bytes.Repeat([]byte("o"), 32))
	tok, err := rwsplit.ParseToken(signedSample)
	require.NoError(t, err)
	s := k.Format(tok)

	bad := []string{
		signedSample, // unsigned
		other.Format(tok),
		s[:len(s)-1],
		s + "A",
		strings.Replace(s, ":1-5~", ":1-9223372036854775806~", 1), // a bigger claim, old MAC
		strings.Replace(s, "1700000000000", "1700000000001", 1),
		signedSample + "~" + strings.Repeat("A", 22),
		signedSample + "~" + strings.Repeat("=", 22),
		"~" + s[len(signedSample)+1:], // a MAC alone
		strings.Repeat("x", rwsplit.MaxSignedTokenLen+1),
	}
	// Every single-byte change of the signed text.
	for i := range len(s) {
		b := []byte(s)
		b[i] ^= 1
		bad = append(bad, string(b))
	}
	for _, in := range bad {
		got, err := k.Parse(in)
		require.ErrorIs(t, err, rwsplit.ErrBadToken, "%q", in)
		assert.True(t, got.IsZero())
		assert.Less(t, len(err.Error()), 200)
	}
	_, err = k.Parse(other.Format(tok))
	assert.Contains(t, err.Error(), "signature does not match")
	_, err = k.Parse(signedSample)
	assert.Contains(t, err.Error(), "not a signed token")
}

// TestTokenKeyRotation: tokens signed with a previous key still verify; the
// current key signs.
func TestTokenKeyRotation(t *testing.T) {
	oldKey, newKey := bytes.Repeat([]byte("1"), 32), bytes.Repeat([]byte("2"), 32)
	tok, err := rwsplit.ParseToken(signedSample)
	require.NoError(t, err)
	before := mustKey(t, oldKey)
	during := mustKey(t, newKey, oldKey)
	after := mustKey(t, newKey)

	_, err = during.Parse(before.Format(tok))
	assert.NoError(t, err, "a token of the old key during rotation")
	_, err = after.Parse(during.Format(tok))
	assert.NoError(t, err, "the new key signs")
	_, err = after.Parse(before.Format(tok))
	assert.ErrorIs(t, err, rwsplit.ErrBadToken, "the old key retired")
}

func TestNewTokenKeyChecksKeys(t *testing.T) {
	_, err := rwsplit.NewTokenKey(make([]byte, rwsplit.MinTokenKeyLen-1))
	assert.ErrorContains(t, err, "want at least 16")
	_, err = rwsplit.NewTokenKey(make([]byte, 32), make([]byte, 3))
	assert.ErrorContains(t, err, "previous key 0")
	_, err = rwsplit.NewTokenKey(nil)
	assert.Error(t, err)

	// The key is copied: changing the caller's slice changes nothing.
	key := bytes.Repeat([]byte("k"), 32)
	k := mustKey(t, key)
	tok, err := rwsplit.ParseToken(signedSample)
	require.NoError(t, err)
	s := k.Format(tok)
	key[0] = 'x'
	_, err = k.Parse(s)
	assert.NoError(t, err)
}

// TestParseTokenRefusesSignedText: the unsigned ParseToken does not read a
// signed token, and says why.
func TestParseTokenRefusesSignedText(t *testing.T) {
	k := mustKey(t, bytes.Repeat([]byte("k"), 32))
	tok, err := rwsplit.ParseToken(signedSample)
	require.NoError(t, err)
	_, err = rwsplit.ParseToken(k.Format(tok))
	require.ErrorIs(t, err, rwsplit.ErrBadToken)
	assert.Contains(t, err.Error(), "TokenKey.Parse")
}

// TestDBTokenKey: a DB with a token key formats signed tokens and parses
// only tokens signed with it; without one it reads and prints the unsigned
// form, as ParseToken and Token.String.
func TestDBTokenKey(t *testing.T) {
	cl := fakedb.NewCluster(fakedb.MySQL, 1)
	db := fakeDB(t, cl, false)
	tok, err := db.ParseToken(signedSample)
	require.NoError(t, err)
	assert.Equal(t, signedSample, db.FormatToken(tok))

	k := mustKey(t, bytes.Repeat([]byte("k"), 32))
	db = fakeDB(t, cl, false, rwsplit.WithTokenKey(bytes.Repeat([]byte("k"), 32)))
	s := db.FormatToken(tok)
	assert.Equal(t, k.Format(tok), s)
	got, err := db.ParseToken(s)
	require.NoError(t, err)
	assert.Equal(t, signedSample, got.String())
	_, err = db.ParseToken(signedSample)
	assert.ErrorIs(t, err, rwsplit.ErrBadToken, "unsigned in signed mode")
	_, err = db.ParseToken(strings.Replace(s, ":1-5~", ":1-6~", 1))
	assert.ErrorIs(t, err, rwsplit.ErrBadToken, "altered")

	_, err = rwsplit.New(cl.Primary().OpenDB(false), nil, rwsplit.WithTokenKey([]byte("short")))
	assert.Error(t, err, "a key shorter than MinTokenKeyLen")
}

// TestTokenTimeClamped: a token dated in the future (beyond a second of
// skew) is taken as dated now, by ParseToken, TokenKey.Parse, NewSession and
// Advance, so that Sleep does not wait for it; a time within the skew is
// kept.
func TestTokenTimeClamped(t *testing.T) {
	future := time.Now().Add(time.Hour).UnixMilli()
	s := "2~~~~" + strconv.FormatInt(future, 10)
	tok, err := rwsplit.ParseToken(s)
	require.NoError(t, err)
	assert.WithinDuration(t, time.Now(), tok.Time(), 2*time.Second)

	k := mustKey(t, bytes.Repeat([]byte("k"), 32))
	tok, err = k.Parse(k.Format(rwsplit.WithTime(rwsplit.Token{}, future)))
	require.NoError(t, err)
	assert.WithinDuration(t, time.Now(), tok.Time(), 2*time.Second)

	near := time.Now().Add(300 * time.Millisecond).UnixMilli()
	tok, err = rwsplit.ParseToken("2~~~~" + strconv.FormatInt(near, 10))
	require.NoError(t, err)
	assert.Equal(t, near, tok.Time().UnixMilli(), "within the skew: kept")

	// Sleep reads the session's time: a token from the future must not
	// make it wait an hour.
	cl := fakedb.NewCluster(fakedb.MySQL, 1)
	db := fakeDB(t, cl, false)
	for name, sess := range map[string]*rwsplit.Session{
		"NewSession": rwsplit.NewSession(rwsplit.WithTime(rwsplit.Token{}, future)),
		"Advance": func() *rwsplit.Session {
			s := rwsplit.NewSession(rwsplit.Token{})
			require.NoError(t, s.Advance(rwsplit.WithTime(rwsplit.Token{}, future)))
			return s
		}(),
	} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			ctx = rwsplit.WithConsistency(rwsplit.WithSession(ctx, sess), rwsplit.Sleep(50*time.Millisecond))
			_, _ = readKV(t, ctx, db, 1) // fails with the deadline if Sleep waits for the future
			assert.WithinDuration(t, time.Now(), sess.Token().Time(), 3*time.Second)
		})
	}
}
