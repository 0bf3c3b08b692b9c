package rwsplit_test

// Unit tests of the driver.Connector form (sql.OpenDB(db.Connector())) against
// internal/fakedb. The Connector is also one more write and read surface of
// the pipeline matrix (see init below).

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/rwsplit/rwsplit"
	"github.com/rwsplit/rwsplit/internal/fakedb"
)

func init() {
	writeSurfaces = append(writeSurfaces, connectorWriteSurfaces...)
	readSurfaces = append(readSurfaces, connectorReadSurfaces...)
}

// warm makes sure that the primary's pool holds an idle connection (the
// next pin takes it) and returns how many it has open.
func warm(t *testing.T, db *rwsplit.DB) int {
	t.Helper()
	_, err := db.ExecContext(context.Background(), "DO 1")
	require.NoError(t, err)
	st := db.Primary().Stats()
	require.Positive(t, st.Idle)
	return st.OpenConnections
}

// TestConnectorRoutes: through the Connector's *sql.DB, reads run on the
// replicas and writes on the primary, by @@server_id and by the statements
// each server received; Stats count the calls.
func TestConnectorRoutes(t *testing.T) {
	for _, f := range fakeFlavors {
		t.Run(f.String(), func(t *testing.T) {
			cl := fakedb.NewCluster(f, 2)
			db := fakeDB(t, cl, false)
			sdb, _ := connectorDB(t, db)
			ctx := context.Background()
			before := db.Stats()
			readsBefore := sumReplicaReads(db)
			seen := map[int]int{}
			for range 10 {
				seen[answeredBy(t, ctx, sdb)]++
			}
			assert.Equal(t, map[int]int{2: 5, 3: 5}, seen, "reads on the replicas, in turn")

			_, err := sdb.ExecContext(ctx, insertKV, 1, 10)
			require.NoError(t, err)
			assert.Equal(t, 1, cl.Primary().Count("INSERT INTO kv"))
			for _, r := range cl.Replicas() {
				assert.Zero(t, r.Count("INSERT INTO kv"), "a write on a replica")
			}
			var v int64
			require.NoError(t, sdb.QueryRowContext(ctx, "SELECT v FROM kv WHERE k = ? FOR UPDATE", 1).Scan(&v))
			assert.EqualValues(t, 10, v)
			assert.Equal(t, 1, cl.Primary().Count("FOR UPDATE"), "a locking read on the primary")
			require.NoError(t, sdb.QueryRowContext(ctx, selectKV, 1).Scan(&v))
			assert.EqualValues(t, 10, v)

			after := db.Stats()
			assert.EqualValues(t, 11, sumReplicaReads(db)-readsBefore)
			assert.EqualValues(t, 1, after.Writes-before.Writes)
			assert.EqualValues(t, 1, after.PrimaryReads-before.PrimaryReads)
		})
	}
}

// TestConnectorReadYourWrites: with the replicas' appliers stopped, a read
// after a write through the Connector's *sql.DB sees the write under
// WaitGTID and WaitPosition, served by a replica that waited, while
// Eventual, the control, reads stale data; a Session in the context is
// advanced by the Connector's writes and its token is honoured by another
// DB's Connector.
func TestConnectorReadYourWrites(t *testing.T) {
	for _, f := range fakeFlavors {
		for _, mode := range []rwsplit.Consistency{rwsplit.WaitGTID(5 * time.Second), rwsplit.WaitPosition(5 * time.Second), rwsplit.Eventual} {
			t.Run(fmt.Sprintf("%s/%s", f, mode), func(t *testing.T) {
				cl := fakedb.NewCluster(f, 2)
				stalled(cl)
				db := fakeDB(t, cl, false)
				sdb, _ := connectorDB(t, db)
				ctx := rwsplit.WithConsistency(context.Background(), mode)
				_, err := sdb.ExecContext(ctx, insertKV, 1, 1)
				require.NoError(t, err)
				readsBefore := sumReplicaReads(db)
				var v int64
				found, err := scanFound(sdb.QueryRowContext(ctx, selectKV, 1).Scan(&v))
				require.NoError(t, err)
				assert.Equal(t, mode != rwsplit.Eventual, found, "found the write")
				assert.EqualValues(t, 1, sumReplicaReads(db)-readsBefore, "served by a replica")

				// A Session, advanced by a Connector write, carried as text to
				// another DB whose Connector reads.
				sess := rwsplit.NewSession(rwsplit.Token{})
				require.True(t, sess.Token().IsZero())
				_, err = sdb.ExecContext(rwsplit.WithSession(ctx, sess), insertKV, 2, 2)
				require.NoError(t, err)
				tok, err := sess.TokenContext(ctx)
				require.NoError(t, err)
				require.False(t, tok.IsZero(), "the Connector's write did not advance the Session")
				parsed, err := rwsplit.ParseToken(tok.String())
				require.NoError(t, err)
				db2 := fakeDB(t, cl, false)
				sdb2, _ := connectorDB(t, db2)
				found, err = scanFound(sdb2.QueryRowContext(rwsplit.WithSession(ctx, rwsplit.NewSession(parsed)), selectKV, 2).Scan(&v))
				require.NoError(t, err)
				assert.Equal(t, mode != rwsplit.Eventual, found, "found the token's write")
				assert.EqualValues(t, 1, sumReplicaReads(db2), "served by a replica")
			})
		}
	}
}

