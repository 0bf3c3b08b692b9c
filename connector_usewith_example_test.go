package rwsplit_test

import (
	"context"
	"database/sql"
	"time"

	"github.com/rwsplit/rwsplit"
)

// Plain database/sql over the Connector, with a Session: a write and a read
// of it, the shape of the integration/ examples for GORM, bun, ent, sqlc,
// sqlx and squirrel. Compiled, never run (no Output).
func Example_useWithDatabaseSQL() {
	db, err := rwsplit.Open("mysql", "app:secret@tcp(primary:3306)/app",
		[]string{"app:secret@tcp(replica1:3306)/app", "app:secret@tcp(replica2:3306)/app"})
	if err != nil {
		panic(err) // an example: real code returns the error
	}
	defer db.Close()
	sqlDB := sql.OpenDB(db.Connector())
	defer sqlDB.Close() // runs first

	sess := rwsplit.NewSession(rwsplit.Token{})
	ctx := rwsplit.WithConsistency(rwsplit.WithSession(context.Background(), sess), rwsplit.WaitGTID(time.Second))
	res, err := sqlDB.ExecContext(ctx, "INSERT INTO items (name) VALUES (?)", "ada") // on the primary
	if err != nil {
		return
	}
	id, _ := res.LastInsertId()
	var name string
	_ = sqlDB.QueryRowContext(ctx, "SELECT name FROM items WHERE id = ?", id).Scan(&name) // on a replica that has applied it
}
