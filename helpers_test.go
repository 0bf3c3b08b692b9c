package rwsplit_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rwsplit/rwsplit"
	"github.com/rwsplit/rwsplit/internal/dialect"
	"github.com/rwsplit/rwsplit/internal/fakedb"
	"github.com/rwsplit/rwsplit/rwsplittest"
	"github.com/rwsplit/rwsplit/rwsplitx"
)

// Test helpers shared by more than one test file of the package. A helper
// used by one file stays in that file.

// Kit clusters (rwsplittest, Docker): the integration tests.

// The integration tests share one cluster per flavor, started on first use
// and terminated after every test of the package ran. Tests that inject lag
// or faults put the cluster back as they found it.
var clusters struct {
	sync.Mutex
	m   map[rwsplittest.Flavor]*rwsplittest.Cluster
	err map[rwsplittest.Flavor]error
}

// cluster returns the shared cluster of flavor f, starting it if needed. It
// skips the test in -short mode, and without Docker outside CI.
func cluster(t testing.TB, f rwsplittest.Flavor) *rwsplittest.Cluster {
	t.Helper()
	if testing.Short() && !rwsplittest.InCI() {
		t.Skip("integration test: skipped in -short mode")
	}
	clusters.Lock()
	defer clusters.Unlock()
	if c := clusters.m[f]; c != nil {
		return c
	}
	if err := clusters.err[f]; err != nil {
		t.Fatalf("%s cluster failed to start earlier: %v", f, err)
	}
	if clusters.m == nil {
		clusters.m = map[rwsplittest.Flavor]*rwsplittest.Cluster{}
		clusters.err = map[rwsplittest.Flavor]error{}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	c, err := rwsplittest.StartCluster(ctx, f)
	if err != nil {
		clusters.err[f] = err
		rwsplittest.SkipOrFail(t, err)
	}
	t.Logf("%s cluster (%s) ready in %v", f, c.Version, c.StartupTime.Round(time.Millisecond))
	clusters.m[f] = c
	return c
}

// forEachFlavor runs test once per flavor, as subtests named after it.
func forEachFlavor(t *testing.T, test func(t *testing.T, c *rwsplittest.Cluster)) {
	for _, f := range rwsplittest.Flavors {
		t.Run(string(f), func(t *testing.T) { test(t, cluster(t, f)) })
	}
}

// openRouter opens a DB over the cluster and closes it when the test ends.
func openRouter(t *testing.T, c *rwsplittest.Cluster, opts ...rwsplit.Option) *rwsplit.DB {
	t.Helper()
	db, err := rwsplit.Open("mysql", c.Primary.DSN(), c.ReplicaDSNs(), opts...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// noReadOnlyError fails the test if err is the read-only error a write sent
// to a replica gets (ER_OPTION_PREVENTS_STATEMENT).
func noReadOnlyError(t *testing.T, err error) {
	t.Helper()
	var me *mysql.MySQLError
	if errors.As(err, &me) && me.Number == 1290 {
		t.Fatalf("a write reached a replica: %v", err)
	}
	require.NoError(t, err)
}

// prepareRW (re)creates the table the pairs use.
func prepareRW(t *testing.T, c *rwsplittest.Cluster, db *rwsplit.DB) {
	t.Helper()
	require.NoError(t, rwsplittest.CreatePairsTable(context.Background(), c, db))
}

// stopAppliers stops every replica's applier, and restarts them when the
// test ends.
func stopAppliers(t *testing.T, c *rwsplittest.Cluster) {
	t.Helper()
	ctx := context.Background()
	for _, r := range c.Replicas {
		require.NoError(t, r.StopApplier(ctx))
	}
	t.Cleanup(func() {
		for _, r := range c.Replicas {
			assert.NoError(t, r.StartApplier(ctx))
		}
		assert.NoError(t, c.WaitCaughtUp(ctx))
	})
}

// createKV creates, on the primary, the kv table and the kv_put procedure and
// stored function the surfaces write through, and waits until the replicas
// have them.
func createKV(t *testing.T, c *rwsplittest.Cluster) {
	t.Helper()
	ctx := context.Background()
	admin := c.Primary.Admin()
	for _, q := range []string{
		"CREATE TABLE IF NOT EXISTS app.kv (k BIGINT PRIMARY KEY, v BIGINT)",
		"DROP PROCEDURE IF EXISTS app.kv_put",
		"CREATE PROCEDURE app.kv_put(IN pk BIGINT, IN pv BIGINT) BEGIN " +
			"INSERT INTO app.kv (k, v) VALUES (pk, pv) ON DUPLICATE KEY UPDATE v = pv; SELECT pk AS k, pv AS v; END",
		"DROP FUNCTION IF EXISTS app.kv_put",
		"CREATE FUNCTION app.kv_put(pk BIGINT, pv BIGINT) RETURNS BIGINT DETERMINISTIC MODIFIES SQL DATA BEGIN " +
			"INSERT INTO app.kv (k, v) VALUES (pk, pv) ON DUPLICATE KEY UPDATE v = pv; RETURN pv; END",
	} {
		_, err := admin.ExecContext(ctx, q)
		require.NoError(t, err, q)
	}
	require.NoError(t, c.WaitCaughtUp(ctx))
}

// realPair is runPair on a real cluster, with key k.
func realPair(c *rwsplittest.Cluster, pc pairCase, k int64) (found, onReplica bool, err error) {
	var params []string
	if pc.oneTrip {
		params = []string{"multiStatements=true", "interpolateParams=true"}
	}
	return doPair(pc, func() (*rwsplit.DB, error) {
		return rwsplit.Open("mysql", c.Primary.DSN(), c.ReplicaDSNs(params...), pc.options()...)
	}, k)
}

// serverIDOf reads @@server_id through db's pool p.
func serverIDOf(t *testing.T, p *sql.DB) int {
	t.Helper()
	var id int
	require.NoError(t, p.QueryRowContext(context.Background(), "SELECT @@server_id").Scan(&id))
	return id
}

func gtidExecutedSQL(f rwsplittest.Flavor) string {
	if f == rwsplittest.MariaDB {
		return "SELECT @@GLOBAL.gtid_binlog_pos"
	}
	return "SELECT @@GLOBAL.gtid_executed"
}

// faultReader reads one value through one public way in.
type faultReader struct {
	name string
	read func(ctx context.Context) error
}

// faultReaders returns a reader per read surface of db: DB.QueryRow,
// DB.Query, a Stmt, a read-only transaction and rwsplitx.
func faultReaders(t *testing.T, db *rwsplit.DB) []faultReader {
	t.Helper()
	const q = "SELECT @@server_id"
	st, err := db.PrepareContext(context.Background(), q)
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	x := rwsplitx.NewDB(db, "mysql")
	return []faultReader{
		{"DB.QueryRow", func(ctx context.Context) error { var v int64; return db.QueryRowContext(ctx, q).Scan(&v) }},
		{"DB.Query", func(ctx context.Context) error {
			var v int64
			rows, err := db.QueryContext(ctx, q)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				if err := rows.Scan(&v); err != nil {
					return err
				}
			}
			return rows.Err()
		}},
		{"Stmt.QueryRow", func(ctx context.Context) error { var v int64; return st.QueryRowContext(ctx).Scan(&v) }},
		{"ReadOnlyTx", func(ctx context.Context) error {
			var v int64
			tx, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
			if err != nil {
				return err
			}
			defer func() { _ = tx.Rollback() }()
			if err := tx.QueryRowContext(ctx, q).Scan(&v); err != nil {
				return err
			}
			return tx.Commit()
		}},
		{"rwsplitx.Get", func(ctx context.Context) error { var v int64; return x.GetContext(ctx, &v, q) }},
	}
}

// readLoad runs every reader of rs every period until stop is closed, and
// returns the failures (reader: error) and the count of reads.
func readLoad(rs []faultReader, period time.Duration, stop <-chan struct{}) (failures func() []string, reads func() int64) {
	all := timedLoad(rs, period, stop)
	var once sync.Once
	var got []timedRead
	wait := func() []timedRead {
		once.Do(func() { got = all() })
		return got
	}
	return func() []string {
			var failed []string
			for _, rd := range wait() {
				if rd.err != nil {
					failed = append(failed, fmt.Sprintf("%s after %v: %v", rd.surface, rd.end.Sub(rd.start).Round(time.Millisecond), rd.err))
				}
			}
			return failed
		}, func() int64 {
			return int64(len(wait()))
		}
}

// timedRead is one read of a replica-fault test.
type timedRead struct {
	surface    string
	start, end time.Time
	err        error
}

// timedLoad runs every reader of rs every period until stop is closed, and
// returns every read made.
func timedLoad(rs []faultReader, period time.Duration, stop <-chan struct{}) func() []timedRead {
	var mu sync.Mutex
	var out []timedRead
	var wg sync.WaitGroup
	for _, r := range rs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTicker(period)
			defer t.Stop()
			for {
				select {
				case <-stop:
					return
				case <-t.C:
				}
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				tr := timedRead{surface: r.name, start: time.Now()}
				tr.err = r.read(ctx)
				tr.end = time.Now()
				cancel()
				mu.Lock()
				out = append(out, tr)
				mu.Unlock()
			}
		}()
	}
	return func() []timedRead {
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		return out
	}
}