// TestConnectorTransactions: a read-write transaction runs on the primary
// and its commit is recorded (a waiting read after it sees it); a read-only
// one runs on a replica; a rolled-back one leaves nothing; on a *sql.Conn,
// the read-write transaction's pin ends with it (the primary connection goes
// back to the pool), unless a statement in it left session state.
func TestConnectorTransactions(t *testing.T) {
	for _, f := range fakeFlavors {
		t.Run(f.String(), func(t *testing.T) {
			cl := fakedb.NewCluster(f, 2)
			stalled(cl)
			db := fakeDB(t, cl, false)
			sdb, _ := connectorDB(t, db)
			ctx := rwsplit.WithConsistency(context.Background(), rwsplit.WaitGTID(5*time.Second))
			before := db.Stats()

			tx, err := sdb.BeginTx(ctx, nil)
			require.NoError(t, err)
			assert.Equal(t, 1, answeredBy(t, ctx, tx), "a read-write transaction on the primary")
			_, err = tx.ExecContext(ctx, insertKV, 1, 1)
			require.NoError(t, err)
			require.NoError(t, tx.Commit())
			var v int64
			require.NoError(t, sdb.QueryRowContext(ctx, selectKV, 1).Scan(&v), "the commit was not recorded")
			assert.EqualValues(t, 1, v)

			tx, err = sdb.BeginTx(ctx, nil)
			require.NoError(t, err)
			_, err = tx.ExecContext(ctx, insertKV, 2, 2)
			require.NoError(t, err)
			require.NoError(t, tx.Rollback())
			_, ok := cl.Primary().Value(2)
			assert.False(t, ok, "a rolled-back write")

			ro, err := sdb.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
			require.NoError(t, err)
			assert.Contains(t, []int{2, 3}, answeredBy(t, ctx, ro), "a read-only transaction on a replica")
			_, err = ro.ExecContext(ctx, insertKV, 3, 3)
			assert.Error(t, err, "a write in a read-only transaction")
			require.NoError(t, ro.Rollback())

			after := db.Stats()
			assert.EqualValues(t, 2, after.ReadWriteTx-before.ReadWriteTx)
			assert.EqualValues(t, 1, after.ReadOnlyTx-before.ReadOnlyTx)

			// On one *sql.Conn.
			quiet(t, cl, db)
			open := warm(t, db)
			c, err := sdb.Conn(ctx)
			require.NoError(t, err)
			tx, err = c.BeginTx(ctx, nil)
			require.NoError(t, err)
			_, err = tx.ExecContext(ctx, insertKV, 4, 4)
			require.NoError(t, err)
			require.NoError(t, tx.Commit())
			assert.Contains(t, []int{2, 3}, answeredBy(t, ctx, c), "the transaction's pin outlived it")
			tx, err = c.BeginTx(ctx, nil)
			require.NoError(t, err)
			_, err = tx.ExecContext(ctx, "SET @x = 1")
			require.NoError(t, err)
			require.NoError(t, tx.Commit())
			assert.Equal(t, 1, answeredBy(t, ctx, c), "session state set in a transaction: pinned after it")
			ro, err = c.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
			require.NoError(t, err)
			assert.Equal(t, 1, answeredBy(t, ctx, ro), "a read-only transaction on a pinned connection")
			require.NoError(t, ro.Commit())
			require.NoError(t, c.Close())
			assert.Equal(t, open-1, db.Primary().Stats().OpenConnections, "the pinned connection was pooled, not closed")
		})
	}
}

