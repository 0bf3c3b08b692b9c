// Package squirrel_test runs queries built by squirrel on the *sql.DB of
// rwsplit's Connector, against a real replicated cluster of each flavor.
package squirrel_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"testing"

	sq "github.com/Masterminds/squirrel"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rwsplit/rwsplit/integration/itest"
)

const schema = "CREATE TABLE app.items (id BIGINT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(64) NOT NULL, written_by INT NOT NULL DEFAULT 0)"

// TestSquirrel: squirrel's builders run with RunWith(sql.OpenDB(db.Connector()))
// and with RunWith(sq.NewStmtCache(...)) (prepared statements): SELECTs are
// answered by the replicas, INSERT and UPDATE run on the primary, and a
// read-write transaction stays on the primary; with the appliers stopped,
// WaitGTID reads its own writes and Eventual does not.
func TestSquirrel(t *testing.T) {
	itest.ForEachFlavor(t, func(t *testing.T, e *itest.Env) {
		e.Admin(t, schema)
		e.TrackWriter(t, "items", "written_by")
		cache := sq.NewStmtCache(e.SQL)
		t.Cleanup(func() { assert.NoError(t, cache.Clear()) })
		ctx := context.Background()

		for _, runner := range []struct {
			name string
			b    sq.StatementBuilderType
		}{
			{"db", sq.StatementBuilder.RunWith(e.SQL)},
			{"stmt cache", sq.StatementBuilder.RunWith(cache)},
		} {
			b := runner.b
			insert := func(ctx context.Context, name string) (int64, error) {
				res, err := b.Insert("items").Columns("name").Values(name).ExecContext(ctx)
				if err != nil {
					return 0, err
				}
				return res.LastInsertId()
			}
			get := func(ctx context.Context, id int64, cols ...string) sq.RowScanner {
				return b.Select(cols...).From("items").Where(sq.Eq{"id": id}).QueryRowContext(ctx)
			}

			t.Run(runner.name+"/routing", func(t *testing.T) {
				id, err := insert(ctx, "ada")
				e.Write(t, "items", "written_by", id, err)
				require.NoError(t, e.Cluster.WaitCaughtUp(ctx))
				seen := e.Reads(t, 4, func(ctx context.Context) (int, error) {
					var name string
					var writtenBy, readBy int
					err := get(ctx, id, "name", "written_by", "@@server_id AS read_by").Scan(&name, &writtenBy, &readBy)
					assert.Equal(t, "ada", name)
					assert.Equal(t, e.PrimaryID, writtenBy)
					return readBy, err
				})
				t.Logf("%s: %s: reads answered by %v", e.Flavor, runner.name, seen)

				_, err = b.Update("items").Set("name", "ada lovelace").Where(sq.Eq{"id": id}).ExecContext(ctx)
				itest.NoReadOnlyError(t, err)
				e.Write(t, "items", "written_by", id, err)

				tx, err := e.SQL.BeginTx(ctx, nil)
				require.NoError(t, err)
				res, err := sq.Insert("items").Columns("name").Values("in tx").RunWith(tx).ExecContext(ctx)
				itest.NoReadOnlyError(t, err)
				txID, err := res.LastInsertId()
				require.NoError(t, err)
				var readBy int
				require.NoError(t, sq.Select("@@server_id").From("items").Where(sq.Eq{"id": txID}).RunWith(tx).QueryRowContext(ctx).Scan(&readBy),
					"a read-write transaction reads its own write")
				assert.Equal(t, e.PrimaryID, readBy, "a read-write transaction off the primary")
				require.NoError(t, tx.Commit())
				e.Write(t, "items", "written_by", txID, nil)
			})

			t.Run(runner.name+"/read your writes", func(t *testing.T) {
				e.ReadYourWrites(t, 5,
					func(ctx context.Context, i int) (int64, error) { return insert(ctx, fmt.Sprintf("ryw %d", i)) },
					func(ctx context.Context, id int64) (bool, error) {
						var name string
						err := get(ctx, id, "name").Scan(&name)
						if errors.Is(err, sql.ErrNoRows) {
							return false, nil
						}
						return err == nil, err
					})
			})
		}
		e.Idle(t)
	})
}
