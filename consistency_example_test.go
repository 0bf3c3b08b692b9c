package rwsplit_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rwsplit/rwsplit"
)

// One example per consistency mode. Each runs on a cluster whose replicas
// lag (laggingCluster): they apply the primary's writes only when a read
// waits for them.

// Eventual, the default, reads any usable replica however far behind it is:
// here the replica has not applied the update.
func ExampleConsistency_eventual() {
	db := openOn(laggingCluster(1))
	defer db.Close()
	_, _ = db.Exec("UPDATE kv SET v = ? WHERE k = ?", 2, 1)
	printRead(rwsplit.WithConsistency(context.Background(), rwsplit.Eventual), db)
	// Output:
	// read 1 on replica 0
}

// Primary sends the read to the primary: always fresh, no read scaling.
func ExampleConsistency_primary() {
	db := openOn(laggingCluster(1))
	defer db.Close()
	_, _ = db.Exec("UPDATE kv SET v = ? WHERE k = ?", 2, 1)
	printRead(rwsplit.WithConsistency(context.Background(), rwsplit.Primary), db)
	// Output:
	// read 2 on primary
}

// Sleep reads a replica once the delay has passed since the scope's last
// write, sleeping only the remainder: here the replica applies 20 ms behind,
// and the read sleeps 100 ms after the write.
func ExampleSleep() {
	c := laggingCluster(1)
	c.Replicas()[0].SetLag(20 * time.Millisecond)
	c.Replicas()[0].StartApplier()
	db := openOn(c)
	defer db.Close()
	ctx := rwsplit.WithConsistency(context.Background(), rwsplit.Sleep(100*time.Millisecond))
	_, _ = db.ExecContext(ctx, "UPDATE kv SET v = ? WHERE k = ?", 2, 1)
	printRead(ctx, db)
	// Output:
	// read 2 on replica 0
}

// CaughtUp reads a replica that reports it has applied all it received,
// polling up to the timeout, else the primary.
func ExampleCaughtUp() {
	c := laggingCluster(1)
	db := openOn(c)
	defer db.Close()
	ctx := rwsplit.WithConsistency(context.Background(), rwsplit.CaughtUp(50*time.Millisecond))
	_, _ = db.ExecContext(ctx, "UPDATE kv SET v = ? WHERE k = ?", 2, 1)
	printRead(ctx, db)             // the replica received the update, has not applied it
	c.Replicas()[0].StartApplier() // it applies all it received
	printRead(ctx, db)
	// Output:
	// read 2 on primary
	// read 2 on replica 0
}

// WaitPosition waits on the replica for the primary's binlog position that
// covers the scope's writes. Without a Session the scope is the DB: the read
// waits for the last write made through db, from any goroutine.
func ExampleWaitPosition() {
	db := openOn(laggingCluster(1))
	defer db.Close()
	_, _ = db.Exec("UPDATE kv SET v = ? WHERE k = ?", 2, 1)
	printRead(rwsplit.WithConsistency(context.Background(), rwsplit.WaitPosition(time.Second)), db)
	// Output:
	// read 2 on replica 0
}

// WaitGTID waits on the replica for the GTIDs of the scope's writes (here a
// Session's); it is the most precise mode.
func ExampleWaitGTID() {
	db := openOn(laggingCluster(1))
	defer db.Close()
	ctx := rwsplit.WithSession(context.Background(), rwsplit.NewSession(rwsplit.Token{}))
	ctx = rwsplit.WithConsistency(ctx, rwsplit.WaitGTID(time.Second))
	_, _ = db.ExecContext(ctx, "UPDATE kv SET v = ? WHERE k = ?", 2, 1)
	printRead(ctx, db)
	// Output:
	// read 2 on replica 0
}

