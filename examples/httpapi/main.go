// Command httpapi is a small HTTP service over rwsplit whose clients read
// their own writes: a middleware carries the causality token, signed
// (WithTokenKey) as it passes through the client, in a cookie (or the
// X-Rwsplit-Token header) from the request that wrote to the next one, which
// waits on a replica for that write (WaitGTID) or reads the primary.
//
// It starts a replicated cluster with the test kit, makes the replicas lag by
// a second, serves on loopback, and plays a client: each "POST then GET" sees
// its own note although the replicas are behind.
//
//	go run ./examples/httpapi
package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/rwsplit/rwsplit"
	"github.com/rwsplit/rwsplit/rwsplittest"
)

// Notes is the service: POST /notes adds a note, GET /notes?id=N reads it.
type Notes struct{ DB *rwsplit.DB }

// ServeHTTP implements http.Handler.
func (n Notes) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	switch r.Method {
	case http.MethodPost:
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<10))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		res, err := n.DB.ExecContext(ctx, "INSERT INTO notes (body) VALUES (?)", string(body))
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		id, _ := res.LastInsertId()
		fmt.Fprint(w, id)
	case http.MethodGet:
		var body string
		var server int
		err := n.DB.QueryRowContext(ctx, "SELECT body, @@server_id FROM notes WHERE id = ?", r.URL.Query().Get("id")).Scan(&body, &server)
		if err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		fmt.Fprintf(w, "%s (read on server %d)", body, server)
	default:
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

// Handler is the service behind the consistency middleware. db should sign
// its tokens (rwsplit.WithTokenKey): they travel through the client.
func Handler(db *rwsplit.DB) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/notes", Consistent(db, rwsplit.WaitGTID(3*time.Second), Notes{DB: db}))
	return mux
}

// randomKey returns the key the service signs its tokens with. Here it is
// random, as there is one process; every instance of a real service reads
// the same key from its secret store.
func randomKey() ([]byte, error) {
	key := make([]byte, 32)
	_, err := rand.Read(key)
	return key, err
}

// Setup creates the notes table.
func Setup(ctx context.Context, c *rwsplittest.Cluster, db *rwsplit.DB) error {
	if _, err := db.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS notes (id INT AUTO_INCREMENT PRIMARY KEY, body TEXT)"); err != nil {
		return err
	}
	return c.WaitCaughtUp(ctx)
}

// Client posts a note and reads it back through base, carrying cookies.
func Client(base string, n int) (seen int, err error) {
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	for i := range n {
		note := fmt.Sprintf("note %d", i)
		resp, err := hc.Post(base+"/notes", "text/plain", strings.NewReader(note))
		if err != nil {
			return seen, err
		}
		id, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		resp, err = hc.Get(base + "/notes?id=" + url.QueryEscape(string(id)))
		if err != nil {
			return seen, err
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Printf("POST %q -> id %s; GET -> %d %s\n", note, id, resp.StatusCode, got)
		if resp.StatusCode == http.StatusOK && strings.HasPrefix(string(got), note+" ") {
			seen++
		}
	}
	return seen, nil
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "httpapi:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx := context.Background()
	c, err := rwsplittest.StartCluster(ctx, rwsplittest.MySQL)
	if err != nil {
		return err
	}
	defer c.Terminate(context.WithoutCancel(ctx))
	key, err := randomKey()
	if err != nil {
		return err
	}
	db, err := rwsplit.Open("mysql", c.Primary.DSN(), c.ReplicaDSNs(), rwsplit.WithTokenKey(key))
	if err != nil {
		return err
	}
	defer db.Close()
	if err := Setup(ctx, c, db); err != nil {
		return err
	}
	for _, r := range c.Replicas {
		if err := r.SetDelay(ctx, time.Second); err != nil {
			return err
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: Handler(db), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(l) }()
	defer srv.Close()
	seen, err := Client("http://"+l.Addr().String(), 5)
	if err != nil {
		return err
	}
	fmt.Printf("read %d of 5 own writes back, replicas 1 s behind\n", seen)
	return nil
}
