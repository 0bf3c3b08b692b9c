package sqlclass

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rwsplit/rwsplit/internal/dialect"
)

// fcase is a statement and its routing for a server of unknown flavour
// (Classify), for MySQL and for MariaDB.
type fcase struct {
	q              string
	any, my, maria want
}

// flavorCases cover issue 11: tables describing the connection, Oracle-mode
// row count and sequences, reads once taken for calls of unknown functions,
// built-ins of one flavour only, the two verdicts, and strings whose reading
// depends on NO_BACKSLASH_ESCAPES.
var flavorCases = []fcase{
	// --- found in review: version comments a reading must not skip ---
	// MySQL 8.1+ reads six version digits when a space follows: f (1) is a
	// call there, of a stored function that may write.
	// (MariaDB reads five digits: "f 0 (1)" is a syntax error there.)
	{"SELECT f/*!080000 (1) */", W, W, R},
	{"SELECT GET_LOCK/*!080000 ('x', 10) */", P, P, R},
	// MariaDB with Galera runs /*!99997 ... */.
	{"SELECT 1 /*!99997 ; DELETE FROM t */", W, W, W},
	{"SELECT 1 /*!99997 , GET_LOCK('x',1) */", P, P, P},
	// A version comment only the NO_BACKSLASH_ESCAPES reading exposes: the
	// readings that skip it (every real server) must be judged too.
	{`SELECT 'a\' /*!99999 "zz */ ; DELETE FROM t; -- '`, W, W, W},
	{`SELECT 'a\' /*M!999999 "zz */ ; DELETE FROM t; -- '`, W, W, W},
	{`SELECT 'a\' /*!99999 "zz */ FOR UPDATE -- '`, W, W, W},

	// --- tables that describe the current connection ---
	{"SELECT * FROM information_schema.session_variables WHERE variable_name LIKE 'sql_big_selects'", P, P, P},
	{"SELECT query_id, SUM(duration) FROM information_schema.profiling GROUP BY query_id", P, P, P},
	{"SELECT * FROM INFORMATION_SCHEMA.SESSION_STATUS", P, P, P},
	{"SELECT trace FROM information_schema.OPTIMIZER_TRACE", P, P, P},
	{"SELECT * FROM information_schema.USER_VARIABLES", P, P, P},
	{"SELECT * FROM information_schema.ENABLED_ROLES", P, P, P},
	{"SELECT * FROM performance_schema.session_status WHERE VARIABLE_NAME = 'Threads_connected'", P, P, P},
	{"SELECT variable_value FROM performance_schema.session_variables WHERE variable_name = 'sql_mode'", P, P, P},
	{"SELECT * FROM performance_schema.session_connect_attrs", P, P, P},
	{"SELECT * FROM performance_schema.session_account_connect_attrs", P, P, P},
	{"SELECT * FROM performance_schema.user_variables_by_thread", P, P, P},
	{"SELECT * FROM performance_schema.status_by_thread", P, P, P},
	{"SELECT * FROM performance_schema.variables_by_thread", P, P, P},
	{"SELECT * FROM performance_schema.variables_info", P, P, P},
	{"SELECT * FROM `information_schema`.`SESSION_VARIABLES`", P, P, P},
	{"SELECT * FROM `Performance_Schema`.Session_Status", P, P, P},
	{"SELECT * FROM information_schema . session_variables", P, P, P},
	{"SELECT * FROM information_schema /* a */ . -- b\n session_variables", P, P, P},
	{"SELECT * FROM \"information_schema\".\"session_status\"", P, P, P}, // ANSI_QUOTES
	{"TABLE performance_schema.session_status", P, P, P},
	{"SELECT v.variable_value FROM t JOIN performance_schema.session_variables AS v ON v.variable_name = t.name", P, P, P},
	{"SELECT information_schema.session_status.variable_value FROM information_schema.session_status", P, P, P},
	{"SELECT * FROM session_variables", R, R, R}, // a user's table
	{"SELECT * FROM app.session_status", R, R, R},
	{"SELECT * FROM information_schema.tables WHERE table_schema = 'app'", R, R, R},
	{"SELECT * FROM performance_schema.global_status", R, R, R}, // the server's, like @@global.x
	{"SELECT profiling FROM information_schema_x.profiling", R, R, R},
	{"SELECT CONNECTION_ID()", P, P, P},
	{"SELECT PS_THREAD_ID(CONNECTION_ID())", P, P, P},
	{"SELECT * FROM performance_schema.events_statements_history WHERE thread_id = PS_CURRENT_THREAD_ID()", W, P, W}, // MySQL only
	{"SELECT CURRENT_ROLE()", P, P, P},

	// --- MariaDB sql_mode=ORACLE: row count and sequences ---
	{"SELECT SQL%ROWCOUNT", P, P, P}, // ROW_COUNT(); a syntax error elsewhere
	{"SELECT sql % rowcount", P, P, P},
	{"SELECT a % rowcount, rowcount FROM t", R, R, R},
	{"SELECT s.nextval", W, W, W},
	{"SELECT s.`nextval`", W, W, W},
	{"SELECT s.`NEXTVAL` FROM dual", W, W, W},
	{"SELECT db.s.nextval", W, W, W},
	{"SELECT `db`.`s`.`nextval`", W, W, W},
	{"SELECT s.currval", P, P, P},
	{"SELECT s.`currval`", P, P, P},
	{"SELECT db.s.currval", P, P, P},
	{"SELECT s.\"nextval\"", W, W, W}, // ANSI_QUOTES
	{"SELECT NEXTVAL(s), SETVAL(s, 1)", W, W, W},
	{"SELECT LASTVAL(s)", W, W, P}, // MariaDB only
	{"SELECT `nextval` FROM t", R, R, R},

	// --- plain reads once taken for calls ---
	{"SELECT ROW('a','b') = ROW('a','b')", R, R, R},
	{"SELECT * FROM t WHERE ROW(a,b) = ROW(1,2)", R, R, R},
	{"SELECT * FROM t WHERE ROW(a, (b + 1)) IN (SELECT x, y FROM u)", R, R, R},
	{"SELECT * FROM t WHERE ROW(a, ROW(b, c)) = ROW(1, ROW(2, 3))", R, R, R},
	{"SELECT ROW(a) FROM t", W, W, W}, // one element: not a constructor
	{"SELECT ROW() FROM t", W, W, W},
	{"SELECT ROW((1)) FROM t", W, W, W},
	{"SELECT * FROM t WHERE MATCH a, b AGAINST ('x')", R, R, R},
	{"SELECT MATCH title AGAINST ('x' IN NATURAL LANGUAGE MODE) AS score FROM t", R, R, R},
	{"SELECT * FROM t WHERE MATCH (a) AGAINST ('x') AND b IN (SELECT MATCH c AGAINST ('y') FROM u)", R, R, R},
	{"SELECT AGAINST ('x') FROM t", W, W, W},
	{"SELECT a FROM t1, LATERAL (SELECT b FROM t2) AS sq", R, R, R},
	{"SELECT a FROM t1 JOIN LATERAL (SELECT b FROM t2 WHERE t2.a = t1.a) AS sq ON TRUE", R, R, R},
	{"SELECT a FROM t1 LEFT JOIN LATERAL (WITH c AS (SELECT 1 AS b) SELECT b FROM c) AS sq ON TRUE", R, R, R},
	{"SELECT a, LATERAL ((SELECT 1)) AS x FROM t", W, R, W}, // MariaDB: a stored function named lateral
	{"SELECT lateral(a) FROM t", W, R, W},                   // MySQL: a syntax error (LATERAL is reserved)
	{"SELECT SQL_NO_CACHE (SELECT 1)", R, R, R},
	{"SELECT SQL_NO_CACHE (a) FROM t", R, R, R},
	{"SELECT DISTINCT SQL_BUFFER_RESULT (a) FROM t", R, R, R},
	{"SELECT HIGH_PRIORITY SQL_SMALL_RESULT (a), b FROM t", R, R, R},
	{"SELECT a, sql_no_cache(a) FROM t", W, W, W}, // not in the options
	{"SELECT SQL_CACHE (a) FROM t", W, W, W},      // MySQL 8.0 removed SQL_CACHE: a stored function
	{"SELECT STRAIGHT_JOIN (a) FROM t", R, R, R},

	// --- built-ins: vector, spatial, JSON ... ---
	{"SELECT STRING_TO_VECTOR('[1,2]'), VECTOR_TO_STRING(v), VECTOR_DIM(v) FROM t", W, R, W},
	{"SELECT TO_VECTOR('[1]'), FROM_VECTOR(v) FROM t", W, R, W},
	{"SELECT VEC_DISTANCE_EUCLIDEAN(v, VEC_FromText('[1,2]')) FROM t", W, W, R},
	{"SELECT VEC_DISTANCE(a, b), VEC_DISTANCE_COSINE(a, b), VEC_ToText(a) FROM t", W, W, R},
	{"SELECT id FROM t ORDER BY VEC_DISTANCE_COSINE(v, VEC_FromText('[1,2,3]')) LIMIT 10", W, W, R},
	{"SELECT DISTANCE(a, b, 'COSINE') FROM t", W, W, W}, // HeatWave and Enterprise only
	{"SELECT ST_AsText(ST_Union(a, b)), ST_Area(ST_Buffer(a, 1)) FROM g", R, R, R},
	{"SELECT ST_IsValid(g), ST_Validate(g), ST_Simplify(g, 1), ST_GeoHash(g, 10), ST_PointFromGeoHash('s', 0) FROM t", R, R, R},
	{"SELECT ST_Distance_Sphere(a, b), ST_Contains(a, b), MBRContains(a, b) FROM t", R, R, R},
	{"SELECT ST_Transform(g, 4326), ST_Latitude(g), ST_SwapXY(g) FROM t", W, R, W},
	{"SELECT MBRCoveredBy(a, b), ST_FrechetDistance(a, b) FROM t", W, R, W},
	{"SELECT ST_Relate(a, b, 'T*F**FFF*'), ST_PointOnSurface(a) FROM t", W, W, R},
	{"SELECT AsText(g), X(g), GLength(g) FROM t", W, W, R},
	{"SELECT JSON_SCHEMA_VALID('{}', doc), JSON_OVERLAPS(a, b), JSON_VALUE(doc, '$.a') FROM t", R, R, R},
	{"SELECT JSON_STORAGE_SIZE(doc), JSON_PRETTY(doc) FROM t", W, R, W},
	{"SELECT JSON_DETAILED(doc), JSON_EQUALS(a, b), JSON_QUERY(doc, '$') FROM t", W, W, R},
	{"SELECT ANY_VALUE(a) FROM t GROUP BY b", W, R, W},
	{"SELECT a, GROUPING(a) FROM t GROUP BY a WITH ROLLUP", W, R, W},
	{"SELECT REGEXP_LIKE(a, 'x') FROM t", W, R, W},
	{"SELECT BIN_TO_UUID(id), UUID_TO_BIN(UUID()), IS_UUID(u) FROM t", W, R, W},
	{"SELECT NVL(a, 0), CHR(65), ADD_MONTHS(d, 1), TO_CHAR(d) FROM t", W, W, R},
	{"SELECT COLUMN_GET(dyn, 'a' AS CHAR), COLUMN_JSON(dyn) FROM t", W, W, R},
	{"SELECT UUID_V7(), SYS_GUID(), CRC32C('a'), NATURAL_SORT_KEY(a) FROM t", W, W, R},
	{"SELECT MEDIAN(a) OVER () FROM t", W, W, R},
	{"SELECT FORMAT_BYTES(1024), FORMAT_PICO_TIME(1000), RANDOM_BYTES(16)", R, R, R},
	{"SELECT SLEEP(1), UUID_SHORT(), RAND(), CURRENT_USER(), USER()", R, R, R},

	// --- session-bound and side-effect functions stay on the primary ---
	{"SELECT LAST_INSERT_ID(), FOUND_ROWS(), ROW_COUNT()", P, P, P},
	{"SELECT GET_LOCK('a', 1), RELEASE_LOCK('a'), IS_USED_LOCK('a'), IS_FREE_LOCK('a'), RELEASE_ALL_LOCKS()", P, P, P},
	{"SELECT MASTER_POS_WAIT('binlog.000001', 4, 1)", P, P, P},
	{"SELECT SOURCE_POS_WAIT('binlog.000001', 4, 1), WAIT_FOR_EXECUTED_GTID_SET('x:1', 1)", W, P, W},
	{"SELECT MASTER_GTID_WAIT('0-1-5', 1), BINLOG_GTID_POS('binlog.000001', 4)", W, W, P},
	{"SELECT WSREP_LAST_SEEN_GTID()", W, W, P},
	{"SELECT LOAD_FILE('/etc/hosts')", P, P, P},

	// --- flavour and version-conditional comments ---
	{"SELECT 1 /*M!100500 , GET_LOCK('x', 1) */", P, R, P},         // MySQL skips /*M!
	{"SELECT 1 /*!80000 , GET_LOCK('x', 1) */", P, P, R},           // MariaDB skips MySQL 5.7+ comments
	{"SELECT x /*M! + */ (1)", W, W, R},                            // MySQL: x(1), a stored function; MariaDB: x + (1)
	{"SELECT 1 /*!90000 , STRING_TO_VECTOR('[1]') */", W, R, R},    // MariaDB does not run it
	{"SELECT a FROM t /*!99999 FOR UPDATE */", P, P, R},            // older MySQL servers lock; MariaDB skips it
	{"SELECT a /*M!100000 , VEC_ToText(v) */ FROM t", W, R, R},     // MySQL does not run it
	{"SELECT a /*!50700 , VEC_ToText(v) */ FROM t", W, W, R},       // MySQL runs it; MariaDB skips it
	{"SELECT a /*!50600 , VEC_ToText(v) */ FROM t", W, W, R},       // both may run it: MySQL has no VEC_ToText
	{"SELECT a /*!50600 , VECTOR_DIM(v) */ FROM t", W, R, W},       // ... nor MariaDB VECTOR_DIM
	{"SELECT a /*!50600 , ST_Union(g, h) */ FROM t", R, R, R},      // both have ST_Union
	{"SELECT 1 /*M!100100 , 2 */ /*!50600 , 3 */ FROM t", R, R, R}, // harmless in every reading

	// --- the two verdicts ---
	{"SELECT * FROM t FOR UPDATE", P, P, P},
	{"SELECT @@session.sql_mode", P, P, P},
	{"SHOW WARNINGS", P, P, P},
	{"SET NAMES utf8mb4", P, P, P},
	{"SELECT 'unterminated", P, P, P}, // every server rejects it
	{"SELECT 1; SELECT 'unterminated", P, P, P},
	{"SELECT 1; DELETE FROM t WHERE a = 'unterminated", W, W, W},
	{"FROBNICATE t", W, W, W},
	{"SELECT 1 /*!99999 'a*/ ; UPDATE t SET a = 1; -- ' */", W, W, W}, // may hide an UPDATE

	// --- strings with a backslash before a quote ---
	{"SELECT 'a\\' FOR UPDATE'", R, R, R}, // NO_BACKSLASH_ESCAPES: a syntax error
	{"SELECT 'a\\' INTO @x'", R, R, R},
	{"SELECT \"a\\\" FOR UPDATE\"", R, R, R}, // ANSI_QUOTES or NO_BACKSLASH_ESCAPES: a syntax error
	{"SELECT 'a\\' FROM t WHERE b = GET_LOCK(1) '", R, R, R},
	{"SELECT '\\' FOR UPDATE -- '", P, P, P},    // NO_BACKSLASH_ESCAPES: a locking read
	{"SELECT 'a\\' ; SELECT 2 '", P, P, P},      // NO_BACKSLASH_ESCAPES: a first statement runs
	{"SELECT 'a\\'; DELETE FROM t; '", W, W, W}, // ... and a DELETE
	{"SELECT 'a\\'; DELETE FROM t; -- '", W, W, W},
	{"SELECT '\\'', myfn('\\'')", W, W, W},
	{"SELECT 'a\\' , myfn(1) '", R, R, R}, // NO_BACKSLASH_ESCAPES: a syntax error before any call runs
	{"SELECT * FROM t WHERE a = 'x\\' AND b = ''' FOR UPDATE", P, P, P},

	// --- hints ---
	{"/* rwsplit:replica */ SELECT ROW(a) FROM t", R, R, R},
	{"/* rwsplit:replica */ SELECT * FROM information_schema.session_variables", P, P, P},
	{"/* rwsplit:replica */ SELECT s.nextval", W, W, W},
	{"/* rwsplit:replica */ SELECT VEC_ToText(v) FROM t", R, R, R},
	{"/* rwsplit:replica */ SELECT SQL%ROWCOUNT", P, P, P},
}

