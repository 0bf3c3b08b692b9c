package sqlc_test

import (
	"context"
	"database/sql"
	"time"

	"github.com/rwsplit/rwsplit"
	"github.com/rwsplit/rwsplit/integration/sqlc/itemsdb"
)

// sqlc's generated Queries over the Connector's *sql.DB (its DBTX): modes
// and Sessions travel in the context of each generated method. Compiled,
// never run (no Output).
func Example_useWithSqlc() {
	db, err := rwsplit.Open("mysql", "app:secret@tcp(primary:3306)/app",
		[]string{"app:secret@tcp(replica1:3306)/app", "app:secret@tcp(replica2:3306)/app"})
	if err != nil {
		panic(err) // an example: real code returns the error
	}
	defer db.Close()
	sqlDB := sql.OpenDB(db.Connector())
	defer sqlDB.Close() // runs first

	q := itemsdb.New(sqlDB) // or itemsdb.Prepare(ctx, sqlDB)

	sess := rwsplit.NewSession(rwsplit.Token{})
	ctx := rwsplit.WithConsistency(rwsplit.WithSession(context.Background(), sess), rwsplit.WaitGTID(time.Second))
	id, err := q.CreateItem(ctx, "ada") // on the primary
	if err != nil {
		return
	}
	_, _ = q.GetItem(ctx, id) // on a replica that has applied it
}
