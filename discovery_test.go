package rwsplit_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rwsplit/rwsplit"
	"github.com/rwsplit/rwsplit/internal/fakedb"
)

// TestDiscoveryFindsPrimary: the writable server is the primary whatever
// role it was given, before New returns; the others are the replicas.
func TestDiscoveryFindsPrimary(t *testing.T) {
	for _, f := range fakeFlavors {
		t.Run(f.String(), func(t *testing.T) {
			c := fakedb.NewCluster(f, 2)
			db, pools := discoveryDB(t, c)
			require.Same(t, pools[c.Primary()], db.Primary(), "found before New returned")
			assert.ElementsMatch(t, []*sql.DB{pools[c.Replicas()[0]], pools[c.Replicas()[1]]}, db.Replicas())

			_, err := db.ExecContext(context.Background(), "INSERT INTO kv (k, v) VALUES (1, 1)")
			require.NoError(t, err)
			v, ok := c.Primary().Value(1)
			assert.True(t, ok && v == 1)
			require.Eventually(t, func() bool {
				for _, st := range rwsplit.ReplicaStatus(db) {
					if st.State != rwsplit.StateUp {
						return false
					}
				}
				return true
			}, 5*time.Second, 10*time.Millisecond, "replicas up: %+v", rwsplit.ReplicaStatus(db))
		})
	}
}

// TestDiscoveryFailover: after a promotion, writes go to the new primary and
// the old one serves reads once it replicates, with no ReplacePrimary; no
// write lands on the old primary (it refuses them, read-only).
func TestDiscoveryFailover(t *testing.T) {
	for _, f := range fakeFlavors {
		t.Run(f.String(), func(t *testing.T) {
			c := fakedb.NewCluster(f, 2)
			db, pools := discoveryDB(t, c)
			ctx := context.Background()
			old, next := c.Primary(), c.Replicas()[1]
			_, err := db.ExecContext(ctx, "INSERT INTO kv (k, v) VALUES (1, 1)")
			require.NoError(t, err)

			c.Promote(next)
			require.Eventually(t, func() bool { return db.Primary() == pools[next] }, 5*time.Second, 5*time.Millisecond)
			_, err = db.ExecContext(ctx, "INSERT INTO kv (k, v) VALUES (2, 2)")
			require.NoError(t, err)
			v, ok := next.Value(2)
			assert.True(t, ok && v == 2, "the write went to the new primary")
			assert.Contains(t, db.Replicas(), pools[old])
			assert.NotContains(t, db.Replicas(), pools[next])
			require.Eventually(t, func() bool {
				for _, st := range rwsplit.ReplicaStatus(db) {
					if !st.Usable {
						return false
					}
				}
				return len(rwsplit.ReplicaStatus(db)) == 2
			}, 5*time.Second, 10*time.Millisecond, "the old primary serves reads once it replicates: %+v", rwsplit.ReplicaStatus(db))
		})
	}
}

// TestDiscoveryNoPrimary: while no server is writable (the primary fenced
// read-only, nothing promoted yet), with no write hold, writes fail at once
// with ErrNoPrimary and reads go on; the primary is found again when it is
// writable again.
func TestDiscoveryNoPrimary(t *testing.T) {
	for _, f := range fakeFlavors {
		t.Run(f.String(), func(t *testing.T) {
			c := fakedb.NewCluster(f, 2)
			db, pools := discoveryDB(t, c, rwsplit.WithWriteHold(0))
			ctx := context.Background()
			c.Primary().SetReadOnly(true)
			require.Eventually(t, func() bool { return db.Primary() == nil }, 5*time.Second, 5*time.Millisecond)

			start := time.Now()
			_, err := db.ExecContext(ctx, "INSERT INTO kv (k, v) VALUES (1, 1)")
			require.ErrorIs(t, err, rwsplit.ErrNoPrimary)
			_, err = db.BeginTx(ctx, nil)
			require.ErrorIs(t, err, rwsplit.ErrNoPrimary)
			_, err = db.Conn(ctx)
			require.ErrorIs(t, err, rwsplit.ErrNoPrimary)
			err = db.QueryRowContext(rwsplit.WithConsistency(ctx, rwsplit.Primary), "SELECT v FROM kv WHERE k = 1").Scan(new(int64))
			require.ErrorIs(t, err, rwsplit.ErrNoPrimary)
			assert.Less(t, time.Since(start), time.Second, "fails at once")

			c.Write(1, 7)
			var v int64
			require.NoError(t, db.QueryRowContext(ctx, "SELECT v FROM kv WHERE k = 1").Scan(&v), "reads go on")
			assert.Equal(t, int64(7), v)

			c.Primary().SetReadOnly(false)
			require.Eventually(t, func() bool { return db.Primary() == pools[c.Primary()] }, 5*time.Second, 5*time.Millisecond)
			_, err = db.ExecContext(ctx, "INSERT INTO kv (k, v) VALUES (2, 2)")
			require.NoError(t, err)
		})
	}
}

