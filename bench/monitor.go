package main

import (
	"context"
	"database/sql"
	"fmt"
	"log"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/rwsplit/rwsplit"
	"github.com/rwsplit/rwsplit/rwsplittest"
)

// ------------------------------------------------------------ monitor cost

// What one monitor check costs a server, and what a fleet of idle
// instances costs each replica: the queries the monitor sent before the
// cheaper forms (old) and now (new), as rwsplit's internal/cluster writes
// them, for the flavor and version the cluster runs.

const (
	oldMySQLIdentity = "SELECT @@server_id, @@GLOBAL.read_only, @@server_uuid, " +
		"(SELECT VARIABLE_VALUE FROM performance_schema.global_variables WHERE VARIABLE_NAME = 'group_replication_group_name')"
	oldMariaDBIdentity = "SELECT @@server_id, @@GLOBAL.read_only, " +
		"(SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_VARIABLES WHERE VARIABLE_NAME = 'WSREP_ON')"
	newMySQLIdentity   = "SELECT @@server_id, @@GLOBAL.read_only, @@server_uuid, @@GLOBAL.gtid_executed, @@GLOBAL.gtid_mode"
	newMariaDBIdentity = "SELECT @@server_id, @@GLOBAL.read_only, @@GLOBAL.gtid_binlog_pos, @@GLOBAL.gtid_slave_pos, @@GLOBAL.wsrep_on"
	newMariaDBStatus   = ", s.Slave_IO_Running, s.Slave_SQL_Running, s.Seconds_Behind_Master, s.Master_Server_Id, " +
		"s.Last_IO_Errno, s.Last_IO_Error, s.Last_SQL_Errno, s.Last_SQL_Error " +
		"FROM (SELECT 1) d LEFT JOIN information_schema.SLAVE_STATUS s ON s.Connection_name = @@default_master_connection"
)

// checkForms are the queries of one check of a replica and of the primary,
// old and new, for cl's servers.
func checkForms(cl *rwsplittest.Cluster) (oldReplica, newReplica, oldPrimary, newPrimary []string) {
	if cl.Flavor == rwsplittest.MariaDB {
		oldReplica = []string{oldMariaDBIdentity, "SHOW REPLICA STATUS", "SELECT @@GLOBAL.gtid_slave_pos"}
		oldPrimary = []string{oldMariaDBIdentity, "SELECT @@GLOBAL.gtid_binlog_pos"}
		newPrimary = []string{newMariaDBIdentity}
		if mariaDBAtLeast(cl.Version, 11, 6) {
			newReplica = []string{newMariaDBIdentity + newMariaDBStatus}
		} else {
			newReplica = []string{newMariaDBIdentity, "SHOW REPLICA STATUS"}
		}
		return
	}
	return []string{oldMySQLIdentity, "SHOW REPLICA STATUS"}, []string{newMySQLIdentity, "SHOW REPLICA STATUS"},
		[]string{oldMySQLIdentity, "SELECT @@GLOBAL.gtid_executed"}, []string{newMySQLIdentity}
}

// mariaDBAtLeast reports whether VERSION() string v is major.minor or later.
func mariaDBAtLeast(v string, major, minor int) bool {
	f := strings.FieldsFunc(v, func(r rune) bool { return r == '.' || r == '-' })
	if len(f) < 2 {
		return false
	}
	a, _ := strconv.Atoi(f[0])
	b, _ := strconv.Atoi(f[1])
	return a > major || a == major && b >= minor
}

