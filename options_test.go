package rwsplit

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Unit tests of OpenFromEnv (t.Setenv; no server: the DSNs name a closed
// port on loopback and nothing is sent before a call).

const (
	envPass    = "s3cr3t-Pa55"
	envPrimary = "app:" + envPass + "@tcp(127.0.0.1:1)/app"
)

func envReplica(i int) string {
	return "app:" + envPass + "@tcp(127.0.0.1:" + string(rune('2'+i)) + ")/app"
}

var envKey = base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))

// clearEnv unsets (empties) every variable of prefix for the test.
func clearEnv(t *testing.T, prefix string) {
	for _, k := range []string{"PRIMARY_DSN", "REPLICA_DSNS", "DRIVER", "DEFAULT_CONSISTENCY", "MAX_LAG", "MONITOR_INTERVAL",
		"MIN_SERVING", "PRIMARY_FALLBACK", "PURE_FUNCTIONS", "DISCOVERY", "DSNS", "TOKEN_KEY", "TOKEN_KEY_PREVIOUS"} {
		t.Setenv(prefix+"_"+k, "")
	}
}

// TestOpenFromEnv: every variable reaches the DB it opens.
func TestOpenFromEnv(t *testing.T) {
	clearEnv(t, "RWSPLIT")
	t.Setenv("RWSPLIT_PRIMARY_DSN", envPrimary)
	t.Setenv("RWSPLIT_REPLICA_DSNS", envReplica(0)+" , "+envReplica(1))
	t.Setenv("RWSPLIT_DRIVER", "mysql")
	t.Setenv("RWSPLIT_DEFAULT_CONSISTENCY", "waitgtid:250ms:orfail")
	t.Setenv("RWSPLIT_MAX_LAG", "3s")
	t.Setenv("RWSPLIT_MONITOR_INTERVAL", "1h")
	t.Setenv("RWSPLIT_MIN_SERVING", "1")
	t.Setenv("RWSPLIT_PRIMARY_FALLBACK", "off")
	t.Setenv("RWSPLIT_PURE_FUNCTIONS", "app.slugify, distance")
	t.Setenv("RWSPLIT_TOKEN_KEY", envKey)
	t.Setenv("RWSPLIT_TOKEN_KEY_PREVIOUS", base64.RawURLEncoding.EncodeToString([]byte("fedcba9876543210")))
	db, err := OpenFromEnv("")
	require.NoError(t, err)
	defer db.Close()
	assert.Len(t, db.Replicas(), 2)
	assert.Equal(t, WaitGTID(250*time.Millisecond).OrFail(), db.mode)
	assert.Equal(t, 3*time.Second, db.maxLag)
	assert.Equal(t, time.Hour, db.interval)
	assert.Equal(t, 1, db.minServing)
	assert.False(t, db.primaryFallback)
	assert.True(t, db.classify("SELECT app.slugify(x), distance(a, b) FROM t").Replica, "pure functions")
	require.NotNil(t, db.safety.key)
	assert.False(t, db.discover)
	tok := db.FormatToken(Token{})
	_, err = db.ParseToken(tok)
	assert.NoError(t, err, "signed with the key")

	// Options given to OpenFromEnv win over the environment.
	db2, err := OpenFromEnv("RWSPLIT_", WithDefaultConsistency(Primary))
	require.NoError(t, err)
	defer db2.Close()
	assert.Equal(t, Primary, db2.mode)
}

// TestOpenFromEnvDefaults: only the primary set: driver mysql, no
// replicas, Eventual, the usual defaults; a prefix of one's own.
func TestOpenFromEnvDefaults(t *testing.T) {
	clearEnv(t, "APP_DB")
	t.Setenv("APP_DB_PRIMARY_DSN", envPrimary)
	db, err := OpenFromEnv("APP_DB")
	require.NoError(t, err)
	defer db.Close()
	assert.Empty(t, db.Replicas())
	assert.Equal(t, Eventual, db.mode)
	assert.Equal(t, time.Second, db.interval)
	assert.Zero(t, db.maxLag)
	assert.True(t, db.primaryFallback)
	assert.Nil(t, db.safety.key)
}