// pairOutcome is what n write→read pairs saw.
type pairOutcome struct {
	stale  int
	served map[int]int // server_id → reads it answered
}

// writeThenRead makes n pairs on db: a write of a fresh key through a new
// Session, then a read of it under mode through the same Session.
func writeThenRead(t *testing.T, db *rwsplit.DB, mode rwsplit.Consistency, n int) pairOutcome {
	t.Helper()
	out := pairOutcome{served: map[int]int{}}
	base := time.Now().UnixNano() % 1e12 * 1000
	for i := range n {
		k := base + int64(i)
		ctx := rwsplit.WithConsistency(rwsplit.WithSession(context.Background(), rwsplit.NewSession(rwsplit.Token{})), mode)
		_, err := db.ExecContext(ctx, "INSERT INTO app.kv (k, v) VALUES (?, ?)", k, k)
		require.NoError(t, err)
		var v sql.NullInt64
		var id int
		err = db.QueryRowContext(ctx, "SELECT (SELECT v FROM app.kv WHERE k = ?), @@server_id", k).Scan(&v, &id)
		require.NoError(t, err)
		out.served[id]++
		if !v.Valid || v.Int64 != k {
			out.stale++
		}
	}
	return out
}

// In-memory clusters (internal/fakedb): the unit tests, and the matrices
// the integration tests share with them.

