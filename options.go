package rwsplit

import (
	"github.com/rwsplit/rwsplit/internal/cluster"

	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/rwsplit/rwsplit/internal/redact"
)

type options struct {
	writeHold *time.Duration // WithWriteHold (nil: defaultWriteHold)
	balancer  Balancer
	pure      []string
	weights   []int
	mode      Consistency
	oneTrip   []bool
	interval  time.Duration
	maxLag    time.Duration
	noFall    bool
	// readAhead: the pools were opened by Open (they read ahead: openPool).
	readAhead bool
	// primaryOneTrip: Open's primary DSN allows one-round-trip waits (it
	// may serve as a replica under discovery).
	primaryOneTrip bool
	discover       bool
	minServing     int
	tokenKey       *tokenKey
	observers      observers    // WithObserver's (observer.go)
	hedge          *hedgeConfig // WithHedge's (nil: the default)
	kind           cluster.Kind // WithClusterKind's (Unknown: detect)
	// names: Open's server names (addresses), the primary's first.
	names []string
}

// Option configures a DB.
type Option func(*options) error

// WithBalancer sets how reads are spread over replicas (default LeastInFlight).
func WithBalancer(b Balancer) Option {
	return func(o *options) error {
		if b == nil {
			return errors.New("rwsplit: WithBalancer(nil)")
		}
		o.balancer = b
		return nil
	}
}

// WithPureFunctions declares stored functions read-only, so that SELECTs
// calling them may go to replicas. Names are case-insensitive; "db.fn"
// matches a qualified call db.fn(...) and "fn" a bare call fn(...).
// Without it, a SELECT that calls a function rwsplit does not know as a
// built-in goes to the primary: a stored function may write.
func WithPureFunctions(names ...string) Option {
	return func(o *options) error {
		o.pure = append(o.pure, names...)
		return nil
	}
}

// WithWeights sets one weight per replica, in order, for weighted balancers
// (every weight defaults to 1).
func WithWeights(weights ...int) Option {
	return func(o *options) error {
		for i, w := range weights {
			if w < 0 {
				return fmt.Errorf("rwsplit: WithWeights: weight %d of replica %d is negative", w, i)
			}
		}
		o.weights = weights
		return nil
	}
}

// WithDefaultConsistency sets the consistency of calls whose context names
// none (default Eventual).
func WithDefaultConsistency(c Consistency) Option {
	return func(o *options) error {
		if c.kind == kindUnset {
			return errors.New("rwsplit: WithDefaultConsistency: the zero Consistency is not a mode")
		}
		o.mode = c
		return nil
	}
}

// WithMonitorInterval sets how often the monitor checks every replica
// (default 1 s; at least 10 ms). The monitor is one goroutine per DB, stopped
// by Close.
//
// The primary is checked every interval. A replica is checked every
// interval while the DB plans reads a replica may serve; a replica checked
// with no such read since its previous check backs off: next checked 4
// intervals later, then 16, then every 30 s (each gap ±20%, at least the
// interval), so that an idle instance costs each replica about one check
// in 30 s. The first read after a pause checks every backed-off replica at
// once (that read goes by the last look); a read that fails for want of a
// connection or times out, and a call slower than max(2 × interval, 1 s),
// check its replica at once. What needs fresh knowledge never trusts an
// old look: a replica's applied GTIDs older than 2 intervals count as
// unknown (Fast goes to the primary, a waiting mode waits rather than skip
// the wait; both ask for a look), and MaxStaleness adds the look's age to
// its lag. Under WithDiscovery every replica's identity is read each
// interval too (one query), and a replica seen writable is checked fully
// at once. A check costs each replica one or two queries (about 0.14 ms of
// server CPU on MySQL 9.7 and MariaDB 10.11; see docs/performance.md).
func WithMonitorInterval(d time.Duration) Option {
	return func(o *options) error {
		if d < 10*time.Millisecond {
			return fmt.Errorf("rwsplit: WithMonitorInterval(%v): want at least 10ms", d)
		}
		o.interval = d
		return nil
	}
}

// WithMaxReplicationLag takes a replica out of rotation while it is more than
// d behind the primary (as the monitor measures it: the age of the oldest
// primary GTID snapshot it has not applied, or Seconds_Behind when larger),
// and brings it back when it catches up. 0 (the default) sets no limit.
func WithMaxReplicationLag(d time.Duration) Option {
	return func(o *options) error {
		if d < 0 {
			return fmt.Errorf("rwsplit: WithMaxReplicationLag(%v): negative", d)
		}
		o.maxLag = d
		return nil
	}
}

// WithPrimaryFallback says where reads go when no replica is usable (all
// down, broken or lagging): to the primary (true, the default), or nowhere:
// they fail with ErrNoReplica (false), protecting the primary.
func WithPrimaryFallback(fallback bool) Option {
	return func(o *options) error {
		o.noFall = !fallback
		return nil
	}
}

// oneRoundTrip declares, per replica in order, that its pool's DSN sets
// multiStatements=true and interpolateParams=true, so that QueryContext can
// send a wait and the read in one round trip (Open detects it from the DSNs).
func oneRoundTrip(replicas []bool) Option {
	return func(o *options) error {
		o.oneTrip = replicas
		return nil
	}
}