func TestFlavorTable(t *testing.T) {
	c := testClassifier()
	seen := make(map[string]bool, len(flavorCases))
	for i, tc := range flavorCases {
		require.False(t, seen[tc.q], "duplicate case %q", tc.q)
		seen[tc.q] = true
		t.Run(fmt.Sprintf("%03d", i), func(t *testing.T) {
			assert.Equal(t, c.Classify(tc.q), c.ClassifyFlavor(tc.q, dialect.Unknown), "query %q", tc.q)
			for _, fw := range []struct {
				f dialect.Flavor
				w want
			}{{dialect.Unknown, tc.any}, {dialect.MySQL, tc.my}, {dialect.MariaDB, tc.maria}} {
				got := c.ClassifyFlavor(tc.q, fw.f)
				msg := fmt.Sprintf("query %q as %v: got %+v, want %v", tc.q, fw.f, got, fw.w)
				assert.Equal(t, fw.w == R, got.Replica, msg)
				assert.Equal(t, fw.w == W, got.Write, msg)
				assert.Equal(t, got.Replica, got.Reason == "", msg)
			}
		})
	}
}

// TestFlavorAgreesOnCommonCases runs the main table for each flavour: a
// statement that goes to a replica for an unknown flavour goes to one for
// both, and only built-ins of one flavour (or version comments) make the
// verdicts differ.
func TestFlavorAgreesOnCommonCases(t *testing.T) {
	c := testClassifier()
	for _, tc := range cases {
		any := c.Classify(tc.q)
		for _, f := range []dialect.Flavor{dialect.MySQL, dialect.MariaDB} {
			got := c.ClassifyFlavor(tc.q, f)
			if any.Replica {
				assert.True(t, got.Replica, "query %q as %v: %+v", tc.q, f, got)
			}
			if got.Write {
				assert.False(t, got.Replica, "query %q as %v: %+v", tc.q, f, got)
			}
		}
	}
}

