package sqlclass

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// want is the expected routing of a statement.
type want uint8

const (
	R want = iota // replica (and not a write)
	P             // primary, not a write
	W             // primary, may write
)

func (w want) String() string {
	return [...]string{"replica", "primary", "primary+write"}[w]
}

type tcase struct {
	q    string
	want want
	hint Hint
}

// testPure is the pure list of the classifier the table runs against.
var testPure = []string{"is_vip", "app.price_with_tax", " `Reports`.`Total` "}

func testClassifier() *Classifier { return New(testPure...) }

var cases = []tcase{
	// --- plain reads ---
	{"SELECT 1", R, 0},
	{"select 1", R, 0},
	{"SELECT id, name, email FROM users WHERE id = ? AND status = 'active' ORDER BY created_at DESC LIMIT 10", R, 0},
	{"SELECT * FROM t", R, 0},
	{"SELECT COUNT(*) FROM t", R, 0},
	{"SELECT COUNT(DISTINCT a) FROM t", R, 0},
	{"SELECT a, SUM(b) FROM t GROUP BY a HAVING SUM(b) > 10", R, 0},
	{"SELECT * FROM t1 JOIN t2 ON t1.id = t2.t1_id LEFT JOIN t3 USING (id)", R, 0},
	{"SELECT * FROM t WHERE id IN (SELECT id FROM u WHERE x = 1)", R, 0},
	{"SELECT * FROM t WHERE EXISTS (SELECT 1 FROM u WHERE u.id = t.id)", R, 0},
	{"SELECT * FROM t WHERE (a, b) IN ((1, 2), (3, 4))", R, 0},
	{"SELECT 1 FROM dual", R, 0},
	{"SELECT\n\tid\nFROM\tt\r\n", R, 0},
	{"select/*comment*/1", R, 0},
	{"/* leading comment */ SELECT 1", R, 0},
	{"-- leading comment\nSELECT 1", R, 0},
	{"# leading comment\nSELECT 1", R, 0},
	{"SELECT id FROM t LIMIT ? OFFSET ?", R, 0},
	{"SELECT a.b.c FROM d", R, 0},
	{"SELECT * FROM t1 STRAIGHT_JOIN t2 ON (t1.a = t2.a)", R, 0},
	{"SELECT * FROM t USE INDEX (idx_a) WHERE a = 1", R, 0},
	{"SELECT * FROM t FORCE INDEX FOR JOIN (PRIMARY) IGNORE KEY (k)", R, 0},
	{"SELECT * FROM t PARTITION (p0, p1)", R, 0},
	{"SELECT SQL_NO_CACHE HIGH_PRIORITY * FROM t", R, 0},

	// set operations, parentheses, TABLE, VALUES
	{"(SELECT 1) UNION (SELECT 2)", R, 0},
	{"SELECT 1 UNION ALL SELECT 2", R, 0},
	{"SELECT a FROM t INTERSECT SELECT a FROM u", R, 0},
	{"SELECT a FROM t EXCEPT SELECT a FROM u", R, 0},
	{"((SELECT 1))", R, 0},
	{"TABLE t", R, 0},
	{"TABLE t ORDER BY id LIMIT 5", R, 0},
	{"VALUES ROW(1, 2), ROW(3, 4)", R, 0},
	{"VALUES (1, 2), (3, 4)", R, 0},
	{"SELECT * FROM (VALUES ROW(1, 2), ROW(3, 4)) AS v (a, b)", R, 0},

	// CTEs
	{"WITH c AS (SELECT 1 AS x) SELECT x FROM c", R, 0},
	{"WITH RECURSIVE c (n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 10) SELECT * FROM c", R, 0},
	{"WITH a AS (SELECT 1), b (x) AS (SELECT 2) SELECT * FROM a, b", R, 0},
	{"WITH `q` (`x`) AS (SELECT 1) (SELECT x FROM q)", R, 0},
	{"SELECT * FROM (WITH c (v) AS (SELECT 1) SELECT * FROM c) AS d", R, 0},
	{"(WITH c AS (SELECT 1) SELECT * FROM c)", R, 0},
	{"WITH c AS (SELECT 1) TABLE c", R, 0},

	// derived tables, window functions, full text, JSON
	{"SELECT * FROM (SELECT 1 AS a, 2 AS b) AS dt (x, y)", R, 0},
	{"SELECT * FROM (SELECT 1, 2) dt (x, y)", R, 0},
	{"SELECT ROW_NUMBER() OVER (PARTITION BY a ORDER BY b) FROM t", R, 0},
	{"SELECT SUM(x) OVER w FROM t WINDOW w AS (ORDER BY y)", R, 0},
	{"SELECT PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY x) OVER () FROM t", W, 0}, // MariaDB only (see flavorCases)
	{"SELECT * FROM t WHERE MATCH (title, body) AGAINST ('mysql' IN BOOLEAN MODE)", R, 0},
	{"SELECT JSON_EXTRACT(doc, '$.a'), doc->>'$.b', doc->'$.c' FROM t", R, 0},
	{"SELECT * FROM JSON_TABLE('[1,2]', '$[*]' COLUMNS (id FOR ORDINALITY, v INT PATH '$', NESTED PATH '$.x' COLUMNS (w VARCHAR(10) PATH '$'))) AS jt", R, 0},
	{"SELECT * FROM t WHERE 3 MEMBER OF (j)", R, 0},
	{"SELECT * FROM t WHERE a = ANY (SELECT a FROM u) OR b > SOME (SELECT b FROM u)", R, 0},
	{"SELECT * FROM t1 JOIN LATERAL (SELECT * FROM t2 WHERE t2.a = t1.a) AS x ON TRUE", R, 0},

	// built-in functions
	{"SELECT NOW(), UUID(), RAND(), SYSDATE(), CURDATE()", R, 0},
	{"SELECT DATABASE(), SCHEMA(), VERSION(), USER(), CURRENT_USER(), CURRENT_USER", R, 0},
	{"SELECT IF(a > 1, 'x', 'y'), IFNULL(b, 0), NULLIF(a, b), COALESCE(c, d, 0) FROM t", R, 0},
	{"SELECT CASE WHEN a = 1 THEN 'one' ELSE 'other' END FROM t", R, 0},
	{"SELECT CAST(a AS DECIMAL(10, 2)), CONVERT(b, CHAR(10)), CAST(c AS DATETIME(6)) FROM t", R, 0},
	{"SELECT CONVERT(a USING utf8mb4), a COLLATE utf8mb4_bin FROM t", R, 0},
	{"SELECT REGEXP_REPLACE(a, 'x+', 'y'), REGEXP_INSTR(a, '^x') FROM t", R, 0},
	{"SELECT REPLACE(name, 'a', 'b'), INSERT(name, 1, 2, 'xy'), TRUNCATE(1.234, 1) FROM t", R, 0},
	{"SELECT TRIM(LEADING 'x' FROM s), SUBSTRING(s FROM 1 FOR 2), EXTRACT(YEAR FROM d) FROM t", R, 0},
	{"SELECT DATE_ADD(d, INTERVAL 1 DAY), DATE(NOW()), CURRENT_TIMESTAMP, CURRENT_DATE() FROM t", R, 0},
	{"SELECT GROUP_CONCAT(a ORDER BY a SEPARATOR ',') FROM t", R, 0},
	{"SELECT ST_Distance(POINT(1, 2), POINT(3, 4))", R, 0},
	{"SELECT UUID(), MD5(x), SHA2(x, 256), HEX(y) FROM t", R, 0},
	{"SELECT BIN_TO_UUID(id) FROM t", W, 0}, // MySQL only: may be a MariaDB stored function
	{"SELECT SLEEP(1)", R, 0},
	{"SELECT abs (-1)", R, 0}, // not space-sensitive: the built-in wins
	{"SELECT IF (a, 1, 2) FROM t", R, 0},

	// system variables
	{"SELECT @@server_id", R, 0},
	{"SELECT @@GLOBAL.read_only, @@global.gtid_executed", R, 0},
	{"SELECT @@version, @@hostname AS h", R, 0},

	// literals and quoting
	{"SELECT x'0A', X'ff', b'01', 0x1F, 0b101, 1e10, 1.5E-3, .5, N'abc', _utf8mb4'x', \\N", R, 0},
	{"SELECT 'FOR UPDATE', \"INTO @x\", 'a;b', '@x', '`'", R, 0},
	{"SELECT 'it''s', \"say \"\"hi\"\"\"", R, 0},
	{"SELECT 'it\\'s'", R, 0},
	{"SELECT 'a\\'b', 'c'", R, 0},
	{"SELECT 'back\\\\slash'", R, 0},
	{"SELECT \"a\" \"b\" 'c'", R, 0},
	{"SELECT 1 FROM t WHERE note = 'x; DROP TABLE t'", R, 0},
	{"SELECT 1 FROM t WHERE note = \"a\"\";DROP TABLE t\"", R, 0},
	{"SELECT `update`, `insert`, `for update`, `@x` FROM `select`", R, 0},
	{"SELECT `a``b`, `a``;DELETE FROM t` FROM t", R, 0},
	{"SELECT * FROM `update` WHERE `delete` = 1", R, 0},
	{"SELECT t.update, t.delete, t.lock, t.into, t.call FROM t", R, 0},
	{"SELECT update.x FROM t AS `update`", R, 0},
	{"SELECT 1 AS `for update`", R, 0},
	{"SELECT next_value, value FROM t WHERE next = 1", R, 0},
	{"SELECT * FROM seq_1_to_10", R, 0},
	{"SELECT a FROM t WHERE b LIKE '%;%'", R, 0},
	{"SELECT 'é', `ünïcode` FROM `täble`", R, 0},
	{"SELECT 名字 FROM 用户表", R, 0},
	{"SELECT 1 FROM t x\u00a0LOCK IN SHARE MODE", W, 0}, // latin1 reads 0xA0 as a space: the rest is unread, may write
	{"SELECT 1 --\u00a0x", W, 0},                        // a comment or not, depending on the character set
	{"SELECT 1\u00a0; DELETE FROM t", W, 0},             // latin1: two statements

	// comments
	{"SELECT 1 -- FOR UPDATE", R, 0},
	{"SELECT 1 # INTO @x", R, 0},
	{"SELECT 1 /* ; DELETE FROM t */", R, 0},
	{"SELECT 1 --\tFOR UPDATE", R, 0},
	{"SELECT 1 --", R, 0},
	{"SELECT --1", R, 0},
	{"SELECT 1--1", R, 0},
	{"SELECT /*+ MAX_EXECUTION_TIME(1000) BKA(t) */ * FROM t", R, 0},
	{"SELECT /*!40001 SQL_NO_CACHE */ * FROM t", R, 0},
	{"SELECT 1 /*!*/", R, 0},
	{"SELECT 1 /*M!100100 + 1 */", R, 0},

	// trailing semicolon
	{"SELECT 1;", R, 0},
	{"SELECT 1 ; -- trailing comment", R, 0},
	{"SELECT 1; /* trailing */ \n", R, 0},
	{"SELECT 1;\n# done", R, 0},

	// SHOW whitelist
	{"SHOW TABLES", R, 0},
	{"show full tables from db like 'a%'", R, 0},
	{"SHOW DATABASES", R, 0},
	{"SHOW SCHEMAS LIKE 'x'", R, 0},
	{"SHOW COLUMNS FROM t", R, 0},
	{"SHOW FULL COLUMNS FROM t FROM db", R, 0},
	{"SHOW FIELDS FROM t", R, 0},
	{"SHOW EXTENDED FULL COLUMNS FROM t", R, 0},
	{"SHOW INDEX FROM t", R, 0},
	{"SHOW INDEXES IN t", R, 0},
	{"SHOW KEYS FROM t", R, 0},
	{"SHOW CREATE TABLE t", R, 0},
	{"SHOW CREATE VIEW v", R, 0},
	{"SHOW CREATE DATABASE db", R, 0},
	{"SHOW CREATE SCHEMA db", R, 0},
	{"SHOW CREATE PROCEDURE p", R, 0},
	{"SHOW TABLE STATUS LIKE 't%'", R, 0},
	{"SHOW CHARACTER SET", R, 0},
	{"SHOW CHARSET", R, 0},
	{"SHOW COLLATION WHERE Charset = 'utf8mb4'", R, 0},
	{"SHOW ENGINES", R, 0},
	{"SHOW STORAGE ENGINES", R, 0},
	{"SHOW PLUGINS", R, 0},
	{"SHOW TRIGGERS", R, 0},
	{"SHOW EVENTS", R, 0},
	{"SHOW FUNCTION STATUS", R, 0},
	{"SHOW PROCEDURE STATUS WHERE Db = 'x'", R, 0},
	{"SHOW PRIVILEGES", R, 0},

	// DESCRIBE, EXPLAIN, ANALYZE, HELP
	{"DESCRIBE t", R, 0},
	{"DESC t", R, 0},
	{"DESCRIBE db.t", R, 0},
	{"DESCRIBE `my table` col", R, 0},
	{"EXPLAIN t", R, 0},
	{"EXPLAIN SELECT * FROM t", R, 0},
	{"EXPLAIN FORMAT=JSON SELECT * FROM t", R, 0},
	{"EXPLAIN FORMAT = TREE SELECT 1", R, 0},
	{"EXPLAIN ANALYZE SELECT * FROM t", R, 0},
	{"EXPLAIN EXTENDED SELECT 1", R, 0},
	{"EXPLAIN (SELECT 1) UNION (SELECT 2)", R, 0},
	{"DESCRIBE SELECT 1", R, 0},
	{"EXPLAIN WITH c AS (SELECT 1) SELECT * FROM c", R, 0},
	{"ANALYZE SELECT * FROM t", R, 0},
	{"ANALYZE FORMAT=JSON SELECT 1", R, 0},
	{"HELP 'contents'", R, 0},

	// declared pure functions
	{"SELECT is_vip(id) FROM users", R, 0},
	{"SELECT IS_VIP (id) FROM users", R, 0},
	{"SELECT app.price_with_tax(p) FROM t", R, 0},
	{"SELECT `app`.`price_with_tax`(p) FROM t", R, 0},
	{"SELECT APP.Price_With_Tax(p) FROM t", R, 0},
	{"SELECT app . price_with_tax (p) FROM t", R, 0},
	{"SELECT reports.total(1)", R, 0},
	{"SELECT price_with_tax(p) FROM t", W, 0}, // only app.price_with_tax is declared
	{"SELECT other.is_vip(1)", W, 0},          // only the bare name is declared
	{"SELECT a.app.price_with_tax(1)", W, 0},

	// --- locking reads ---
	{"SELECT * FROM t FOR UPDATE", P, 0},
	{"select * from t where a = 1 for update;", P, 0},
	{"SELECT * FROM t FOR SHARE", P, 0},
	{"SELECT * FROM t LOCK IN SHARE MODE", P, 0},
	{"SELECT * FROM t FOR UPDATE NOWAIT", P, 0},
	{"SELECT * FROM t FOR UPDATE SKIP LOCKED", P, 0},
	{"SELECT * FROM t FOR UPDATE OF t WAIT 5", P, 0},
	{"select * from t for /* x */ update", P, 0},
	{"SELECT * FROM t WHERE id IN (SELECT id FROM u FOR UPDATE)", P, 0},
	{"SELECT a FROM t UNION SELECT a FROM u FOR UPDATE", P, 0},
	{"(SELECT a FROM t) UNION (SELECT a FROM u FOR SHARE)", P, 0},
	{"WITH c AS (SELECT 1) SELECT * FROM c FOR UPDATE", P, 0},
	{"SELECT * FROM t /*!50000 FOR UPDATE */", P, 0},
	{"SELECT * FROM t /*! FOR UPDATE */", P, 0},
	{"SELECT * FROM t /*M!100100 FOR UPDATE */", P, 0},
	{"SELECT * FROM t /*!99999 LOCK IN SHARE MODE */", P, 0},
	{"SELECT 1 #\nFOR UPDATE", P, 0},
	{"SELECT 1 -- x\nFOR UPDATE", P, 0},
	{"SELECT 1 --x FOR UPDATE", P, 0}, // "--x" is minus minus x, not a comment
	{"EXPLAIN SELECT * FROM t FOR UPDATE", P, 0},

	// INTO
	{"SELECT a INTO @x FROM t", P, 0},
	{"SELECT a FROM t INTO @x", P, 0},
	{"SELECT a FROM t LIMIT 1 INTO @a, @b;", P, 0},
	{"SELECT * FROM t INTO OUTFILE '/tmp/x'", P, 0},
	{"SELECT * FROM t INTO DUMPFILE '/tmp/x'", P, 0},
	{"SELECT a INTO v FROM t", P, 0},
	{"SELECT 1 /*!99999 INTO @x */", P, 0},

	// session state
	{"SELECT SQL_CALC_FOUND_ROWS * FROM t LIMIT 1", P, 0},
	{"SELECT FOUND_ROWS()", P, 0},
	{"SELECT LAST_INSERT_ID()", P, 0},
	{"SELECT * FROM t WHERE id = (SELECT LAST_INSERT_ID())", P, 0},
	{"SELECT ROW_COUNT()", P, 0},
	{"SELECT CONNECTION_ID()", P, 0},
	{"SELECT GET_LOCK('x', 10)", P, 0},
	{"SELECT get_lock ('x', 10)", P, 0},
	{"SELECT RELEASE_LOCK('x'), RELEASE_ALL_LOCKS()", P, 0},
	{"SELECT IS_USED_LOCK('x'), IS_FREE_LOCK('x')", P, 0},
	{"SELECT MASTER_POS_WAIT('binlog.000001', 4, 1)", P, 0},
	// Built into one flavour only: without the flavour, possibly a stored
	// function of the other (see flavorCases).
	{"SELECT SOURCE_POS_WAIT('binlog.000001', 4, 1)", W, 0},
	{"SELECT WAIT_FOR_EXECUTED_GTID_SET('3E11FA47-71CA-11E1-9E33-C80AA9429562:1-5', 1)", W, 0},
	{"SELECT WAIT_UNTIL_SQL_THREAD_AFTER_GTIDS('x', 1)", W, 0},
	{"SELECT MASTER_GTID_WAIT('0-1-5', 1)", W, 0},
	{"SELECT 1 /*M!100500 , GET_LOCK('x', 1) */", P, 0},
	{"SELECT LOAD_FILE('/etc/passwd')", P, 0},
	{"SELECT LASTVAL(s)", W, 0}, // MariaDB only (see flavorCases)
	{"SELECT s.currval", P, 0},
	{"SELECT PREVIOUS VALUE FOR s", P, 0},
	{"SELECT @x", P, 0},
	{"SELECT @x := 1", P, 0},
	{"SELECT @`x`, @'y'", P, 0},
	{"SELECT * FROM t WHERE a = @x", P, 0},
	{"SELECT a FROM t WHERE b = @ x", P, 0},
	{"SELECT @@session.autocommit", P, 0},
	{"SELECT @@SESSION.sql_mode", P, 0},
	{"SELECT @@local.sql_mode", P, 0},
	{"SELECT @@session", P, 0},
	{"SELECT @@ session.autocommit", P, 0},
	{"SELECT @@last_insert_id", P, 0},
	{"SELECT @@identity, @@insert_id", P, 0},
	{"SELECT @@LAST_GTID", P, 0},
	{"SELECT @@warning_count, @@error_count", P, 0},
	{"SELECT @@rand_seed1", P, 0},
	{"SELECT @@timestamp", P, 0},

	// multiple statements
	{"SELECT 1; SELECT 2", P, 0},
	{"SELECT 1; -- c\nSELECT 2", P, 0},
	{"SELECT 1;;", P, 0},
	{"SELECT 1; DELETE FROM t", W, 0},
	{"SELECT 1; /* x */ UPDATE t SET a = 1", W, 0},
	{"select 1 ; drop table t -- ", W, 0},
	{"SELECT 1; HANDLER t OPEN", W, 0},

	// session and transaction statements
	{"SET @x = 1", P, 0},
	{"SET NAMES utf8mb4", P, 0},
	{"SET autocommit = 0", P, 0},
	{"SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED", P, 0},
	{"SET GLOBAL read_only = 1", P, 0},
	{"SET @x = (SELECT a FROM t LIMIT 1)", P, 0},
	{"SET @x = my_func()", W, 0},
	{"USE db", P, 0},
	{"BEGIN", P, 0},
	{"BEGIN WORK", P, 0},
	{"START TRANSACTION READ ONLY", P, 0},
	{"COMMIT", P, 0},
	{"ROLLBACK", P, 0},
	{"ROLLBACK TO SAVEPOINT s", P, 0},
	{"SAVEPOINT s", P, 0},
	{"RELEASE SAVEPOINT s", P, 0},
	{"LOCK TABLES t READ, u WRITE", P, 0},
	{"UNLOCK TABLES", P, 0},
	{"XA START 'x'", P, 0},
	{"KILL QUERY 5", P, 0},
	{"DEALLOCATE PREPARE s", P, 0},

	// SHOW outside the whitelist
	{"SHOW WARNINGS", P, 0},
	{"SHOW ERRORS", P, 0},
	{"SHOW STATUS", P, 0},
	{"SHOW GLOBAL STATUS LIKE 'x'", P, 0},
	{"SHOW VARIABLES LIKE 'x'", P, 0},
	{"SHOW PROCESSLIST", P, 0},
	{"SHOW FULL PROCESSLIST", P, 0},
	{"SHOW MASTER STATUS", P, 0},
	{"SHOW BINARY LOG STATUS", P, 0},
	{"SHOW BINLOG STATUS", P, 0},
	{"SHOW REPLICA STATUS", P, 0},
	{"SHOW SLAVE STATUS", P, 0},
	{"SHOW BINARY LOGS", P, 0},
	{"SHOW ENGINE INNODB STATUS", P, 0},
	{"SHOW GRANTS", P, 0},
	{"SHOW OPEN TABLES", P, 0},
	{"SHOW CREATE PACKAGE BODY p", R, 0},
	{"SHOW CREATE SERVER s", P, 0},
	{"SHOW TABLES LIKE @x", P, 0},
	{"SHOW", P, 0},
	{"EXPLAIN FOR CONNECTION 5", P, 0},

	// empty and broken input
	{"", P, 0},
	{"   \n\t", P, 0},
	{"/* only a comment */", P, 0},
	{"-- only a comment", P, 0},
	{";", P, 0},
	{"SELECT 'abc", P, 0},
	{"SELECT \"abc", P, 0},
	{"SELECT `abc", P, 0},
	{"SELECT 1 /* abc", P, 0},
	{"SELECT @'abc", P, 0},
	{"SELECT x'0G'", P, 0},
	{"SELECT 1 \x00", P, 0},
	{"SELECT 1 /* \x00 */", P, 0},
	{"SELECT 1 \x01", P, 0},
	{"SELECT a[1] FROM t", P, 0},
	{"SELECT (1", P, 0},
	{"SELECT 1)", P, 0},
	// Text that servers split differently: what follows is unread and may write.
	{"SELECT 1 /*!50000 'a*/ b' */", W, 0},                              // the string crosses the end of the versioned comment
	{"SELECT 1 /*!99999 'a*/ ; DELETE FROM t; -- ' */", W, 0},           // ... and hides a DELETE from older servers
	{"SELECT 1 /*!50000 /* nested */ */", W, 0},                         // nested comment in an executable comment
	{"SELECT 1 /*!50000 -- x */", W, 0},                                 // the line comment swallows "*/" only when executed
	{"SELECT /*+ BKA(`a*/`) */ 1", W, 0},                                // quotes inside an optimizer hint
	{"SELECT /*+ BKA(`a) */ 1", W, 0},                                   // an unclosed quote: the hint may end later
	{"SELECT /*+ INDEX(`t` `idx_a`) NO_ICP(t \"i\") */ * FROM t", R, 0}, // closed quotes: the first "*/" ends it
	{"SELECT '\\' FOR UPDATE -- '", P, 0},                               // under NO_BACKSLASH_ESCAPES this locks
	{"SELECT 1 FROM t WHERE a = \"\\\" FOR UPDATE -- \"", P, 0},
	{"SELECT 'it\\'s', \"\\\" FOR UPDATE -- \"", P, 0}, // under ANSI_QUOTES (only) this locks

	// readings that depend on the server version and flavour
	{"SELECT 1 /*M!100100 , 2 */", R, 0},
	{"SELECT 1 /*!50700 , 2 */ /*!80000 , 3 */ FROM t", R, 0},
	{"SELECT x, /*!99999 (1) AS */ myfn(1)", W, 0},          // an older server calls myfn
	{"SELECT myfn /*!50700 + */ (1)", W, 0},                 // a 5.6 server calls myfn
	{"SELECT x /*M! + */ (1)", W, 0},                        // MySQL skips /*M!: x(1)
	{"SELECT NEXT /*!99999 x */ VALUE FOR s", W, 0},         // NEXT VALUE FOR on older servers
	{"SELECT 1 FROM t FOR /*!99999 x */ SHARE", P, 0},       // FOR SHARE on older servers
	{"/*!99999 SELECT 1 */ SET GLOBAL read_only = 0", P, 0}, // SET on older servers
	{"/*!99999 SELECT */ FLUSH LOGS", W, 0},
	{"SELECT 1 /*!10000 , myfn */ /*!99999 + */ (1)", W, 0}, // myfn(1) between the two versions
	{"SELECT 1 /*!99999 /* a */ */", W, 0},
	{"SELECT 1 /*!1234 , 2 */", R, 0},      // fewer than 5 digits: not versioned, digits are SQL
	{"SELECT /*!100100 1 */", R, 0},        // MySQL reads 10010 and then "0 1"
	{"SELECT x /*!80000 + */ (1)", W, 0},   // MariaDB skips MySQL 5.7+ comments: x(1)
	{"SELECT x /*M!100000 + */ (1)", W, 0}, // MySQL skips /*M!
	{"SELECT 1 /*!00000 , 2 */", R, 0},     // runs everywhere
	{"SELECT 1 /*!10001 */ /*!10002 */ /*!10003 */ /*!10004 */ /*!10005 */ /*!10006 */ /*!10007 */ /*!10008 */ /*!10009 */", W, 0}, // too many readings: unknown
	{"UPDATE t SET a = 'x", W, 0},
	{"\xff\xfe", W, 0},
	{"'abc'", W, 0},
	{"FOO BAR", W, 0},

	// --- writes ---
	{"INSERT INTO t VALUES (1)", W, 0},
	{"insert into t (a) select a from u", W, 0},
	{"INSERT INTO t VALUES (1) RETURNING id", W, 0},
	{"INSERT INTO t VALUES (1) ON DUPLICATE KEY UPDATE a = VALUES(a)", W, 0},
	{"REPLACE INTO t VALUES (1)", W, 0},
	{"UPDATE t SET a = 1", W, 0},
	{"UPDATE `select` SET a = 'SELECT'", W, 0},
	{"DELETE FROM t WHERE id = 1", W, 0},
	{"DELETE FROM t RETURNING *", W, 0},
	{"MERGE INTO t USING u ON t.id = u.id WHEN MATCHED THEN DELETE", W, 0},
	{"CREATE TABLE t (a INT)", W, 0},
	{"CREATE TABLE t AS SELECT * FROM u", W, 0},
	{"DROP TABLE t", W, 0},
	{"ALTER TABLE t ADD c INT", W, 0},
	{"TRUNCATE TABLE t", W, 0},
	{"RENAME TABLE a TO b", W, 0},
	{"CALL p()", W, 0},
	{"DO RELEASE_LOCK('x')", W, 0},
	{"HANDLER t OPEN", W, 0},
	{"LOAD DATA INFILE 'x' INTO TABLE t", W, 0},
	{"GRANT SELECT ON *.* TO 'u'@'%'", W, 0},
	{"REVOKE SELECT ON *.* FROM 'u'@'%'", W, 0},
	{"FLUSH TABLES", W, 0},
	{"PREPARE s FROM 'SELECT 1'", W, 0},
	{"EXECUTE s", W, 0},
	{"SET PASSWORD = 'x'", W, 0},
	{"SET DEFAULT ROLE ALL TO u", W, 0},
	{"SET STATEMENT max_statement_time = 1 FOR UPDATE t SET a = 1", W, 0},
	{"BEGIN NOT ATOMIC INSERT INTO t VALUES (1); END", W, 0},
	{"(UPDATE t SET a = 1)", W, 0},
	{"WITH c AS (SELECT 1) UPDATE t SET a = 1", W, 0},
	{"WITH c AS (SELECT id FROM t) DELETE FROM t WHERE id IN (SELECT id FROM c)", W, 0},
	{"WITH c AS (SELECT 1) INSERT INTO t SELECT * FROM c", W, 0},
	{"EXPLAIN UPDATE t SET a = 1", W, 0},
	{"EXPLAIN DELETE FROM t", W, 0},
	{"EXPLAIN INSERT INTO t VALUES (1)", W, 0},
	{"EXPLAIN REPLACE INTO t VALUES (1)", W, 0},
	{"EXPLAIN ANALYZE UPDATE t SET a = 1", W, 0},
	{"DESCRIBE DELETE FROM t", W, 0},
	{"ANALYZE UPDATE t SET a = 1", W, 0},
	{"ANALYZE TABLE t", W, 0},
	{"ANALYZE NO_WRITE_TO_BINLOG TABLE t", W, 0},
	{"SELECT 1 UNION UPDATE t SET a = 1", W, 0},
	{"SELECT '\\'; DELETE FROM t; -- '", W, 0},            // NO_BACKSLASH_ESCAPES reads a DELETE
	{"SELECT '\\'; DELETE FROM t; -- ' FOR UPDATE", W, 0}, // a locking read, or a DELETE

	// unknown (possibly stored) functions
	{"SELECT myfunc(1)", W, 0},
	{"SELECT myfunc (1)", W, 0},
	{"SELECT db.myfunc(1)", W, 0},
	{"SELECT `myfunc`(1)", W, 0},
	{"SELECT `db`.`myfunc`(1)", W, 0},
	{"SELECT \"myfunc\"(1)", W, 0}, // a call under ANSI_QUOTES
	{"SELECT db.now()", W, 0},      // a qualified name is never a built-in
	{"SELECT db . abs (1)", W, 0},
	{"SELECT db.get_lock('a', 1)", W, 0},
	{"SELECT COUNT (*) FROM t", W, 0},
	{"SELECT sum (x) FROM t", W, 0},
	{"SELECT count/**/(x) FROM t", W, 0},
	{"SELECT * FROM t WHERE x = myfunc(y) FOR UPDATE", W, 0},
	{"WITH c AS (SELECT myfn()) SELECT 1", W, 0},
	{"EXPLAIN SELECT myfunc()", W, 0},
	{"SHOW TABLES WHERE myfunc(Tables_in_db)", W, 0},
	{"SELECT a FROM t PROCEDURE ANALYSE()", W, 0},
	{"SELECT * FROM t1, LATERAL (SELECT 1) AS x", R, 0}, // MariaDB: lateral(SELECT ...) is a syntax error, not a call
	{"SELECT * FROM t1, LATERAL (1) AS x", W, 0},        // MariaDB: a stored function named lateral
	{"SELECT * FROM JSON_TABLE(j, '$' COLUMNS (d DATETIME(6) PATH '$')) AS jt", W, 0},

	// sequences
	{"SELECT NEXTVAL(s)", W, 0},
	{"SELECT NEXT VALUE FOR s", W, 0},
	{"SELECT SETVAL(s, 10)", W, 0},
	{"SELECT s.nextval", W, 0},
	{"SELECT (SELECT NEXTVAL(s))", W, 0},

	// --- hints ---
	{"/* rwsplit:primary */ SELECT 1", P, HintPrimary},
	{"SELECT 1 -- rwsplit:primary", P, HintPrimary},
	{"SELECT 1 # RWSPLIT:PRIMARY", P, HintPrimary},
	{"SELECT 1 /*\n  rwsplit:primary\n*/", P, HintPrimary},
	{"/* rwsplit:primary */ INSERT INTO t VALUES (1)", W, HintPrimary},
	{"/*rwsplit:replica*/ SELECT myfunc(1)", R, HintReplica},
	{"SELECT db.myfunc(1) /* rwsplit:replica */", R, HintReplica},
	{"/* rwsplit:replica */ SELECT 1", R, HintReplica},
	{"/* rwsplit:replica */ SELECT GET_LOCK('x', 1)", P, HintReplica},
	{"/* rwsplit:replica */ SELECT * FROM t FOR UPDATE", P, HintReplica},
	{"/* rwsplit:replica */ SELECT myfunc(@x)", W, HintReplica},
	{"/* rwsplit:replica */ SELECT @@session.time_zone", P, HintReplica},
	{"/* rwsplit:replica */ SELECT myfunc(1) INTO @x", W, HintReplica},
	{"/* rwsplit:replica */ SELECT 1; SELECT 2", P, HintReplica},
	{"/* rwsplit:replica */ UPDATE t SET a = 1", W, HintReplica},
	{"/* rwsplit:replica */ SET @x = 1", P, HintReplica},
	{"/* rwsplit:replica */ EXPLAIN SELECT myfunc()", W, HintReplica},
	{"/* rwsplit:replica */ SELECT NEXTVAL(s)", W, HintReplica},
	{"/* rwsplit:replica */ /* rwsplit:primary */ SELECT 1", P, HintPrimary},
	{"SELECT '/* rwsplit:primary */'", R, 0},
	{"SELECT 1 /* rwsplit: primary */", R, 0},
	{"SELECT 1 /* rwsplit:primary please */", R, 0},
}

