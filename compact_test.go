package rwsplit_test

// Token compaction: a MySQL token carries only the GTIDs of the primary's
// own server uuid, however many uuids the cluster's history holds.

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rwsplit/rwsplit"
	"github.com/rwsplit/rwsplit/internal/dialect"
	"github.com/rwsplit/rwsplit/internal/fakedb"
	"github.com/rwsplit/rwsplit/internal/gtid"
)

// history returns the GTIDs of n-1 former primaries: n-1 server uuids
// other than the cluster's, each with a long interval, as a cluster that
// went through n-1 failovers shows in every executed GTID set.
func history(n int) string {
	parts := make([]string, 0, n-1)
	for i := 1; i < n; i++ {
		parts = append(parts, fmt.Sprintf("%08x-1111-4222-8333-%012x:1-%d", i, 1000*i, 123456+i))
	}
	return strings.Join(parts, ",")
}

// historyConnector connects to a fakedb server whose executed GTID sets,
// wherever a statement reports them (SHOW BINARY LOG STATUS, SHOW REPLICA
// STATUS, @@GLOBAL.gtid_executed), also hold extra: GTIDs of uuids that
// are not the server's, which no fakedb wait can reach.
type historyConnector struct {
	driver.Connector
	extra string
	uuid  string // if set, the @@server_uuid every statement reports
}

func (c historyConnector) Connect(ctx context.Context) (driver.Conn, error) {
	cn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &historyConn{Conn: cn, extra: c.extra, uuid: c.uuid}, nil
}

// historyConn forwards everything to a fakedb connection and rewrites the
// executed GTID sets its queries return.
type historyConn struct {
	driver.Conn
	extra, uuid string
}

func (c *historyConn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	rows, err := c.Conn.(driver.QueryerContext).QueryContext(ctx, q, args)
	if err != nil {
		return nil, err
	}
	return &historyRows{Rows: rows, extra: c.extra, uuid: c.uuid}, nil
}

func (c *historyConn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	return c.Conn.(driver.ExecerContext).ExecContext(ctx, q, args)
}

func (c *historyConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.Conn.(driver.ConnBeginTx).BeginTx(ctx, opts)
}

func (c *historyConn) PrepareContext(ctx context.Context, q string) (driver.Stmt, error) {
	return c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, q)
}

func (c *historyConn) ResetSession(ctx context.Context) error {
	return c.Conn.(driver.SessionResetter).ResetSession(ctx)
}

func (c *historyConn) IsValid() bool { return c.Conn.(driver.Validator).IsValid() }

func (c *historyConn) Ping(ctx context.Context) error { return c.Conn.(driver.Pinger).Ping(ctx) }

func (c *historyConn) CheckNamedValue(*driver.NamedValue) error { return nil }

type historyRows struct {
	driver.Rows
	extra, uuid string
}

func (r *historyRows) Next(dest []driver.Value) error {
	if err := r.Rows.Next(dest); err != nil {
		return err
	}
	for i, col := range r.Columns() {
		if col == "@@server_uuid" && r.uuid != "" {
			dest[i] = r.uuid
		}
		if col != "Executed_Gtid_Set" && col != "@@GLOBAL.gtid_executed" || r.extra == "" {
			continue
		}
		if s, ok := dest[i].(string); ok {
			if s == "" {
				dest[i] = r.extra
			} else {
				dest[i] = r.extra + "," + s
			}
		}
	}
	return nil
}

