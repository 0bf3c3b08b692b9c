package rwsplitx_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/rwsplit/rwsplit"
	"github.com/rwsplit/rwsplit/internal/fakedb"
	"github.com/rwsplit/rwsplit/rwsplitx"
)

// Unit tests against the in-memory driver; the integration tests against
// real servers are TestSqlx in the root package and its write→read matrix.

func open(t *testing.T, c *fakedb.Cluster) *rwsplitx.DB {
	t.Helper()
	var rs []*sql.DB
	for _, r := range c.Replicas() {
		rs = append(rs, r.OpenDB(false))
	}
	db, err := rwsplit.New(c.Primary().OpenDB(false), rs, rwsplit.WithMonitorInterval(time.Hour))
	require.NoError(t, err)
	return rwsplitx.NewDB(db, "mysql")
}

type kv struct {
	K int64 `db:"k"`
	V int64 `db:"v"`
}

func TestSqlxSurfaces(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	c := fakedb.NewCluster(fakedb.MariaDB, 2)
	for _, r := range c.Replicas() {
		r.StopApplier()
		r.ApplyOnWait(true)
	}
	db := open(t, c)
	ctx := rwsplit.WithConsistency(context.Background(), rwsplit.WaitGTID(time.Second))
	_, err := db.NamedExecContext(ctx, "INSERT INTO kv (k, v) VALUES (:k, :v)", kv{1, 10})
	require.NoError(t, err)
	var got kv
	require.NoError(t, db.GetContext(ctx, &got, "SELECT k, v FROM kv ORDER BY k"))
	assert.Equal(t, kv{1, 10}, got)
	var all []kv
	require.NoError(t, db.SelectContext(ctx, &all, "SELECT k, v FROM kv ORDER BY k"))
	assert.Equal(t, []kv{{1, 10}}, all)

	tctx, tr := traced(ctx)
	tx, err := db.BeginTxx(tctx, nil)
	require.NoError(t, err)
	assert.Equal(t, -1, lastServer(tr).Index())
	_, err = tx.ExecContext(ctx, "INSERT INTO kv (k, v) VALUES (?, ?)", 2, 20)
	require.NoError(t, err)
	require.NoError(t, tx.Commit())
	var v int64
	require.NoError(t, db.GetContext(ctx, &v, "SELECT v FROM kv WHERE k = ?", 2), "the commit was recorded")
	assert.EqualValues(t, 20, v)

	tctx, tr = traced(ctx)
	rtx, err := db.BeginTxx(tctx, &sql.TxOptions{ReadOnly: true})
	require.NoError(t, err)
	assert.GreaterOrEqual(t, lastServer(tr).Index(), 0)
	require.NoError(t, rtx.Get(&v, "SELECT v FROM kv WHERE k = ?", 2))
	st, err := rtx.Preparex("SELECT v FROM kv WHERE k = ?")
	require.NoError(t, err)
	v = 0
	require.NoError(t, st.Get(&v, 2), "a statement prepared in the transaction")
	assert.EqualValues(t, 20, v)
	require.NoError(t, st.Close())
	require.NoError(t, rtx.Rollback())

	err = db.GetContext(ctx, &v, "SELECT v FROM kv WHERE k = ?", 99)
	assert.ErrorIs(t, err, sql.ErrNoRows)

	require.NoError(t, db.Close())
	err = db.GetContext(ctx, &v, "SELECT 1")
	assert.True(t, errors.Is(err, rwsplit.ErrClosed), "%v", err)
}

// TestReadOnlyTxRestartsWhenItsReplicaGoes: a read-only sqlx transaction
// whose replica goes away after BEGIN, before any statement answered, runs
// its first Get, Select, QueryRowx or NamedQuery in a new transaction on
// another server (rwsplit's Tx restart), and its later statements follow it
// there; after an Exec the transaction never moves.
func TestReadOnlyTxRestartsWhenItsReplicaGoes(t *testing.T) {
	reads := map[string]func(tx *rwsplitx.Tx) (int64, error){
		"Get": func(tx *rwsplitx.Tx) (int64, error) {
			var r kv
			return r.V, tx.GetContext(context.Background(), &r, "SELECT k, v FROM kv ORDER BY k")
		},
		"Select": func(tx *rwsplitx.Tx) (int64, error) {
			var rs []kv
			err := tx.Select(&rs, "SELECT k, v FROM kv ORDER BY k")
			if err == nil && len(rs) == 0 {
				err = errors.New("no row")
			}
			if err != nil {
				return 0, err
			}
			return rs[0].V, nil
		},
		"QueryRowx": func(tx *rwsplitx.Tx) (int64, error) {
			var r kv
			return r.V, tx.QueryRowx("SELECT k, v FROM kv ORDER BY k").StructScan(&r)
		},
		"NamedQuery": func(tx *rwsplitx.Tx) (int64, error) {
			rows, err := tx.NamedQuery("SELECT v FROM kv WHERE k = :k", map[string]any{"k": 1})
			if err != nil {
				return 0, err
			}
			defer rows.Close()
			var v int64
			if !rows.Next() {
				return 0, errors.New("no row")
			}
			return v, rows.Scan(&v)
		},
	}
	for name, read := range reads {
		t.Run(name, func(t *testing.T) {
			c := fakedb.NewCluster(fakedb.MySQL, 2)
			c.Write(1, 1)
			db := open(t, c)
			defer db.Close()
			byPool := map[*sql.DB]*fakedb.Server{}
			for i, r := range db.Replicas() {
				byPool[r] = c.Replicas()[i]
			}
			tctx, tr := traced(context.Background())
			tx, err := db.BeginTxx(tctx, &sql.TxOptions{ReadOnly: true})
			require.NoError(t, err)
			first := byPool[lastServer(tr).DB()]
			require.NotNil(t, first, "on a replica")
			first.SetDown(true)
			v, err := read(tx)
			require.NoError(t, err, "begun again elsewhere")
			assert.EqualValues(t, 1, v)
			assert.NotSame(t, first, byPool[lastServer(tr).DB()])
			v, err = read(tx) // later statements follow the restart
			require.NoError(t, err)
			assert.EqualValues(t, 1, v)
			assert.NoError(t, tx.Commit())
			first.SetDown(false)

			tctx, tr = traced(context.Background())
			tx, err = db.BeginTxx(tctx, &sql.TxOptions{ReadOnly: true})
			require.NoError(t, err)
			_, err = tx.Exec("SET @x = 1") // session state: the transaction stays
			require.NoError(t, err)
			s := byPool[lastServer(tr).DB()]
			require.NotNil(t, s)
			s.SetDown(true)
			_, err = read(tx)
			assert.Error(t, err, "after an Exec the transaction does not move")
			s.SetDown(false)
			_ = tx.Rollback()
		})
	}
}

// traced returns ctx carrying a new Trace, which records where the calls
// under it (a transaction's BEGIN and any restart) ran.
func traced(ctx context.Context) (context.Context, *rwsplit.Trace) {
	tr := new(rwsplit.Trace)
	return rwsplit.WithTrace(ctx, tr), tr
}

// lastServer is the server of tr's last route (nil if none).
func lastServer(tr *rwsplit.Trace) *rwsplit.Server {
	routes := tr.Routes()
	if len(routes) == 0 {
		return nil
	}
	return routes[len(routes)-1].Server
}