// WithTokenKey signs the DB's tokens with key, and verifies them with key or
// any of the previous keys: DB.FormatToken signs (an HMAC-SHA256 of the
// token's text, 23 bytes more per token), DB.ParseToken rejects a token not
// signed by one of them, forged or altered, with an error wrapping
// ErrBadToken. Give every DB that issues or reads the tokens (every service)
// the same keys. To rotate, put the new key first and the old one in
// previous until the tokens signed with it are out of circulation.
//
// Each key must be at least 16 bytes (use 32 random bytes from crypto/rand);
// otherwise New and Open return an error naming the key that is too short.
// The keys are copied. It costs one HMAC-SHA256 per token formatted and one
// per key per token parsed, and no I/O.
func WithTokenKey(key []byte, previous ...[]byte) Option {
	return func(o *options) error {
		k, err := newTokenKey(key, previous...)
		if err != nil {
			return err
		}
		o.tokenKey = k
		return nil
	}
}

// WithDiscovery lets the monitor find the primary among all the servers
// given (the primary DSN or pool given to Open or New is then just one of
// them): the primary is the one server with read_only = OFF; every other
// server is a replica, serving reads while it replicates. After a failover
// (a replica promoted, the old primary stopped or made read-only) writes go
// to the new primary and reads to the remaining replicas from the monitor's
// next round, with no call to ReplacePrimary.
//
// A primary that stops answering stays the primary until another server is
// writable (it may be hung for a moment; nothing else could take its writes)
// and it has missed two rounds. While no server is known to be writable
// (the primary turned read-only and no other server is writable, or two
// are), writes, and reads that must go to the primary, wait for one within
// the write hold (WithWriteHold), then fail with ErrNoPrimary; other reads
// continue on the replicas. A write the primary refuses as read-only makes
// the monitor look again at once, and runs on the new primary when nothing
// of it ran (see WriteError). Open and New run the first round before they return (within
// max(2 × interval, 1 s)). Each round costs one identity query per server.
func WithDiscovery() Option {
	return func(o *options) error {
		o.discover = true
		return nil
	}
}

// WithMinServing keeps at least n replicas serving reads when excluding the
// lagging ones (WithMaxReplicationLag) would leave fewer: the least-lagged
// lagging replicas serve as well, rather than every read piling onto the
// primary (as Vitess's min_number_serving_vttablets). Replicas that are down
// or broken never serve. The default, 0, sets no floor.
func WithMinServing(n int) Option {
	return func(o *options) error {
		if n < 0 {
			return errors.New("rwsplit: WithMinServing: negative")
		}
		o.minServing = n
		return nil
	}
}

// WithHedge sets the bound after which a read that a replica has not answered
// is hedged: sent once more to another server, the first answer winning (see
// Stats.Hedges). The bound adapts to the latency observed (a smoothed
// latency plus four times its deviation, as TCP's retransmission timeout),
// kept between floor and ceiling; floor == ceiling fixes it. WithHedge(0, 0)
// turns hedging off. The default is WithHedge(100*time.Millisecond,
// time.Second). A negative value, or a floor above the ceiling, is an error
// of New and Open.
//
// A hedge is sent only while the replica answers nothing else for a whole
// bound (a slow query on a live server is not run twice), only to a server
// that serves the read's consistency mode, and only for replica reads
// outside transactions (and read-only BEGINs) on pools that read ahead
// (Open's). A read that needs no hedge allocates nothing for it under a
// context that cannot be cancelled (its race, timer and attempt context are
// reused), three objects otherwise; with go-sql-driver/mysql the driver is
// given no context to watch for it (see Open). A read that is hedged also
// costs its second attempt.
func WithHedge(floor, ceiling time.Duration) Option {
	return func(o *options) error {
		cfg, err := newHedgeConfig(floor, ceiling)
		if err != nil {
			return err
		}
		o.hedge = &cfg
		return nil
	}
}

// WithObserver sends the DB's routing and health events to o (see
// Observer). It may be given more than once: every observer given is
// called, in the order given. An Observer with no field set adds nothing.
// Cost: an event no observer wants (nor, for routes and waits, a Trace in
// the call's context) costs a length check and is not built; one that is
// wanted is built once and passed to each function.
func WithObserver(o Observer) Option {
	return func(opts *options) error {
		opts.observers = opts.observers.add(o)
		return nil
	}
}

// WithClusterKind makes the monitor take every server as of kind k instead
// of detecting it (the default, also with the zero ClusterKind). A kind that does not
// fit a server's flavor (group-replication on MariaDB, galera on MySQL) is
// ignored for that server. It costs nothing: the identity query each
// server answers every round is the same. It fails for an unknown kind.
func WithClusterKind(k ClusterKind) Option {
	return func(o *options) error {
		kind, err := cluster.ParseKind(string(k))
		if err != nil {
			return fmt.Errorf("rwsplit: WithClusterKind: %w", err)
		}
		o.kind = kind
		return nil
	}
}

// WithWriteHold bounds how long a call that must reach the primary (Exec, a
// query that may write, a read-write BeginTx, Conn, PrepareContext of a
// write, a read under Primary or falling back to the primary) waits, under
// WithDiscovery, while no primary is known, or after a call failed on the
// primary for want of a usable one (a write refused as read-only, a
// connection refused or lost: the primary is in doubt, and the monitor
// looks at once). It runs as soon as the monitor finds the new primary or
// sees the old one answer writable, and fails with ErrNoPrimary once d has
// passed (all the waits of one call share d). The caller's context always
// wins; Close ends the wait with ErrClosed. 0 fails such calls at once.
// The default is 5 s. Stats.WriteHolds and Stats.WriteHoldTime
// count the calls held and the time they waited.
func WithWriteHold(d time.Duration) Option {
	return func(o *options) error {
		if d < 0 {
			return fmt.Errorf("rwsplit: WithWriteHold: negative bound %v", d)
		}
		o.writeHold = &d
		return nil
	}
}

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