// TestOpenFromEnvDiscovery: with DISCOVERY, DSNS lists every server (the
// first given as the primary); PRIMARY_DSN and REPLICA_DSNS also work.
func TestOpenFromEnvDiscovery(t *testing.T) {
	// New runs discovery's first round: connection refused at once.
	clearEnv(t, "RWSPLIT")
	t.Setenv("RWSPLIT_DISCOVERY", "true")
	t.Setenv("RWSPLIT_DSNS", envPrimary+","+envReplica(0))
	t.Setenv("RWSPLIT_MONITOR_INTERVAL", "50ms")
	db, err := OpenFromEnv("")
	require.NoError(t, err)
	defer db.Close()
	assert.True(t, db.discover)
	assert.Len(t, db.all(), 2)

	t.Setenv("RWSPLIT_DSNS", "")
	t.Setenv("RWSPLIT_PRIMARY_DSN", envPrimary)
	t.Setenv("RWSPLIT_REPLICA_DSNS", envReplica(0))
	db2, err := OpenFromEnv("")
	require.NoError(t, err)
	defer db2.Close()
	assert.True(t, db2.discover)
	assert.Len(t, db2.all(), 2)
}

// TestOpenFromEnvErrors: each bad variable is named with its problem, and
// no error shows a password or a key.
func TestOpenFromEnvErrors(t *testing.T) {
	badKey := base64.StdEncoding.EncodeToString([]byte("short-key")) // 9 bytes
	cases := []struct {
		name string
		env  map[string]string
		want string // in the error
	}{
		{"no primary", map[string]string{}, "RWSPLIT_PRIMARY_DSN: is not set"},
		{"blank primary", map[string]string{"PRIMARY_DSN": "   "}, "RWSPLIT_PRIMARY_DSN: is not set"},
		{"primary unparsable", map[string]string{"PRIMARY_DSN": "app:" + envPass + "@tcp(127.0.0.1:1)"}, "RWSPLIT_PRIMARY_DSN does not parse as a DSN"},
		{"replica unparsable", map[string]string{"PRIMARY_DSN": envPrimary, "REPLICA_DSNS": envReplica(0) + ",app:" + envPass + "@tcp(x:1)app"}, "RWSPLIT_REPLICA_DSNS: entry 1 does not parse as a DSN"},
		{"replica empty entry", map[string]string{"PRIMARY_DSN": envPrimary, "REPLICA_DSNS": envReplica(0) + ",,"}, "RWSPLIT_REPLICA_DSNS: entry 1 is empty"},
		{"same server twice", map[string]string{"PRIMARY_DSN": envPrimary, "REPLICA_DSNS": envPrimary}, "rwsplit: OpenFromEnv: rwsplit: Open: primary DSN and replica DSN 0 name the same server"},
		{"consistency unknown", map[string]string{"PRIMARY_DSN": envPrimary, "DEFAULT_CONSISTENCY": "strong"}, `RWSPLIT_DEFAULT_CONSISTENCY: consistency "strong": unknown mode`},
		{"consistency no duration", map[string]string{"PRIMARY_DSN": envPrimary, "DEFAULT_CONSISTENCY": "waitgtid"}, `RWSPLIT_DEFAULT_CONSISTENCY: consistency "waitgtid": waitgtid needs a duration`},
		{"consistency bad duration", map[string]string{"PRIMARY_DSN": envPrimary, "DEFAULT_CONSISTENCY": "waitgtid:soon"}, `RWSPLIT_DEFAULT_CONSISTENCY: consistency "waitgtid:soon": "soon" is not a duration`},
		{"max lag", map[string]string{"PRIMARY_DSN": envPrimary, "MAX_LAG": "5"}, `RWSPLIT_MAX_LAG: "5" is not a duration`},
		{"max lag negative", map[string]string{"PRIMARY_DSN": envPrimary, "MAX_LAG": "-1s"}, `RWSPLIT_MAX_LAG: "-1s" is negative`},
		{"monitor interval", map[string]string{"PRIMARY_DSN": envPrimary, "MONITOR_INTERVAL": "1ms"}, `RWSPLIT_MONITOR_INTERVAL: "1ms" is below the least allowed, 10ms`},
		{"min serving", map[string]string{"PRIMARY_DSN": envPrimary, "MIN_SERVING": "-2"}, `RWSPLIT_MIN_SERVING: "-2" is not a count`},
		{"primary fallback", map[string]string{"PRIMARY_DSN": envPrimary, "PRIMARY_FALLBACK": "maybe"}, `RWSPLIT_PRIMARY_FALLBACK: "maybe" is not a boolean`},
		{"pure functions", map[string]string{"PRIMARY_DSN": envPrimary, "PURE_FUNCTIONS": "a,,b"}, `RWSPLIT_PURE_FUNCTIONS: entry 1 is empty`},
		{"discovery", map[string]string{"PRIMARY_DSN": envPrimary, "DISCOVERY": "sometimes"}, `RWSPLIT_DISCOVERY: "sometimes" is not a boolean`},
		{"dsns without discovery", map[string]string{"DSNS": envPrimary}, "RWSPLIT_DSNS: is read only with RWSPLIT_DISCOVERY=true"},
		{"dsns and primary", map[string]string{"DISCOVERY": "1", "DSNS": envPrimary, "PRIMARY_DSN": envPrimary}, "RWSPLIT_DSNS: is set with RWSPLIT_PRIMARY_DSN or RWSPLIT_REPLICA_DSNS"},
		{"discovery without servers", map[string]string{"DISCOVERY": "yes"}, "RWSPLIT_PRIMARY_DSN: is not set (nor RWSPLIT_DSNS)"},
		{"dsns unparsable", map[string]string{"DISCOVERY": "on", "DSNS": envPrimary + ",app:" + envPass + "@tcp(x:1)"}, "RWSPLIT_DSNS: entry 1 does not parse as a DSN"},
		{"token key not base64", map[string]string{"PRIMARY_DSN": envPrimary, "TOKEN_KEY": envPass + "!!"}, "RWSPLIT_TOKEN_KEY is not base64 (its value is not shown)"},
		{"token key short", map[string]string{"PRIMARY_DSN": envPrimary, "TOKEN_KEY": badKey}, "RWSPLIT_TOKEN_KEY is 9 bytes once decoded, want at least 16"},
		{"previous key short", map[string]string{"PRIMARY_DSN": envPrimary, "TOKEN_KEY": envKey, "TOKEN_KEY_PREVIOUS": envKey + "," + badKey}, "RWSPLIT_TOKEN_KEY_PREVIOUS: entry 1 is 9 bytes once decoded"},
		{"previous key alone", map[string]string{"PRIMARY_DSN": envPrimary, "TOKEN_KEY_PREVIOUS": envKey}, "RWSPLIT_TOKEN_KEY_PREVIOUS: is set without RWSPLIT_TOKEN_KEY"},
		{"driver unknown", map[string]string{"PRIMARY_DSN": "postgres://u:" + envPass + "@h/db", "DRIVER": "nosuchdriver"}, "rwsplit: OpenFromEnv: rwsplit: Open: primary DSN: sql: unknown driver"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			clearEnv(t, "RWSPLIT")
			for k, v := range c.env {
				t.Setenv("RWSPLIT_"+k, v)
			}
			db, err := OpenFromEnv("")
			if db != nil {
				_ = db.Close()
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
			assert.NotContains(t, err.Error(), envPass, "a password shown")
			assert.NotContains(t, err.Error(), envKey, "a key shown")
			assert.NotContains(t, err.Error(), badKey, "a key shown")
		})
	}
}