func TestFlavorValues(t *testing.T) {
	assert.Equal(t, "unknown", dialect.Unknown.String())
	assert.Equal(t, "mysql", dialect.MySQL.String())
	assert.Equal(t, "mariadb", dialect.MariaDB.String())
	assert.Equal(t, "unknown", dialect.Flavor(9).String())
	c := New()
	q := "SELECT VEC_ToText(v), VECTOR_DIM(v) FROM t"
	assert.Equal(t, c.Classify(q), c.ClassifyFlavor(q, dialect.Flavor(9)), "an unknown value is dialect.Unknown")
	var nilClassifier *Classifier
	assert.True(t, nilClassifier.ClassifyFlavor("SELECT VEC_ToText(v)", dialect.MariaDB).Replica)
}

func TestFlavorReasons(t *testing.T) {
	c := New()
	for _, tc := range []struct {
		q      string
		f      dialect.Flavor
		reason string
	}{
		{"SELECT * FROM information_schema.session_variables", dialect.Unknown, reasonSessionTable},
		{"SELECT SQL%ROWCOUNT", dialect.MariaDB, reasonSessionFn},
		{"SELECT s.`nextval`", dialect.MariaDB, reasonSequence},
		{"SELECT VECTOR_DIM(v)", dialect.MariaDB, reasonUnknownFn},
		{"SELECT MASTER_GTID_WAIT('0-1-1', 1)", dialect.MySQL, reasonUnknownFn},
		{"SELECT MASTER_GTID_WAIT('0-1-1', 1)", dialect.MariaDB, reasonSessionFn},
		{"SELECT 1 FROM t\u00a0", dialect.Unknown, reasonCharset},
		{"SELECT 1 /*M!100500 , GET_LOCK('x', 1) */", dialect.Unknown, reasonSessionFn},
		{"SELECT 1 /*!80000 , GET_LOCK('x', 1) */", dialect.MySQL, reasonSessionFn},
	} {
		assert.Equal(t, tc.reason, c.ClassifyFlavor(tc.q, tc.f).Reason, "query %q as %v", tc.q, tc.f)
	}
}