func TestClassifyTable(t *testing.T) {
	require.GreaterOrEqual(t, len(cases), 150)
	c := testClassifier()
	seen := make(map[string]bool, len(cases))
	for i, tc := range cases {
		require.False(t, seen[tc.q], "duplicate case %q", tc.q)
		seen[tc.q] = true
		t.Run(fmt.Sprintf("%03d", i), func(t *testing.T) {
			got := c.Classify(tc.q)
			msg := fmt.Sprintf("query %q: got %+v, want %v", tc.q, got, tc.want)
			assert.Equal(t, tc.want == R, got.Replica, msg)
			assert.Equal(t, tc.want == W, got.Write, msg)
			assert.Equal(t, tc.hint, got.Hint, msg)
			assert.Equal(t, got.Replica, got.Reason == "", msg)
		})
	}
}

func TestReasons(t *testing.T) {
	c := New()
	for _, tc := range []struct{ q, reason string }{
		{"/* rwsplit:primary */ SELECT 1", reasonHint},
		{"SELECT * FROM t FOR UPDATE", reasonLock},
		{"SELECT a INTO @x FROM t", reasonInto},
		{"SELECT @x", reasonUserVar},
		{"SELECT @@session.x", reasonSessionVar},
		{"SELECT GET_LOCK('a', 1)", reasonSessionFn},
		{"SELECT f(1)", reasonUnknownFn},
		{"SELECT 1; SELECT 2", reasonMulti},
		{"INSERT INTO t VALUES (1)", reasonWrite},
		{"SET @x = 1", reasonNotQuery},
		{"SHOW STATUS", reasonShow},
		{"", reasonEmpty},
		{"SELECT 'a", reasonUnterminated},
		{"SELECT 1 /* a", reasonComment},
		{"SELECT 1 /*!5 'a*/ '*/", reasonAmbiguous},
		{"SELECT [", reasonSyntax},
		{"SELECT x'0g'", reasonLiteral},
		{"SELECT '\\' FOR UPDATE -- '", reasonEscape},
		{"SELECT myfn /*!50700 + */ (1)", reasonVersion},
		{"SELECT 1 /*!10001 */ /*!10002 */ /*!10003 */ /*!10004 */ /*!10005 */ /*!10006 */ /*!10007 */ /*!10008 */ /*!10009 */", reasonVersions},
		{"SELECT SQL_CALC_FOUND_ROWS 1", reasonFoundRows},
		{"SELECT NEXT VALUE FOR s", reasonSequence},
		{"SELECT ((1)", reasonUnbalanced},
		{"SELECT " + strings.Repeat("(", maxDepth+1) + "1" + strings.Repeat(")", maxDepth+1), reasonTooDeep},
	} {
		assert.Equal(t, tc.reason, c.Classify(tc.q).Reason, "query %q", tc.q)
	}
	deep := "SELECT " + strings.Repeat("(", maxDepth) + "1" + strings.Repeat(")", maxDepth)
	assert.True(t, c.Classify(deep).Replica, "nesting up to maxDepth is tracked")
}

