package ent_test

import (
	"context"
	"database/sql"
	"time"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"

	"github.com/rwsplit/rwsplit"
	"github.com/rwsplit/rwsplit/integration/ent/ent"
)

// An ent client over the Connector's *sql.DB: modes and Sessions travel in
// the context given to Save and Get. Compiled, never run (no Output).
func Example_useWithEnt() {
	db, err := rwsplit.Open("mysql", "app:secret@tcp(primary:3306)/app",
		[]string{"app:secret@tcp(replica1:3306)/app", "app:secret@tcp(replica2:3306)/app"})
	if err != nil {
		panic(err) // an example: real code returns the error
	}
	defer db.Close()
	sqlDB := sql.OpenDB(db.Connector())
	client := ent.NewClient(ent.Driver(entsql.OpenDB(dialect.MySQL, sqlDB)))
	defer client.Close() // closes sqlDB; runs first

	sess := rwsplit.NewSession(rwsplit.Token{})
	ctx := rwsplit.WithConsistency(rwsplit.WithSession(context.Background(), sess), rwsplit.WaitGTID(time.Second))
	it, err := client.Item.Create().SetName("ada").Save(ctx) // on the primary
	if err != nil {
		return
	}
	_, _ = client.Item.Get(ctx, it.ID) // on a replica that has applied it
}
