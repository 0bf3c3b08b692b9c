// Package bun_test runs bun (mysqldialect) over the *sql.DB of rwsplit's
// Connector, against a real replicated cluster of each flavor.
package bun_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/mysqldialect"

	"github.com/rwsplit/rwsplit"
	"github.com/rwsplit/rwsplit/integration/itest"
	"github.com/rwsplit/rwsplit/rwsplittest"
)

// Item is the model. WrittenBy is set by a trigger to the @@server_id of the
// server that ran the INSERT or UPDATE (itest.TrackWriter); ReadBy is the
// @@server_id of the server that answered a select.
type Item struct {
	bun.BaseModel `bun:"table:items,alias:item"`

	ID        int64  `bun:"id,pk,autoincrement"`
	Name      string `bun:"name,notnull,type:varchar(64)"`
	WrittenBy int    `bun:"written_by,notnull,default:0"`
	ReadBy    int    `bun:"read_by,scanonly"`
}

// TestBun: bun.NewDB(sql.OpenDB(db.Connector()), mysqldialect.New()).
// NewInsert and NewUpdate run on the primary (INSERT ... RETURNING on
// MariaDB), NewSelect and NewRaw are answered by the replicas, RunInTx stays
// on the primary (a read-only one on a replica), a bun.Conn keeps session
// state on one primary connection; with the appliers stopped, WaitGTID reads
// its own writes and Eventual does not.
func TestBun(t *testing.T) {
	itest.ForEachFlavor(t, func(t *testing.T, e *itest.Env) {
		db := bun.NewDB(e.SQL, mysqldialect.New())
		ctx := context.Background()
		// DDL goes to the primary anyway; Primary keeps any read a migration
		// makes after it there too.
		_, err := db.NewCreateTable().Model((*Item)(nil)).Exec(rwsplit.WithConsistency(ctx, rwsplit.Primary))
		require.NoError(t, err)
		e.TrackWriter(t, "items", "written_by")
		insert := func(ctx context.Context, name string) (int64, error) {
			it := Item{Name: name}
			_, err := db.NewInsert().Model(&it).Exec(ctx)
			return it.ID, err
		}
		q := db.NewInsert().Model(&Item{Name: "x"}).String()
		t.Logf("%s: bun's insert: %s", e.Flavor, q)
		assert.Equal(t, e.Flavor == rwsplittest.MariaDB, strings.Contains(q, "RETURNING"))

		t.Run("routing", func(t *testing.T) {
			id, err := insert(ctx, "ada")
			e.Write(t, "items", "written_by", id, err)
			_, err = db.NewUpdate().Model(&Item{ID: id}).Set("name = ?", "ada lovelace").WherePK().Exec(ctx)
			e.Write(t, "items", "written_by", id, err)
			require.NoError(t, e.Cluster.WaitCaughtUp(ctx))

			seen := e.Reads(t, 4, func(ctx context.Context) (int, error) {
				var it Item
				err := db.NewSelect().Model(&it).ColumnExpr("item.*").ColumnExpr("@@server_id AS read_by").
					Where("item.id = ?", id).Scan(ctx)
				assert.Equal(t, "ada lovelace", it.Name)
				assert.Equal(t, e.PrimaryID, it.WrittenBy)
				return it.ReadBy, err
			})
			t.Logf("%s: NewSelect answered by %v", e.Flavor, seen)
			e.Reads(t, 2, func(ctx context.Context) (int, error) {
				n, err := db.NewSelect().Model((*Item)(nil)).Where("id = ?", id).Count(ctx)
				require.NoError(t, err)
				assert.EqualValues(t, 1, n)
				var sid int
				err = db.NewRaw("SELECT @@server_id").Scan(ctx, &sid)
				return sid, err
			})

			var inTx, inRO int
			require.NoError(t, db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
				it := Item{Name: "in tx"}
				if _, err := tx.NewInsert().Model(&it).Exec(ctx); err != nil {
					return err
				}
				var got Item
				if err := tx.NewSelect().Model(&got).ColumnExpr("item.*").ColumnExpr("@@server_id AS read_by").
					Where("item.id = ?", it.ID).Scan(ctx); err != nil {
					return fmt.Errorf("a read-write transaction reads its own write: %w", err)
				}
				inTx = got.ReadBy
				return nil
			}))
			assert.Equal(t, e.PrimaryID, inTx, "a read-write transaction off the primary")
			require.NoError(t, db.RunInTx(ctx, &sql.TxOptions{ReadOnly: true}, func(ctx context.Context, tx bun.Tx) error {
				return tx.NewRaw("SELECT @@server_id").Scan(ctx, &inRO)
			}))
			assert.Contains(t, e.ReplicaIDs, inRO, "a read-only transaction off the replicas")

			conn, err := db.Conn(ctx)
			require.NoError(t, err)
			_, err = conn.ExecContext(ctx, "SET @rwsplit_bun = 42")
			require.NoError(t, err)
			var x sql.NullInt64
			var by int
			require.NoError(t, conn.NewRaw("SELECT @rwsplit_bun, @@server_id").Scan(ctx, &x, &by))
			assert.EqualValues(t, 42, x.Int64, "the user variable was lost between statements of one bun.Conn")
			assert.Equal(t, e.PrimaryID, by, "a pinned bun.Conn off the primary")
			require.NoError(t, conn.Close())
		})

		t.Run("read your writes", func(t *testing.T) {
			e.ReadYourWrites(t, 5,
				func(ctx context.Context, i int) (int64, error) { return insert(ctx, fmt.Sprintf("ryw %d", i)) },
				func(ctx context.Context, id int64) (bool, error) {
					var it Item
					err := db.NewSelect().Model(&it).Where("id = ?", id).Scan(ctx)
					if errors.Is(err, sql.ErrNoRows) {
						return false, nil
					}
					return err == nil, err
				})
		})
		e.Idle(t)
	})
}
