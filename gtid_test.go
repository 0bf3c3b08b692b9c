package rwsplit_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rwsplit/rwsplit"
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
