package gorm_test

import (
	"context"
	"database/sql"
	"time"

	"gorm.io/driver/mysql"
	"gorm.io/gorm"

	"github.com/rwsplit/rwsplit"
)

// GORM over the Connector's *sql.DB: modes and Sessions travel in the
// context given to WithContext. Compiled, never run (no Output).
func Example_useWithGORM() {
	db, err := rwsplit.Open("mysql", "app:secret@tcp(primary:3306)/app",
		[]string{"app:secret@tcp(replica1:3306)/app", "app:secret@tcp(replica2:3306)/app"})
	if err != nil {
		panic(err) // an example: real code returns the error
	}
	defer db.Close()
	sqlDB := sql.OpenDB(db.Connector())
	defer sqlDB.Close() // runs first
	gdb, err := gorm.Open(mysql.New(mysql.Config{Conn: sqlDB}), &gorm.Config{})
	if err != nil {
		panic(err)
	}

	sess := rwsplit.NewSession(rwsplit.Token{})
	ctx := rwsplit.WithConsistency(rwsplit.WithSession(context.Background(), sess), rwsplit.WaitGTID(time.Second))
	it := Item{Name: "ada"}
	_ = gdb.WithContext(ctx).Create(&it).Error // on the primary
	var got Item
	_ = gdb.WithContext(ctx).Take(&got, it.ID).Error // on a replica that has applied it
}
