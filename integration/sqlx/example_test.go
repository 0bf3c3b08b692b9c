package sqlx_test

import (
	"context"
	"database/sql"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/rwsplit/rwsplit"
)

// sqlx over the Connector's *sql.DB: modes and Sessions travel in the
// context of the ...Context methods. (Package rwsplitx is the other way, an
// sqlx API over a *rwsplit.DB.) Compiled, never run (no Output).
func Example_useWithSqlx() {
	db, err := rwsplit.Open("mysql", "app:secret@tcp(primary:3306)/app",
		[]string{"app:secret@tcp(replica1:3306)/app", "app:secret@tcp(replica2:3306)/app"})
	if err != nil {
		panic(err) // an example: real code returns the error
	}
	defer db.Close()
	xdb := sqlx.NewDb(sql.OpenDB(db.Connector()), "mysql")
	defer xdb.Close() // closes the *sql.DB; runs first

	sess := rwsplit.NewSession(rwsplit.Token{})
	ctx := rwsplit.WithConsistency(rwsplit.WithSession(context.Background(), sess), rwsplit.WaitGTID(time.Second))
	res, err := xdb.NamedExecContext(ctx, "INSERT INTO items (name) VALUES (:name)",
		map[string]any{"name": "ada"}) // on the primary
	if err != nil {
		return
	}
	id, _ := res.LastInsertId()
	var name string
	_ = xdb.GetContext(ctx, &name, "SELECT name FROM items WHERE id = ?", id) // on a replica that has applied it
}
