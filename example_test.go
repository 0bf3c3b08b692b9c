package rwsplit_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/rwsplit/rwsplit"
	"github.com/rwsplit/rwsplit/internal/fakedb"
)

// The examples run on internal/fakedb, an in-memory MySQL cluster with one
// table kv(k, v), opened with Open under the driver name "fakedb". Against a
// real cluster, Open takes the "mysql" driver and its DSNs (see ExampleOpen,
// and examples/ for programs run by make demo).

// laggingCluster returns an in-memory cluster of a primary and n replicas
// where k=1 holds 1 everywhere. Its replicas lag: they apply the primary's
// later writes only when a read waits for them there.
func laggingCluster(n int) *fakedb.Cluster {
	c := fakedb.NewCluster(fakedb.MySQL, n)
	c.Write(1, 1)
	for _, r := range c.Replicas() {
		r.StopApplier()
		r.ApplyOnWait(true)
	}
	return c
}

// openOn opens a DB over c's primary and replicas, as Open("mysql", ...)
// does over a real cluster's DSNs.
func openOn(c *fakedb.Cluster, opts ...rwsplit.Option) *rwsplit.DB {
	var replicas []string
	for _, r := range c.Replicas() {
		replicas = append(replicas, fakeDSN(c, r))
	}
	db, err := rwsplit.Open("fakedb", fakeDSN(c, c.Primary()), replicas, opts...)
	if err != nil {
		panic(err) // an example: real code returns the error
	}
	return db
}

// printRead reads k=1 under ctx and prints the value read and the server of
// db that served the read, or the error.
func printRead(ctx context.Context, db *rwsplit.DB) { printReadVia(ctx, db, db) }

// printReadVia is printRead through q: db itself, or a *sql.DB over
// db.Connector().
func printReadVia(ctx context.Context, db *rwsplit.DB, q interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}) {
	before := readsBy(db)
	var v int64
	if err := q.QueryRowContext(ctx, "SELECT v FROM kv WHERE k = ?", 1).Scan(&v); err != nil {
		fmt.Println("error:", err)
		return
	}
	after := readsBy(db)
	for name, n := range after {
		if n > before[name] {
			fmt.Printf("read %d on %s\n", v, name)
		}
	}
}

// readsBy returns how many reads each server of db has served, by name.
func readsBy(db *rwsplit.DB) map[string]uint64 {
	m := map[string]uint64{"primary": db.Stats().PrimaryReads}
	for _, s := range db.Servers() {
		if s.Index() >= 0 {
			m[s.Name()] = s.Health().Reads
		}
	}
	return m
}

// fakeServers maps the DSNs of the "fakedb" driver to their servers.
var fakeServers sync.Map

// fakeDSN returns the DSN of server s of c for the "fakedb" driver.
func fakeDSN(c *fakedb.Cluster, s *fakedb.Server) string {
	dsn := fmt.Sprintf("fakedb:%p:%d", c, s.ID())
	fakeServers.Store(dsn, s)
	return dsn
}

// fakeDriver connects to the servers named by fakeDSN.
type fakeDriver struct{}

func (fakeDriver) Open(dsn string) (driver.Conn, error) {
	s, ok := fakeServers.Load(dsn)
	if !ok {
		return nil, fmt.Errorf("fakedb: no server %q", dsn)
	}
	return s.(*fakedb.Server).Connector(false).Connect(context.Background())
}

func init() { sql.Register("fakedb", fakeDriver{}) }

// Open takes a driver name, the primary's DSN and the replicas'. Writes go
// to the primary, provably read-only reads to a replica.
func ExampleOpen() {
	c := laggingCluster(1)
	// On MySQL: rwsplit.Open("mysql", "app:secret@tcp(primary:3306)/app",
	//	[]string{"app:secret@tcp(replica:3306)/app"})
	db, err := rwsplit.Open("fakedb", fakeDSN(c, c.Primary()), []string{fakeDSN(c, c.Replicas()[0])})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer db.Close()
	if _, err := db.Exec("UPDATE kv SET v = ? WHERE k = ?", 2, 1); err != nil {
		fmt.Println(err)
		return
	}
	printRead(context.Background(), db) // Eventual, the default: the replica has not applied the update yet
	// Output:
	// read 1 on replica 0
}

// WithConsistency sets the mode of the calls made with its context: the
// same read under Eventual, the default, and under WaitGTID.
func ExampleWithConsistency() {
	c := laggingCluster(1)
	db := openOn(c)
	defer db.Close()
	ctx := context.Background()
	_, _ = db.ExecContext(ctx, "UPDATE kv SET v = ? WHERE k = ?", 2, 1)
	printRead(ctx, db)
	printRead(rwsplit.WithConsistency(ctx, rwsplit.WaitGTID(time.Second)), db)
	// Output:
	// read 1 on replica 0
	// read 2 on replica 0
}

// WithDefaultConsistency sets the mode of every call whose context sets
// none: here every read reads the DB's earlier writes.
func ExampleWithDefaultConsistency() {
	c := laggingCluster(1)
	db := openOn(c, rwsplit.WithDefaultConsistency(rwsplit.WaitGTID(time.Second)))
	defer db.Close()
	_, _ = db.Exec("UPDATE kv SET v = ? WHERE k = ?", 2, 1)
	printRead(context.Background(), db)
	// Output:
	// read 2 on replica 0
}

