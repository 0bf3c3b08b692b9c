package rwsplit

import (
	"encoding/base64"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/rwsplit/rwsplit/internal/redact"
)

// Twelve-factor configuration: a DB opened from environment variables.

// defaultEnvPrefix is the prefix OpenFromEnv uses when given "".
const defaultEnvPrefix = "RWSPLIT"

// envVar is one variable OpenFromEnv reads: its full name and value.
type envVar struct{ name, value string }

// envConfig is what OpenFromEnv read. It holds DSNs: never print it.
type envConfig struct {
	driver   string
	primary  string
	replicas []string
	opts     []Option
}

// OpenFromEnv opens a DB configured by environment variables, each named
// prefix + "_" + KEY (prefix "" means "RWSPLIT"); opts are applied after
// the environment's, so they win. An empty variable counts as unset.
//
//	RWSPLIT_PRIMARY_DSN          the primary's DSN (required, unless DSNS is used)
//	RWSPLIT_REPLICA_DSNS         the replicas' DSNs, comma-separated (optional)
//	RWSPLIT_DRIVER               the database/sql driver name (default "mysql")
//	RWSPLIT_DEFAULT_CONSISTENCY  the default mode, as ParseConsistency reads it:
//	                             eventual, primary, fast, waitgtid:1s, maxstaleness:5s, ...
//	RWSPLIT_MAX_LAG              WithMaxReplicationLag, a Go duration (e.g. 5s)
//	RWSPLIT_MONITOR_INTERVAL     WithMonitorInterval, a Go duration (at least 10ms)
//	RWSPLIT_MIN_SERVING          WithMinServing, a count
//	RWSPLIT_PRIMARY_FALLBACK     WithPrimaryFallback, a boolean (true, false, 1, 0, on, off, yes, no)
//	RWSPLIT_PURE_FUNCTIONS       WithPureFunctions, comma-separated names
//	RWSPLIT_DISCOVERY            WithDiscovery, a boolean; then RWSPLIT_DSNS may list
//	                             every server, comma-separated, instead of
//	                             PRIMARY_DSN and REPLICA_DSNS
//	RWSPLIT_TOKEN_KEY            WithTokenKey: the key, in base64 (standard or URL
//	                             alphabet, padded or not), at least 16 bytes
//	RWSPLIT_TOKEN_KEY_PREVIOUS   older keys that still verify, comma-separated base64
//
// A DSN containing a comma cannot be listed in REPLICA_DSNS or DSNS (escape
// it in the DSN, e.g. %2C in a parameter value, or use Open).
//
// A bad variable is an error that names it and says what is wrong, before
// anything is opened; it never shows a DSN's password or a token key (a DSN
// variable's value is never shown, nor is any key). With the "mysql"
// driver each DSN is parsed first. What Open then checks (the same server
// given twice, ...) is reported as Open reports it, "replica DSN i" being
// entry i of REPLICA_DSNS (or entry i+1 of DSNS).
//
// Cost: that of Open; the environment is read once.
func OpenFromEnv(prefix string, opts ...Option) (*DB, error) {
	cfg, err := readEnv(prefix, os.LookupEnv)
	if err != nil {
		return nil, err
	}
	db, err := Open(cfg.driver, cfg.primary, cfg.replicas, append(cfg.opts, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("rwsplit: OpenFromEnv: %w", err)
	}
	return db, nil
}

// envError is a bad variable: its name and the problem.
func envError(name, problem string, args ...any) error {
	return fmt.Errorf("rwsplit: %s: %s", name, fmt.Sprintf(problem, args...))
}

// readEnv reads the configuration named by prefix through lookup.
func readEnv(prefix string, lookup func(string) (string, bool)) (envConfig, error) {
	if prefix == "" {
		prefix = defaultEnvPrefix
	}
	prefix = strings.TrimSuffix(prefix, "_") + "_"
	get := func(key string) envVar {
		v, _ := lookup(prefix + key)
		return envVar{name: prefix + key, value: strings.TrimSpace(v)}
	}
	cfg := envConfig{driver: "mysql"}
	if v := get("DRIVER"); v.value != "" {
		cfg.driver = v.value
	}

	discover := false
	if v := get("DISCOVERY"); v.value != "" {
		b, err := parseEnvBool(v)
		if err != nil {
			return cfg, err
		}
		discover = b
		if b {
			cfg.opts = append(cfg.opts, WithDiscovery())
		}
	}
	primary, replicas, all := get("PRIMARY_DSN"), get("REPLICA_DSNS"), get("DSNS")
	switch {
	case all.value != "" && !discover:
		return cfg, envError(all.name, "is read only with %sDISCOVERY=true (set %s and %s otherwise)", prefix, primary.name, replicas.name)
	case all.value != "" && (primary.value != "" || replicas.value != ""):
		return cfg, envError(all.name, "is set with %s or %s: set either DSNS or those", primary.name, replicas.name)
	case all.value != "":
		dsns, err := dsnList(all, cfg.driver)
		if err != nil {
			return cfg, err
		}
		cfg.primary, cfg.replicas = dsns[0], dsns[1:]
	case primary.value == "" && discover:
		return cfg, envError(primary.name, "is not set (nor %s)", all.name)
	case primary.value == "":
		return cfg, envError(primary.name, "is not set")
	default:
		if err := checkDSN(primary, -1, primary.value, cfg.driver); err != nil {
			return cfg, err
		}
		cfg.primary = primary.value
		if replicas.value != "" {
			dsns, err := dsnList(replicas, cfg.driver)
			if err != nil {
				return cfg, err
			}
			cfg.replicas = dsns
		}
	}

	if v := get("DEFAULT_CONSISTENCY"); v.value != "" {
		c, err := ParseConsistency(v.value)
		if err != nil {
			return cfg, envError(v.name, "%v", strings.TrimPrefix(err.Error(), "rwsplit: "))
		}
		cfg.opts = append(cfg.opts, WithDefaultConsistency(c))
	}
	if v := get("MAX_LAG"); v.value != "" {
		d, err := parseEnvDuration(v, 0)
		if err != nil {
			return cfg, err
		}
		cfg.opts = append(cfg.opts, WithMaxReplicationLag(d))
	}
	if v := get("MONITOR_INTERVAL"); v.value != "" {
		d, err := parseEnvDuration(v, 10*time.Millisecond)
		if err != nil {
			return cfg, err
		}
		cfg.opts = append(cfg.opts, WithMonitorInterval(d))
	}
	if v := get("MIN_SERVING"); v.value != "" {
		n, err := strconv.Atoi(v.value)
		if err != nil || n < 0 {
			return cfg, envError(v.name, "%q is not a count (0, 1, 2, ...)", v.value)
		}
		cfg.opts = append(cfg.opts, WithMinServing(n))
	}
	if v := get("PRIMARY_FALLBACK"); v.value != "" {
		b, err := parseEnvBool(v)
		if err != nil {
			return cfg, err
		}
		cfg.opts = append(cfg.opts, WithPrimaryFallback(b))
	}
	if v := get("PURE_FUNCTIONS"); v.value != "" {
		var names []string
		for i, n := range strings.Split(v.value, ",") {
			n = strings.TrimSpace(n)
			if n == "" {
				return cfg, envError(v.name, "entry %d is empty", i)
			}
			names = append(names, n)
		}
		cfg.opts = append(cfg.opts, WithPureFunctions(names...))
	}
	key, prev := get("TOKEN_KEY"), get("TOKEN_KEY_PREVIOUS")
	switch {
	case key.value != "":
		k, err := parseEnvKey(key, -1)
		if err != nil {
			return cfg, err
		}
		var olds [][]byte
		if prev.value != "" {
			for i, p := range strings.Split(prev.value, ",") {
				b, err := parseEnvKey(envVar{name: prev.name, value: strings.TrimSpace(p)}, i)
				if err != nil {
					return cfg, err
				}
				olds = append(olds, b)
			}
		}
		cfg.opts = append(cfg.opts, WithTokenKey(k, olds...))
	case prev.value != "":
		return cfg, envError(prev.name, "is set without %s", key.name)
	}
	return cfg, nil
}

// dsnList splits v's comma-separated DSNs and checks each.
func dsnList(v envVar, driverName string) ([]string, error) {
	parts := strings.Split(v.value, ",")
	out := make([]string, 0, len(parts))
	for i, p := range parts {
		p = strings.TrimSpace(p)
		if err := checkDSN(v, i, p, driverName); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// checkDSN checks entry i of v (i < 0: v holds one DSN): not empty, and
// parsed by go-sql-driver/mysql for the "mysql" driver. The error never
// shows the DSN's password.
func checkDSN(v envVar, i int, dsn, driverName string) error {
	what := v.name
	if i >= 0 {
		what = fmt.Sprintf("%s: entry %d", v.name, i)
	}
	if dsn == "" {
		return fmt.Errorf("rwsplit: %s is empty", what)
	}
	if driverName != "mysql" {
		return nil
	}
	if _, err := mysql.ParseDSN(dsn); err != nil {
		return fmt.Errorf("rwsplit: %s does not parse as a DSN: %w", what, redact.DSN(err, dsn))
	}
	return nil
}

// parseEnvBool reads a boolean: what strconv.ParseBool takes, and on, off,
// yes, no.
func parseEnvBool(v envVar) (bool, error) {
	switch strings.ToLower(v.value) {
	case "on", "yes", "y":
		return true, nil
	case "off", "no", "n":
		return false, nil
	}
	b, err := strconv.ParseBool(v.value)
	if err != nil {
		return false, envError(v.name, "%q is not a boolean (true, false, 1, 0, on, off, yes, no)", v.value)
	}
	return b, nil
}

// parseEnvDuration reads a Go duration of at least least.
func parseEnvDuration(v envVar, least time.Duration) (time.Duration, error) {
	d, err := time.ParseDuration(v.value)
	switch {
	case err != nil:
		return 0, envError(v.name, "%q is not a duration (e.g. 500ms, 2s, 1m)", v.value)
	case d < 0:
		return 0, envError(v.name, "%q is negative", v.value)
	case d < least:
		return 0, envError(v.name, "%q is below the least allowed, %v", v.value, least)
	}
	return d, nil
}

// parseEnvKey decodes a base64 key (entry i of v; i < 0: v holds one key)
// and checks its length. The error never shows the key.
func parseEnvKey(v envVar, i int) ([]byte, error) {
	what := v.name
	if i >= 0 {
		what = fmt.Sprintf("%s: entry %d", v.name, i)
	}
	s := v.value
	if s == "" {
		return nil, fmt.Errorf("rwsplit: %s is empty", what)
	}
	var b []byte
	var err error
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err = enc.DecodeString(s); err == nil {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("rwsplit: %s is not base64 (its value is not shown)", what)
	}
	if len(b) < minTokenKeyLen {
		return nil, fmt.Errorf("rwsplit: %s is %d bytes once decoded, want at least %d (32 random bytes: head -c32 /dev/urandom | base64)", what, len(b), minTokenKeyLen)
	}
	return b, nil
}

// ParseConsistency reads a mode from text: the form Consistency.String
// returns ("Eventual", "WaitGTID(1s)", "MaxStaleness(5s).OrFail()"), or a
// short form: the name, then ":" and a Go duration for the modes that take
// one, then ":orfail" for fail-instead ("eventual", "primary", "fast",
// "sleep:1s", "caughtup:100ms", "waitposition:1s", "waitgtid:1s:orfail",
// "latest:1s", "monotonic:1s", "maxstaleness:5s"). Names are
// case-insensitive, and "_" and "-" in them are ignored ("wait_gtid").
// Cost: a few string operations; no I/O.
func ParseConsistency(s string) (Consistency, error) {
	text := strings.TrimSpace(s)
	low := strings.ToLower(text)
	fail := false
	for _, suf := range []string{".orfail()", ":orfail", ",orfail", ".orfail"} {
		if strings.HasSuffix(low, suf) {
			fail, low = true, strings.TrimSuffix(low, suf)
			break
		}
	}
	name, arg, hasArg := low, "", false
	switch {
	case strings.HasSuffix(low, ")"):
		i := strings.IndexByte(low, '(')
		if i < 0 {
			return Consistency{}, fmt.Errorf("rwsplit: consistency %q: unbalanced parenthesis", text)
		}
		name, arg, hasArg = low[:i], low[i+1:len(low)-1], true
	case strings.Contains(low, ":"):
		i := strings.IndexByte(low, ':')
		name, arg, hasArg = low[:i], low[i+1:], true
	}
	name = strings.NewReplacer("_", "", "-", "", " ", "").Replace(name)
	var d time.Duration
	if hasArg {
		var err error
		if d, err = time.ParseDuration(strings.TrimSpace(arg)); err != nil {
			return Consistency{}, fmt.Errorf("rwsplit: consistency %q: %q is not a duration (e.g. 500ms, 1s)", text, arg)
		}
		if d < 0 {
			return Consistency{}, fmt.Errorf("rwsplit: consistency %q: negative duration", text)
		}
	}
	timed := map[string]func(time.Duration) Consistency{
		"sleep": Sleep, "caughtup": CaughtUp, "waitposition": WaitPosition, "waitgtid": WaitGTID,
		"latest": Latest, "monotonic": Monotonic, "maxstaleness": MaxStaleness,
	}
	var c Consistency
	switch name {
	case "eventual", "primary", "fast":
		if hasArg {
			return Consistency{}, fmt.Errorf("rwsplit: consistency %q: %s takes no duration", text, name)
		}
		c = map[string]Consistency{"eventual": Eventual, "primary": Primary, "fast": Fast}[name]
		if fail && name != "fast" {
			return Consistency{}, fmt.Errorf("rwsplit: consistency %q: %s cannot fail over (no orfail)", text, name)
		}
	default:
		mk, ok := timed[name]
		switch {
		case !ok:
			return Consistency{}, fmt.Errorf("rwsplit: consistency %q: unknown mode (want eventual, primary, fast, sleep, caughtup, waitposition, waitgtid, latest, monotonic or maxstaleness)", text)
		case !hasArg:
			return Consistency{}, fmt.Errorf("rwsplit: consistency %q: %s needs a duration, e.g. %s:1s", text, name, name)
		}
		c = mk(d)
	}
	if fail {
		c = c.OrFail()
	}
	return c, nil
}