// TestDiscoveryHungPrimary: a primary that stops answering stays the primary
// while no other server is writable (it may be hung for a moment), and is
// replaced once a replica is promoted.
func TestDiscoveryHungPrimary(t *testing.T) {
	for _, f := range fakeFlavors {
		t.Run(f.String(), func(t *testing.T) {
			c := fakedb.NewCluster(f, 2)
			db, pools := discoveryDB(t, c)
			old, next := c.Primary(), c.Replicas()[0]
			old.SetDown(true)
			time.Sleep(300 * time.Millisecond) // 15 rounds
			require.Same(t, pools[old], db.Primary(), "still the primary: nothing else is writable")

			c.Promote(next)
			require.Eventually(t, func() bool { return db.Primary() == pools[next] }, 5*time.Second, 5*time.Millisecond)
			_, err := db.ExecContext(context.Background(), "INSERT INTO kv (k, v) VALUES (1, 1)")
			require.NoError(t, err)
			old.SetDown(false)
		})
	}
}

// TestMinServing: when every replica lags past the limit, the floor keeps
// the least-lagged one serving.
func TestMinServing(t *testing.T) {
	c := fakedb.NewCluster(fakedb.MySQL, 2)
	r0, r1 := c.Replicas()[0], c.Replicas()[1]
	for _, floor := range []int{0, 1} {
		t.Run(map[int]string{0: "no floor", 1: "floor 1"}[floor], func(t *testing.T) {
			db := fakeDB(t, c, false, rwsplit.WithMonitorInterval(20*time.Millisecond),
				rwsplit.WithMaxReplicationLag(100*time.Millisecond), rwsplit.WithMinServing(floor))
			c.Write(1, 1)
			r1.StopApplier()
			c.Write(1, 2) // r1 lacks it from now on
			time.Sleep(300 * time.Millisecond)
			r0.StopApplier() // r0 has it; it lacks what follows
			stop := make(chan struct{})
			defer close(stop)
			go func() { // the primary moves on: both replicas fall behind
				for i := int64(3); ; i++ {
					select {
					case <-stop:
						return
					case <-time.After(10 * time.Millisecond):
						c.Write(1, i)
					}
				}
			}()
			want := int64(c.Primary().ID()) // no replica serves: the primary does
			if floor == 1 {
				want = int64(r0.ID()) // the least-lagged replica serves
			}
			require.Eventually(t, func() bool {
				// Read first: a DB that reads nothing checks its replicas
				// less often (backoff.go).
				var v int64
				err := db.QueryRowContext(context.Background(), "SELECT @@server_id").Scan(&v)
				st := rwsplit.ReplicaStatus(db)
				if st[0].State != rwsplit.StateLagging || st[1].State != rwsplit.StateLagging || st[1].Lag < st[0].Lag+100*time.Millisecond {
					return false
				}
				err = db.QueryRowContext(context.Background(), "SELECT @@server_id").Scan(&v)
				return err == nil && v == want
			}, 5*time.Second, 10*time.Millisecond, "both lagging, r1 more, and reads on server %d: %+v", want, rwsplit.ReplicaStatus(db))
			r0.StartApplier()
			r1.StartApplier()
		})
	}
	_, err := rwsplit.New(c.Primary().OpenDB(false), nil, rwsplit.WithMinServing(-1))
	require.Error(t, err)
	assert.False(t, errors.Is(err, rwsplit.ErrNoPrimary))
}

// TestDiscoveryRefusedWriteLooksAgain: a write the primary refuses as
// read-only makes the monitor look again at once, not at its next round, and
// runs once more on the new primary (it did not run: safe to send again).
// Inside a transaction the refusal stands.
func TestDiscoveryRefusedWriteLooksAgain(t *testing.T) {
	for _, f := range fakeFlavors {
		t.Run(f.String(), func(t *testing.T) {
			c := fakedb.NewCluster(f, 2)
			db, pools := discoveryDB(t, c, rwsplit.WithMonitorInterval(time.Hour))
			ctx := context.Background()
			old, next := c.Primary(), c.Replicas()[0]
			tx, err := db.BeginTx(ctx, nil)
			require.NoError(t, err)
			c.Promote(next)
			before := db.Stats().Retries
			_, err = db.ExecContext(ctx, "INSERT INTO kv (k, v) VALUES (1, 1)")
			require.NoError(t, err, "refused by the old primary, run on the new one")
			assert.Same(t, pools[next], db.Primary())
			assert.Equal(t, 1, old.Count("INSERT"), "the old primary refused it once")
			v, ok := next.Value(1)
			assert.True(t, ok && v == 1)
			assert.Equal(t, before+1, db.Stats().Retries)

			_, err = tx.ExecContext(ctx, "INSERT INTO kv (k, v) VALUES (2, 2)")
			require.Error(t, err, "a transaction's write on the old primary is refused")
			require.NoError(t, tx.Rollback())
		})
	}
}

