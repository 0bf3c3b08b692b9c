package sqlclass

import (
	"strings"
	"testing"

	"github.com/rwsplit/rwsplit/internal/dialect"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// FuzzClassify checks the property that matters: no statement that changes
// data, takes a lock or depends on session state is ever routed to a replica.
// The judge is readOracle, an independent and deliberately simple reading of
// the query: when it sees a danger marker outside strings and comments,
// Classify must not say Replica. Where the oracle cannot be sure of its
// reading (a backslash in a string, an unterminated construct, quotes inside
// an executable comment, more than one version-conditional comment), only
// the other properties are checked, for every flavour: no panic, Write
// implies !Replica, Reason is empty exactly for replica routing, the result
// is deterministic and monotonic in the pure list, a rwsplit:replica hint
// lifts no obstacle but unknown functions (so it never sends a statement
// that may write for another reason to a replica), a replica route for an
// unknown flavour is one for both flavours, and a replica-safe query stops
// being one when a primary hint, a lock or a second statement is added.
func FuzzClassify(f *testing.F) {
	for _, tc := range cases {
		f.Add(tc.q)
	}
	for _, tc := range flavorCases {
		f.Add(tc.q)
	}
	for _, q := range fuzzSeeds {
		f.Add(q)
	}
	plain, withPure, anyPure := New(), New(testPure...), &Classifier{anyPure: true}
	f.Fuzz(func(t *testing.T, q string) {
		r := withPure.Classify(q)
		require.Equal(t, r, withPure.Classify(q), "not deterministic: %q", q)
		require.Equal(t, r, withPure.ClassifyFlavor(q, dialect.Unknown), "Classify is not ClassifyFlavor(dialect.Unknown): %q", q)
		for _, fl := range []dialect.Flavor{dialect.Unknown, dialect.MySQL, dialect.MariaDB} {
			checkClassification(t, plain, withPure, anyPure, q, fl)
		}
		if r.Replica {
			my, maria := withPure.ClassifyFlavor(q, dialect.MySQL), withPure.ClassifyFlavor(q, dialect.MariaDB)
			require.True(t, my.Replica, "replica for an unknown flavour but not for MySQL: %q (%+v)", q, my)
			require.True(t, maria.Replica, "replica for an unknown flavour but not for MariaDB: %q (%+v)", q, maria)
		}

		o := readOracle(q)
		if !o.sure {
			return
		}
		if o.hintPrimary {
			require.False(t, r.Replica, "rwsplit:primary hint ignored: %q", q)
		}
		if r.Replica && o.danger != "" {
			t.Fatalf("routed to a replica despite %s: %q (%+v)", o.danger, q, r)
		}
	})
}

// checkClassification checks the properties of FuzzClassify that hold for
// every query and flavour.
func checkClassification(t *testing.T, plain, withPure, anyPure *Classifier, q string, fl dialect.Flavor) {
	r := withPure.ClassifyFlavor(q, fl)
	require.Equal(t, r, withPure.ClassifyFlavor(q, fl), "not deterministic (%v): %q", fl, q)
	checkResult(t, r, q, fl)
	if p := plain.ClassifyFlavor(q, fl); p.Replica {
		require.True(t, r.Replica, "declaring functions pure made %q less replica-safe (%v)", q, fl)
	}
	// The replica hint only vouches for unknown functions: whatever it
	// sends to a replica must be replica-safe once every function is
	// declared pure. So a statement that may write for any other reason
	// never goes to a replica, hint or not.
	h := withPure.ClassifyFlavor("/* rwsplit:replica */ "+q, fl)
	checkResult(t, h, q, fl)
	if h.Replica && !r.Replica {
		a := anyPure.ClassifyFlavor(q, fl)
		require.True(t, a.Replica, "the replica hint lifted more than unknown functions (%v): %q (%+v without the hint)", fl, q, r)
	}
	if r.Write {
		if a := anyPure.ClassifyFlavor(q, fl); !a.Replica {
			require.False(t, h.Replica, "the replica hint sent a statement that may write to a replica (%v): %q", fl, q)
		}
	}
	if r.Replica {
		// Metamorphic checks: a replica-safe query (so every string and
		// comment in it is closed) stops being one when a hint, a locking
		// clause or a second statement is added.
		p := withPure.ClassifyFlavor("/* rwsplit:primary */"+q, fl)
		require.False(t, p.Replica, "primary hint ignored (%v): %q", fl, q)
		require.Equal(t, HintPrimary, p.Hint, "primary hint not reported (%v): %q", fl, q)
		require.False(t, withPure.ClassifyFlavor(q+"\nFOR UPDATE", fl).Replica, "lock ignored after %q (%v)", q, fl)
		m := withPure.ClassifyFlavor(q+"\n;DELETE FROM t", fl)
		require.False(t, m.Replica, "second statement ignored after %q (%v)", q, fl)
		require.True(t, m.Write, "DELETE after %q is not a write (%v)", q, fl)
		if r.Hint != HintReplica { // the hint vouches for a lone query only
			require.False(t, m.Session, "DELETE after %q leaves session state (%v)", q, fl)
		}
		s := withPure.ClassifyFlavor(q+"\n;SET @x = 1", fl)
		require.True(t, s.Session, "SET after %q leaves no session state (%v)", q, fl)
	}
}

// checkResult checks that the two verdicts of r agree: Write implies
// !Replica, and Reason is empty exactly for replica routing.
func checkResult(t *testing.T, r Result, q string, fl dialect.Flavor) {
	if r.Write {
		require.False(t, r.Replica, "replica routing of a statement that may write (%v): %q", fl, q)
	}
	if r.Replica {
		require.False(t, r.Session, "replica routing of a statement that leaves session state (%v): %q", fl, q)
		require.Empty(t, r.Reason, "replica routing with a reason (%v): %q", fl, q)
	} else {
		require.NotEmpty(t, r.Reason, "primary routing without a reason (%v): %q", fl, q)
	}
}

// fuzzSeeds are extra corpus entries: near misses of the rules.
var fuzzSeeds = []string{
	"SELECT * FROM t WHERE a = 1 FOR UPDATE",
	"SELECT 1 /*!50000 FOR UPDATE */",
	"SELECT 1 /*M!100000 INTO @x */",
	"SELECT 1 -- x\nFOR SHARE",
	"SELECT 1 #\n; DELETE FROM t",
	"SELECT '\\'' FROM t",
	"SELECT \"a\"\"b\" FROM `c``d`",
	"SELECT t.update FROM t",
	"SELECT * FROM t LOCK IN SHARE MODE",
	"WITH c AS (SELECT 1) DELETE FROM t",
	"SELECT NEXT VALUE FOR s",
	"SELECT @@session.x, @@global.y, @@z",
	"SELECT @a := 1",
	"SELECT 1; SELECT 2",
	"SHOW CREATE TABLE t",
	"SHOW MASTER STATUS",
	"EXPLAIN UPDATE t SET a = 1",
	"DESCRIBE t",
	"/* rwsplit:primary */ SELECT 1",
	"/* rwsplit:replica */ SELECT f(1)",
	"SELECT x'0a', b'1', 0x1f, 1e3, .5e-2, 1abc",
	"SELECT JSON_TABLE(j, '$' COLUMNS (a INT PATH '$'))",
	"SELECT 1 FROM t WHERE a = ANY (SELECT 1)",
	"VALUES ROW(1), ROW(2)",
	"SELECT * FROM information_schema.session_variables",
	"SELECT * FROM `performance_schema` . `user_variables_by_thread`",
	"SELECT SQL%ROWCOUNT",
	"SELECT s.`nextval`, db.s.currval",
	"SELECT ROW(1, 2) = ROW(a, b) FROM t WHERE MATCH a, b AGAINST ('x')",
	"SELECT a FROM t1, LATERAL (SELECT b FROM t2) AS sq",
	"SELECT SQL_NO_CACHE (SELECT 1)",
	"SELECT 'a\\' FOR UPDATE'",
	"SELECT /*+ INDEX(`t` `i`) */ 1",
	"SELECT VEC_DISTANCE(a, b), STRING_TO_VECTOR('[1]'), ST_Union(g, h)",
}

// oracleReading is what the oracle makes of a query.
type oracleReading struct {
	sure        bool   // the oracle is confident its reading is the server's
	danger      string // the first danger marker found, or ""
	hintPrimary bool   // a comment reads exactly rwsplit:primary
}

// otok is an oracle token: an upper-cased word, "'" for a string, "`" for
// a quoted identifier, or a single punctuation character (":=" too).
type otok struct {
	s   string
	adj bool // no whitespace or comment before it
}

func (t otok) isWord() bool {
	c := t.s[0]
	return c == '_' || c == '$' || c >= 0x80 || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}

func (t otok) isName() bool { return t.isWord() || t.s == "`" || t.s == "'" || t.s == "\"" }

func oracleIdentByte(c byte) bool {
	return c == '_' || c == '$' || c >= 0x80 || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}

// oracleTokens splits q the simple way. ok is false when the split is in
// doubt. With skip, version-conditional comments (/*!12345 or /*M!) are
// read as comments, as an older server (or MySQL, for /*M!) would;
// *conditional counts them.
func oracleTokens(q string, skip bool, hint *bool, conditional *int) (toks []otok, ok bool) {
	gap := true
	add := func(s string) {
		toks = append(toks, otok{s: s, adj: !gap})
		gap = false
	}
	for i := 0; i < len(q); {
		c := q[i]
		switch {
		case c <= ' ' || c == 0x7f:
			i++
			gap = true
		case c == '#' || (strings.HasPrefix(q[i:], "--") && (i+2 == len(q) || q[i+2] <= ' ' || q[i+2] == 0x7f)):
			start := i + 1
			if c == '-' {
				start = i + 2
			}
			end := strings.IndexByte(q[i:], '\n')
			if end < 0 {
				end = len(q)
			} else {
				end += i
			}
			if strings.EqualFold(strings.TrimSpace(q[start:end]), "rwsplit:primary") {
				*hint = true
			}
			i = end
			gap = true
		case strings.HasPrefix(q[i:], "/*"):
			end := strings.Index(q[i+2:], "*/")
			if end < 0 {
				return nil, false
			}
			body := q[i+2 : i+2+end]
			i += 2 + end + 2
			gap = true
			switch {
			case strings.HasPrefix(body, "!") || strings.HasPrefix(body, "M!") || strings.HasPrefix(body, "m!"):
				mariadb := !strings.HasPrefix(body, "!")
				body = body[strings.IndexByte(body, '!')+1:]
				digits := len(body) - len(strings.TrimLeft(body, "0123456789"))
				zero := false    // version 0 runs on every server
				if digits >= 5 { // a version: 5 digits, or 6 for MariaDB
					zero = strings.Trim(body[:min(digits, 6)], "0") == ""
					body = body[min(digits, 6):]
				}
				if strings.ContainsAny(body, "'\"`#") || strings.Contains(body, "--") || strings.Contains(body, "/*") {
					return nil, false
				}
				if mariadb || (digits >= 5 && !zero) {
					*conditional++
					if skip {
						continue
					}
				}
				inner, ok := oracleTokens(body, skip, hint, conditional)
				if !ok {
					return nil, false
				}
				if len(inner) > 0 {
					inner[0].adj = false
				}
				toks = append(toks, inner...)
			case strings.HasPrefix(body, "+"):
				if strings.ContainsAny(body, "'\"`") {
					return nil, false
				}
			default:
				if strings.EqualFold(strings.TrimSpace(body), "rwsplit:primary") {
					*hint = true
				}
			}
		case c == '\'' || c == '"' || c == '`':
			j := i + 1
			for {
				k := strings.IndexByte(q[j:], c)
				if k < 0 {
					return nil, false
				}
				if c != '`' && strings.IndexByte(q[j:j+k], '\\') >= 0 {
					return nil, false // escapes depend on the SQL mode
				}
				j += k + 1
				if j < len(q) && q[j] == c {
					j++
					continue
				}
				break
			}
			add(string(c))
			i = j
		case oracleIdentByte(c):
			j := i
			for j < len(q) && oracleIdentByte(q[j]) {
				j++
			}
			add(strings.ToUpper(q[i:j]))
			i = j
		case strings.HasPrefix(q[i:], ":="):
			add(":=")
			i += 2
		default:
			add(string(c))
			i++
		}
	}
	return toks, true
}

var (
	oracleStarts = map[string]bool{
		"SELECT": true, "WITH": true, "TABLE": true, "VALUES": true, "SHOW": true,
		"DESCRIBE": true, "DESC": true, "EXPLAIN": true, "ANALYZE": true, "HELP": true,
	}
	// Words that never appear in a read-only statement outside SHOW.
	oracleWriteWords = map[string]bool{
		"UPDATE": true, "DELETE": true, "DROP": true, "ALTER": true, "RENAME": true,
		"GRANT": true, "REVOKE": true, "CALL": true, "LOAD": true, "LOCK": true,
		"INTO": true, "NOWAIT": true, "SQL_CALC_FOUND_ROWS": true,
	}
	// Sequence access, flagged even as a column name (MariaDB's s.nextval).
	oracleSeqWords = map[string]bool{"NEXTVAL": true, "SETVAL": true, "LASTVAL": true, "CURRVAL": true}
	// Words that are functions only when "(" follows.
	oracleFuncWords = map[string]bool{"INSERT": true, "REPLACE": true, "TRUNCATE": true}
	// Functions with side effects or session-bound results.
	oracleSessionFuncs = map[string]bool{
		"GET_LOCK": true, "RELEASE_LOCK": true, "RELEASE_ALL_LOCKS": true, "IS_USED_LOCK": true,
		"IS_FREE_LOCK": true, "LAST_INSERT_ID": true, "FOUND_ROWS": true, "ROW_COUNT": true,
		"MASTER_POS_WAIT": true, "SOURCE_POS_WAIT": true, "WAIT_FOR_EXECUTED_GTID_SET": true,
		"WAIT_UNTIL_SQL_THREAD_AFTER_GTIDS": true, "MASTER_GTID_WAIT": true, "LOAD_FILE": true,
		"CONNECTION_ID": true,
	}
	oracleSessionVars = map[string]bool{
		"SESSION": true, "LOCAL": true, "LAST_INSERT_ID": true, "IDENTITY": true, "INSERT_ID": true,
		"LAST_GTID": true, "WARNING_COUNT": true, "ERROR_COUNT": true, "RAND_SEED1": true,
		"RAND_SEED2": true, "TIMESTAMP": true,
	}
	// Tables of information_schema and performance_schema that describe
	// the connection.
	oracleSessionTables = map[string]bool{
		"SESSION_VARIABLES": true, "SESSION_STATUS": true, "PROFILING": true,
		"OPTIMIZER_TRACE": true, "USER_VARIABLES": true, "SESSION_CONNECT_ATTRS": true,
		"SESSION_ACCOUNT_CONNECT_ATTRS": true, "USER_VARIABLES_BY_THREAD": true,
		"STATUS_BY_THREAD": true, "VARIABLES_BY_THREAD": true,
	}
	oracleShow = map[string]bool{
		"TABLES": true, "DATABASES": true, "SCHEMAS": true, "COLUMNS": true, "FIELDS": true,
		"INDEX": true, "INDEXES": true, "KEYS": true, "CHARSET": true, "COLLATION": true,
		"ENGINES": true, "PLUGINS": true, "TRIGGERS": true, "EVENTS": true, "PRIVILEGES": true,
		"FULL": true, "EXTENDED": true, "CREATE": true, "TABLE": true, "CHARACTER": true,
		"STORAGE": true, "FUNCTION": true, "PROCEDURE": true,
	}
)

// readOracle reads q the oracle's way: with executable comments executed
// and, when there is one version-conditional comment, also skipped. With
// more than one it is unsure.
func readOracle(q string) (o oracleReading) {
	var conditional int
	toks, ok := oracleTokens(q, false, &o.hintPrimary, &conditional)
	if !ok || conditional > 1 {
		return o
	}
	if conditional == 1 {
		var hint bool
		skipped, _ := oracleTokens(q, true, &hint, &conditional)
		if o.danger = oracleDanger(skipped); o.danger != "" {
			o.sure = true
			return o
		}
	}
	o.sure = true
	o.danger = oracleDanger(toks)
	return o
}

// oracleDanger returns the first danger marker in a token list, or "".
func oracleDanger(toks []otok) string {
	var danger string
	// One statement only: nothing may follow a ";".
	for i, t := range toks {
		if t.s == ";" {
			if i+1 < len(toks) {
				return "a second statement"
			}
			toks = toks[:i]
		}
	}
	first := 0
	for first < len(toks) && toks[first].s == "(" {
		first++
	}
	if first == len(toks) {
		danger = "no statement"
		return danger
	}
	lead := toks[first].s
	if !oracleStarts[lead] {
		danger = "statement " + lead
		return danger
	}
	word := func(i int) string {
		if i < len(toks) {
			return toks[i].s
		}
		return ""
	}
	show := lead == "SHOW"
	if show {
		w2, w3 := word(first+1), word(first+2)
		switch {
		case !oracleShow[w2],
			w2 == "TABLE" && w3 != "STATUS",
			(w2 == "FUNCTION" || w2 == "PROCEDURE") && w3 != "STATUS",
			w2 == "FULL" && w3 != "TABLES" && w3 != "COLUMNS" && w3 != "FIELDS",
			w2 == "CHARACTER" && w3 != "SET",
			w2 == "STORAGE" && w3 != "ENGINES":
			danger = "SHOW " + w2 + " " + w3
			return danger
		}
	}
	if lead == "ANALYZE" && (word(first+1) == "TABLE" || word(first+1) == "NO_WRITE_TO_BINLOG" || word(first+1) == "LOCAL") {
		danger = "ANALYZE TABLE"
		return danger
	}
	if (lead == "EXPLAIN" || lead == "DESCRIBE" || lead == "DESC") && word(first+1) == "FOR" && !oracleIdentifierOnly(toks, first+1) {
		danger = "EXPLAIN FOR CONNECTION"
		return danger
	}
	sysVarName := func(i int) bool { // the name in @@name or @@scope.name
		switch {
		case i >= 2 && toks[i-1].s == "@" && toks[i-2].s == "@" && toks[i].adj && toks[i-1].adj:
			return true
		case i >= 4 && toks[i-1].s == "." && toks[i-3].s == "@" && toks[i-4].s == "@" &&
			toks[i].adj && toks[i-1].adj && toks[i-2].adj && toks[i-3].adj:
			return true
		}
		return false
	}
	for i, t := range toks {
		next := word(i + 1)
		switch {
		case t.isWord() && sysVarName(i):
		case t.isWord() && i >= 2 && toks[i-1].s == "." && oracleSessionTables[t.s] &&
			(toks[i-2].s == "INFORMATION_SCHEMA" || toks[i-2].s == "PERFORMANCE_SCHEMA"):
			danger = "a table describing the connection"
		case t.s == "ROWCOUNT" && i >= 2 && toks[i-1].s == "%" && toks[i-2].s == "SQL":
			danger = "SQL%ROWCOUNT"
		case t.s == ":=":
			danger = "an assignment"
		case t.s == "@":
			if next == "@" && toks[i+1].adj {
				if i+2 >= len(toks) || !toks[i+2].adj || !toks[i+2].isWord() || oracleSessionVars[toks[i+2].s] {
					danger = "a session variable"
				}
			} else if i == 0 || toks[i-1].s != "@" || !t.adj {
				danger = "a user variable"
			}
		case !t.isWord():
		case oracleSeqWords[t.s]:
			danger = t.s
		case oracleIdentifierOnly(toks, i):
		case oracleWriteWords[t.s]:
			danger = t.s
		case (t.s == "CREATE" || t.s == "PROCEDURE") && !show:
			danger = t.s
		case oracleFuncWords[t.s] && next != "(":
			danger = t.s
		case oracleSessionFuncs[t.s] && next == "(":
			danger = t.s + "()"
		case t.s == "FOR" && next == "SHARE":
			danger = "FOR SHARE"
		case t.s == "SKIP" && next == "LOCKED":
			danger = "SKIP LOCKED"
		case (t.s == "NEXT" || t.s == "PREVIOUS") && next == "VALUE" && word(i+2) == "FOR":
			danger = t.s + " VALUE FOR"
		}
		if danger != "" {
			return danger
		}
	}
	return ""
}

// oracleIdentifierOnly: a word written right after "name." or right before
// ".name" is an identifier for the server, never a keyword.
func oracleIdentifierOnly(toks []otok, i int) bool {
	if i >= 2 && toks[i].adj && toks[i-1].s == "." && toks[i-1].adj && toks[i-2].isName() {
		return true
	}
	return i+2 < len(toks) && toks[i+1].s == "." && toks[i+1].adj && toks[i+2].adj && toks[i+2].isWord()
}

func TestOracle(t *testing.T) {
	// The oracle itself must agree with the table wherever it is sure.
	for _, tc := range cases {
		o := readOracle(tc.q)
		if !o.sure {
			continue
		}
		if tc.want == R {
			assert.Empty(t, o.danger, "oracle flags a replica-safe case: %q", tc.q)
		}
	}
	for _, q := range []string{
		"SELECT 1 FOR UPDATE", "SELECT 1; SELECT 2", "SELECT @x", "SELECT @@session.a",
		"SELECT GET_LOCK('a', 1)", "SHOW STATUS", "UPDATE t SET a = 1", "SELECT 1 /*! INTO @x */",
	} {
		o := readOracle(q)
		assert.True(t, o.sure, q)
		assert.NotEmpty(t, o.danger, q)
	}
	assert.False(t, readOracle("SELECT 'a\\'b'").sure)
	assert.True(t, readOracle("/* rwsplit:primary */ SELECT 1").hintPrimary)
}