// TestConnectorSessionPinning: a statement that leaves session state pins
// the virtual connection to one primary connection (every later statement,
// reads included, runs there) until database/sql takes it back; that
// connection is then closed, not pooled. Idle virtual connections hold no
// server connection; Rows hold theirs until closed.
func TestConnectorSessionPinning(t *testing.T) {
	for _, f := range fakeFlavors {
		t.Run(f.String(), func(t *testing.T) {
			cl := fakedb.NewCluster(f, 2)
			db := fakeDB(t, cl, false)
			sdb, _ := connectorDB(t, db)
			ctx := context.Background()
			quiet(t, cl, db)
			inUse := func() int { return rwsplit.PoolsInUse(db) }

			// Idle virtual connections hold nothing.
			var conns []*sql.Conn
			for range 3 {
				c, err := sdb.Conn(ctx)
				require.NoError(t, err)
				conns = append(conns, c)
				assert.Contains(t, []int{2, 3}, answeredBy(t, ctx, c))
			}
			assert.Zero(t, inUse(), "idle virtual connections hold server connections")

			// Rows hold their server connection until closed, or until their
			// end.
			rows, err := conns[0].QueryContext(ctx, "SELECT @@server_id")
			require.NoError(t, err)
			assert.Equal(t, 1, inUse())
			require.NoError(t, rows.Close())
			assert.Zero(t, inUse())
			rows, err = conns[0].QueryContext(ctx, "SELECT @@server_id")
			require.NoError(t, err)
			for rows.Next() {
			}
			assert.Zero(t, inUse(), "rows read to the end")

			// Session state pins, until the connection goes back to the pool.
			primaryReads := db.Stats().PrimaryReads
			open := warm(t, db)
			c := conns[1]
			_, err = c.ExecContext(ctx, "SET @x = 1")
			require.NoError(t, err)
			for range 3 {
				assert.Equal(t, 1, answeredBy(t, ctx, c), "a read on a pinned connection")
			}
			assert.EqualValues(t, 3, db.Stats().PrimaryReads-primaryReads)
			assert.Equal(t, 1, inUse(), "the pin")
			assert.Contains(t, []int{2, 3}, answeredBy(t, ctx, conns[2]), "another connection pinned")
			require.NoError(t, c.Close())
			assert.Zero(t, inUse())
			assert.Equal(t, open-1, db.Primary().Stats().OpenConnections, "the pinned connection was pooled")

			// A pooled virtual connection pinned by one statement is unpinned
			// for the next.
			open = warm(t, db)
			_, err = sdb.ExecContext(ctx, "SET @x = 2")
			require.NoError(t, err)
			assert.Contains(t, []int{2, 3}, answeredBy(t, ctx, sdb))
			assert.Equal(t, open-1, db.Primary().Stats().OpenConnections, "the pinned connection was pooled")

			// The control: a plain write pins nothing and its connection is
			// pooled.
			open = warm(t, db)
			_, err = conns[2].ExecContext(ctx, insertKV, 1, 1)
			require.NoError(t, err)
			assert.Zero(t, inUse())
			assert.Contains(t, []int{2, 3}, answeredBy(t, ctx, conns[2]))
			require.NoError(t, conns[2].Close())
			assert.Equal(t, open, db.Primary().Stats().OpenConnections)
			require.NoError(t, conns[0].Close())
		})
	}
}

// TestConnectorPinningStatements: which statements pin a virtual
// connection, by where the next read runs.
func TestConnectorPinningStatements(t *testing.T) {
	cl := fakedb.NewCluster(fakedb.MySQL, 1)
	db := fakeDB(t, cl, false)
	sdb, _ := connectorDB(t, db)
	ctx := context.Background()
	for _, tc := range []struct {
		query string
		args  []any
		pins  bool
	}{
		{"SET @x = 1", nil, true},
		{"SET @x = ?", []any{1}, true},
		{insertKV, []any{1, 1}, false},
		{"UPDATE kv SET v = ? WHERE k = ?", []any{2, 1}, false},
		{"DELETE FROM kv WHERE k = ?", []any{1}, false},
		{callKV, []any{1, 1}, true},
		{funcKV, []any{1, 1}, true},
		{"SELECT v FROM kv WHERE k = ? FOR UPDATE", []any{1}, false},
		{selectKV, []any{1}, false},
		{"DO 1", nil, true},
	} {
		t.Run(tc.query, func(t *testing.T) {
			c, err := sdb.Conn(ctx)
			require.NoError(t, err)
			defer c.Close()
			rows, err := c.QueryContext(ctx, tc.query, tc.args...)
			require.NoError(t, err)
			require.NoError(t, rows.Close())
			want := 2
			if tc.pins {
				want = 1
			}
			assert.Equal(t, want, answeredBy(t, ctx, c))
		})
	}
}