// TestDiscoveryTokenFromNewerPrimary: a token written by another DB on a
// primary promoted since is not cut down to this DB's stale view of the
// primary: the monitor looks again first, and the read waits for the write
// (the checker found such reads stale). The replica the read uses applies
// only what a wait asks for.
func TestDiscoveryTokenFromNewerPrimary(t *testing.T) {
	for _, f := range fakeFlavors {
		t.Run(f.String(), func(t *testing.T) {
			c := fakedb.NewCluster(f, 2)
			old, next, lagging := c.Primary(), c.Replicas()[0], c.Replicas()[1]
			db1, pools1 := discoveryDB(t, c)
			var target *sql.DB
			onLagging := balancerFunc(func(cands []*rwsplit.Server) *rwsplit.Server {
				for _, s := range cands {
					if s.DB() == target {
						return s
					}
				}
				return cands[0]
			})
			db2, pools2 := discoveryDB(t, c, rwsplit.WithMonitorInterval(time.Hour), rwsplit.WithBalancer(onLagging))
			target = pools2[lagging]
			ctx := context.Background()
			_, err := db1.ExecContext(ctx, "INSERT INTO kv (k, v) VALUES (1, 1)")
			require.NoError(t, err)
			lagging.StopApplier()
			lagging.ApplyOnWait(true)

			c.Promote(next)
			old.StopApplier()
			require.Eventually(t, func() bool { return db1.Primary() == pools1[next] }, 5*time.Second, 5*time.Millisecond)
			sess := rwsplit.NewSession(rwsplit.Token{})
			_, err = db1.ExecContext(rwsplit.WithSession(ctx, sess), "UPDATE kv SET v = 2 WHERE k = 1")
			require.NoError(t, err)
			tok, err := sess.TokenContext(ctx)
			require.NoError(t, err)
			require.Same(t, pools2[old], db2.Primary(), "db2 has not seen the promotion")

			var v int64
			rctx := rwsplit.WithConsistency(rwsplit.WithSession(ctx, rwsplit.NewSession(tok)), rwsplit.WaitGTID(2*time.Second))
			require.NoError(t, db2.QueryRowContext(rctx, "SELECT v FROM kv WHERE k = 1").Scan(&v))
			assert.Equal(t, int64(2), v, "the token's write is seen")
			assert.Same(t, pools2[next], db2.Primary(), "db2 looked again")
		})
	}
}

// TestReadOnlyTxCommitAfterServerLost: a read-only transaction whose replica
// goes away after its reads returned commits without error (the checker saw
// COMMIT fail with "invalid connection"): nothing was to be committed.
func TestReadOnlyTxCommitAfterServerLost(t *testing.T) {
	c := fakedb.NewCluster(fakedb.MySQL, 1)
	c.Write(1, 1)
	db := fakeDB(t, c, false)
	ctx := context.Background()
	tx, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	require.NoError(t, err)
	require.False(t, rwsplit.TxServer(tx) == rwsplit.PrimaryServer(db), "on the replica")
	var v int64
	require.NoError(t, tx.QueryRowContext(ctx, "SELECT v FROM kv WHERE k = 1").Scan(&v))
	c.Replicas()[0].SetDown(true)
	defer c.Replicas()[0].SetDown(false)
	assert.NoError(t, tx.Commit())

	rw, err := db.BeginTx(ctx, nil)
	require.NoError(t, err)
	_, err = rw.ExecContext(ctx, "INSERT INTO kv (k, v) VALUES (2, 2)")
	require.NoError(t, err)
	c.Primary().SetDown(true)
	defer c.Primary().SetDown(false)
	assert.Error(t, rw.Commit(), "a read-write transaction's lost commit is reported")
}