// TestParseConsistency: every mode's String form reads back as itself; the
// short forms read as documented; bad text is an error that says why.
func TestParseConsistency(t *testing.T) {
	modes := []Consistency{
		Eventual, Primary, Fast, Fast.OrFail(), Sleep(time.Second), CaughtUp(100 * time.Millisecond),
		WaitPosition(time.Second), WaitGTID(1500 * time.Millisecond), WaitGTID(time.Second).OrFail(),
		Latest(time.Second), Monotonic(2 * time.Second), MaxStaleness(5 * time.Second).OrFail(),
	}
	for _, m := range modes {
		got, err := ParseConsistency(m.String())
		require.NoError(t, err, m.String())
		assert.Equal(t, m, got, m.String())
	}
	for in, want := range map[string]Consistency{
		"eventual": Eventual, " PRIMARY ": Primary, "fast:orfail": Fast.OrFail(),
		"sleep:1s": Sleep(time.Second), "caught_up:100ms": CaughtUp(100 * time.Millisecond),
		"wait-position:2s": WaitPosition(2 * time.Second), "waitgtid:1s:orfail": WaitGTID(time.Second).OrFail(),
		"WaitGTID:1s,orfail": WaitGTID(time.Second).OrFail(), "latest:250ms": Latest(250 * time.Millisecond),
		"monotonic(1s)": Monotonic(time.Second), "maxstaleness:5s": MaxStaleness(5 * time.Second),
	} {
		got, err := ParseConsistency(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for in, want := range map[string]string{
		"":                "unknown mode",
		"strong":          "unknown mode",
		"waitgtid":        "needs a duration",
		"waitgtid:x":      "is not a duration",
		"waitgtid:-1s":    "negative duration",
		"eventual:1s":     "takes no duration",
		"primary:orfail":  "cannot fail over",
		"waitgtid1s)":     "unbalanced parenthesis",
		"maxstaleness(5)": "is not a duration",
	} {
		_, err := ParseConsistency(in)
		require.Error(t, err, in)
		assert.Contains(t, err.Error(), want, in)
		assert.True(t, strings.HasPrefix(err.Error(), "rwsplit: consistency "), err.Error())
	}
}
