package rwsplit_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"bytes"
	"context"
	"strconv"

	"github.com/rwsplit/rwsplit"
	"github.com/rwsplit/rwsplit/internal/fakedb"
	"github.com/rwsplit/rwsplit/internal/gtid"
)

func TestParseTokenRejectsHostileInput(t *testing.T) {
	for _, s := range hostileTokens {
		tok, err := rwsplit.ParseToken(s)
		assert.ErrorIs(t, err, rwsplit.ErrBadToken, "%q", s)
		assert.True(t, tok.IsZero())
		assert.LessOrEqual(t, len(err.Error()), 200, "errors do not echo unbounded input")
	}
}

func TestTokenRoundTrip(t *testing.T) {
	tok, err := rwsplit.ParseToken("")
	require.NoError(t, err)
	assert.True(t, tok.IsZero())
	assert.Equal(t, "", tok.String())

	const s = "2~my~3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5~binlog.000042:1234:1~1700000000000"
	tok, err = rwsplit.ParseToken(s)
	require.NoError(t, err)
	assert.Equal(t, s, tok.String())
	// Version 1 (no server id in the position) still parses.
	v1, err := rwsplit.ParseToken("1~my~3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5~binlog.000042:1234~1700000000000")
	require.NoError(t, err)
	assert.Equal(t, "2~my~3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5~binlog.000042:1234~1700000000000", v1.String())
	assert.Equal(t, time.UnixMilli(1700000000000), tok.Time())

	// In a JSON message a token travels as its text, as a Token field or as
	// a string.
	b, err := json.Marshal(struct{ T rwsplit.Token }{tok})
	require.NoError(t, err)
	assert.Equal(t, `{"T":"`+s+`"}`, string(b))
	var back struct{ T rwsplit.Token }
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, s, back.T.String())
	b, err = json.Marshal(struct{ T string }{tok.String()})
	require.NoError(t, err)
	var backText struct{ T string }
	require.NoError(t, json.Unmarshal(b, &backText))
	got, err := rwsplit.ParseToken(backText.T)
	require.NoError(t, err)
	assert.Equal(t, s, got.String())
	var zero struct{ T rwsplit.Token }
	require.NoError(t, json.Unmarshal([]byte(`{"T":""}`), &zero))
	assert.True(t, zero.T.IsZero())
	assert.ErrorIs(t, json.Unmarshal([]byte(`{"T":"2~xx"}`), &zero), rwsplit.ErrBadToken)
	_, err = rwsplit.ParseToken("2~xx")
	assert.ErrorIs(t, err, rwsplit.ErrBadToken)

	// A Session advanced by two tokens waits for both.
	other, err := rwsplit.ParseToken("2~my~3e11fa47-71ca-11e1-9e33-c80aa9429562:6-9~binlog.000043:4:1~1700000000500")
	require.NoError(t, err)
	sess := rwsplit.NewSession(tok)
	require.NoError(t, sess.Advance(other))
	assert.Equal(t, "2~my~3e11fa47-71ca-11e1-9e33-c80aa9429562:1-9~binlog.000043:4:1~1700000000500", sess.Token().String())
	ma, err := rwsplit.ParseToken("2~ma~0-1-100~~")
	require.NoError(t, err)
	assert.Error(t, sess.Advance(ma), "tokens of different flavors do not merge")
	assert.Equal(t, "2~my~3e11fa47-71ca-11e1-9e33-c80aa9429562:1-9~binlog.000043:4:1~1700000000500", sess.Token().String(), "unchanged")
}

func FuzzParseToken(f *testing.F) {
	for _, s := range append(hostileTokens,
		"", "1~my~3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5~binlog.000042:1234~1700000000000",
		"2~my~3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5~binlog.000042:1234:3~1700000000000",
		"1~ma~0-1-100.1-2-50~mysql-bin.000003:785~1700000000123", "1~~~~1", "2~~~~1", "2~~~~9223372036854775807") {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tok, err := rwsplit.ParseToken(s)
		if err != nil {
			return
		}
		// It prints as Encode prints what Decode read (version 1 tokens as
		// version 2), with a time from the future taken as now.
		dec, err := gtid.Decode(s)
		if err != nil {
			t.Fatalf("ParseToken accepted %q, which Decode refuses: %v", s, err)
		}
		if got := tok.Time(); dec.Time > 0 && got.UnixMilli() != dec.Time {
			if !time.UnixMilli(dec.Time).After(time.Now()) || got.After(time.Now().Add(time.Second)) {
				t.Fatalf("ParseToken(%q) changed the time %d to %v", s, dec.Time, got)
			}
			dec.Time = got.UnixMilli()
		}
		if got, want := tok.String(), gtid.Encode(dec); got != want {
			t.Fatalf("ParseToken(%q).String() = %q, want %q", s, got, want)
		}
		for _, c := range s {
			if strings.ContainsRune("'\"\\;/* \t\n#`", c) {
				t.Fatalf("accepted token %q holds %q", s, c)
			}
		}
	})
}