func TestPureNames(t *testing.T) {
	c := New("DB.Fn", "`odd``name`", "bare", "", "a.b.c", " . ", "`x`.")
	assert.True(t, c.Classify("SELECT db.fn(1)").Replica)
	assert.True(t, c.Classify("SELECT `DB`.`FN`(1)").Replica)
	assert.True(t, c.Classify("SELECT `odd``name`(1)").Replica)
	assert.True(t, c.Classify("SELECT bare(1)").Replica)
	assert.False(t, c.Classify("SELECT fn(1)").Replica)
	assert.False(t, c.Classify("SELECT x.bare(1)").Replica)
	assert.False(t, c.Classify("SELECT c(1)").Replica)

	var nilClassifier *Classifier
	assert.True(t, nilClassifier.Classify("SELECT 1").Replica)
	assert.False(t, nilClassifier.Classify("SELECT f(1)").Replica)
	assert.False(t, New().Classify("SELECT is_vip(1)").Replica)
}

func TestNoAllocations(t *testing.T) {
	c := testClassifier()
	for _, tc := range cases {
		allocs := testing.AllocsPerRun(20, func() { _ = c.Classify(tc.q) })
		assert.Zero(t, allocs, "query %q allocates", tc.q)
	}
}

func TestConcurrentUse(t *testing.T) {
	c := testClassifier()
	want := make([]Result, len(cases))
	for i, tc := range cases {
		want[i] = c.Classify(tc.q)
	}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i, tc := range cases {
				assert.Equal(t, want[i], c.Classify(tc.q))
			}
		}()
	}
	wg.Wait()
}

func TestHugeAndHostileInput(t *testing.T) {
	c := New()
	big := "SELECT " + strings.Repeat("a, ", 1<<18) + "1 FROM t"
	assert.True(t, c.Classify(big).Replica)
	assert.False(t, c.Classify(big+" FOR UPDATE").Replica)
	deep := "SELECT " + strings.Repeat("(", 100000) + "1" + strings.Repeat(")", 100000)
	assert.False(t, c.Classify(deep).Replica)
	assert.False(t, c.Classify(strings.Repeat("/*", 1000)).Replica)
	assert.False(t, c.Classify(strings.Repeat("'", 1001)).Replica)
	long := "SELECT " + strings.Repeat("x", 100000) + "(1)"
	assert.True(t, c.Classify(long).Write)
	assert.True(t, New(strings.Repeat("y", 300)).Classify("SELECT "+strings.Repeat("y", 300)+"(1)").Write)
}