var fakeFlavors = []dialect.Flavor{fakedb.MySQL, fakedb.MariaDB}

// fakeLine is one server line of the unit matrix: a flavor and a cluster
// kind.
type fakeLine struct {
	flavor dialect.Flavor
	kind   fakedb.Kind
	tag    string // MySQL 8.3+: the writes' GTID tag (SET gtid_next = 'AUTOMATIC:tag')
	// gtidMode is the MySQL primary's gtid_mode as reported ("" is ON):
	// below ON, WaitPosition waits for the position, not the GTIDs.
	gtidMode string
}

func (l fakeLine) String() string {
	s := l.flavor.String()
	if l.kind != fakedb.Async {
		s += "-" + l.kind.String()
	}
	if l.tag != "" {
		s += "-tagged"
	}
	if l.gtidMode != "" {
		s += "-" + strings.ToLower(l.gtidMode)
	}
	return s
}

// fakeLines are the matrix's server lines: both flavors with asynchronous
// replication, MySQL with tagged GTIDs (an untagged history, then the
// writes under a tag), MySQL Group Replication (whose writes carry the
// group's uuid, not the primary's), MariaDB Galera, and MySQL with the
// primary's gtid_mode at ON_PERMISSIVE (WaitPosition's position wait).
var fakeLines = []fakeLine{
	{fakedb.MySQL, fakedb.Async, "", ""}, {fakedb.MariaDB, fakedb.Async, "", ""}, {fakedb.MySQL, fakedb.Async, "app", ""},
	{fakedb.MySQL, fakedb.GroupReplication, "", ""}, {fakedb.MariaDB, fakedb.Galera, "", ""},
	{fakedb.MySQL, fakedb.Async, "", "ON_PERMISSIVE"},
}

// newLineCluster returns a cluster of line l with two replicas.
func newLineCluster(l fakeLine) *fakedb.Cluster {
	cl := fakedb.NewCluster(l.flavor, 2)
	cl.SetKind(l.kind)
	if l.tag != "" {
		cl.Write(1000, 1000) // an untagged history
		cl.SetTag(l.tag)
	}
	if l.gtidMode != "" {
		cl.Primary().SetGTIDMode(l.gtidMode)
	}
	return cl
}

