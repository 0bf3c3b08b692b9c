// Package ent_test runs an ent client (entsql.OpenDB) over the *sql.DB of
// rwsplit's Connector, against a real replicated cluster of each flavor. The
// client in ./ent is generated from ./ent/schema (go generate ./ent) and
// committed.
package ent_test

import (
	"context"
	"database/sql"
	"fmt"
	"testing"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rwsplit/rwsplit"
	"github.com/rwsplit/rwsplit/integration/ent/ent"
	"github.com/rwsplit/rwsplit/integration/ent/ent/item"
	"github.com/rwsplit/rwsplit/integration/itest"
)

// itemRead is an item with the @@server_id of the server that answered.
type itemRead struct {
	ID        int    `sql:"id"`
	Name      string `sql:"name"`
	WrittenBy int    `sql:"written_by"`
	ReadBy    int    `sql:"read_by"`
}

// readBy reads item id with the @@server_id of the server that answers it,
// through ent's query builder (feature sql/modifier).
func readBy(ctx context.Context, q *ent.ItemQuery, id int) (itemRead, error) {
	var rows []itemRead
	err := q.Where(item.ID(id)).Modify(func(s *entsql.Selector) {
		s.AppendSelectExprAs(entsql.Raw("@@server_id"), "read_by")
	}).Scan(ctx, &rows)
	if err == nil && len(rows) != 1 {
		err = fmt.Errorf("item %d: %d rows", id, len(rows))
	}
	if err != nil {
		return itemRead{}, err
	}
	return rows[0], nil
}

// TestEnt: ent.NewClient(ent.Driver(entsql.OpenDB(dialect.MySQL,
// sql.OpenDB(db.Connector())))). Schema.Create migrates (on the primary),
// Create and UpdateOneID run on the primary, Get, Query and Count are
// answered by the replicas, client.Tx stays on the primary, a read-only
// client.BeginTx on a replica; with the appliers stopped, WaitGTID reads its
// own writes and Eventual does not.
func TestEnt(t *testing.T) {
	itest.ForEachFlavor(t, func(t *testing.T, e *itest.Env) {
		client := ent.NewClient(ent.Driver(entsql.OpenDB(dialect.MySQL, e.SQL)))
		ctx := context.Background()
		// Migrations read information_schema around their DDL: run them on
		// the primary, or a replica may not have applied the DDL yet.
		require.NoError(t, client.Schema.Create(rwsplit.WithConsistency(ctx, rwsplit.Primary)))
		e.TrackWriter(t, "items", "written_by")

		t.Run("routing", func(t *testing.T) {
			it, err := client.Item.Create().SetName("ada").Save(ctx)
			require.NotNil(t, it)
			e.Write(t, "items", "written_by", int64(it.ID), err)
			_, err = client.Item.UpdateOneID(it.ID).SetName("ada lovelace").Save(ctx)
			e.Write(t, "items", "written_by", int64(it.ID), err)
			require.NoError(t, e.Cluster.WaitCaughtUp(ctx))

			seen := e.Reads(t, 4, func(ctx context.Context) (int, error) {
				r, err := readBy(ctx, client.Item.Query(), it.ID)
				assert.Equal(t, "ada lovelace", r.Name)
				assert.Equal(t, e.PrimaryID, r.WrittenBy)
				return r.ReadBy, err
			})
			t.Logf("%s: Query answered by %v", e.Flavor, seen)
			before := e.DB.Stats()
			got, err := client.Item.Get(ctx, it.ID)
			require.NoError(t, err)
			assert.Equal(t, "ada lovelace", got.Name)
			n, err := client.Item.Query().Where(item.NameHasPrefix("ada")).Count(ctx)
			require.NoError(t, err)
			assert.Equal(t, 1, n)
			after := e.DB.Stats()
			assert.Equal(t, after.PrimaryReads, before.PrimaryReads, "Get or Count off the replicas")

			tx, err := client.Tx(ctx)
			require.NoError(t, err)
			txIt, err := tx.Item.Create().SetName("in tx").Save(ctx)
			itest.NoReadOnlyError(t, err)
			r, err := readBy(ctx, tx.Item.Query(), txIt.ID)
			require.NoError(t, err, "a read-write transaction reads its own write")
			assert.Equal(t, e.PrimaryID, r.ReadBy, "a read-write transaction off the primary")
			require.NoError(t, tx.Commit())
			e.Write(t, "items", "written_by", int64(txIt.ID), nil)

			ro, err := client.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
			require.NoError(t, err)
			r, err = readBy(ctx, ro.Item.Query(), it.ID)
			require.NoError(t, err)
			assert.Contains(t, e.ReplicaIDs, r.ReadBy, "a read-only transaction off the replicas")
			require.NoError(t, ro.Commit())
		})

		t.Run("read your writes", func(t *testing.T) {
			e.ReadYourWrites(t, 5,
				func(ctx context.Context, i int) (int64, error) {
					it, err := client.Item.Create().SetName(fmt.Sprintf("ryw %d", i)).Save(ctx)
					if err != nil {
						return 0, err
					}
					return int64(it.ID), nil
				},
				func(ctx context.Context, id int64) (bool, error) {
					_, err := client.Item.Get(ctx, int(id))
					if ent.IsNotFound(err) {
						return false, nil
					}
					return err == nil, err
				})
		})
		e.Idle(t)
	})
}
