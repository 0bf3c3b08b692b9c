// Package sqlx_test runs plain sqlx (sqlx.NewDb) over the *sql.DB of
// rwsplit's Connector, against a real replicated cluster of each flavor.
package sqlx_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"testing"

	"github.com/jmoiron/sqlx"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rwsplit/rwsplit/integration/itest"
)

type item struct {
	ID        int64  `db:"id"`
	Name      string `db:"name"`
	WrittenBy int    `db:"written_by"`
	ReadBy    int    `db:"read_by"`
}

const (
	schema   = "CREATE TABLE app.items (id BIGINT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(64) NOT NULL, written_by INT NOT NULL DEFAULT 0)"
	getItem  = "SELECT id, name, written_by FROM items WHERE id = ?"
	getRead  = "SELECT id, name, written_by, @@server_id AS read_by FROM items WHERE id = ?"
	insertIt = "INSERT INTO items (name) VALUES (:name)"
)

// TestSqlx: sqlx.NewDb(sql.OpenDB(db.Connector()), "mysql"). Get, Select,
// sqlx.In, Preparex and a read-only BeginTxx are answered by the replicas;
// NamedExec and a read-write BeginTxx run on the primary; with the appliers
// stopped, WaitGTID reads its own writes and Eventual does not.
func TestSqlx(t *testing.T) {
	itest.ForEachFlavor(t, func(t *testing.T, e *itest.Env) {
		e.Admin(t, schema)
		e.TrackWriter(t, "items", "written_by")
		db := sqlx.NewDb(e.SQL, "mysql")
		ctx := context.Background()
		insert := func(ctx context.Context, name string) (int64, error) {
			res, err := db.NamedExecContext(ctx, insertIt, item{Name: name})
			if err != nil {
				return 0, err
			}
			return res.LastInsertId()
		}

		t.Run("routing", func(t *testing.T) {
			var ids []int64
			for _, name := range []string{"ada", "grace"} {
				id, err := insert(ctx, name)
				e.Write(t, "items", "written_by", id, err)
				ids = append(ids, id)
			}
			require.NoError(t, e.Cluster.WaitCaughtUp(ctx))

			seen := e.Reads(t, 4, func(ctx context.Context) (int, error) {
				var it item
				err := db.GetContext(ctx, &it, getRead, ids[0])
				assert.Equal(t, "ada", it.Name)
				assert.Equal(t, e.PrimaryID, it.WrittenBy)
				return it.ReadBy, err
			})
			t.Logf("%s: Get answered by %v", e.Flavor, seen)
			e.Reads(t, 2, func(ctx context.Context) (int, error) {
				q, args, err := sqlx.In("SELECT id, name, written_by, @@server_id AS read_by FROM items WHERE id IN (?) ORDER BY id", ids)
				require.NoError(t, err)
				var its []item
				err = db.SelectContext(ctx, &its, db.Rebind(q), args...)
				require.Len(t, its, 2)
				return its[0].ReadBy, err
			})
			st, err := db.PreparexContext(ctx, getRead)
			require.NoError(t, err)
			defer st.Close()
			e.Reads(t, 4, func(ctx context.Context) (int, error) {
				var it item
				err := st.GetContext(ctx, &it, ids[1])
				assert.Equal(t, "grace", it.Name)
				return it.ReadBy, err
			})

			ro, err := db.BeginTxx(ctx, &sql.TxOptions{ReadOnly: true})
			require.NoError(t, err)
			var it item
			require.NoError(t, ro.GetContext(ctx, &it, getRead, ids[0]))
			assert.Contains(t, e.ReplicaIDs, it.ReadBy, "a read-only transaction off the replicas")
			require.NoError(t, ro.Commit())

			tx, err := db.BeginTxx(ctx, nil)
			require.NoError(t, err)
			res, err := tx.NamedExecContext(ctx, insertIt, item{Name: "in tx"})
			itest.NoReadOnlyError(t, err)
			id, err := res.LastInsertId()
			require.NoError(t, err)
			require.NoError(t, tx.GetContext(ctx, &it, getRead, id), "a read-write transaction reads its own write")
			assert.Equal(t, e.PrimaryID, it.ReadBy, "a read-write transaction off the primary")
			require.NoError(t, tx.Commit())
			e.Write(t, "items", "written_by", id, nil)
		})

		t.Run("read your writes", func(t *testing.T) {
			e.ReadYourWrites(t, 5,
				func(ctx context.Context, i int) (int64, error) { return insert(ctx, fmt.Sprintf("ryw %d", i)) },
				func(ctx context.Context, id int64) (bool, error) {
					var it item
					err := db.GetContext(ctx, &it, getItem, id)
					if errors.Is(err, sql.ErrNoRows) {
						return false, nil
					}
					return err == nil, err
				})
		})
		e.Idle(t)
	})
}
