package rwsplit_test

// Unit tests of the call pipeline against internal/fakedb, an in-memory
// driver that models a primary and replicas (no Docker; `make unit`). The
// replicas' appliers are stopped and apply only what a wait asks for, exactly
// up to its target: a read sees its write on a replica only if the wait
// targeted it, so a missed record, a stale capture or a skipped wait shows up
// as a stale read.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rwsplit/rwsplit"
	"github.com/rwsplit/rwsplit/internal/fakedb"
	"github.com/rwsplit/rwsplit/rwsplitx"
)

var fakeFlavors = []fakedb.Flavor{fakedb.MySQL, fakedb.MariaDB}

// fakeLine is one server line of the unit matrix: a flavor and a cluster
// kind.
type fakeLine struct {
	flavor fakedb.Flavor
	kind   fakedb.Kind
	tag    string // MySQL 8.3+: the writes' GTID tag (SET gtid_next = 'AUTOMATIC:tag')
}

func (l fakeLine) String() string {
	s := l.flavor.String()
	if l.kind != fakedb.Async {
		s += "-" + l.kind.String()
	}
	if l.tag != "" {
		s += "-tagged"
	}
	return s
}

// fakeLines are the matrix's server lines: both flavors with asynchronous
// replication, MySQL with tagged GTIDs (an untagged history, then the
// writes under a tag), MySQL Group Replication (whose writes carry the
// group's uuid, not the primary's) and MariaDB Galera.
var fakeLines = []fakeLine{
	{fakedb.MySQL, fakedb.Async, ""}, {fakedb.MariaDB, fakedb.Async, ""}, {fakedb.MySQL, fakedb.Async, "app"},
	{fakedb.MySQL, fakedb.GroupReplication, ""}, {fakedb.MariaDB, fakedb.Galera, ""},
}

// newLineCluster returns a cluster of line l with two replicas.
func newLineCluster(l fakeLine) *fakedb.Cluster {
	cl := fakedb.NewCluster(l.flavor, 2)
	cl.SetKind(l.kind)
	if l.tag != "" {
		cl.Write(1000, 1000) // an untagged history
		cl.SetTag(l.tag)
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

// runPair writes through c.write and reads through c.read on a fresh
// in-memory cluster, and reports what the read saw and where it ran.
func runPair(t *testing.T, c pairCase) (found bool, onReplica bool) {
	t.Helper()
	cl := newLineCluster(c.line)
	stalled(cl)
	open := func() (*rwsplit.DB, error) { return openFake(cl, c.oneTrip, c.prefetch, c.options()...) }
	found, onReplica, err := doPair(c, open, 7)
	require.NoError(t, err)
	return found, onReplica
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

// TestReadYourWritesMatrix: every write surface × scope × mode × where the
// mode is set × flavor × pool kind (one round trip or not, read-ahead or not),
// × cluster kind (async, Group Replication, Galera), each with a read
// surface in turn, reads its own write, on a replica for the waiting modes; Eventual, the control, reads
// stale data on the same setup.
func TestReadYourWritesMatrix(t *testing.T) {
	modes := []rwsplit.Consistency{rwsplit.WaitGTID(5 * time.Second), rwsplit.WaitPosition(5 * time.Second), rwsplit.Primary,
		rwsplit.Latest(5 * time.Second), rwsplit.Monotonic(5 * time.Second), rwsplit.Fast, rwsplit.MaxStaleness(0)}
	// Served by the primary here: Fast (no replica is known to have the
	// write) and MaxStaleness(0) (no replica is that fresh); see modes_test.go.
	onPrimary := map[rwsplit.Consistency]bool{rwsplit.Primary: true, rwsplit.Fast: true, rwsplit.MaxStaleness(0): true}
	n := 0
	for _, line := range fakeLines {
		for pools := range 4 {
			oneTrip, prefetch := pools&1 != 0, pools&2 != 0
			for wi, ws := range writeSurfaces {
				for si, scope := range scopes {
					for mi, mode := range modes {
						for pi, placement := range []string{onRead, onBoth, onDefault} {
							rs := readSurfaces[(wi+si+mi+pi)%len(readSurfaces)]
							c := pairCase{line: line, oneTrip: oneTrip, prefetch: prefetch, write: ws, read: rs, scope: scope, mode: mode, placement: placement}
							name := fmt.Sprintf("%s/onetrip=%v/prefetch=%v/%s/%s/%s/%s/%s", line, oneTrip, prefetch, ws.name, rs.name, scope, mode, placement)
							n++
							t.Run(name, func(t *testing.T) {
								found, onReplica := runPair(t, c)
								assert.True(t, found, "stale read")
								if onPrimary[mode] {
									assert.False(t, onReplica, "read on a replica")
								} else {
									assert.True(t, onReplica, "waiting read not served by a replica")
								}
							})
						}
					}
				}
			}
		}
	}
	t.Logf("%d write→read cases", n)
}

// TestEventualControl: on the same setup Eventual reads stale data through
// every surface and scope, so the matrix above can fail.
func TestEventualControl(t *testing.T) {
	for _, line := range fakeLines {
		for wi, ws := range writeSurfaces {
			for _, scope := range scopes {
				rs := readSurfaces[wi%len(readSurfaces)]
				c := pairCase{line: line, write: ws, read: rs, scope: scope, mode: rwsplit.Eventual, placement: onRead}
				t.Run(fmt.Sprintf("%s/%s/%s/%s", line, ws.name, rs.name, scope), func(t *testing.T) {
					found, onReplica := runPair(t, c)
					assert.False(t, found, "Eventual saw the write: the setup cannot show staleness")
					assert.True(t, onReplica)
				})
			}
		}
	}
}