// TestConnectorPrepared: Prepare costs no round trip (it succeeds while
// every server hangs); a statement is prepared on a server the first time an
// execution goes there, once for all the virtual connections that prepare
// it; prepared reads run on replicas and prepared writes on the primary,
// through the pipeline (counted), in a transaction too; a prepared statement
// that leaves session state pins.
func TestConnectorPrepared(t *testing.T) {
	for _, f := range fakeFlavors {
		t.Run(f.String(), func(t *testing.T) {
			cl := fakedb.NewCluster(f, 2)
			db := fakeDB(t, cl, false)
			sdb, c := connectorDB(t, db)
			ctx := context.Background()
			cl.Write(1, 10)

			for _, s := range cl.Servers() {
				s.Hang()
			}
			pctx, cancel := context.WithTimeout(ctx, time.Second)
			st, err := sdb.PrepareContext(pctx, selectKV)
			cancel()
			for _, s := range cl.Servers() {
				s.Unhang()
			}
			require.NoError(t, err, "Prepare made a round trip")
			defer st.Close()
			assert.Empty(t, rwsplit.ConnectorPreparedOn(c, selectKV), "prepared eagerly")

			before := db.Stats()
			readsBefore := sumReplicaReads(db)
			var wg sync.WaitGroup
			for range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					var v int64
					assert.NoError(t, st.QueryRowContext(ctx, 1).Scan(&v))
					assert.EqualValues(t, 10, v)
				}()
			}
			wg.Wait()
			assert.EqualValues(t, 8, sumReplicaReads(db)-readsBefore)
			on := rwsplit.ConnectorPreparedOn(c, selectKV)
			assert.ElementsMatch(t, rwsplit.ReplicaServers(db), on, "prepared on the replicas, once each")
			assert.Positive(t, rwsplit.ConnectorStmts(c)[selectKV])

			ins, err := sdb.PrepareContext(ctx, insertKV)
			require.NoError(t, err)
			defer ins.Close()
			_, err = ins.ExecContext(ctx, 2, 20)
			require.NoError(t, err)
			v, ok := cl.Primary().Value(2)
			assert.True(t, ok)
			assert.EqualValues(t, 20, v)

			before = db.Stats()
			tx, err := sdb.BeginTx(ctx, nil)
			require.NoError(t, err)
			_, err = tx.StmtContext(ctx, ins).ExecContext(ctx, 3, 30)
			require.NoError(t, err)
			var got int64
			require.NoError(t, tx.StmtContext(ctx, st).QueryRowContext(ctx, 3).Scan(&got), "the transaction reads its own write")
			assert.EqualValues(t, 30, got)
			require.NoError(t, tx.Commit())
			after := db.Stats()
			assert.EqualValues(t, 1, after.Writes-before.Writes, "a prepared write in a transaction is counted")
			assert.EqualValues(t, 1, after.PrimaryReads-before.PrimaryReads, "a prepared read in a transaction is counted")

			ro, err := sdb.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
			require.NoError(t, err)
			require.NoError(t, ro.StmtContext(ctx, st).QueryRowContext(ctx, 1).Scan(&got))
			assert.EqualValues(t, 10, got)
			require.NoError(t, ro.Rollback())

			conn, err := sdb.Conn(ctx)
			require.NoError(t, err)
			assert.Contains(t, []int{2, 3}, answeredBy(t, ctx, conn))
			set, err := conn.PrepareContext(ctx, "SET @x = ?")
			require.NoError(t, err)
			_, err = set.ExecContext(ctx, 1)
			require.NoError(t, err)
			assert.Equal(t, 1, answeredBy(t, ctx, conn), "a prepared SET pins")
			require.NoError(t, conn.QueryRowContext(ctx, selectKV, 1).Scan(&got))
			require.NoError(t, st.QueryRowContext(ctx, 1).Scan(&got), "the statement on the pinned connection")
			require.NoError(t, set.Close())
			require.NoError(t, conn.Close())

			require.NoError(t, st.Close())
			require.NoError(t, ins.Close())
			assert.Empty(t, rwsplit.ConnectorStmts(c), "the shared statements were not closed")
		})
	}
}

