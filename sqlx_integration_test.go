package rwsplit_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/jmoiron/sqlx"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rwsplit/rwsplit"
	"github.com/rwsplit/rwsplit/rwsplittest"
	"github.com/rwsplit/rwsplit/rwsplitx"
)

type person struct {
	ID   int    `db:"id"`
	Name string `db:"name"`
	SID  int    `db:"sid"`
}

func TestSqlx(t *testing.T) {
	forEachFlavor(t, func(t *testing.T, c *rwsplittest.Cluster) {
		ctx := context.Background()
		db, err := rwsplitx.Open("mysql", c.Primary.DSN(), c.ReplicaDSNs())
		require.NoError(t, err)
		defer db.Close()
		replicaIDs := map[int]bool{}
		for _, r := range c.Replicas {
			replicaIDs[r.ServerID] = true
		}

		db.MustExec("DROP TABLE IF EXISTS people")
		db.MustExec("CREATE TABLE people (id INT PRIMARY KEY, name VARCHAR(20), sid INT)")
		for i, name := range []string{"ada", "grace", "edsger"} {
			_, err := db.NamedExec("INSERT INTO people (id, name, sid) VALUES (:id, :name, @@server_id)",
				person{ID: i + 1, Name: name})
			noReadOnlyError(t, err)
		}
		_, err = sqlx.NamedExecContext(ctx, db, "UPDATE people SET name = :name WHERE id = :id",
			map[string]any{"id": 3, "name": "dijkstra"})
		noReadOnlyError(t, err)
		require.NoError(t, c.WaitCaughtUp(ctx))

		var ids []int
		for range 4 {
			var id int
			require.NoError(t, db.Get(&id, "SELECT @@server_id"))
			ids = append(ids, id)
			assert.True(t, replicaIDs[id], "Get read from a replica, got server %d", id)
		}
		assert.NotEqual(t, ids[0], ids[1], "reads alternate between replicas")

		var people []person
		require.NoError(t, db.Select(&people, "SELECT id, name, sid FROM people ORDER BY id"))
		require.Len(t, people, 3)
		assert.Equal(t, "dijkstra", people[2].Name)
		for _, p := range people {
			assert.Equal(t, c.Primary.ServerID, p.SID, "NamedExec wrote on the primary")
		}

		q, args, err := sqlx.In("SELECT id, name, sid FROM people WHERE id IN (?) ORDER BY id", []int{1, 3})
		require.NoError(t, err)
		people = nil
		require.NoError(t, db.Select(&people, db.Rebind(q), args...))
		assert.Equal(t, []string{"ada", "dijkstra"}, []string{people[0].Name, people[1].Name})

		rows, err := db.NamedQuery("SELECT id, name, sid FROM people WHERE name = :name", map[string]any{"name": "grace"})
		require.NoError(t, err)
		require.True(t, rows.Next())
		var p person
		require.NoError(t, rows.StructScan(&p))
		assert.Equal(t, 2, p.ID)
		require.NoError(t, rows.Close())

		var sid int
		pctx := rwsplit.WithConsistency(ctx, rwsplit.Primary)
		require.NoError(t, db.GetContext(pctx, &sid, "SELECT @@server_id"))
		assert.Equal(t, c.Primary.ServerID, sid)

		tx, err := db.BeginTxx(ctx, &sql.TxOptions{ReadOnly: true})
		require.NoError(t, err)
		require.NoError(t, tx.Get(&sid, "SELECT @@server_id"))
		assert.True(t, replicaIDs[sid])
		require.NoError(t, tx.Rollback())

		var tr rwsplit.Trace
		tx, err = db.BeginTxx(rwsplit.WithTrace(context.Background(), &tr), nil)
		require.NoError(t, err)
		_, err = tx.NamedExec("INSERT INTO people (id, name, sid) VALUES (:id, :name, @@server_id)", person{ID: 4, Name: "barbara"})
		noReadOnlyError(t, err)
		require.NoError(t, tx.Commit())
		routes := tr.Routes()
		require.NotEmpty(t, routes)
		assert.Equal(t, -1, routes[len(routes)-1].Server.Index())

		require.NoError(t, db.Close())
		assert.ErrorIs(t, db.Get(&sid, "SELECT 1"), rwsplit.ErrClosed)
	})
}