// TestTokenCompactedWith200UUIDs: on a MySQL cluster whose history holds 200
// server uuids, a session's token carries only the primary's (well under
// 100 bytes, where the whole executed set is over the 8 KB MaxTokenLen and
// twice the 4 KB a browser keeps of a cookie), and a read in another
// process waits for it on a replica (a wait for the other uuids could never
// end).
func TestTokenCompactedWith200UUIDs(t *testing.T) {
	cl := fakedb.NewCluster(fakedb.MySQL, 2)
	stalled(cl)
	extra := history(200)
	open := func() *rwsplit.DB {
		pool := func(s *fakedb.Server) *sql.DB {
			return sql.OpenDB(historyConnector{Connector: s.Connector(false), extra: extra})
		}
		db, err := rwsplit.New(pool(cl.Primary()), []*sql.DB{pool(cl.Replicas()[0]), pool(cl.Replicas()[1])},
			rwsplit.WithMonitorInterval(time.Hour))
		require.NoError(t, err)
		t.Cleanup(func() { _ = db.Close() })
		return db
	}
	w, r := open(), open()
	// Compaction needs a look at the primary from before the writes (the
	// monitor's first round, at once).
	require.Eventually(t, func() bool { return rwsplit.PrimaryLooked(w) }, 5*time.Second, time.Millisecond)

	sess := rwsplit.NewSession(rwsplit.Token{})
	ctx := rwsplit.WithSession(context.Background(), sess)
	for k := int64(1); k <= 3; k++ {
		_, err := w.ExecContext(ctx, insertKV, k, k)
		require.NoError(t, err)
	}
	tok, err := sess.TokenContext(context.Background())
	require.NoError(t, err)
	s := tok.String()
	assert.Less(t, len(s), 100, s)
	assert.Equal(t, 1, rwsplit.TokenUUIDs(tok))
	assert.Contains(t, s, cl.UUID()+":1-3~")

	// What the whole executed set would have cost.
	full, err := gtid.ParseMySQLSet(extra + "," + cl.GTIDSet(3))
	require.NoError(t, err)
	require.Equal(t, 200, full.UUIDs())
	whole := gtid.Encode(gtid.Token{Flavor: dialect.MySQL, MySQL: full, Pos: gtid.BinlogPos{File: "binlog.000001", Pos: 304, ServerID: 1}, Time: time.Now().UnixMilli()})
	assert.Greater(t, len(whole), rwsplit.MaxTokenLen)
	t.Logf("token with a 200-uuid history: %d bytes compacted (%q), %d bytes whole", len(s), s, len(whole))

	// Carried to another DB, it is waited for on a replica.
	parsed, err := rwsplit.ParseToken(s)
	require.NoError(t, err)
	rctx := rwsplit.WithConsistency(rwsplit.WithSession(context.Background(), rwsplit.NewSession(parsed)), rwsplit.WaitGTID(5*time.Second).OrFail())
	before := replicaReads(r)
	v, found := readKV(t, rctx, r, 3)
	assert.True(t, found)
	assert.EqualValues(t, 3, v)
	assert.Greater(t, replicaReads(r), before)
	assert.Zero(t, rwsplit.TokenClamps(r))
}

// TestCompactionSpanningAFailover: writes recorded on one primary and
// captured on the next (pending across ReplacePrimary) keep the whole
// executed set: the old primary's uuid, under which they were committed,
// is not dropped.
func TestCompactionSpanningAFailover(t *testing.T) {
	cl := fakedb.NewCluster(fakedb.MySQL, 2)
	stalled(cl)
	extra := history(5)
	pool := func(s *fakedb.Server) *sql.DB {
		return sql.OpenDB(historyConnector{Connector: s.Connector(false), extra: extra})
	}
	newP := cl.Replicas()[0]
	pools := []*sql.DB{pool(newP), pool(cl.Replicas()[1])}
	db, err := rwsplit.New(pool(cl.Primary()), pools, rwsplit.WithMonitorInterval(time.Hour))
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })

	sess := rwsplit.NewSession(rwsplit.Token{})
	ctx := rwsplit.WithSession(context.Background(), sess)
	_, err = db.ExecContext(ctx, insertKV, 1, 1)
	require.NoError(t, err)
	newP.ApplyAll()
	cl.Promote(newP)
	old, err := db.ReplacePrimary(pools[0])
	require.NoError(t, err)
	defer old.Close()

	tok, err := sess.TokenContext(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 5, rwsplit.TokenUUIDs(tok), "a write of the old primary's: nothing dropped")

	// Writes made on the new primary alone are compacted again.
	sess2 := rwsplit.NewSession(rwsplit.Token{})
	_, err = db.ExecContext(rwsplit.WithSession(context.Background(), sess2), insertKV, 2, 2)
	require.NoError(t, err)
	tok, err = sess2.TokenContext(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 1, rwsplit.TokenUUIDs(tok))
}

