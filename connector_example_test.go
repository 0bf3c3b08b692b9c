package rwsplit_test

import (
	"context"
	"database/sql"
	"time"

	"github.com/rwsplit/rwsplit"
)

// The Connector gives code that needs a *sql.DB (an ORM, sqlc's generated
// queries, a query builder) one whose every statement rwsplit routes, under
// the consistency mode and Session of its context.
func ExampleDB_Connector() {
	db := openExample()
	defer db.Close()
	sqlDB := sql.OpenDB(db.Connector())
	defer sqlDB.Close() // runs first: close the *sql.DB, then db

	ctx := rwsplit.WithConsistency(context.Background(), rwsplit.WaitGTID(time.Second))
	// On the primary.
	_, _ = sqlDB.ExecContext(ctx, "UPDATE users SET name = ? WHERE id = ?", "ada", 1)
	// On a replica that has applied the update (or the primary after 1s).
	var name string
	_ = sqlDB.QueryRowContext(ctx, "SELECT name FROM users WHERE id = ?", 1).Scan(&name)

	// A read-only transaction runs on a replica, a read-write one on the
	// primary.
	tx, err := sqlDB.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err == nil {
		_ = tx.QueryRowContext(ctx, "SELECT name FROM users WHERE id = ?", 2).Scan(&name)
		_ = tx.Commit()
	}
}

// Session state pins a *sql.Conn to one connection to the primary until it
// is closed; that connection is then closed too, so that the state reaches
// no other caller.
func ExampleDB_Connector_sessionState() {
	db := openExample()
	defer db.Close()
	sqlDB := sql.OpenDB(db.Connector())
	defer sqlDB.Close()

	ctx := context.Background()
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		return
	}
	defer conn.Close()
	_, _ = conn.ExecContext(ctx, "SET @tenant = ?", 7) // pins
	var n int
	// On the same primary connection, where @tenant is set.
	_ = conn.QueryRowContext(ctx, "SELECT COUNT(*) FROM orders WHERE tenant = @tenant").Scan(&n)
}