func TestFlavorNoAllocations(t *testing.T) {
	c := testClassifier()
	for _, tc := range flavorCases {
		for _, f := range []dialect.Flavor{dialect.Unknown, dialect.MySQL, dialect.MariaDB} {
			allocs := testing.AllocsPerRun(10, func() { _ = c.ClassifyFlavor(tc.q, f) })
			assert.Zero(t, allocs, "query %q as %v allocates", tc.q, f)
		}
	}
}

// TestWordLists checks the lists the word table is built from: a name is a
// built-in of both flavours or of one, never both at once; flavour-only
// names carry their flavour; every list is lower case.
func TestWordLists(t *testing.T) {
	common := map[string]bool{}
	for _, list := range [][]string{builtinFuncs, sessionFuncs} {
		for _, w := range list {
			common[w] = true
		}
	}
	for _, list := range [][]string{mysqlOnlyFuncs, mariadbOnlyFuncs, mysqlOnlySessionFuncs, mariadbOnlySessionFuncs} {
		for _, w := range list {
			assert.False(t, common[w], "%q is in a common list and a flavour's", w)
		}
	}
	for _, w := range append(append([]string{}, mysqlOnlyFuncs...), mysqlOnlySessionFuncs...) {
		_, fl := lookupWord(w)
		assert.NotZero(t, fl&fMySQLOnly, w)
		assert.Zero(t, fl&fMariaDBOnly, w)
	}
	for _, w := range append(append([]string{}, mariadbOnlyFuncs...), mariadbOnlySessionFuncs...) {
		_, fl := lookupWord(w)
		assert.NotZero(t, fl&fMariaDBOnly, w)
		assert.Zero(t, fl&fMySQLOnly, w)
	}
	for _, list := range [][]string{
		syntaxWords, selectOptions, writeWords, spaceSensitiveFuncs, builtinFuncs, mysqlOnlyFuncs,
		mariadbOnlyFuncs, sessionFuncs, mysqlOnlySessionFuncs, mariadbOnlySessionFuncs, seqWriteWords,
		seqReadWords, sessionSysVars, sysSchemas, sessionTables,
	} {
		for _, w := range list {
			assert.Equal(t, strings.ToLower(w), w)
		}
	}
	for _, w := range []string{"distance", "vector_distance", "information_schema", "profiling"} {
		_, fl := lookupWord(w)
		assert.Zero(t, fl&(fBuiltin|fSessionFn), "%q must not be a built-in", w)
	}
}