// TestConnectorRows: the Connector's rows give the pipeline's values,
// column types and result sets as the pools' own rows do.
func TestConnectorRows(t *testing.T) {
	cl := fakedb.NewCluster(fakedb.MariaDB, 1)
	var rs []*sql.DB
	for _, r := range cl.Replicas() {
		rs = append(rs, r.OpenDB(true))
	}
	db, err := rwsplit.New(cl.Primary().OpenDB(true), rs, rwsplit.WithMonitorInterval(time.Hour))
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	sdb, _ := connectorDB(t, db)
	ctx := context.Background()
	cl.Write(1, 10)
	cl.Write(2, 20)

	// Column types, as the replica's own pool reports them.
	const all = "SELECT k, v FROM kv ORDER BY k"
	want, err := db.Replicas()[0].QueryContext(ctx, all)
	require.NoError(t, err)
	wantTypes, err := want.ColumnTypes()
	require.NoError(t, err)
	got, err := sdb.QueryContext(ctx, all)
	require.NoError(t, err)
	gotTypes, err := got.ColumnTypes()
	require.NoError(t, err)
	require.Len(t, gotTypes, len(wantTypes))
	for i, w := range wantTypes {
		g := gotTypes[i]
		assert.Equal(t, w.Name(), g.Name())
		assert.Equal(t, w.DatabaseTypeName(), g.DatabaseTypeName())
		assert.Equal(t, w.ScanType(), g.ScanType())
		wn, wok := w.Nullable()
		gn, gok := g.Nullable()
		assert.Equal(t, [2]bool{wn, wok}, [2]bool{gn, gok})
		wl, wok := w.Length()
		gl, gok := g.Length()
		assert.Equal(t, wl, gl)
		assert.Equal(t, wok, gok)
		wp, wsc, wok := w.DecimalSize()
		gp, gsc, gok := g.DecimalSize()
		assert.Equal(t, []any{wp, wsc, wok}, []any{gp, gsc, gok})
	}
	require.NoError(t, want.Close())
	var pairs [][2]int64
	for got.Next() {
		var p [2]int64
		require.NoError(t, got.Scan(&p[0], &p[1]))
		pairs = append(pairs, p)
	}
	require.NoError(t, got.Err())
	assert.Equal(t, [][2]int64{{1, 10}, {2, 20}}, pairs)

	// Several result sets (multiStatements: the primary runs them).
	rows, err := sdb.QueryContext(ctx, "SELECT 1; SELECT @@server_id; SELECT k, v FROM kv ORDER BY k")
	require.NoError(t, err)
	var sets [][]string
	for {
		cols, err := rows.Columns()
		require.NoError(t, err)
		var vals []string
		for rows.Next() {
			dest := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range dest {
				ptrs[i] = &dest[i]
			}
			require.NoError(t, rows.Scan(ptrs...))
			vals = append(vals, fmt.Sprint(dest...))
		}
		sets = append(sets, append(cols, vals...))
		if !rows.NextResultSet() {
			break
		}
	}
	require.NoError(t, rows.Err())
	assert.Equal(t, [][]string{{"1", "1"}, {"@@server_id", "1"}, {"k", "v", "1 10", "2 20"}}, sets)
	require.NoError(t, rows.Close())

	// Skipping the rest of a result set.
	rows, err = sdb.QueryContext(ctx, "SELECT k, v FROM kv ORDER BY k; SELECT @@server_id")
	require.NoError(t, err)
	require.True(t, rows.Next())
	require.True(t, rows.NextResultSet())
	var id int
	require.True(t, rows.Next())
	require.NoError(t, rows.Scan(&id))
	assert.Equal(t, 1, id)
	assert.False(t, rows.Next())
	assert.False(t, rows.NextResultSet())
	require.NoError(t, rows.Err())
}