// fakeDB returns a DB over cluster c; oneTrip opens the replicas with
// multiStatements and declares it, so DB reads send the wait with the query.
func fakeDB(t testing.TB, c *fakedb.Cluster, oneTrip bool, opts ...rwsplit.Option) *rwsplit.DB {
	t.Helper()
	db, err := openFake(c, oneTrip, false, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// openFake returns a DB over cluster c; with prefetch its pools read ahead
// (PrefetchConnector), as Open's do.
func openFake(c *fakedb.Cluster, oneTrip, prefetch bool, opts ...rwsplit.Option) (*rwsplit.DB, error) {
	pool := func(s *fakedb.Server, multi bool) *sql.DB {
		if prefetch {
			return sql.OpenDB(rwsplit.PrefetchConnector(s.Connector(multi)))
		}
		return s.OpenDB(multi)
	}
	var rs []*sql.DB
	trips := make([]bool, len(c.Replicas()))
	for i, r := range c.Replicas() {
		rs = append(rs, pool(r, oneTrip))
		trips[i] = oneTrip
	}
	opts = append([]rwsplit.Option{rwsplit.WithMonitorInterval(time.Hour), rwsplit.WithOneRoundTrip(trips...)}, opts...)
	return rwsplit.New(pool(c.Primary(), false), rs, opts...)
}

// stalled makes every replica stop applying, except what a wait asks for.
func stalled(c *fakedb.Cluster) {
	for _, r := range c.Replicas() {
		r.StopApplier()
		r.ApplyOnWait(true)
	}
}

// A writeSurface writes k=v through one public way in.
type writeSurface struct {
	name  string
	write func(ctx context.Context, db *rwsplit.DB, x *rwsplitx.DB, k, v int64) error
}

func drain(rows *sql.Rows, err error) error {
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return rows.Close()
}

const (
	insertKV    = "INSERT INTO kv (k, v) VALUES (?, ?)"
	returningKV = "INSERT INTO kv (k, v) VALUES (?, ?) RETURNING k, v"
	callKV      = "CALL kv_put(?, ?)"
	funcKV      = "SELECT kv_put(?, ?)"
	selectKV    = "SELECT v FROM kv WHERE k = ?"
)

func stmtDo(ctx context.Context, db *rwsplit.DB, q string, f func(*rwsplit.Stmt) error) error {
	st, err := db.PrepareContext(ctx, q)
	if err != nil {
		return err
	}
	defer st.Close()
	return f(st)
}

func txDo(ctx context.Context, db *rwsplit.DB, f func(*rwsplit.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := f(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

func connDo(ctx context.Context, db *rwsplit.DB, f func(*rwsplit.Conn) error) error {
	c, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	return f(c)
}

var writeSurfaces = []writeSurface{
	{"DB.Exec", func(ctx context.Context, db *rwsplit.DB, _ *rwsplitx.DB, k, v int64) error {
		_, err := db.ExecContext(ctx, insertKV, k, v)
		return err
	}},
	{"DB.Query-RETURNING", func(ctx context.Context, db *rwsplit.DB, _ *rwsplitx.DB, k, v int64) error {
		return drain(db.QueryContext(ctx, returningKV, k, v))
	}},
	{"DB.QueryRow-CALL", func(ctx context.Context, db *rwsplit.DB, _ *rwsplitx.DB, k, v int64) error {
		var a, b int64
		return db.QueryRowContext(ctx, callKV, k, v).Scan(&a, &b)
	}},
	{"DB.Query-stored-function", func(ctx context.Context, db *rwsplit.DB, _ *rwsplitx.DB, k, v int64) error {
		return drain(db.QueryContext(ctx, funcKV, k, v))
	}},
	{"Stmt.Exec", func(ctx context.Context, db *rwsplit.DB, _ *rwsplitx.DB, k, v int64) error {
		return stmtDo(ctx, db, insertKV, func(st *rwsplit.Stmt) error { _, err := st.ExecContext(ctx, k, v); return err })
	}},
	{"Stmt.Query-RETURNING", func(ctx context.Context, db *rwsplit.DB, _ *rwsplitx.DB, k, v int64) error {
		return stmtDo(ctx, db, returningKV, func(st *rwsplit.Stmt) error { return drain(st.QueryContext(ctx, k, v)) })
	}},
	{"Stmt.QueryRow-stored-function", func(ctx context.Context, db *rwsplit.DB, _ *rwsplitx.DB, k, v int64) error {
		return stmtDo(ctx, db, funcKV, func(st *rwsplit.Stmt) error { var x int64; return st.QueryRowContext(ctx, k, v).Scan(&x) })
	}},
	{"Tx.Exec", func(ctx context.Context, db *rwsplit.DB, _ *rwsplitx.DB, k, v int64) error {
		return txDo(ctx, db, func(tx *rwsplit.Tx) error { _, err := tx.ExecContext(ctx, insertKV, k, v); return err })
	}},
	{"Tx.Query-RETURNING", func(ctx context.Context, db *rwsplit.DB, _ *rwsplitx.DB, k, v int64) error {
		return txDo(ctx, db, func(tx *rwsplit.Tx) error { return drain(tx.QueryContext(ctx, returningKV, k, v)) })
	}},
	{"RunTx.Exec", func(ctx context.Context, db *rwsplit.DB, _ *rwsplitx.DB, k, v int64) error {
		return db.RunTx(ctx, nil, func(tx *rwsplit.Tx) error { _, err := tx.ExecContext(ctx, insertKV, k, v); return err })
	}},
	{"Conn.Exec", func(ctx context.Context, db *rwsplit.DB, _ *rwsplitx.DB, k, v int64) error {
		return connDo(ctx, db, func(c *rwsplit.Conn) error { _, err := c.ExecContext(ctx, insertKV, k, v); return err })
	}},
	{"Conn.Query-CALL", func(ctx context.Context, db *rwsplit.DB, _ *rwsplitx.DB, k, v int64) error {
		return connDo(ctx, db, func(c *rwsplit.Conn) error { return drain(c.QueryContext(ctx, callKV, k, v)) })
	}},
	{"Conn.QueryRow-RETURNING", func(ctx context.Context, db *rwsplit.DB, _ *rwsplitx.DB, k, v int64) error {
		return connDo(ctx, db, func(c *rwsplit.Conn) error {
			var a, b int64
			return c.QueryRowContext(ctx, returningKV, k, v).Scan(&a, &b)
		})
	}},
	{"Conn.Stmt.Exec", func(ctx context.Context, db *rwsplit.DB, _ *rwsplitx.DB, k, v int64) error {
		return connDo(ctx, db, func(c *rwsplit.Conn) error {
			st, err := c.PrepareContext(ctx, insertKV)
			if err != nil {
				return err
			}
			defer st.Close()
			_, err = st.ExecContext(ctx, k, v)
			return err
		})
	}},
	{"Conn.Tx.Exec", func(ctx context.Context, db *rwsplit.DB, _ *rwsplitx.DB, k, v int64) error {
		return connDo(ctx, db, func(c *rwsplit.Conn) error {
			tx, err := c.BeginTx(ctx, nil)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, insertKV, k, v); err != nil {
				_ = tx.Rollback()
				return err
			}
			return tx.Commit()
		})
	}},
	{"rwsplitx.NamedExec", func(ctx context.Context, _ *rwsplit.DB, x *rwsplitx.DB, k, v int64) error {
		_, err := x.NamedExecContext(ctx, "INSERT INTO kv (k, v) VALUES (:k, :v)", map[string]any{"k": k, "v": v})
		return err
	}},
	{"rwsplitx.QueryRowx-RETURNING", func(ctx context.Context, _ *rwsplit.DB, x *rwsplitx.DB, k, v int64) error {
		var a, b int64
		return x.QueryRowxContext(ctx, returningKV, k, v).Scan(&a, &b)
	}},
	{"rwsplitx.Tx", func(ctx context.Context, _ *rwsplit.DB, x *rwsplitx.DB, k, v int64) error {
		tx, err := x.BeginTxx(ctx, nil)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, insertKV, k, v); err != nil {
			_ = tx.Rollback()
			return err
		}
		return tx.Commit()
	}},
}

// A readSurface reads k through one public way in; found is false when the
// row is not there (a stale read).
type readSurface struct {
	name string
	read func(ctx context.Context, db *rwsplit.DB, x *rwsplitx.DB, k int64) (v int64, found bool, err error)
}

func scanFound(err error) (bool, error) {
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

func firstRow(rows *sql.Rows, err error) (v int64, found bool, _ error) {
	if err != nil {
		return 0, false, err
	}
	defer rows.Close()
	if rows.Next() {
		if err := rows.Scan(&v); err != nil {
			return 0, false, err
		}
		found = true
	}
	return v, found, rows.Close()
}

var readSurfaces = []readSurface{
	{"DB.QueryRow", func(ctx context.Context, db *rwsplit.DB, _ *rwsplitx.DB, k int64) (v int64, found bool, err error) {
		found, err = scanFound(db.QueryRowContext(ctx, selectKV, k).Scan(&v))
		return v, found, err
	}},
	{"DB.Query", func(ctx context.Context, db *rwsplit.DB, _ *rwsplitx.DB, k int64) (int64, bool, error) {
		return firstRow(db.QueryContext(ctx, selectKV, k))
	}},
	{"Stmt.QueryRow", func(ctx context.Context, db *rwsplit.DB, _ *rwsplitx.DB, k int64) (v int64, found bool, err error) {
		err = stmtDo(ctx, db, selectKV, func(st *rwsplit.Stmt) error {
			found, err = scanFound(st.QueryRowContext(ctx, k).Scan(&v))
			return err
		})
		return v, found, err
	}},
	{"Stmt.Query", func(ctx context.Context, db *rwsplit.DB, _ *rwsplitx.DB, k int64) (v int64, found bool, err error) {
		err = stmtDo(ctx, db, selectKV, func(st *rwsplit.Stmt) error {
			v, found, err = firstRow(st.QueryContext(ctx, k))
			return err
		})
		return v, found, err
	}},
	{"ReadOnlyTx.QueryRow", func(ctx context.Context, db *rwsplit.DB, _ *rwsplitx.DB, k int64) (v int64, found bool, err error) {
		tx, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
		if err != nil {
			return 0, false, err
		}
		defer tx.Rollback()
		found, err = scanFound(tx.QueryRowContext(ctx, selectKV, k).Scan(&v))
		return v, found, err
	}},
	{"rwsplitx.Get", func(ctx context.Context, _ *rwsplit.DB, x *rwsplitx.DB, k int64) (v int64, found bool, err error) {
		found, err = scanFound(x.GetContext(ctx, &v, selectKV, k))
		return v, found, err
	}},
}

// Where a case sets its consistency mode.
const (
	onRead    = "mode-on-read"    // only the read's context
	onBoth    = "mode-on-both"    // the write's and the read's context
	onDefault = "mode-db-default" // WithDefaultConsistency
)

// Scopes: the read waits for the write through...
const (
	scopeSession = "session" // one Session in both contexts
	scopeProcess = "process" // no Session: the DB's process scope
	scopeToken   = "token"   // a token carried as text to a second DB
	// a write with a Session, a read without: the process scope holds
	// every write made through the DB, Session or not
	scopeSessionThenProcess = "session-write/process-read"
)

var scopes = []string{scopeSession, scopeProcess, scopeToken, scopeSessionThenProcess}

// pairCase is one write→read pair.
type pairCase struct {
	line      fakeLine
	oneTrip   bool
	prefetch  bool // pools read ahead (PrefetchConnector), as Open's do
	write     writeSurface
	read      readSurface
	scope     string
	mode      rwsplit.Consistency
	placement string
}

// options are the DB options of c's placement.
func (c pairCase) options() []rwsplit.Option {
	if c.placement == onDefault {
		return []rwsplit.Option{rwsplit.WithDefaultConsistency(c.mode)}
	}
	return nil
}

// doPair writes k=k through c.write on a DB from open and reads k back
// through c.read, in c's scope (the token scope reads through a second DB
// from open) with c's mode where c places it. It reports whether the read
// found the row and whether a replica served it.
func doPair(c pairCase, open func() (*rwsplit.DB, error), k int64) (found, onReplica bool, err error) {
	w, err := open()
	if err != nil {
		return false, false, err
	}
	defer w.Close()
	wx := rwsplitx.NewDB(w, "mysql")
	r, rx := w, wx
	wctx, rctx := context.Background(), context.Background()
	sess := rwsplit.NewSession(rwsplit.Token{})
	switch c.scope {
	case scopeSession:
		wctx, rctx = rwsplit.WithSession(wctx, sess), rwsplit.WithSession(rctx, sess)
	case scopeSessionThenProcess:
		wctx = rwsplit.WithSession(wctx, sess)
	case scopeToken:
		wctx = rwsplit.WithSession(wctx, sess)
		if r, err = open(); err != nil {
			return false, false, err
		}
		defer r.Close()
		rx = rwsplitx.NewDB(r, "mysql")
	}
	switch c.placement {
	case onBoth:
		wctx, rctx = rwsplit.WithConsistency(wctx, c.mode), rwsplit.WithConsistency(rctx, c.mode)
	case onRead:
		rctx = rwsplit.WithConsistency(rctx, c.mode)
	}
	if err := c.write.write(wctx, w, wx, k, k); err != nil {
		return false, false, fmt.Errorf("write: %w", err)
	}
	if c.scope == scopeToken {
		tok, err := sess.TokenContext(context.Background())
		if err != nil {
			return false, false, err
		}
		parsed, err := rwsplit.ParseToken(tok.String())
		if err != nil {
			return false, false, err
		}
		rctx = rwsplit.WithSession(rctx, rwsplit.NewSession(parsed))
	}
	before := rwsplit.ReplicaReads(r)
	got, found, err := c.read.read(rctx, r, rx, k)
	if err != nil {
		return false, false, fmt.Errorf("read: %w", err)
	}
	if found && got != k {
		return false, false, fmt.Errorf("read %d, want %d", got, k)
	}
	after := rwsplit.ReplicaReads(r)
	for i := range after {
		if after[i] > before[i] {
			onReplica = true
		}
	}
	return found, onReplica, nil
}

func readKV(t *testing.T, ctx context.Context, db *rwsplit.DB, k int64) (int64, bool) {
	t.Helper()
	var v int64
	found, err := scanFound(db.QueryRowContext(ctx, selectKV, k).Scan(&v))
	require.NoError(t, err)
	return v, found
}

// replicaReads is the total of db's replica reads.
func replicaReads(db *rwsplit.DB) (n uint64) {
	for _, r := range rwsplit.ReplicaReads(db) {
		n += r
	}
	return n
}

// readWith reads k through db in a Session resumed from the token text s,
// under mode. It reports what the read found, whether a replica served it,
// how many waits it ran and how long it took.
func readWith(t *testing.T, db *rwsplit.DB, s string, mode rwsplit.Consistency, k int64) (found, onReplica bool, waits uint64, took time.Duration, err error) {
	t.Helper()
	tok, perr := rwsplit.ParseToken(s)
	require.NoError(t, perr, s)
	ctx := rwsplit.WithConsistency(rwsplit.WithSession(context.Background(), rwsplit.NewSession(tok)), mode)
	before, reads := db.Stats(), replicaReads(db)
	start := time.Now()
	var v int64
	found, err = scanFound(db.QueryRowContext(ctx, selectKV, k).Scan(&v))
	return found, replicaReads(db) > reads, db.Stats().Waits - before.Waits, time.Since(start), err
}

// withConnector runs f with sql.OpenDB(db.Connector()), closed afterwards.
func withConnector(db *rwsplit.DB, f func(*sql.DB) error) error {
	sdb := sql.OpenDB(db.Connector())
	defer sdb.Close()
	return f(sdb)
}

// The Connector's write and read surfaces, added to the pipeline matrix
// (writeSurfaces and readSurfaces above, by connector_test.go's init, so also
// TestEventualControl, TestCloseLeavesNothingRunning and, on real servers,
// TestReadYourWritesReal): a statement, a prepared statement, a read-write
// transaction, and a write on a connection pinned by session state.
var (
	connectorWriteSurfaces = []writeSurface{
		{"Connector.Exec", func(ctx context.Context, db *rwsplit.DB, _ *rwsplitx.DB, k, v int64) error {
			return withConnector(db, func(sdb *sql.DB) error {
				_, err := sdb.ExecContext(ctx, insertKV, k, v)
				return err
			})
		}},
		{"Connector.Stmt.Exec", func(ctx context.Context, db *rwsplit.DB, _ *rwsplitx.DB, k, v int64) error {
			return withConnector(db, func(sdb *sql.DB) error {
				st, err := sdb.PrepareContext(ctx, insertKV)
				if err != nil {
					return err
				}
				defer st.Close()
				_, err = st.ExecContext(ctx, k, v)
				return err
			})
		}},
		{"Connector.Tx.Exec", func(ctx context.Context, db *rwsplit.DB, _ *rwsplitx.DB, k, v int64) error {
			return withConnector(db, func(sdb *sql.DB) error {
				tx, err := sdb.BeginTx(ctx, nil)
				if err != nil {
					return err
				}
				if _, err := tx.ExecContext(ctx, insertKV, k, v); err != nil {
					_ = tx.Rollback()
					return err
				}
				return tx.Commit()
			})
		}},
		{"Connector.PinnedConn.Exec", func(ctx context.Context, db *rwsplit.DB, _ *rwsplitx.DB, k, v int64) error {
			return withConnector(db, func(sdb *sql.DB) error {
				c, err := sdb.Conn(ctx)
				if err != nil {
					return err
				}
				defer c.Close()
				if _, err := c.ExecContext(ctx, "SET @x = 1"); err != nil {
					return err
				}
				_, err = c.ExecContext(ctx, insertKV, k, v)
				return err
			})
		}},
	}
	connectorReadSurfaces = []readSurface{
		{"Connector.QueryRow", func(ctx context.Context, db *rwsplit.DB, _ *rwsplitx.DB, k int64) (v int64, found bool, err error) {
			err = withConnector(db, func(sdb *sql.DB) error {
				found, err = scanFound(sdb.QueryRowContext(ctx, selectKV, k).Scan(&v))
				return err
			})
			return v, found, err
		}},
		{"Connector.Stmt.Query", func(ctx context.Context, db *rwsplit.DB, _ *rwsplitx.DB, k int64) (v int64, found bool, err error) {
			err = withConnector(db, func(sdb *sql.DB) error {
				st, err := sdb.PrepareContext(ctx, selectKV)
				if err != nil {
					return err
				}
				defer st.Close()
				v, found, err = firstRow(st.QueryContext(ctx, k))
				return err
			})
			return v, found, err
		}},
	}
)

// connectorDB returns sql.OpenDB over db's Connector, closed at cleanup.
func connectorDB(t testing.TB, db *rwsplit.DB) (*sql.DB, driver.Connector) {
	t.Helper()
	c := db.Connector()
	sdb := sql.OpenDB(c)
	t.Cleanup(func() { _ = sdb.Close() })
	return sdb, c
}

type rowQuerier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// answeredBy returns the @@server_id that answers a replica-safe read on q.
func answeredBy(t testing.TB, ctx context.Context, q rowQuerier) int {
	t.Helper()
	var id int
	require.NoError(t, q.QueryRowContext(ctx, "SELECT @@server_id").Scan(&id))
	return id
}

// quiet waits until the monitor's first round is over and no pool
// connection is in use, so that connection counts belong to the test.
func quiet(t *testing.T, cl *fakedb.Cluster, db *rwsplit.DB) {
	t.Helper()
	require.Eventually(t, func() bool {
		if cl.Primary().Count("@@GLOBAL.gtid_") == 0 {
			return false
		}
		for _, r := range cl.Replicas() {
			if r.Count("SHOW REPLICA STATUS") == 0 || cl.Flavor() == fakedb.MariaDB && r.Count("gtid_slave_pos") == 0 {
				return false
			}
		}
		return rwsplit.PoolsInUse(db) == 0
	}, 5*time.Second, time.Millisecond)
	time.Sleep(20 * time.Millisecond) // the round's last steps hold no connection
}

func sumReplicaReads(db *rwsplit.DB) (n uint64) {
	for _, r := range rwsplit.ReplicaReads(db) {
		n += r
	}
	return n
}

// discoveryDB opens a DB under WithDiscovery over every server of c, the
// first replica given in the primary's place, and returns it with the pool
// of each fake server.
func discoveryDB(t *testing.T, c *fakedb.Cluster, opts ...rwsplit.Option) (*rwsplit.DB, map[*fakedb.Server]*sql.DB) {
	t.Helper()
	return openDiscoveryDB(t, c, false, opts...)
}

// openDiscoveryDB is discoveryDB, with pools that take multi-statement
// texts when multi is set.
func openDiscoveryDB(t *testing.T, c *fakedb.Cluster, multi bool, opts ...rwsplit.Option) (*rwsplit.DB, map[*fakedb.Server]*sql.DB) {
	t.Helper()
	pools := map[*fakedb.Server]*sql.DB{}
	var all []*sql.DB
	for _, s := range append(c.Replicas(), c.Primary()) {
		pools[s] = s.OpenDB(multi)
		all = append(all, pools[s])
	}
	opts = append([]rwsplit.Option{rwsplit.WithDiscovery(), rwsplit.WithMonitorInterval(20 * time.Millisecond)}, opts...)
	db, err := rwsplit.New(all[0], all[1:], opts...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	return db, pools
}

// balancerFunc adapts a function to rwsplit.Balancer, as a user would.
type balancerFunc func([]*rwsplit.Server) *rwsplit.Server

func (f balancerFunc) Pick(c []*rwsplit.Server) *rwsplit.Server { return f(c) }

// testBound is the hedge tests' fixed bound.
const testBound = 40 * time.Millisecond

// preferBalancer sends reads to the replica of index idx when it is a
// candidate (the hung one, in these tests), else to the first candidate.
type preferBalancer struct{ idx atomic.Int64 }

func (p *preferBalancer) Pick(c []*rwsplit.Server) *rwsplit.Server {
	for _, s := range c {
		if int64(s.Index()) == p.idx.Load() {
			return s
		}
	}
	return c[0]
}

// hedgeDB returns a DB over cl (pools reading ahead with prefetch) whose
// reads go to replica 0 first, with the hedge bound fixed at bound, once the
// monitor's first round is done (so that no check is left on a server a
// test hangs) and every server has served a read (so that a pool given to
// New is known to read ahead, as Open's are from the start). The caller
// closes it.
func hedgeDB(t *testing.T, cl *fakedb.Cluster, oneTrip, prefetch bool, bound time.Duration, opts ...rwsplit.Option) *rwsplit.DB {
	t.Helper()
	bal := new(preferBalancer)
	db, err := openFake(cl, oneTrip, prefetch, append([]rwsplit.Option{rwsplit.WithBalancer(bal)}, opts...)...)
	require.NoError(t, err)
	require.NoError(t, rwsplit.SetHedge(db, bound, bound))
	require.Eventually(t, func() bool {
		for _, st := range rwsplit.ReplicaStatus(db) {
			if st.LastCheck.IsZero() {
				return false
			}
		}
		return true
	}, 5*time.Second, time.Millisecond)
	bg := context.Background()
	for i := range cl.Replicas() {
		bal.idx.Store(int64(i))
		readKV(t, rwsplit.WithConsistency(bg, rwsplit.Eventual), db, 0)
	}
	bal.idx.Store(0)
	readKV(t, rwsplit.WithConsistency(bg, rwsplit.Primary), db, 0)
	return db
}

// routed is where a DB had sent its reads at one moment: its primary
// reads (Stats) and each replica's (Health).
type routed struct {
	primaryReads uint64
	replicaReads []uint64
}

// routedOf returns db's routed reads now.
func routedOf(db *rwsplit.DB) routed {
	return routed{db.Stats().PrimaryReads, rwsplit.ReplicaReads(db)}
}

// where names the server that ran the one read made between two routed
// snapshots of a DB: "primary", "replica N", or "" if none did.
func where(before, after routed) string {
	if after.primaryReads > before.primaryReads {
		return "primary"
	}
	for i := range after.replicaReads {
		if i < len(before.replicaReads) && after.replicaReads[i] > before.replicaReads[i] {
			return fmt.Sprintf("replica %d", i)
		}
	}
	return ""
}

// requireReadHook fails t when the pipeline does not report the reads it ran
// (db.readDone, called by queryCall and queryRowCall): without it Monotonic
// reads its writes but keeps no history of its reads.
func requireReadHook(t *testing.T) {
	t.Helper()
	c := fakedb.NewCluster(fakedb.MySQL, 1)
	db := fakeDB(t, c, false)
	s := rwsplit.NewSession(rwsplit.Token{})
	ctx := rwsplit.WithConsistency(rwsplit.WithSession(context.Background(), s), rwsplit.Monotonic(time.Second))
	_, _ = scanFound(db.QueryRowContext(ctx, selectKV, 1).Scan(new(int64)))
	require.NotZero(t, rwsplit.ReadsNoted(s), "the pipeline reports the reads it ran (readDone): Monotonic keeps their history")
}

// obs is one read of a history: when it began and returned, and what it
// showed.
type obs struct {
	start, end time.Time
	v          int64
}

// backwards counts the reads of h that showed less than a read that
// returned before they began: a sweep in order of start, keeping the
// highest value shown by the reads returned so far (O(n log n), for
// histories of hundreds of thousands of reads).
func backwards(h []obs) int {
	byStart := slices.Clone(h)
	slices.SortFunc(byStart, func(a, b obs) int { return a.start.Compare(b.start) })
	byEnd := slices.Clone(h)
	slices.SortFunc(byEnd, func(a, b obs) int { return a.end.Compare(b.end) })
	n, j := 0, 0
	var high int64
	seen := false
	for _, b := range byStart {
		for ; j < len(byEnd) && byEnd[j].end.Before(b.start); j++ {
			high, seen = max(high, byEnd[j].v), true
		}
		if seen && b.v < high {
			n++
		}
	}
	return n
}

var hostileTokens = []string{
	"'; DROP TABLE users; --",
	"1~my~3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5'; DROP TABLE t; --~~",
	"1~ma~0-1-1' OR '1'='1~~",
	"1~my~~binlog.000001:4; SELECT SLEEP(10)~",
	"1~my~~bin/*x*/log.000001:4~",
	"1~ma~0-1-1~mysql-bin.000001:4~1700000000000 ",
	"1~my~3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5\n~~",
	"1~my~3E11FA47-71CA-11E1-9E33-C80AA9429562:1-5~~", // not canonical
	"3~my~~~1",
	"2~my~~binlog.000001:4:0~",
	"1~my~~binlog.000001:4:7~", // version 1 has no server id
	strings.Repeat("1", rwsplit.MaxTokenLen+1),
	"1~my~3e11fa47-71ca-11e1-9e33-c80aa9429562:0-5~~",
	"1~my~\x00~~",
}
