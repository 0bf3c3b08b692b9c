// Command queue shows the message-queue case of read-your-writes: a producer
// writes an order and publishes a message; a consumer in another process
// (here: another *rwsplit.DB) reads the order from a replica as soon as the
// message arrives, typically before the replica has applied the write. The
// message carries the producer's causality token, so the consumer waits for
// exactly that write (WaitGTID) and never reads stale data; without the
// token, it often would.
//
//	go run ./examples/queue
package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/rwsplit/rwsplit"
	"github.com/rwsplit/rwsplit/rwsplittest"
)

// Message is what the producer publishes: the order's id and the token of
// the write that created it.
type Message struct {
	OrderID int64
	Token   string
}

// Produce writes n orders and publishes a message for each on q.
func Produce(ctx context.Context, db *rwsplit.DB, n int, q chan<- Message) error {
	defer close(q)
	for i := range n {
		sess := rwsplit.NewSession(rwsplit.Token{})
		wctx := rwsplit.WithSession(ctx, sess)
		res, err := db.ExecContext(wctx, "INSERT INTO orders (item) VALUES (?)", fmt.Sprintf("item %d", i))
		if err != nil {
			return err
		}
		id, err := res.LastInsertId()
		if err != nil {
			return err
		}
		q <- Message{OrderID: id, Token: sess.Token().String()}
	}
	return nil
}

// Consume reads the order of every message under mode, trusting the token
// only after ParseToken, and counts the orders it could not see.
func Consume(ctx context.Context, db *rwsplit.DB, mode rwsplit.Consistency, useToken bool, q <-chan Message) (read, stale int, err error) {
	for m := range q {
		var tok rwsplit.Token
		if useToken {
			if tok, err = rwsplit.ParseToken(m.Token); err != nil {
				return read, stale, err // a malformed message: dead-letter it
			}
		}
		rctx := rwsplit.WithConsistency(rwsplit.WithSession(ctx, rwsplit.NewSession(tok)), mode)
		var item string
		err := db.QueryRowContext(rctx, "SELECT item FROM orders WHERE id = ?", m.OrderID).Scan(&item)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			stale++
		case err != nil:
			return read, stale, err
		default:
			read++
		}
	}
	return read, stale, nil
}

// Setup creates the orders table.
func Setup(ctx context.Context, c *rwsplittest.Cluster, db *rwsplit.DB) error {
	if _, err := db.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS orders (id BIGINT AUTO_INCREMENT PRIMARY KEY, item VARCHAR(40))"); err != nil {
		return err
	}
	return c.WaitCaughtUp(ctx)
}

// Run produces n orders through producer and consumes them through consumer.
func Run(ctx context.Context, producer, consumer *rwsplit.DB, mode rwsplit.Consistency, useToken bool, n int) (read, stale int, err error) {
	q := make(chan Message, n)
	perr := make(chan error, 1)
	go func() { perr <- Produce(ctx, producer, n, q) }()
	read, stale, err = Consume(ctx, consumer, mode, useToken, q)
	return read, stale, errors.Join(err, <-perr)
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "queue:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx := context.Background()
	c, err := rwsplittest.StartCluster(ctx, rwsplittest.MariaDB)
	if err != nil {
		return err
	}
	defer c.Terminate(context.WithoutCancel(ctx))
	open := func() (*rwsplit.DB, error) { return rwsplit.Open("mysql", c.Primary.DSN(), c.ReplicaDSNs()) }
	producer, err := open()
	if err != nil {
		return err
	}
	defer producer.Close()
	consumer, err := open()
	if err != nil {
		return err
	}
	defer consumer.Close()
	if err := Setup(ctx, c, producer); err != nil {
		return err
	}
	// Replication takes a few milliseconds; the consumer reads as soon as
	// the message arrives, often before a replica has applied the write.
	for _, tc := range []struct {
		name     string
		mode     rwsplit.Consistency
		useToken bool
	}{
		{"Eventual, no token", rwsplit.Eventual, false},
		{"WaitGTID(1s) with the message's token", rwsplit.WaitGTID(time.Second), true},
	} {
		start := time.Now()
		read, stale, err := Run(ctx, producer, consumer, tc.mode, tc.useToken, 500)
		if err != nil {
			return err
		}
		fmt.Printf("%-40s read %3d, stale %3d, in %v\n", tc.name, read, stale, time.Since(start).Round(time.Millisecond))
	}
	st := consumer.Stats()
	fmt.Printf("consumer: %d waits, %d skipped, %d fallbacks to the primary\n", st.Waits, st.WaitsSkipped, st.Fallbacks)
	return nil
}