// TestConnectorArguments: arguments reach the pools' driver as the caller
// gave them (ordinal values unchanged, named ones as sql.Named); bad input
// fails without a panic.
func TestConnectorArguments(t *testing.T) {
	cl := fakedb.NewCluster(fakedb.MySQL, 1)
	db := fakeDB(t, cl, false)
	sdb, _ := connectorDB(t, db)
	ctx := context.Background()
	type myInt int16
	for i, arg := range []any{int64(1), uint64(2), myInt(3), "4", []byte("5"), sql.Named("k", 6)} {
		_, err := sdb.ExecContext(ctx, insertKV, i+1, arg)
		require.NoError(t, err, "%T", arg)
		v, ok := cl.Primary().Value(int64(i + 1))
		assert.True(t, ok)
		assert.EqualValues(t, i+1, v, "%T", arg)
	}
	for _, q := range []string{"", "   ", "SELEC", "SELECT v FROM kv WHERE k = ?", "\x00\xff", "SET @x = 1; SET @y = 2"} {
		_, err := sdb.ExecContext(ctx, q)
		assert.Error(t, err, "%q", q)
		_, err = sdb.QueryContext(ctx, q)
		assert.Error(t, err, "%q", q)
		st, err := sdb.PrepareContext(ctx, q)
		require.NoError(t, err, "%q", q)
		_, err = st.ExecContext(ctx, 1, 2, 3)
		assert.Error(t, err, "%q", q)
		require.NoError(t, st.Close())
	}
	_, err := sdb.ExecContext(ctx, insertKV, 1)
	assert.Error(t, err, "too few arguments")
	_, err = sdb.ExecContext(ctx, insertKV, 1, struct{}{})
	assert.Error(t, err, "an argument no driver takes")
}

// TestConnectorClosed: after db.Close every call through the Connector's
// *sql.DB, pinned connections included, fails with ErrClosed, and once both
// are closed no goroutine is left.
func TestConnectorClosed(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	for _, f := range fakeFlavors {
		cl := fakedb.NewCluster(f, 2)
		db, err := openFake(cl, true, true)
		require.NoError(t, err)
		sdb := sql.OpenDB(db.Connector())
		ctx := rwsplit.WithConsistency(context.Background(), rwsplit.WaitGTID(time.Second))
		_, err = sdb.ExecContext(ctx, insertKV, 1, 1)
		require.NoError(t, err)
		st, err := sdb.PrepareContext(ctx, selectKV)
		require.NoError(t, err)
		var v int64
		require.NoError(t, st.QueryRowContext(ctx, 1).Scan(&v))
		pinned, err := sdb.Conn(ctx)
		require.NoError(t, err)
		_, err = pinned.ExecContext(ctx, "SET @x = 1")
		require.NoError(t, err)
		tx, err := sdb.BeginTx(ctx, nil)
		require.NoError(t, err)
		rows, err := sdb.QueryContext(ctx, selectKV, 1)
		require.NoError(t, err)

		require.NoError(t, db.Close())
		assert.ErrorIs(t, sdb.QueryRowContext(ctx, selectKV, 1).Scan(&v), rwsplit.ErrClosed)
		_, err = sdb.ExecContext(ctx, insertKV, 2, 2)
		assert.ErrorIs(t, err, rwsplit.ErrClosed)
		_, err = sdb.BeginTx(ctx, nil)
		assert.ErrorIs(t, err, rwsplit.ErrClosed)
		_, err = sdb.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
		assert.ErrorIs(t, err, rwsplit.ErrClosed)
		assert.ErrorIs(t, st.QueryRowContext(ctx, 1).Scan(&v), rwsplit.ErrClosed)
		_, err = pinned.ExecContext(ctx, insertKV, 3, 3)
		assert.ErrorIs(t, err, rwsplit.ErrClosed)
		assert.ErrorIs(t, pinned.PingContext(ctx), rwsplit.ErrClosed)
		_, err = tx.ExecContext(ctx, insertKV, 4, 4)
		assert.ErrorIs(t, err, rwsplit.ErrClosed)
		assert.ErrorIs(t, sdb.PingContext(ctx), rwsplit.ErrClosed)
		_ = tx.Rollback()
		_ = rows.Close()
		_ = st.Close()
		_ = pinned.Close()
		require.NoError(t, sdb.Close())
	}
}

// TestConnectorDriver: the Connector's Driver opens virtual connections too.
func TestConnectorDriver(t *testing.T) {
	cl := fakedb.NewCluster(fakedb.MySQL, 1)
	db := fakeDB(t, cl, false)
	sdb, _ := connectorDB(t, db)
	conn, err := sdb.Driver().Open("ignored")
	require.NoError(t, err)
	require.NoError(t, conn.Close())
	require.NoError(t, sdb.PingContext(context.Background()))
	cl.Replicas()[0].SetDown(true)
	assert.Error(t, sdb.PingContext(context.Background()), "a replica is down")
}

