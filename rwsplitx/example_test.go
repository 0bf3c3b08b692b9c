package rwsplitx_test

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/rwsplit/rwsplit"
	"github.com/rwsplit/rwsplit/rwsplitx"
)

type user struct {
	ID   int64  `db:"id"`
	Name string `db:"name"`
}

// sqlx users change one constructor: reads go to replicas, writes to the
// primary, and the consistency modes work as with *rwsplit.DB.
func ExampleOpen() {
	db, err := rwsplitx.Open("mysql", "app:secret@tcp(primary:3306)/app",
		[]string{"app:secret@tcp(replica:3306)/app"})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer db.Close()
	ctx := rwsplit.WithConsistency(context.Background(), rwsplit.WaitGTID(200*time.Millisecond))
	_, _ = db.NamedExecContext(ctx, "INSERT INTO users (id, name) VALUES (:id, :name)", user{1, "ada"})
	var u user
	_ = db.GetContext(ctx, &u, "SELECT id, name FROM users WHERE id = ?", 1) // waits for the insert
}

// BeginTxx: a read-only transaction on a replica, or a read-write one on the
// primary whose Commit (rwsplit's) records its writes.
func ExampleDB_BeginTxx() {
	db, err := rwsplitx.Open("mysql", "app:secret@tcp(primary:3306)/app",
		[]string{"app:secret@tcp(replica:3306)/app"})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer db.Close()
	tx, err := db.BeginTxx(context.Background(), &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return
	}
	defer tx.Rollback()
	var us []user
	_ = tx.Select(&us, "SELECT id, name FROM users")
}