// OrFail protects the primary: when no replica catches up in time the read
// fails instead of falling back to it.
func ExampleConsistency_OrFail() {
	c := laggingCluster(1)
	c.Replicas()[0].ApplyOnWait(false) // the replica's applier is stuck
	db := openOn(c)
	defer db.Close()
	_, _ = db.Exec("UPDATE kv SET v = ? WHERE k = ?", 2, 1)
	printRead(rwsplit.WithConsistency(context.Background(), rwsplit.WaitGTID(20*time.Millisecond)), db)
	ctx := rwsplit.WithConsistency(context.Background(), rwsplit.WaitGTID(20*time.Millisecond).OrFail())
	err := db.QueryRowContext(ctx, "SELECT v FROM kv WHERE k = ?", 1).Scan(new(int64))
	if errors.Is(err, rwsplit.ErrReplicaNotCaughtUp) {
		fmt.Println("try again later") // e.g. HTTP 503 with Retry-After
	}
	// Output:
	// read 2 on primary
	// try again later
}

// Fast reads your writes without ever waiting: a replica already known to
// have them, else the primary.
func ExampleConsistency_fast() {
	db := openOn(laggingCluster(1))
	defer db.Close()
	ctx := rwsplit.WithSession(context.Background(), rwsplit.NewSession(rwsplit.Token{}))
	_, _ = db.ExecContext(ctx, "UPDATE kv SET v = ? WHERE k = ?", 2, 1)
	printRead(rwsplit.WithConsistency(ctx, rwsplit.Fast), db)                  // no replica known to have it
	printRead(rwsplit.WithConsistency(ctx, rwsplit.WaitGTID(time.Second)), db) // a wait there succeeds
	printRead(rwsplit.WithConsistency(ctx, rwsplit.Fast), db)                  // now known: no wait
	// Output:
	// read 2 on primary
	// read 2 on replica 0
	// read 2 on replica 0
}

// Latest sees every write committed before the read began, by anyone: here
// a write made by another service, which shares no token with the reader.
func ExampleLatest() {
	c := laggingCluster(1)
	db := openOn(c)
	defer db.Close()
	c.Write(1, 2) // another service's write, not through db
	printRead(rwsplit.WithConsistency(context.Background(), rwsplit.WaitGTID(time.Second)), db)
	printRead(rwsplit.WithConsistency(context.Background(), rwsplit.Latest(time.Second)), db)
	// Output:
	// read 1 on replica 0
	// read 2 on replica 0
}

// Monotonic: a user's reads never go back in time, whichever replica the
// balancer picks. Replica 0 has applied the update, replica 1 not; the
// round-robin balancer alternates between them.
func ExampleMonotonic() {
	c := laggingCluster(2)
	c.Write(1, 2)
	c.Replicas()[0].ApplyAll()
	db := openOn(c, rwsplit.WithBalancer(rwsplit.RoundRobin()))
	defer db.Close()
	sess := rwsplit.WithSession(context.Background(), rwsplit.NewSession(rwsplit.Token{})) // one per user
	for _, mode := range []rwsplit.Consistency{rwsplit.Eventual, rwsplit.Monotonic(time.Second)} {
		fmt.Println(mode)
		printRead(rwsplit.WithConsistency(sess, mode), db)
		printRead(rwsplit.WithConsistency(sess, mode), db)
	}
	// Output:
	// Eventual
	// read 2 on replica 0
	// read 1 on replica 1
	// Monotonic(1s)
	// read 2 on replica 0
	// read 2 on replica 0
}

// MaxStaleness reads a replica no more than the bound behind, as the
// monitor measures it, else the primary: a report that tolerates a little
// lag.
func ExampleMaxStaleness() {
	c := laggingCluster(1)
	db := openOn(c, rwsplit.WithMonitorInterval(10*time.Millisecond))
	defer db.Close()
	_, _ = db.Exec("UPDATE kv SET v = ? WHERE k = ?", 2, 1)
	until(func() bool { return db.Servers()[1].Health().Lag >= 50*time.Millisecond }) // the monitor has measured the replica 50 ms behind
	printRead(rwsplit.WithConsistency(context.Background(), rwsplit.MaxStaleness(time.Minute)), db)
	printRead(rwsplit.WithConsistency(context.Background(), rwsplit.MaxStaleness(20*time.Millisecond)), db)
	// Output:
	// read 1 on replica 0
	// read 2 on primary
}