// A Session scopes read-your-writes to one client: a read under it waits
// for that client's writes only.
func ExampleNewSession() {
	c := laggingCluster(1)
	db := openOn(c)
	defer db.Close()
	alice := rwsplit.WithSession(context.Background(), rwsplit.NewSession(rwsplit.Token{}))
	bob := rwsplit.WithSession(context.Background(), rwsplit.NewSession(rwsplit.Token{}))
	_, _ = db.ExecContext(alice, "UPDATE kv SET v = ? WHERE k = ?", 2, 1)
	printRead(rwsplit.WithConsistency(bob, rwsplit.WaitGTID(time.Second)), db)   // nothing to wait for
	printRead(rwsplit.WithConsistency(alice, rwsplit.WaitGTID(time.Second)), db) // waits for alice's write
	// Output:
	// read 1 on replica 0
	// read 2 on replica 0
}

// A token carries a Session from one service to another (a cookie, a
// header, a queue message): the second service reads the first one's write.
func ExampleSession_handOff() {
	c := laggingCluster(1)
	orders, billing := openOn(c), openOn(c) // two services, two DBs
	defer orders.Close()
	defer billing.Close()

	sess := rwsplit.NewSession(rwsplit.Token{})
	_, _ = orders.ExecContext(rwsplit.WithSession(context.Background(), sess), "UPDATE kv SET v = ? WHERE k = ?", 2, 1)
	text := sess.Token().String() // sent along with the request

	tok, err := rwsplit.ParseToken(text)
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := rwsplit.WithSession(context.Background(), rwsplit.NewSession(tok))
	printRead(ctx, billing)
	printRead(rwsplit.WithConsistency(ctx, rwsplit.WaitGTID(time.Second)), billing)
	// Output:
	// read 1 on replica 0
	// read 2 on replica 0
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

// A DB with a token key signs the tokens it formats and accepts only tokens
// signed with it (or with a previous key, during a rotation).
func ExampleWithTokenKey() {
	key := []byte("0123456789abcdef0123456789abcdef") // from your secret store
	c := laggingCluster(1)
	orders, billing := openOn(c, rwsplit.WithTokenKey(key)), openOn(c, rwsplit.WithTokenKey(key))
	defer orders.Close()
	defer billing.Close()

	sess := rwsplit.NewSession(rwsplit.Token{})
	_, _ = orders.ExecContext(rwsplit.WithSession(context.Background(), sess), "UPDATE kv SET v = ? WHERE k = ?", 2, 1)
	signed := orders.FormatToken(sess.Token())

	_, err := billing.ParseToken(sess.Token().String()) // unsigned: made up by a client
	fmt.Println(errors.Is(err, rwsplit.ErrBadToken))
	tok, err := billing.ParseToken(signed)
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := rwsplit.WithSession(context.Background(), rwsplit.NewSession(tok))
	printRead(rwsplit.WithConsistency(ctx, rwsplit.WaitGTID(time.Second)), billing)
	// Output:
	// true
	// read 2 on replica 0
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
	db := openOn(laggingCluster(2), rwsplit.WithBalancer(preferFirst{}))
	defer db.Close()
	for range 3 {
		printRead(context.Background(), db)
	}
	// Output:
	// read 1 on replica 0
	// read 1 on replica 0
	// read 1 on replica 0
}

// Servers and their Health show what the monitor and the router know of
// each server, without I/O: the primary first, then the replicas.
func ExampleDB_Servers() {
	db := openOn(laggingCluster(2), rwsplit.WithBalancer(rwsplit.RoundRobin()))
	defer db.Close()
	for range 3 {
		_ = db.QueryRow("SELECT v FROM kv WHERE k = ?", 1).Scan(new(int64))
	}
	for _, s := range db.Servers() {
		until(func() bool { return !s.Health().LastCheck.IsZero() }) // the monitor's first round has checked it
		h := s.Health()
		fmt.Println(s.Name(), s.Index(), h.State, h.Usable, h.Reads)
	}
	// Output:
	// primary -1 up true 0
	// replica 0 0 up true 2
	// replica 1 1 up true 1
}

// A read-only transaction runs on one replica, chosen under the context's
// mode; a read-write one on the primary, and its commit is recorded.
func ExampleDB_BeginTx() {
	db := openOn(laggingCluster(1))
	defer db.Close()
	ctx := context.Background()
	for _, ro := range []bool{true, false} {
		tx, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: ro})
		if err != nil {
			fmt.Println(err)
			return
		}
		var id int
		_ = tx.QueryRowContext(ctx, "SELECT @@server_id").Scan(&id)
		fmt.Printf("read-only %v: server_id %d\n", ro, id)
		_ = tx.Commit()
	}
	// Output:
	// read-only true: server_id 2
	// read-only false: server_id 1
}

// Under WithDiscovery the monitor finds the primary among every server given
// and follows failovers on its own: here the cluster promotes a replica, and
// the DB's writes follow it.
func ExampleWithDiscovery() {
	c := laggingCluster(2)
	db := openOn(c, rwsplit.WithDiscovery(), rwsplit.WithMonitorInterval(10*time.Millisecond))
	defer db.Close()
	primary := func() string { // the primary comes first in Servers
		if s := db.Servers()[0]; s.Index() < 0 {
			return s.Name()
		}
		return "none"
	}
	fmt.Println("primary:", primary())

	c.Promote(c.Replicas()[0])                            // a failover: server 1 becomes the primary
	until(func() bool { return primary() == "server 1" }) // the monitor's next round finds it
	fmt.Println("primary:", primary())
	_, err := db.Exec("UPDATE kv SET v = ? WHERE k = ?", 2, 1)
	v, _ := c.Primary().Value(1)
	fmt.Println(err, v)
	// Output:
	// primary: server 0
	// primary: server 1
	// <nil> 2
}

// until waits, for 10 s at most, for cond to hold: the monitor works in the
// background. (If it never holds, the example's output says so.)
func until(cond func() bool) {
	for deadline := time.Now().Add(10 * time.Second); !cond() && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
}
