package rwsplit_test

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/rwsplit/rwsplit"
)

// Plain database/sql over the Connector, with a Session: a write and a read
// of it, the shape of the integration/ examples for GORM, bun, ent, sqlc,
// sqlx and squirrel.
func Example_useWithDatabaseSQL() {
	db := openOn(laggingCluster(1))
	defer db.Close()
	sqlDB := sql.OpenDB(db.Connector())
	defer sqlDB.Close() // runs first

	sess := rwsplit.NewSession(rwsplit.Token{})
	ctx := rwsplit.WithConsistency(rwsplit.WithSession(context.Background(), sess), rwsplit.WaitGTID(time.Second))
	if _, err := sqlDB.ExecContext(ctx, "INSERT INTO kv (k, v) VALUES (?, ?)", 2, 20); err != nil { // on the primary
		return
	}
	var v int64
	_ = sqlDB.QueryRowContext(ctx, "SELECT v FROM kv WHERE k = ?", 2).Scan(&v) // on a replica that has applied it
	fmt.Println(v)
	// Output:
	// 20
}
