// Command demo starts a real replicated cluster (one primary, two replicas)
// in containers with the test kit, routes calls through rwsplit and prints
// which server answered each one; then it injects replication lag and shows,
// for each consistency mode, how many reads right after a write were stale
// and what the reads cost.
//
//	go run ./examples/demo [-flavor mysql|mariadb|both] [-pairs 200]
package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/rwsplit/rwsplit"
	"github.com/rwsplit/rwsplit/rwsplittest"
)

func main() {
	flavor := flag.String("flavor", "both", "server flavor: mysql, mariadb or both")
	pairs := flag.Int("pairs", 200, "write→read pairs per consistency mode")
	flag.Parse()
	flavors := rwsplittest.Flavors
	if *flavor != "both" {
		flavors = []rwsplittest.Flavor{rwsplittest.Flavor(*flavor)}
	}
	for _, f := range flavors {
		if err := run(f, *pairs); err != nil {
			fmt.Fprintln(os.Stderr, "demo:", err)
			os.Exit(1)
		}
	}
}

func run(flavor rwsplittest.Flavor, pairs int) error {
	ctx := context.Background()
	fmt.Printf("== %s: starting 1 primary + 2 replicas ...\n", flavor)
	c, err := rwsplittest.StartCluster(ctx, flavor)
	if err != nil {
		return err
	}
	defer c.Terminate(context.WithoutCancel(ctx))
	fmt.Printf("   %s ready in %v: primary server_id %d, replicas %d and %d\n\n",
		c.Version, c.StartupTime.Round(time.Millisecond), c.Primary.ServerID, c.Replicas[0].ServerID, c.Replicas[1].ServerID)

	db, err := rwsplit.Open("mysql", c.Primary.DSN(), c.ReplicaDSNs())
	if err != nil {
		return err
	}
	defer db.Close()

	if err := routing(ctx, db); err != nil {
		return err
	}
	return consistency(ctx, c, db, pairs)
}

// routing shows where each kind of call goes.
func routing(ctx context.Context, db *rwsplit.DB) error {
	for _, q := range []string{
		"DROP TABLE IF EXISTS demo",
		"CREATE TABLE demo (id INT AUTO_INCREMENT PRIMARY KEY, written_by INT)",
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	fmt.Println("   call                                                   answered by server_id")
	for range 2 {
		if _, err := db.ExecContext(ctx, "INSERT INTO demo (written_by) SELECT @@server_id"); err != nil {
			return err
		}
		var by int
		pctx := rwsplit.WithConsistency(ctx, rwsplit.Primary)
		if err := db.QueryRowContext(pctx, "SELECT written_by FROM demo ORDER BY id DESC LIMIT 1").Scan(&by); err != nil {
			return err
		}
		fmt.Printf("   %-54s %d (primary)\n", "Exec INSERT ... SELECT @@server_id", by)
	}
	show := func(label string, row interface{ Scan(...any) error }) error {
		var id int
		if err := row.Scan(&id); err != nil {
			return fmt.Errorf("%s: %w", label, err)
		}
		fmt.Printf("   %-54s %d\n", label, id)
		return nil
	}
	for range 4 {
		if err := show("QueryRow SELECT @@server_id", db.QueryRowContext(ctx, "SELECT @@server_id")); err != nil {
			return err
		}
	}
	if err := show("QueryRow SELECT ... FOR UPDATE", db.QueryRowContext(ctx, "SELECT @@server_id FROM dual FOR UPDATE")); err != nil {
		return err
	}
	if err := show("QueryRow /* rwsplit:primary */ SELECT", db.QueryRowContext(ctx, "/* rwsplit:primary */ SELECT @@server_id")); err != nil {
		return err
	}
	if err := show("QueryRow under WithConsistency(Primary)",
		db.QueryRowContext(rwsplit.WithConsistency(ctx, rwsplit.Primary), "SELECT @@server_id")); err != nil {
		return err
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := show("read-write transaction: SELECT @@server_id", tx.QueryRowContext(ctx, "SELECT @@server_id")); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	for range 2 {
		rtx, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
		if err != nil {
			return err
		}
		if err := show("read-only transaction: SELECT @@server_id", rtx.QueryRowContext(ctx, "SELECT @@server_id")); err != nil {
			return err
		}
		if err := rtx.Rollback(); err != nil {
			return err
		}
	}
	st := db.Stats()
	var replicaReads []uint64
	for _, s := range db.Servers() {
		if s.Index() >= 0 { // a replica
			replicaReads = append(replicaReads, s.Health().Reads)
		}
	}
	fmt.Printf("\n   stats: %d writes, %d reads on the primary, %v reads on the replicas\n\n",
		st.Writes, st.PrimaryReads, replicaReads)
	return nil
}

// consistency injects lag and measures each mode.
func consistency(ctx context.Context, c *rwsplittest.Cluster, db *rwsplit.DB, pairs int) error {
	delay := time.Second
	if c.Flavor == rwsplittest.MariaDB {
		delay = 2 * time.Second // MariaDB rounds the delay to whole seconds
	}
	if err := rwsplittest.CreatePairsTable(ctx, c, db); err != nil {
		return err
	}
	for _, r := range c.Replicas {
		if err := r.SetDelay(ctx, delay); err != nil {
			return err
		}
	}
	fmt.Printf("   replicas now apply each write %v after the primary (SOURCE_DELAY/MASTER_DELAY);\n", delay)
	fmt.Printf("   %d write→read pairs per mode, 50 concurrent sessions, token carried as a string:\n\n", pairs)
	fmt.Printf("   %-28s %8s %10s %10s %10s %10s\n", "mode", "stale", "read p50", "read p99", "waits", "fallbacks")
	for _, mode := range []rwsplit.Consistency{
		rwsplit.Eventual,
		rwsplit.Primary,
		rwsplit.Sleep(delay / 5),
		rwsplit.Sleep(3 * time.Second),
		rwsplit.CaughtUp(100 * time.Millisecond),
		rwsplit.WaitPosition(10 * time.Second),
		rwsplit.WaitGTID(10 * time.Second),
		rwsplit.WaitGTID(100 * time.Millisecond),
	} {
		before := db.Stats()
		r := rwsplittest.Pairs(ctx, rwsplittest.PairsConfig{Writer: db, Mode: mode, N: pairs, Workers: 50})
		if len(r.Errors) > 0 {
			return fmt.Errorf("%s: %d errors, first: %w", mode, len(r.Errors), r.Errors[0])
		}
		after := db.Stats()
		fmt.Printf("   %-28s %8s %10v %10v %10d %10d\n", mode, fmt.Sprintf("%d/%d", r.Stale, pairs),
			r.Percentile(0.5).Round(time.Millisecond), r.Percentile(0.99).Round(time.Millisecond),
			after.Waits-before.Waits, after.Fallbacks-before.Fallbacks)
	}
	fmt.Println("\n   " + strings.Join([]string{
		"Eventual reads whatever a replica has; Sleep is only as good as its guess;",
		"CaughtUp cannot see writes a replica has not received; WaitPosition and WaitGTID",
		"wait for the write itself, and fall back to the primary when the wait times out.",
	}, "\n   "))
	for _, r := range c.Replicas {
		if err := r.SetDelay(ctx, 0); err != nil {
			return err
		}
	}
	fmt.Println()
	return nil
}
