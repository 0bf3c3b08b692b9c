package rwsplit_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/rwsplit/rwsplit"
)

// The examples open a DB over placeholder addresses; see examples/ for
// programs that run against a real cluster (make demo).

func openExample() *rwsplit.DB {
	db, err := rwsplit.Open("mysql", "app:secret@tcp(primary:3306)/app",
		[]string{"app:secret@tcp(replica1:3306)/app", "app:secret@tcp(replica2:3306)/app"})
	if err != nil {
		panic(err) // an example: real code returns the error
	}
	return db
}

// Eventual, the default, reads any usable replica however far behind it is.
func ExampleConsistency_eventual() {
	db := openExample()
	defer db.Close()
	var n int
	_ = db.QueryRowContext(context.Background(), "SELECT COUNT(*) FROM users").Scan(&n)
}

// Primary sends the read to the primary: always fresh, no read scaling.
func ExampleConsistency_primary() {
	db := openExample()
	defer db.Close()
	ctx := rwsplit.WithConsistency(context.Background(), rwsplit.Primary)
	var balance int64
	_ = db.QueryRowContext(ctx, "SELECT balance FROM accounts WHERE id = ?", 1).Scan(&balance)
}

// Sleep reads a replica once the delay has passed since the scope's last
// write, sleeping only the remainder.
func ExampleSleep() {
	db := openExample()
	defer db.Close()
	ctx := rwsplit.WithConsistency(context.Background(), rwsplit.Sleep(500*time.Millisecond))
	_, _ = db.ExecContext(ctx, "UPDATE users SET name = ? WHERE id = ?", "ada", 1)
	var name string
	_ = db.QueryRowContext(ctx, "SELECT name FROM users WHERE id = ?", 1).Scan(&name) // sleeps ~500 ms first
}

// CaughtUp reads a replica that reports it has applied all it received,
// polling up to the timeout, else the primary.
func ExampleCaughtUp() {
	db := openExample()
	defer db.Close()
	ctx := rwsplit.WithConsistency(context.Background(), rwsplit.CaughtUp(100*time.Millisecond))
	var n int
	_ = db.QueryRowContext(ctx, "SELECT COUNT(*) FROM orders").Scan(&n)
}

// WaitPosition waits on the replica for the primary's binlog position that
// covers the scope's writes. Without a Session the scope is the DB: the read
// waits for the last write made through db, from any goroutine.
func ExampleWaitPosition() {
	db := openExample()
	defer db.Close()
	_, _ = db.ExecContext(context.Background(), "INSERT INTO orders (id, total) VALUES (?, ?)", 7, 100)
	ctx := rwsplit.WithConsistency(context.Background(), rwsplit.WaitPosition(200*time.Millisecond))
	var total int
	_ = db.QueryRowContext(ctx, "SELECT total FROM orders WHERE id = ?", 7).Scan(&total)
}

// WaitGTID waits on the replica for the GTIDs of the scope's writes; it is
// the most precise mode.
func ExampleWaitGTID() {
	db := openExample()
	defer db.Close()
	sess := rwsplit.NewSession(rwsplit.Token{})
	ctx := rwsplit.WithSession(context.Background(), sess)
	ctx = rwsplit.WithConsistency(ctx, rwsplit.WaitGTID(200*time.Millisecond))
	_, _ = db.ExecContext(ctx, "UPDATE carts SET n = n + 1 WHERE user_id = ?", 42)
	var n int
	_ = db.QueryRowContext(ctx, "SELECT n FROM carts WHERE user_id = ?", 42).Scan(&n) // sees the update
}

// OrFail protects the primary: when no replica catches up in time the read
// fails instead of falling back.
func ExampleConsistency_OrFail() {
	db := openExample()
	defer db.Close()
	ctx := rwsplit.WithConsistency(context.Background(), rwsplit.WaitGTID(50*time.Millisecond).OrFail())
	var n int
	err := db.QueryRowContext(ctx, "SELECT n FROM carts WHERE user_id = ?", 42).Scan(&n)
	if errors.Is(err, rwsplit.ErrReplicaNotCaughtUp) {
		fmt.Println("try again later") // e.g. HTTP 503 with Retry-After
	}
}

// WithDefaultConsistency sets the mode of every call whose context sets none.
func ExampleWithDefaultConsistency() {
	db, err := rwsplit.Open("mysql", "app:secret@tcp(primary:3306)/app",
		[]string{"app:secret@tcp(replica:3306)/app"},
		rwsplit.WithDefaultConsistency(rwsplit.WaitGTID(time.Second)))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer db.Close()
}

