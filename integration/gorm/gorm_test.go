// Package gorm_test runs GORM (gorm.io/driver/mysql) over the *sql.DB of
// rwsplit's Connector, against a real replicated cluster of each flavor.
package gorm_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/driver/mysql"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/rwsplit/rwsplit"
	"github.com/rwsplit/rwsplit/integration/itest"
	"github.com/rwsplit/rwsplit/rwsplittest"
)

// Item is the model. WrittenBy is set by a trigger to the @@server_id of the
// server that ran the INSERT or UPDATE (itest.TrackWriter).
type Item struct {
	ID        int64
	Name      string `gorm:"size:64;not null"`
	WrittenBy int    `gorm:"not null;default:0"`
}

// itemRead is an Item with the @@server_id of the server that answered.
type itemRead struct {
	Item
	ReadBy int
}

// configs are the GORM options that change what reaches the *sql.DB:
// SkipDefaultTransaction (GORM wraps each write in a transaction unless set)
// and PrepareStmt (GORM prepares and caches every statement).
var configs = []struct {
	name       string
	skipTx     bool
	prepareStm bool
}{
	{"default", false, false},
	{"SkipDefaultTransaction", true, false},
	{"PrepareStmt", false, true},
	{"SkipDefaultTransaction+PrepareStmt", true, true},
}

// open opens GORM over the Connector's *sql.DB, as an application would:
//
//	gorm.Open(mysql.New(mysql.Config{Conn: sql.OpenDB(db.Connector())}), &gorm.Config{...})
func open(t *testing.T, sdb *sql.DB, skipTx, prepare bool) *gorm.DB {
	t.Helper()
	gdb, err := gorm.Open(mysql.New(mysql.Config{Conn: sdb}), &gorm.Config{
		SkipDefaultTransaction: skipTx,
		PrepareStmt:            prepare,
		Logger:                 logger.Discard,
	})
	require.NoError(t, err)
	t.Cleanup(func() {
		if p, ok := gdb.ConnPool.(*gorm.PreparedStmtDB); ok {
			p.Close()
		}
	})
	return gdb
}