// corpus returns the statements the tests know, by source: the main table,
// the fuzz seeds and the fuzz corpus in testdata (mostly written before issue
// 11), and the flavour table (written for it, full of one-flavour names).
func corpus(t *testing.T) map[string][]string {
	qs := map[string][]string{"fuzzSeeds": fuzzSeeds}
	for _, tc := range cases {
		qs["cases"] = append(qs["cases"], tc.q)
	}
	for _, tc := range flavorCases {
		qs["flavorCases"] = append(qs["flavorCases"], tc.q)
	}
	files, err := filepath.Glob(filepath.Join("testdata", "fuzz", "*", "*"))
	require.NoError(t, err)
	for _, name := range files {
		b, err := os.ReadFile(name)
		require.NoError(t, err)
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "string("); ok && strings.HasSuffix(v, ")") {
				s, err := strconv.Unquote(strings.TrimSuffix(v, ")"))
				require.NoError(t, err, name)
				qs["testdata"] = append(qs["testdata"], s)
			}
		}
	}
	return qs
}

// TestIntersectionCost measures what counting only the built-ins of both
// flavours costs Classify: the statements of the corpus whose verdict
// differs from one that takes a built-in of either flavour for a built-in.
// The intersection may only be stricter.
func TestIntersectionCost(t *testing.T) {
	c := testClassifier()
	for _, src := range []string{"cases", "fuzzSeeds", "testdata", "flavorCases"} {
		qs := corpus(t)[src]
		changed := 0
		for _, q := range qs {
			strict := c.Classify(q)
			loose := c.classify(q, reading{}, 0) // a built-in of either flavour is one
			if strict != loose {
				changed++
				t.Logf("%s: verdict changed by the intersection: %q: %v (%s) -> %v (%s)", src, q,
					verdictOf(loose), loose.Reason, verdictOf(strict), strict.Reason)
			}
			if loose.Write {
				assert.True(t, strict.Write, "the intersection dropped a write: %q", q)
			}
			if strict.Replica {
				assert.True(t, loose.Replica, "the intersection allowed a replica: %q", q)
			}
		}
		t.Logf("%s: %d of %d statements change verdict under Classify because of the intersection", src, changed, len(qs))
	}
}

func verdictOf(r Result) want {
	switch {
	case r.Replica:
		return R
	case r.Write:
		return W
	}
	return P
}