const signedSample = "2~my~3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5~binlog.000042:1234:1~1700000000000"

// keyDB returns a DB over a one-server cluster that signs its tokens with
// key and verifies them with key and previous (WithTokenKey). Two such DBs
// with the same keys stand for two services that share them.
func keyDB(t testing.TB, key []byte, previous ...[]byte) *rwsplit.DB {
	t.Helper()
	return fakeDB(t, fakedb.NewCluster(fakedb.MySQL, 1), false, rwsplit.WithTokenKey(key, previous...))
}

// TestTokenKeyRoundTrip: a signed token reads back as the token it signed;
// it is the unsigned text, '~' and 22 base64url characters.
func TestTokenKeyRoundTrip(t *testing.T) {
	k := keyDB(t, bytes.Repeat([]byte("k"), 32))
	tok, err := rwsplit.ParseToken(signedSample)
	require.NoError(t, err)
	s := k.FormatToken(tok)
	require.True(t, strings.HasPrefix(s, signedSample+"~"), s)
	assert.Len(t, s, len(signedSample)+23)
	assert.Equal(t, gtid.MaxTokenLen+23, rwsplit.MaxTokenLen, "MaxTokenLen bounds the signed form of the longest unsigned token")
	for _, c := range s[len(signedSample)+1:] {
		assert.True(t, 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_', "%q", c)
	}
	got, err := k.ParseToken(s)
	require.NoError(t, err)
	assert.Equal(t, signedSample, got.String())
	assert.Equal(t, s, k.FormatToken(got), "deterministic")

	// The zero token is "" either way.
	assert.Equal(t, "", k.FormatToken(rwsplit.Token{}))
	got, err = k.ParseToken("")
	require.NoError(t, err)
	assert.True(t, got.IsZero())
}

// TestTokenKeyRejectsForgeries: in signed mode a token that was altered in
// any byte, made up, unsigned, truncated, or signed with another key is an
// error wrapping ErrBadToken, and yields the zero Token.
func TestTokenKeyRejectsForgeries(t *testing.T) {
	k := keyDB(t, bytes.Repeat([]byte("k"), 32))
	other := keyDB(t, bytes.Repeat([]byte("o"), 32))
	tok, err := rwsplit.ParseToken(signedSample)
	require.NoError(t, err)
	s := k.FormatToken(tok)

	bad := []string{
		signedSample, // unsigned
		other.FormatToken(tok),
		s[:len(s)-1],
		s + "A",
		strings.Replace(s, ":1-5~", ":1-9223372036854775806~", 1), // a bigger claim, old MAC
		strings.Replace(s, "1700000000000", "1700000000001", 1),
		signedSample + "~" + strings.Repeat("A", 22),
		signedSample + "~" + strings.Repeat("=", 22),
		"~" + s[len(signedSample)+1:], // a MAC alone
		strings.Repeat("x", rwsplit.MaxTokenLen+1),
	}
	// Every single-byte change of the signed text.
	for i := range len(s) {
		b := []byte(s)
		b[i] ^= 1
		bad = append(bad, string(b))
	}
	for _, in := range bad {
		got, err := k.ParseToken(in)
		require.ErrorIs(t, err, rwsplit.ErrBadToken, "%q", in)
		assert.True(t, got.IsZero())
		assert.Less(t, len(err.Error()), 200)
	}
	_, err = k.ParseToken(other.FormatToken(tok))
	assert.Contains(t, err.Error(), "signature does not match")
	_, err = k.ParseToken(signedSample)
	assert.Contains(t, err.Error(), "not a signed token")
}

// TestTokenKeyRotation: tokens signed with a previous key still verify; the
// current key signs. Each DB stands for a service in a stage of the
// rotation.
func TestTokenKeyRotation(t *testing.T) {
	oldKey, newKey := bytes.Repeat([]byte("1"), 32), bytes.Repeat([]byte("2"), 32)
	tok, err := rwsplit.ParseToken(signedSample)
	require.NoError(t, err)
	before := keyDB(t, oldKey)
	during := keyDB(t, newKey, oldKey)
	after := keyDB(t, newKey)

	_, err = during.ParseToken(before.FormatToken(tok))
	assert.NoError(t, err, "a token of the old key during rotation")
	_, err = after.ParseToken(during.FormatToken(tok))
	assert.NoError(t, err, "the new key signs")
	_, err = after.ParseToken(before.FormatToken(tok))
	assert.ErrorIs(t, err, rwsplit.ErrBadToken, "the old key retired")
}

// TestWithTokenKeyChecksKeys: New refuses a key shorter than 16 bytes with
// an error that names it, and copies the keys it takes.
func TestWithTokenKeyChecksKeys(t *testing.T) {
	cl := fakedb.NewCluster(fakedb.MySQL, 1)
	open := func(key []byte, previous ...[]byte) error {
		db, err := rwsplit.New(cl.Primary().OpenDB(false), nil, rwsplit.WithTokenKey(key, previous...))
		if err == nil {
			_ = db.Close()
		}
		return err
	}
	err := open(make([]byte, 15))
	assert.ErrorContains(t, err, "WithTokenKey: key is 15 bytes, want at least 16")
	assert.NoError(t, open(make([]byte, 16)))
	err = open(make([]byte, 32), make([]byte, 3))
	assert.ErrorContains(t, err, "previous key 0")
	assert.Error(t, open(nil))

	// The key is copied: changing the caller's slice changes nothing.
	key := bytes.Repeat([]byte("k"), 32)
	k := keyDB(t, key)
	tok, err := rwsplit.ParseToken(signedSample)
	require.NoError(t, err)
	s := k.FormatToken(tok)
	key[0] = 'x'
	_, err = k.ParseToken(s)
	assert.NoError(t, err)
}

// TestParseTokenRefusesSignedText: the unsigned ParseToken does not read a
// signed token, and says why.
func TestParseTokenRefusesSignedText(t *testing.T) {
	k := keyDB(t, bytes.Repeat([]byte("k"), 32))
	tok, err := rwsplit.ParseToken(signedSample)
	require.NoError(t, err)
	_, err = rwsplit.ParseToken(k.FormatToken(tok))
	require.ErrorIs(t, err, rwsplit.ErrBadToken)
	assert.Contains(t, err.Error(), "DB.ParseToken")
}

// TestDBTokenKey: a DB with a token key formats signed tokens and parses
// only tokens signed with it (or with the same key by another DB: another
// service); without one it reads and prints the unsigned form, as
// ParseToken and Token.String.
func TestDBTokenKey(t *testing.T) {
	cl := fakedb.NewCluster(fakedb.MySQL, 1)
	db := fakeDB(t, cl, false)
	tok, err := db.ParseToken(signedSample)
	require.NoError(t, err)
	assert.Equal(t, signedSample, db.FormatToken(tok))

	k := keyDB(t, bytes.Repeat([]byte("k"), 32))
	db = fakeDB(t, cl, false, rwsplit.WithTokenKey(bytes.Repeat([]byte("k"), 32)))
	s := db.FormatToken(tok)
	assert.Equal(t, k.FormatToken(tok), s)
	got, err := db.ParseToken(s)
	require.NoError(t, err)
	assert.Equal(t, signedSample, got.String())
	got, err = k.ParseToken(s)
	require.NoError(t, err, "another service with the same key")
	assert.Equal(t, signedSample, got.String())
	_, err = db.ParseToken(signedSample)
	assert.ErrorIs(t, err, rwsplit.ErrBadToken, "unsigned in signed mode")
	_, err = db.ParseToken(strings.Replace(s, ":1-5~", ":1-6~", 1))
	assert.ErrorIs(t, err, rwsplit.ErrBadToken, "altered")

	_, err = rwsplit.New(cl.Primary().OpenDB(false), nil, rwsplit.WithTokenKey([]byte("short")))
	assert.Error(t, err, "a key shorter than 16 bytes")
}

// TestTokenTimeClamped: a token dated in the future (beyond a second of
// skew) is taken as dated now, by ParseToken, DB.ParseToken, NewSession and
// Advance, so that Sleep does not wait for it; a time within the skew is
// kept.
func TestTokenTimeClamped(t *testing.T) {
	future := time.Now().Add(time.Hour).UnixMilli()
	s := "2~~~~" + strconv.FormatInt(future, 10)
	tok, err := rwsplit.ParseToken(s)
	require.NoError(t, err)
	assert.WithinDuration(t, time.Now(), tok.Time(), 2*time.Second)

	k := keyDB(t, bytes.Repeat([]byte("k"), 32))
	tok, err = k.ParseToken(k.FormatToken(rwsplit.WithTime(rwsplit.Token{}, future)))
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