// A Session carries one client's writes across requests: export its Token
// after the writes, and resume it in the next request with ParseToken.
func ExampleNewSession() {
	db := openExample()
	defer db.Close()
	handler := func(w http.ResponseWriter, r *http.Request) {
		tok := rwsplit.Token{}
		if c, err := r.Cookie("rwsplit"); err == nil {
			var perr error
			if tok, perr = rwsplit.ParseToken(c.Value); perr != nil {
				http.Error(w, "bad token", http.StatusBadRequest)
				return
			}
		}
		sess := rwsplit.NewSession(tok)
		ctx := rwsplit.WithSession(r.Context(), sess)
		ctx = rwsplit.WithConsistency(ctx, rwsplit.WaitGTID(200*time.Millisecond))
		if r.Method == http.MethodPost {
			_, _ = db.ExecContext(ctx, "INSERT INTO notes (body) VALUES (?)", r.FormValue("body"))
		}
		var n int
		_ = db.QueryRowContext(ctx, "SELECT COUNT(*) FROM notes").Scan(&n)
		http.SetCookie(w, &http.Cookie{Name: "rwsplit", Value: sess.Token().String()})
		fmt.Fprintln(w, n)
	}
	_ = handler
}

// ParseToken reads a token from untrusted text, strictly.
func ExampleParseToken() {
	_, err := rwsplit.ParseToken("1~my~not a gtid~~0")
	fmt.Println(errors.Is(err, rwsplit.ErrBadToken))
	tok, err := rwsplit.ParseToken("")
	fmt.Println(tok.IsZero(), err)
	// Output:
	// true
	// true <nil>
}

// preferFirst is a Balancer of one's own: the replica with index 0 while
// it is a candidate, else the candidate with the fewest calls running.
type preferFirst struct{}

func (preferFirst) Pick(candidates []*rwsplit.Server) *rwsplit.Server {
	var best *rwsplit.Server
	var least int64
	for _, s := range candidates {
		if s.Index() == 0 {
			return s
		}
		if n := s.Health().InFlight; best == nil || n < least {
			best, least = s, n
		}
	}
	return best
}

// A Balancer of one's own: here, prefer the replica with index 0 and use
// the others only when it is out of rotation, choosing by their Health.
func ExampleBalancer() {
	db, err := rwsplit.Open("mysql", "app:secret@tcp(primary:3306)/app",
		[]string{"app:secret@tcp(replica1:3306)/app", "app:secret@tcp(replica2:3306)/app"},
		rwsplit.WithBalancer(preferFirst{}))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer db.Close()
}

// A read-only transaction runs on one replica, chosen under the context's
// mode; a read-write one on the primary, and its commit is recorded.
func ExampleDB_BeginTx() {
	db := openExample()
	defer db.Close()
	tx, err := db.BeginTx(context.Background(), &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return
	}
	defer tx.Rollback()
	var n int
	_ = tx.QueryRowContext(context.Background(), "SELECT COUNT(*) FROM users").Scan(&n)
}

// Under WithDiscovery the monitor finds the primary among every server given
// and follows failovers on its own; while no server is writable, writes fail
// at once with ErrNoPrimary and reads go on.
func ExampleWithDiscovery() {
	dsns := []string{
		"app:secret@tcp(db1:3306)/app",
		"app:secret@tcp(db2:3306)/app",
		"app:secret@tcp(db3:3306)/app",
	}
	db, err := rwsplit.Open("mysql", dsns[0], dsns[1:], rwsplit.WithDiscovery(),
		rwsplit.WithMaxReplicationLag(2*time.Second), rwsplit.WithMinServing(1))
	if err != nil {
		panic(err)
	}
	defer db.Close()
	_, err = db.ExecContext(context.Background(), "UPDATE accounts SET balance = balance - 10 WHERE id = 1")
	if errors.Is(err, rwsplit.ErrNoPrimary) {
		fmt.Println("mid-failover: retry the write later")
	}
}

// A DB with a token key signs the tokens it formats and accepts only tokens
// signed with it (or with a previous key, during a rotation).
func ExampleWithTokenKey() {
	secret := []byte("0123456789abcdef0123456789abcdef") // from your secret store
	db, err := rwsplit.Open("mysql", "app:secret@tcp(primary:3306)/app", nil, rwsplit.WithTokenKey(secret))
	if err != nil {
		panic(err)
	}
	defer db.Close()
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		sess := rwsplit.NewSession(rwsplit.Token{})
		if c, err := r.Cookie("rw"); err == nil {
			tok, err := db.ParseToken(c.Value) // ErrBadToken if forged or altered
			if err == nil {
				sess = rwsplit.NewSession(tok)
			}
		}
		ctx := rwsplit.WithSession(r.Context(), sess)
		_, _ = db.ExecContext(ctx, "INSERT INTO visits (at) VALUES (NOW())")
		http.SetCookie(w, &http.Cookie{Name: "rw", Value: db.FormatToken(sess.Token())})
	})
}
