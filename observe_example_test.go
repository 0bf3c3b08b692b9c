package rwsplit_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"os"
	"time"

	"github.com/rwsplit/rwsplit"
)

// Log routing decisions with log/slog: health and topology changes at
// Info/Warn, every route and wait at Debug (off unless the handler's level
// is Debug).
func ExampleSlogObserver() {
	logger := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	db, err := rwsplit.Open("mysql", "app:secret@tcp(primary:3306)/app",
		[]string{"app:secret@tcp(replica1:3306)/app"},
		rwsplit.WithObserver(rwsplit.SlogObserver(logger)))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
}

// Count fallbacks and follow waits with an observer of your own: set only
// the fields of the events you need. WithObserver may be given more than
// once (a logger too, say).
func ExampleWithObserver() {
	obs := rwsplit.Observer{
		WaitEnd: func(ctx context.Context, e rwsplit.WaitEvent) {
			switch {
			case e.Skipped:
				fmt.Printf("no wait on %s: it has the writes\n", e.Server.Name())
			case e.Err != nil:
				fmt.Printf("wait on %s failed: %v\n", e.Server.Name(), errors.Is(e.Err, rwsplit.ErrWaitTimedOut))
			default:
				fmt.Printf("wait on %s (%s): ok\n", e.Server.Name(), e.Mode)
			}
		},
		Route: func(ctx context.Context, e rwsplit.RouteEvent) {
			if e.Reason == "fallback" {
				fmt.Printf("fallback to %s under %s\n", e.Server.Name(), e.Mode)
			}
		},
	}
	c := laggingCluster(1)
	db := openOn(c, rwsplit.WithObserver(obs))
	defer db.Close()
	ctx := rwsplit.WithConsistency(context.Background(), rwsplit.WaitGTID(50*time.Millisecond))
	_, _ = db.ExecContext(ctx, "UPDATE kv SET v = ? WHERE k = ?", 2, 1)
	printRead(ctx, db) // the replica applies the write when the read waits
	c.Replicas()[0].ApplyOnWait(false)
	_, _ = db.ExecContext(ctx, "UPDATE kv SET v = ? WHERE k = ?", 3, 1)
	printRead(ctx, db) // now it does not: the wait times out
	// Output:
	// wait on replica 0 (WaitGTID(50ms)): ok
	// read 2 on replica 0
	// wait on replica 0 failed: true
	// fallback to primary under WaitGTID(50ms)
	// read 3 on primary
}

// Ask where a query would go, and why, without running it.
func ExampleDB_Explain() {
	db := openOn(laggingCluster(1))
	defer db.Close()
	ctx := rwsplit.WithConsistency(context.Background(), rwsplit.WaitGTID(time.Second))
	e := db.Explain(ctx, "SELECT v FROM kv WHERE k = ?")
	fmt.Println(e.ReplicaSafe, e.Wait, len(e.Candidates))
	_, _ = db.ExecContext(ctx, "UPDATE kv SET v = ? WHERE k = ?", 2, 1)
	e = db.Explain(ctx, "SELECT v FROM kv WHERE k = ?")
	fmt.Println(e.Capture, e.Wait, e.Fallback)
	e = db.Explain(ctx, "SELECT v FROM kv WHERE k = ? FOR UPDATE")
	fmt.Println(e.Primary, e.Reason)
	// Output:
	// true none 1
	// true after a read of the primary primary
	// true locking read
}

// Record which servers answered the calls of one request (no observer
// needed).
func ExampleWithTrace() {
	db := openOn(laggingCluster(1))
	defer db.Close()
	var tr rwsplit.Trace
	ctx := rwsplit.WithTrace(rwsplit.WithConsistency(context.Background(), rwsplit.WaitGTID(time.Second)), &tr)
	_, _ = db.ExecContext(ctx, "UPDATE kv SET v = ? WHERE k = ?", 2, 1)
	var v int64
	_ = db.QueryRowContext(ctx, "SELECT v FROM kv WHERE k = ?", 1).Scan(&v)
	for _, r := range tr.Routes() {
		fmt.Println(r.Server.Name(), r.Reason)
	}
	fmt.Println(len(tr.Waits()), "wait, read", v)
	// Output:
	// primary exec
	// replica 0 replica
	// 1 wait, read 2
}

// Open from the environment (twelve-factor): RWSPLIT_PRIMARY_DSN,
// RWSPLIT_REPLICA_DSNS, RWSPLIT_DEFAULT_CONSISTENCY, ...
func ExampleOpenFromEnv() {
	// RWSPLIT_PRIMARY_DSN=app:secret@tcp(primary:3306)/app
	// RWSPLIT_REPLICA_DSNS=app:secret@tcp(replica1:3306)/app,app:secret@tcp(replica2:3306)/app
	// RWSPLIT_DEFAULT_CONSISTENCY=waitgtid:1s
	// RWSPLIT_MAX_LAG=5s
	db, err := rwsplit.OpenFromEnv("", rwsplit.WithObserver(rwsplit.SlogObserver(nil)))
	if err != nil {
		log.Fatal(err) // e.g. "rwsplit: RWSPLIT_MAX_LAG: "5" is not a duration (e.g. 500ms, 2s, 1m)"
	}
	defer db.Close()
}