// TestTokenKeepsTheUUIDWritesCarry: on Group Replication every transaction
// carries the group name's uuid, not the member's @@server_uuid (so does a
// write under an explicit gtid_next of another uuid). A token captured for
// such writes keeps their uuid, and a WaitGTID read in another process
// waits for them on a replica, whether or not the DB had looked at the
// primary before the writes (compaction then proves the other uuids
// unchanged). Keeping only the primary's own uuid read a stale replica.
func TestTokenKeepsTheUUIDWritesCarry(t *testing.T) {
	const member = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee" // the primary's @@server_uuid
	for _, looked := range []bool{false, true} {
		t.Run(fmt.Sprintf("looked=%v", looked), func(t *testing.T) {
			cl := fakedb.NewCluster(fakedb.MySQL, 2)
			stalled(cl)
			cl.Write(100, 100) // history under the group's uuid
			extra := ""        // fakedb waits cannot reach a history's GTIDs: without a look, they are kept
			if looked {
				extra = history(3)
			}
			open := func() *rwsplit.DB {
				pool := func(s *fakedb.Server) *sql.DB {
					return sql.OpenDB(historyConnector{Connector: s.Connector(false), extra: extra, uuid: member})
				}
				db, err := rwsplit.New(pool(cl.Primary()), []*sql.DB{pool(cl.Replicas()[0]), pool(cl.Replicas()[1])},
					rwsplit.WithMonitorInterval(time.Hour))
				require.NoError(t, err)
				t.Cleanup(func() { _ = db.Close() })
				return db
			}
			w, r := open(), open()
			if looked {
				require.Eventually(t, func() bool { return rwsplit.PrimaryLooked(w) }, 5*time.Second, time.Millisecond)
			}
			sess := rwsplit.NewSession(rwsplit.Token{})
			_, err := w.ExecContext(rwsplit.WithSession(context.Background(), sess), insertKV, 1, 1)
			require.NoError(t, err)
			tok, err := sess.TokenContext(context.Background())
			require.NoError(t, err)
			assert.Contains(t, tok.String(), cl.UUID()+":1-2", "the group's uuid, under which the write committed")
			if looked {
				assert.Equal(t, 1, rwsplit.TokenUUIDs(tok), "the history's uuids, unchanged since before the write, are dropped")
			}

			parsed, err := rwsplit.ParseToken(tok.String())
			require.NoError(t, err)
			rctx := rwsplit.WithConsistency(rwsplit.WithSession(context.Background(), rwsplit.NewSession(parsed)), rwsplit.WaitGTID(5*time.Second).OrFail())
			before := replicaReads(r)
			v, found := readKV(t, rctx, r, 1)
			assert.True(t, found, "the read waited for the write")
			assert.EqualValues(t, 1, v)
			assert.Greater(t, replicaReads(r), before, "on a replica")
		})
	}
}

// TestTokenAfterAWaitingRead: a Session whose GTIDs a WaitGTID read already
// resolved, and whose binlog position Token then reads, keeps a compacted
// token: the position's capture adds none of the history's uuids.
func TestTokenAfterAWaitingRead(t *testing.T) {
	cl := fakedb.NewCluster(fakedb.MySQL, 2)
	stalled(cl)
	pool := func(s *fakedb.Server) *sql.DB {
		return sql.OpenDB(historyConnector{Connector: s.Connector(false), extra: history(200)})
	}
	db, err := rwsplit.New(pool(cl.Primary()), []*sql.DB{pool(cl.Replicas()[0]), pool(cl.Replicas()[1])},
		rwsplit.WithMonitorInterval(time.Hour))
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	require.Eventually(t, func() bool { return rwsplit.PrimaryLooked(db) }, 5*time.Second, time.Millisecond)

	sess := rwsplit.NewSession(rwsplit.Token{})
	ctx := rwsplit.WithConsistency(rwsplit.WithSession(context.Background(), sess), rwsplit.WaitGTID(5*time.Second))
	_, err = db.ExecContext(ctx, insertKV, 1, 1)
	require.NoError(t, err)
	_, found := readKV(t, ctx, db, 1)
	require.True(t, found)
	tok, err := sess.TokenContext(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 1, rwsplit.TokenUUIDs(tok), tok.String()[:min(200, len(tok.String()))])
	assert.Less(t, len(tok.String()), 100)
}
