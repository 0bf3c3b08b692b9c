package rwsplit_test

import (
	"context"
	"net/http"
	"time"

	"github.com/rwsplit/rwsplit"
)

// Fast reads your writes without ever waiting: a replica already known to
// have them, else the primary.
func ExampleConsistency_fast() {
	db := openExample()
	defer db.Close()
	ctx := rwsplit.WithSession(context.Background(), rwsplit.NewSession(rwsplit.Token{}))
	ctx = rwsplit.WithConsistency(ctx, rwsplit.Fast)
	_, _ = db.ExecContext(ctx, "UPDATE carts SET n = n + 1 WHERE user_id = ?", 42)
	var n int
	_ = db.QueryRowContext(ctx, "SELECT n FROM carts WHERE user_id = ?", 42).Scan(&n) // no wait, ever
}

// Latest sees every write committed before the read began, by anyone: here a
// dashboard that shares no token with the services that write.
func ExampleLatest() {
	db := openExample()
	defer db.Close()
	count := func(w http.ResponseWriter, r *http.Request) {
		ctx := rwsplit.WithConsistency(r.Context(), rwsplit.Latest(200*time.Millisecond))
		var n int
		if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM orders").Scan(&n); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
		}
	}
	_ = http.HandlerFunc(count)
}

// Monotonic: a user paging through a feed never sees it go back in time,
// whichever replica serves each page, and sees their own posts.
func ExampleMonotonic() {
	db := openExample()
	defer db.Close()
	sess := rwsplit.NewSession(rwsplit.Token{}) // one per user, kept for their visit
	ctx := rwsplit.WithConsistency(rwsplit.WithSession(context.Background(), sess), rwsplit.Monotonic(200*time.Millisecond))
	for page := 0; page < 3; page++ {
		rows, err := db.QueryContext(ctx, "SELECT id, body FROM posts ORDER BY id DESC LIMIT 20 OFFSET ?", 20*page)
		if err != nil {
			return
		}
		_ = rows.Close()
	}
}

// MaxStaleness reads a replica no more than 5 s behind, as the monitor
// measures it, else the primary: a report that tolerates a little lag.
func ExampleMaxStaleness() {
	db := openExample()
	defer db.Close()
	ctx := rwsplit.WithConsistency(context.Background(), rwsplit.MaxStaleness(5*time.Second))
	var total int64
	_ = db.QueryRowContext(ctx, "SELECT SUM(total) FROM orders WHERE day = CURRENT_DATE").Scan(&total)
}
