package squirrel_test

import (
	"context"
	"database/sql"
	"time"

	sq "github.com/Masterminds/squirrel"

	"github.com/rwsplit/rwsplit"
)

// squirrel's builders run on the Connector's *sql.DB: modes and Sessions
// travel in the context of ExecContext and QueryRowContext. Compiled, never
// run (no Output).
func Example_useWithSquirrel() {
	db, err := rwsplit.Open("mysql", "app:secret@tcp(primary:3306)/app",
		[]string{"app:secret@tcp(replica1:3306)/app", "app:secret@tcp(replica2:3306)/app"})
	if err != nil {
		panic(err) // an example: real code returns the error
	}
	defer db.Close()
	sqlDB := sql.OpenDB(db.Connector())
	defer sqlDB.Close() // runs first

	b := sq.StatementBuilder.RunWith(sqlDB) // or RunWith(sq.NewStmtCache(sqlDB))

	sess := rwsplit.NewSession(rwsplit.Token{})
	ctx := rwsplit.WithConsistency(rwsplit.WithSession(context.Background(), sess), rwsplit.WaitGTID(time.Second))
	res, err := b.Insert("items").Columns("name").Values("ada").ExecContext(ctx) // on the primary
	if err != nil {
		return
	}
	id, _ := res.LastInsertId()
	var name string
	_ = b.Select("name").From("items").Where(sq.Eq{"id": id}).QueryRowContext(ctx).Scan(&name) // on a replica that has applied it
}
