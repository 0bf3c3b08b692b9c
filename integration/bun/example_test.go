package bun_test

import (
	"context"
	"database/sql"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/mysqldialect"

	"github.com/rwsplit/rwsplit"
)

// bun over the Connector's *sql.DB: modes and Sessions travel in the context
// given to Exec and Scan. Compiled, never run (no Output).
func Example_useWithBun() {
	db, err := rwsplit.Open("mysql", "app:secret@tcp(primary:3306)/app",
		[]string{"app:secret@tcp(replica1:3306)/app", "app:secret@tcp(replica2:3306)/app"})
	if err != nil {
		panic(err) // an example: real code returns the error
	}
	defer db.Close()
	sqlDB := sql.OpenDB(db.Connector())
	bdb := bun.NewDB(sqlDB, mysqldialect.New())
	defer bdb.Close() // closes sqlDB; runs first

	sess := rwsplit.NewSession(rwsplit.Token{})
	ctx := rwsplit.WithConsistency(rwsplit.WithSession(context.Background(), sess), rwsplit.WaitGTID(time.Second))
	it := Item{Name: "ada"}
	_, _ = bdb.NewInsert().Model(&it).Exec(ctx) // on the primary
	var got Item
	_ = bdb.NewSelect().Model(&got).Where("id = ?", it.ID).Scan(ctx) // on a replica that has applied it
}