// TestConnectorLostPin: when the primary connection a virtual connection is
// pinned to is lost, the *sql.Conn fails with driver.ErrBadConn, as with a
// real connection, and the *sql.DB goes on with new ones.
func TestConnectorLostPin(t *testing.T) {
	cl := fakedb.NewCluster(fakedb.MySQL, 1)
	db := fakeDB(t, cl, false)
	sdb, _ := connectorDB(t, db)
	ctx := context.Background()
	c, err := sdb.Conn(ctx)
	require.NoError(t, err)
	_, err = c.ExecContext(ctx, "SET @x = 1")
	require.NoError(t, err)
	cl.Primary().SetDown(true)
	cl.Primary().SetDown(false)
	_, err = c.ExecContext(ctx, insertKV, 1, 1)
	assert.ErrorIs(t, err, driver.ErrBadConn)
	_ = c.Close()
	_, err = sdb.ExecContext(ctx, insertKV, 1, 1)
	require.NoError(t, err)
	_, err = sdb.ExecContext(ctx, "SET @x = 1")
	require.NoError(t, err)
}

// TestConnectorConcurrent: many goroutines through one Connector, pinned and
// not, with the race detector.
func TestConnectorConcurrent(t *testing.T) {
	cl := fakedb.NewCluster(fakedb.MariaDB, 2)
	db := fakeDB(t, cl, false)
	sdb, _ := connectorDB(t, db)
	sdb.SetMaxOpenConns(4)
	ctx := rwsplit.WithConsistency(context.Background(), rwsplit.WaitGTID(5*time.Second))
	st, err := sdb.PrepareContext(ctx, selectKV)
	require.NoError(t, err)
	defer st.Close()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20 {
				k := int64(g*100 + i)
				var err error
				switch i % 4 {
				case 0:
					_, err = sdb.ExecContext(ctx, insertKV, k, k)
				case 1:
					_, err = sdb.ExecContext(ctx, "SET @x = ?", k)
				case 2:
					var tx *sql.Tx
					if tx, err = sdb.BeginTx(ctx, nil); err == nil {
						if _, err = tx.ExecContext(ctx, insertKV, k, k); err == nil {
							err = tx.Commit()
						} else {
							_ = tx.Rollback()
						}
					}
				case 3:
					var v int64
					err = st.QueryRowContext(ctx, k-1).Scan(&v)
					if err == nil && v != k-1 && !errors.Is(err, sql.ErrNoRows) {
						err = fmt.Errorf("read %d, want %d", v, k-1)
					}
				}
				if err != nil && !strings.Contains(err.Error(), "no rows") {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// BenchmarkConnector measures the Connector's overhead over the in-memory
// driver: the same Query, QueryRow and Exec on a raw pool of the server they
// go to, through *rwsplit.DB, and through sql.OpenDB(db.Connector()). Run:
// go test -run '^$' -bench Connector -benchtime 20000x .
func BenchmarkConnector(b *testing.B) {
	cl := fakedb.NewCluster(fakedb.MySQL, 1)
	cl.Write(1, 1)
	db := fakeDB(b, cl, false)
	sdb, _ := connectorDB(b, db)
	rawReplica := cl.Replicas()[0].OpenDB(false)
	defer rawReplica.Close()
	rawPrimary := cl.Primary().OpenDB(false)
	defer rawPrimary.Close()
	ctx := context.Background()
	type handle interface {
		QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
		QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
		ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	}
	ways := []struct {
		name          string
		reads, writes handle
	}{{"raw", rawReplica, rawPrimary}, {"rwsplit", db, db}, {"connector", sdb, sdb}}
	for _, w := range ways {
		b.Run("Query/"+w.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				rows, err := w.reads.QueryContext(ctx, selectKV, 1)
				if err != nil {
					b.Fatal(err)
				}
				for rows.Next() {
				}
				_ = rows.Close()
			}
		})
	}
	for _, w := range ways {
		b.Run("QueryRow/"+w.name, func(b *testing.B) {
			b.ReportAllocs()
			var v int64
			for b.Loop() {
				if err := w.reads.QueryRowContext(ctx, selectKV, 1).Scan(&v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	for _, w := range ways {
		b.Run("Exec/"+w.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := w.writes.ExecContext(ctx, "UPDATE kv SET v = ? WHERE k = ?", 2, 1); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
