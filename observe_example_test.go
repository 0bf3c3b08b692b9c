package rwsplit_test

import (
	"context"
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

// Count fallbacks and time waits with an observer of your own: set only
// the fields of the events you need. WithObserver may be given more than
// once: here with a logger too.
func ExampleWithObserver() {
	obs := rwsplit.Observer{
		WaitEnd: func(ctx context.Context, e rwsplit.WaitEvent) {
			switch {
			case e.Skipped:
				fmt.Printf("no wait on %s (%s): it has the writes\n", e.Server.Name(), e.Mode)
			case e.Err != nil:
				fmt.Printf("wait on %s (%s) failed in %v: %v\n", e.Server.Name(), e.Mode, e.Duration, e.Err)
			default:
				fmt.Printf("wait on %s (%s): ok in %v\n", e.Server.Name(), e.Mode, e.Duration)
			}
		},
		Route: func(ctx context.Context, e rwsplit.RouteEvent) {
			if e.Reason == "fallback" {
				fmt.Printf("fallback under %s: %v\n", e.Mode, e.Cause)
			}
		},
	}
	db, err := rwsplit.Open("mysql", "app:secret@tcp(primary:3306)/app",
		[]string{"app:secret@tcp(replica1:3306)/app"},
		rwsplit.WithObserver(obs), rwsplit.WithObserver(rwsplit.SlogObserver(nil)))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
}

// Ask where a query would go, and why, without running it.
func ExampleDB_Explain() {
	db, err := rwsplit.Open("mysql", "app:secret@tcp(primary:3306)/app",
		[]string{"app:secret@tcp(replica1:3306)/app"})
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	ctx := rwsplit.WithConsistency(context.Background(), rwsplit.WaitGTID(time.Second))
	e := db.Explain(ctx, "SELECT name FROM users WHERE id = ?")
	fmt.Println(e) // e.g. "one of replica 0: read-only: may go to a replica; mode WaitGTID(1s); ..."
	fmt.Println(e.Wait, e.Candidates)
	for _, s := range e.Candidates {
		fmt.Println(s.Name(), s.Health().State, s.Health().Lag)
	}
}

// Record which server answered the calls of one request (no observer
// needed).
func ExampleWithTrace() {
	db, err := rwsplit.Open("mysql", "app:secret@tcp(primary:3306)/app",
		[]string{"app:secret@tcp(replica1:3306)/app"})
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	var tr rwsplit.Trace
	ctx := rwsplit.WithTrace(context.Background(), &tr)
	var name string
	_ = db.QueryRowContext(ctx, "SELECT name FROM users WHERE id = ?", 1).Scan(&name)
	if routes := tr.Routes(); len(routes) > 0 {
		last := routes[len(routes)-1] // where the read ran (nil: it could not be routed)
		if last.Server != nil {
			fmt.Println(last.Server.Name(), last.Reason)
		}
	}
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
