package rwsplit_test

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/rwsplit/rwsplit"
)

// The Connector gives code that needs a *sql.DB (an ORM, sqlc's generated
// queries, a query builder) one whose every statement rwsplit routes, under
// the consistency mode and Session of its context.
func ExampleDB_Connector() {
	db := openOn(laggingCluster(1))
	defer db.Close()
	sqlDB := sql.OpenDB(db.Connector())
	defer sqlDB.Close() // runs first: close the *sql.DB, then db

	ctx := rwsplit.WithConsistency(context.Background(), rwsplit.WaitGTID(time.Second))
	_, _ = sqlDB.ExecContext(ctx, "UPDATE kv SET v = ? WHERE k = ?", 2, 1) // on the primary
	printReadVia(ctx, db, sqlDB)                                           // on a replica that has applied it

	// A read-only transaction runs on a replica, a read-write one on the
	// primary.
	tx, err := sqlDB.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	var id int
	_ = tx.QueryRowContext(ctx, "SELECT @@server_id").Scan(&id)
	_ = tx.Commit()
	fmt.Println("read-only transaction on server_id", id)
	// Output:
	// read 2 on replica 0
	// read-only transaction on server_id 2
}

// Session state pins a *sql.Conn to one connection to the primary until it
// is closed; that connection is then closed too, so that the state reaches
// no other caller.
func ExampleDB_Connector_sessionState() {
	db := openOn(laggingCluster(1))
	defer db.Close()
	sqlDB := sql.OpenDB(db.Connector())
	defer sqlDB.Close()

	ctx := context.Background()
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer conn.Close()
	var before, after int
	_ = conn.QueryRowContext(ctx, "SELECT @@server_id").Scan(&before) // a replica
	_, _ = conn.ExecContext(ctx, "SET @tenant = ?", 7)                // pins
	_ = conn.QueryRowContext(ctx, "SELECT @@server_id").Scan(&after)  // the primary, where @tenant is set
	fmt.Println(before, after)
	// Output:
	// 2 1
}