// serverCPU is the CPU time (user + system) the server process in node n's
// container has used, from /proc inside the container.
func serverCPU(n *rwsplittest.Node) (time.Duration, error) {
	id, err := containerID(n)
	if err != nil {
		return 0, err
	}
	b, err := exec.Command("docker", "exec", id, "sh", "-c",
		"cat /proc/$(pidof mysqld mariadbd | cut -d' ' -f1)/stat; getconf CLK_TCK").Output()
	if err != nil {
		return 0, fmt.Errorf("docker exec %s: %w", id, err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	stat := lines[0]
	i := strings.LastIndexByte(stat, ')')
	if i < 0 || len(lines) < 2 {
		return 0, fmt.Errorf("unexpected /proc stat: %q", b)
	}
	f := strings.Fields(stat[i+2:])
	if len(f) < 13 {
		return 0, fmt.Errorf("unexpected /proc stat: %q", stat)
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	hz, _ := strconv.ParseInt(strings.TrimSpace(lines[1]), 10, 64)
	if hz <= 0 {
		hz = 100
	}
	return time.Duration(utime+stime) * time.Second / time.Duration(hz), nil
}

// questions is the server's Questions counter (statements clients sent),
// less the one that reads it.
func questions(ctx context.Context, n *rwsplittest.Node) (int64, error) {
	var name string
	var v int64
	err := n.Admin().QueryRowContext(ctx, "SHOW GLOBAL STATUS LIKE 'Questions'").Scan(&name, &v)
	return v - 1, err
}

// runChecks sends n checks (each the queries qs) on one connection of db.
func runChecks(ctx context.Context, db *sql.DB, qs []string, n int) error {
	for i := 0; i < n; i++ {
		for _, q := range qs {
			rows, err := db.QueryContext(ctx, q)
			if err != nil {
				return fmt.Errorf("%s: %w", q, err)
			}
			for rows.Next() {
			}
			if err := rows.Close(); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkCost measures the server CPU and the wall time of one check (the
// queries qs) on node n: checks checks per round, rounds rounds, the
// forms interleaved by the caller. It returns CPU and wall per check.
func checkCost(ctx context.Context, n *rwsplittest.Node, qs []string, checks int) (cpu, wall time.Duration, err error) {
	db := open(n.DSN())
	defer db.Close()
	db.SetMaxOpenConns(1)
	if err := runChecks(ctx, db, qs, 50); err != nil { // warm: connection, caches
		return 0, 0, err
	}
	c0, err := serverCPU(n)
	if err != nil {
		return 0, 0, err
	}
	t0 := time.Now()
	if err := runChecks(ctx, db, qs, checks); err != nil {
		return 0, 0, err
	}
	wall = time.Since(t0)
	c1, err := serverCPU(n)
	if err != nil {
		return 0, 0, err
	}
	return (c1 - c0) / time.Duration(checks), wall / time.Duration(checks), nil
}

// medianD is the median of d.
func medianD(d []time.Duration) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

// idleFleet opens n DBs on cl (standing for n instances), lets them idle
// for window, and returns the queries and server CPU replica r received in
// that window (from its Questions counter and /proc).
func idleFleet(ctx context.Context, cl *rwsplittest.Cluster, r *rwsplittest.Node, n int, window time.Duration) (q int64, cpu time.Duration, err error) {
	dbs := make([]*rwsplit.DB, 0, n)
	defer func() {
		for _, db := range dbs {
			db.Close()
		}
	}()
	for i := 0; i < n; i++ {
		db, err := rwsplit.Open("mysql", cl.Primary.DSN(), cl.ReplicaDSNs())
		if err != nil {
			return 0, 0, err
		}
		dbs = append(dbs, db)
	}
	q0, err := questions(ctx, r)
	if err != nil {
		return 0, 0, err
	}
	c0, err := serverCPU(r)
	if err != nil {
		return 0, 0, err
	}
	time.Sleep(window)
	q1, err := questions(ctx, r)
	if err != nil {
		return 0, 0, err
	}
	c1, err := serverCPU(r)
	if err != nil {
		return 0, 0, err
	}
	return q1 - q0 - 1, c1 - c0, nil // less this section's own SHOW
}

// monitorCost is the bench section "Monitor cost": the server CPU of one
// check, old and new, and the check queries a replica receives from 1, 50
// and 200 idle DBs (standing for instances) against today's rate before
// the back-off.
func monitorCost(ctx context.Context, o *out, cl *rwsplittest.Cluster) string {
	var s strings.Builder
	fmt.Fprintf(&s, "## Monitor cost\n\n")
	oldR, newR, oldP, newP := checkForms(cl)
	r, p := cl.Replicas[0], cl.Primary
	const checks, rounds = 3000, 3
	type form struct {
		name string
		node *rwsplittest.Node
		qs   []string
	}
	forms := []form{
		{"replica check, old", r, oldR}, {"replica check, new", r, newR},
		{"primary check, old", p, oldP}, {"primary check, new", p, newP},
		{"SELECT 1 (the floor: one round trip)", r, []string{"SELECT 1"}},
	}
	cpu := make([][]time.Duration, len(forms))
	wall := make([][]time.Duration, len(forms))
	for round := 0; round < rounds; round++ {
		for i, f := range forms {
			c, w, err := checkCost(ctx, f.node, f.qs, checks)
			if err != nil {
				o.note("monitor cost: %s: %v", f.name, err)
				return s.String()
			}
			cpu[i], wall[i] = append(cpu[i], c), append(wall[i], w)
		}
	}
	fmt.Fprintf(&s, "What one monitor check costs the server (%s): server CPU (mysqld's utime+stime from /proc in its container) "+
		"and wall time per check, over %d checks on one connection, median of %d interleaved rounds, on an idle server.\n\n", cl.Version, checks, rounds)
	fmt.Fprintf(&s, "| check | queries | server CPU per check | wall per check |\n|---|---:|---:|---:|\n")
	for i, f := range forms {
		fmt.Fprintf(&s, "| %s | %d | %s | %s |\n", f.name, len(f.qs), us(medianD(cpu[i])), us(medianD(wall[i])))
	}
	fmt.Fprintf(&s, "\nQueries: old replica check `%s`; new `%s`.\n\n", strings.Join(oldR, "; "), strings.Join(newR, "; "))

	fmt.Fprintf(&s, "Check queries replica1 receives from N idle DBs (each standing for an instance, default options: 1 s interval, no discovery), "+
		"from its Questions counter over the window that starts once all are open, against today's rate before the back-off "+
		"(N × %d queries per second: every replica checked each second):\n\n", len(oldR))
	fmt.Fprintf(&s, "| DBs | window | queries received | per second | before the back-off | ratio | replica CPU in the window |\n|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, c := range []struct {
		n      int
		window time.Duration
	}{{1, 20 * time.Second}, {50, 20 * time.Second}, {200, 60 * time.Second}} {
		log.Printf("monitor cost: %d idle DBs for %v", c.n, c.window)
		q, cpuUsed, err := idleFleet(ctx, cl, r, c.n, c.window)
		if err != nil {
			o.note("monitor cost: %d DBs: %v", c.n, err)
			continue
		}
		before := float64(c.n*len(oldR)) * c.window.Seconds()
		fmt.Fprintf(&s, "| %d | %v | %d | %.1f/s | %.0f/s | %.3f | %s (%.2f%% of a core) |\n", c.n, c.window, q,
			float64(q)/c.window.Seconds(), before/c.window.Seconds(), float64(q)/before,
			cpuUsed.Round(time.Millisecond), 100*cpuUsed.Seconds()/c.window.Seconds())
	}
	fmt.Fprintf(&s, "\nThe window includes each DB's first checks (at once, then 4 and 16 intervals later), and the version "+
		"detection of each pool; after that an idle DB checks each replica every 30 s ± 20%%.\n\n")
	return s.String()
}