// TestTxStmtNeedsNoSecondConnection: binding a statement not yet prepared on
// the transaction's server prepares it on the transaction's own connection,
// so n transactions under SetMaxOpenConns(n) do not wait for each other
// (the ORM tests hung with GORM's PrepareStmt inside transactions).
func TestTxStmtNeedsNoSecondConnection(t *testing.T) {
	c := fakedb.NewCluster(fakedb.MySQL, 1)
	db := fakeDB(t, c, false)
	db.SetMaxOpenConns(1)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := db.PrepareContext(ctx, "SELECT v FROM kv WHERE k = ?") // on the replica
	require.NoError(t, err)
	defer st.Close()
	tx, err := db.BeginTx(ctx, nil) // holds the primary's only connection
	require.NoError(t, err)
	defer func() { _ = tx.Rollback() }()
	ts, err := tx.StmtContext(ctx, st)
	require.NoError(t, err, "no second connection to the primary needed")
	err = ts.QueryRowContext(ctx, 1).Scan(new(int64))
	assert.ErrorIs(t, err, sql.ErrNoRows)
	require.NoError(t, ctx.Err())
}

// TestReadOnlyTxRestartsWhenItsReplicaGoes: a read-only transaction whose
// replica goes away after BEGIN, before any statement answered, runs its
// first query in a new transaction on another server; once a statement has
// answered (its snapshot seen) it does not move.
func TestReadOnlyTxRestartsWhenItsReplicaGoes(t *testing.T) {
	c := fakedb.NewCluster(fakedb.MySQL, 2)
	c.Write(1, 1)
	db := fakeDB(t, c, false)
	ctx := context.Background()
	byPool := map[*sql.DB]*fakedb.Server{}
	for i, r := range db.Replicas() {
		byPool[r] = c.Replicas()[i]
	}
	tx, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	require.NoError(t, err)
	first := byPool[rwsplit.TxServer(tx).DB()]
	require.NotNil(t, first, "on a replica")
	first.SetDown(true)
	before := db.Stats().Retries
	var v int64
	require.NoError(t, tx.QueryRowContext(ctx, "SELECT v FROM kv WHERE k = 1").Scan(&v), "begun again elsewhere")
	assert.Equal(t, int64(1), v)
	assert.NotSame(t, first, byPool[rwsplit.TxServer(tx).DB()])
	assert.Equal(t, before+1, db.Stats().Retries)
	first.SetDown(false)

	second := byPool[rwsplit.TxServer(tx).DB()]
	if second != nil {
		second.SetDown(true)
		defer second.SetDown(false)
		err = tx.QueryRowContext(ctx, "SELECT v FROM kv WHERE k = 1").Scan(&v)
		assert.Error(t, err, "after an answer the transaction does not move")
	}
	_ = tx.Rollback()
}

// TestDiscoveryPrimaryReadOfANewerToken: a read that must go to the primary
// (Primary mode, a Conn) with a token written on a primary promoted since
// goes to the new primary, not to this DB's stale one (the checker saw such
// reads stale on a second DB).
func TestDiscoveryPrimaryReadOfANewerToken(t *testing.T) {
	for _, f := range fakeFlavors {
		t.Run(f.String(), func(t *testing.T) {
			c := fakedb.NewCluster(f, 2)
			old, next := c.Primary(), c.Replicas()[0]
			db1, pools1 := discoveryDB(t, c)
			db2, pools2 := discoveryDB(t, c, rwsplit.WithMonitorInterval(time.Hour))
			ctx := context.Background()
			_, err := db1.ExecContext(ctx, "INSERT INTO kv (k, v) VALUES (1, 1)")
			require.NoError(t, err)
			c.Promote(next)
			old.StopApplier()
			require.Eventually(t, func() bool { return db1.Primary() == pools1[next] }, 5*time.Second, 5*time.Millisecond)
			sess := rwsplit.NewSession(rwsplit.Token{})
			_, err = db1.ExecContext(rwsplit.WithSession(ctx, sess), "UPDATE kv SET v = 2 WHERE k = 1")
			require.NoError(t, err)
			tok, err := sess.TokenContext(ctx)
			require.NoError(t, err)
			require.Same(t, pools2[old], db2.Primary(), "db2 has not seen the promotion")

			rctx := rwsplit.WithConsistency(rwsplit.WithSession(ctx, rwsplit.NewSession(tok)), rwsplit.Primary)
			var v int64
			require.NoError(t, db2.QueryRowContext(rctx, "SELECT v FROM kv WHERE k = 1").Scan(&v))
			assert.Equal(t, int64(2), v, "the Primary read sees the token's write")
			conn, err := db2.Conn(rctx)
			require.NoError(t, err)
			defer conn.Close()
			require.NoError(t, conn.QueryRowContext(rctx, "SELECT v FROM kv WHERE k = 1").Scan(&v))
			assert.Equal(t, int64(2), v, "so does a Conn")
		})
	}
}