// TestGORM: for each combination of SkipDefaultTransaction and PrepareStmt,
// Create and Update run on the primary (in a transaction unless
// SkipDefaultTransaction), Take, Count and Raw are answered by the replicas,
// Transaction stays on the primary (a read-only one on a replica),
// Connection keeps session state on one primary connection; and with the
// appliers stopped, WaitGTID reads its own writes and Eventual does not.
// GORM's pool settings (sqlDB.SetMaxOpenConns) bound the virtual
// connections, the router's (db.SetMaxOpenConns) the server connections.
func TestGORM(t *testing.T) {
	itest.ForEachFlavor(t, func(t *testing.T, e *itest.Env) {
		ctx := context.Background()
		// Migrations read information_schema right after their DDL: run them
		// on the primary, or a replica may not have the table yet.
		migrate := open(t, e.SQL, false, false)
		require.NoError(t, migrate.WithContext(rwsplit.WithConsistency(ctx, rwsplit.Primary)).AutoMigrate(&Item{}))
		e.TrackWriter(t, "items", "written_by")
		// On MariaDB 10.5+ GORM creates with INSERT ... RETURNING, a query
		// that writes: rwsplit sends it to the primary and records it when
		// its rows are closed.
		create := migrate.Session(&gorm.Session{DryRun: true}).Create(&Item{Name: "x"}).Statement.SQL.String()
		t.Logf("%s: GORM's Create: %s", e.Flavor, create)
		assert.Equal(t, e.Flavor == rwsplittest.MariaDB, strings.Contains(create, "RETURNING"))

		for _, cfg := range configs {
			gdb := open(t, e.SQL, cfg.skipTx, cfg.prepareStm)
			prepares := comStmtPrepare(t, e)

			t.Run(cfg.name+"/routing", func(t *testing.T) {
				before := e.DB.Stats()
				it := Item{Name: "ada"}
				err := gdb.WithContext(ctx).Create(&it).Error
				e.Write(t, "items", "written_by", it.ID, err)
				rwTx := e.DB.Stats().ReadWriteTx - before.ReadWriteTx
				if cfg.skipTx {
					assert.Zero(t, rwTx, "a Create under SkipDefaultTransaction began a transaction")
				} else {
					assert.EqualValues(t, 1, rwTx, "GORM's default transaction around Create")
				}
				require.NoError(t, gdb.WithContext(ctx).Model(&it).Update("name", "ada lovelace").Error)
				e.Write(t, "items", "written_by", it.ID, nil)
				require.NoError(t, e.Cluster.WaitCaughtUp(ctx))

				seen := e.Reads(t, 4, func(ctx context.Context) (int, error) {
					var r itemRead
					err := gdb.WithContext(ctx).Model(&Item{}).Select("items.*, @@server_id AS read_by").
						Where("id = ?", it.ID).Take(&r).Error
					assert.Equal(t, "ada lovelace", r.Name)
					assert.Equal(t, e.PrimaryID, r.WrittenBy)
					return r.ReadBy, err
				})
				t.Logf("%s: %s: Take answered by %v", e.Flavor, cfg.name, seen)
				e.Reads(t, 2, func(ctx context.Context) (int, error) {
					var n int64
					require.NoError(t, gdb.WithContext(ctx).Model(&Item{}).Where("id = ?", it.ID).Count(&n).Error)
					assert.EqualValues(t, 1, n)
					var id int
					err := gdb.WithContext(ctx).Raw("SELECT @@server_id").Scan(&id).Error
					return id, err
				})

				var inTx, inRO int
				require.NoError(t, gdb.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
					it := Item{Name: "in tx"}
					if err := tx.Create(&it).Error; err != nil {
						return err
					}
					var r itemRead
					if err := tx.Model(&Item{}).Select("items.*, @@server_id AS read_by").Where("id = ?", it.ID).Take(&r).Error; err != nil {
						return fmt.Errorf("a read-write transaction reads its own write: %w", err)
					}
					inTx = r.ReadBy
					return nil
				}))
				assert.Equal(t, e.PrimaryID, inTx, "a read-write transaction off the primary")
				require.NoError(t, gdb.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
					return tx.Raw("SELECT @@server_id").Scan(&inRO).Error
				}, &sql.TxOptions{ReadOnly: true}))
				assert.Contains(t, e.ReplicaIDs, inRO, "a read-only transaction off the replicas")

				// Connection runs its function on one *sql.Conn: the user
				// variable pins it to a primary connection.
				var x sql.NullInt64
				var by int
				require.NoError(t, gdb.WithContext(ctx).Connection(func(tx *gorm.DB) error {
					if err := tx.Exec("SET @rwsplit_gorm = 42").Error; err != nil {
						return err
					}
					if err := tx.Raw("SELECT @rwsplit_gorm").Scan(&x).Error; err != nil {
						return err
					}
					return tx.Raw("SELECT @@server_id").Scan(&by).Error
				}))
				assert.EqualValues(t, 42, x.Int64, "the user variable was lost between statements of one Connection")
				assert.Equal(t, e.PrimaryID, by, "a pinned Connection off the primary")
			})

			t.Run(cfg.name+"/read your writes", func(t *testing.T) {
				e.ReadYourWrites(t, 5,
					func(ctx context.Context, i int) (int64, error) {
						it := Item{Name: fmt.Sprintf("ryw %d", i)}
						err := gdb.WithContext(ctx).Create(&it).Error
						return it.ID, err
					},
					func(ctx context.Context, id int64) (bool, error) {
						var it Item
						err := gdb.WithContext(ctx).Take(&it, id).Error
						if errors.Is(err, gorm.ErrRecordNotFound) {
							return false, nil
						}
						return err == nil, err
					})
			})
			after := comStmtPrepare(t, e)
			t.Logf("%s: %s: server-side prepares: primary %d, replicas %d",
				e.Flavor, cfg.name, after[0]-prepares[0], after[1]-prepares[1])
		}

		t.Run("pools", func(t *testing.T) {
			load := func(gdb *gorm.DB) {
				var wg sync.WaitGroup
				for g := range 8 {
					wg.Go(func() {
						for i := range 5 {
							it := Item{Name: fmt.Sprintf("load %d.%d", g, i)}
							itest.NoReadOnlyError(t, gdb.WithContext(ctx).Create(&it).Error)
							var got Item
							assert.NoError(t, gdb.WithContext(rwsplit.WithConsistency(ctx, rwsplit.WaitGTID(5*time.Second))).Take(&got, it.ID).Error)
						}
					})
				}
				wg.Wait()
			}

			// GORM's pool settings apply to the virtual connections.
			gdb := open(t, e.SQL, false, true)
			sqlDB, err := gdb.DB()
			require.NoError(t, err)
			require.Same(t, e.SQL, sqlDB, "gdb.DB() is the Connector's *sql.DB")
			sqlDB.SetMaxOpenConns(3)
			load(gdb)
			vst := sqlDB.Stats()
			sqlDB.SetMaxOpenConns(0)
			assert.Equal(t, 3, vst.MaxOpenConnections)
			assert.LessOrEqual(t, vst.OpenConnections, 3)
			t.Logf("%s: GORM's pool at 3: %d virtual connections open, %d waits; server connections open: primary %d",
				e.Flavor, vst.OpenConnections, vst.WaitCount, e.DB.Primary().Stats().OpenConnections)

			// The router's apply to the server connections. Not with
			// PrepareStmt and GORM's default transaction: a statement
			// prepared outside a transaction and run in it needs a second
			// primary connection (see the README of integration/).
			gdb = open(t, e.SQL, false, false)
			e.DB.SetMaxOpenConns(2)
			t.Cleanup(func() { e.DB.SetMaxOpenConns(0) })
			load(gdb)
			srv := e.DB.Servers()
			st := make([]sql.DBStats, len(srv)) // the primary's, then the replicas'
			for i, s := range srv {
				st[i] = s.DB().Stats()
				assert.LessOrEqual(t, st[i].OpenConnections, 2, s.Name())
			}
			t.Logf("%s: router's pools at 2: %d virtual connections open; server connections open: primary %d (%d waits), replicas %d and %d",
				e.Flavor, sqlDB.Stats().OpenConnections, st[0].OpenConnections, st[0].WaitCount,
				st[1].OpenConnections, st[2].OpenConnections)
			e.Idle(t)
		})
	})
}

// comStmtPrepare returns the primary's Com_stmt_prepare and the sum of the
// replicas'.
func comStmtPrepare(t *testing.T, e *itest.Env) [2]int64 {
	t.Helper()
	var out [2]int64
	for i, n := range e.Cluster.Nodes() {
		var name string
		var v int64
		require.NoError(t, n.Admin().QueryRowContext(context.Background(),
			"SHOW GLOBAL STATUS LIKE 'Com_stmt_prepare'").Scan(&name, &v))
		if i == 0 {
			out[0] = v
		} else {
			out[1] += v
		}
	}
	return out
}
