package sqlclass

import (
	"testing"

	"github.com/rwsplit/rwsplit/internal/dialect"
	"github.com/stretchr/testify/assert"
)

// sessionCases: statements and whether they may leave state on their
// connection (Result.Session).
var sessionCases = []struct {
	q       string
	session bool
}{
	// Reads that leave nothing behind.
	{"SELECT 1", false},
	{"SELECT v FROM kv WHERE k = ?", false},
	{"SELECT * FROM t WHERE a = 1 FOR UPDATE", false},
	{"SELECT LAST_INSERT_ID()", false},
	{"SELECT FOUND_ROWS(), ROW_COUNT(), CONNECTION_ID()", false},
	{"SELECT IS_USED_LOCK('a'), IS_FREE_LOCK('a')", false},
	{"SELECT @@session.sql_mode, @@warning_count", false},
	{"SELECT * FROM information_schema.session_variables", false},
	{"SHOW WARNINGS", false},
	{"SHOW TABLES", false},
	{"EXPLAIN SELECT 1", false},
	{"DESCRIBE t", false},
	{"WITH c AS (SELECT 1) SELECT * FROM c", false},
	{"SELECT 1; SELECT 2", false},
	{"", false},
	{"  -- nothing\n", false},
	// Plain DML.
	{"INSERT INTO kv (k, v) VALUES (?, ?)", false},
	{"INSERT INTO t (a, b) VALUES (1, NOW()) ON DUPLICATE KEY UPDATE b = VALUES(b)", false},
	{"INSERT INTO t SELECT * FROM u WHERE a = 1", false},
	{"INSERT INTO kv (k, v) VALUES (?, ?) RETURNING k, v", false},
	{"REPLACE INTO kv (k, v) VALUES (1, 2)", false},
	{"UPDATE kv SET v = ? WHERE k = ?", false},
	{"DELETE FROM kv WHERE k = ?", false},
	{"delete from kv", false},
	{"WITH c AS (SELECT 1) DELETE FROM t", false},
	{"INSERT INTO t VALUES ('it\\'s')", false},
	{"UPDATE t SET a = 1; DELETE FROM t", false},
	// Session state.
	{"SET @x = 1", true},
	{"SET @x := 1", true},
	{"SET SESSION sql_mode = ''", true},
	{"SET @@SESSION.time_zone = '+00:00'", true},
	{"SET NAMES utf8mb4", true},
	{"SET CHARACTER SET latin1", true},
	{"SET autocommit = 0", true},
	{"SET TRANSACTION ISOLATION LEVEL SERIALIZABLE", true},
	{"SET ROLE r", true},
	{"SET STATEMENT max_statement_time=1 FOR SELECT 1", true},
	{"USE app", true},
	{"BEGIN", true},
	{"START TRANSACTION", true},
	{"COMMIT", true},
	{"ROLLBACK", true},
	{"SAVEPOINT s", true},
	{"XA START 'x'", true},
	{"LOCK TABLES t WRITE", true},
	{"UNLOCK TABLES", true},
	{"FLUSH TABLES WITH READ LOCK", true},
	{"CREATE TEMPORARY TABLE tmp (a INT)", true},
	{"DROP TEMPORARY TABLE tmp", true},
	{"CREATE TABLE t (a INT)", true},
	{"PREPARE s FROM 'SELECT 1'", true},
	{"EXECUTE s USING @a", true},
	{"DEALLOCATE PREPARE s", true},
	{"HANDLER t OPEN", true},
	{"CALL kv_put(?, ?)", true},
	{"DO GET_LOCK('a', 1)", true},
	{"DO 1", true},
	{"SELECT GET_LOCK('a', 10)", true},
	{"SELECT RELEASE_LOCK('a')", true},
	{"SELECT RELEASE_ALL_LOCKS()", true},
	{"SELECT @x", true},
	{"SELECT @x := 1", true},
	{"SELECT a INTO @x FROM t", true},
	{"SELECT a FROM t INTO @x", true},
	{"SELECT SQL_CALC_FOUND_ROWS * FROM t LIMIT 1", true},
	{"SELECT kv_put(?, ?)", true},
	{"SELECT app.f(1)", true},
	{"SELECT NEXTVAL(s)", true},
	{"SELECT NEXT VALUE FOR s", true},
	{"INSERT INTO t VALUES (@x)", true},
	{"UPDATE t SET a = (@x := a + 1)", true},
	{"INSERT INTO t VALUES (GET_LOCK('a', 1))", true},
	{"INSERT INTO t VALUES (NEXTVAL(s))", true},
	{"SELECT 1; SET @x = 1", true},
	{"INSERT INTO t VALUES (1); SET NAMES latin1", true},
	{"SELECT 1 /*!50000 INTO @x */", true},
	{"SELECT 'a\\' , @x := 1 -- '", true},
	{"INSERT INTO t VALUES ('a\\', @x := 1) -- ')", true},
	{"SELECT 'unterminated", true},
	{"KILL 5", true},
}

func TestSession(t *testing.T) {
	c := testClassifier()
	for _, tc := range sessionCases {
		for _, f := range []dialect.Flavor{dialect.Unknown, dialect.MySQL, dialect.MariaDB} {
			r := c.ClassifyFlavor(tc.q, f)
			assert.Equal(t, tc.session, r.Session, "%q (%v): %+v", tc.q, f, r)
			if r.Replica {
				assert.False(t, r.Session, "%q (%v)", tc.q, f)
			}
		}
	}
	// The replica hint vouches for an unknown function: no state either.
	r := c.Classify("/* rwsplit:replica */ SELECT f(1)")
	assert.True(t, r.Replica)
	assert.False(t, r.Session)
	// LASTVAL reads a MariaDB sequence's session state; elsewhere it may be
	// a stored function.
	assert.False(t, c.ClassifyFlavor("SELECT LASTVAL(s)", dialect.MariaDB).Session)
	assert.True(t, c.ClassifyFlavor("SELECT LASTVAL(s)", dialect.MySQL).Session)
	// A function declared pure is no stored function that may do anything.
	assert.False(t, c.Classify("SELECT is_vip(1)").Session)
}

func TestSessionAllocs(t *testing.T) {
	c := testClassifier()
	n := testing.AllocsPerRun(100, func() {
		for _, tc := range sessionCases {
			_ = c.Classify(tc.q)
		}
	})
	assert.Zero(t, n)
}
