package rwsplit_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rwsplit/rwsplit"
	hist "github.com/rwsplit/rwsplit/internal/history" // not history: compact_test.go declares a history func
	"github.com/rwsplit/rwsplit/rwsplittest"
)

// The randomized history checker (`make chaos`; a short form runs in
// `make test`). See TestChaos; the checker itself is internal/history.

const (
	// envChaosDuration sets the load time of each flavor's history run
	// (a Go duration; `make chaos` sets 5m). Default chaosShortDuration.
	envChaosDuration   = "RWSPLIT_CHAOS_DURATION"
	chaosShortDuration = 30 * time.Second
	// envChaosSeed fixes the random seed (the run's log prints it). Timing
	// still varies from run to run.
	envChaosSeed = "RWSPLIT_CHAOS_SEED"
	// envChaosHistory names a directory where each run writes its whole
	// history (faults, then every operation), one file per run.
	envChaosHistory = "RWSPLIT_CHAOS_HISTORY"
	// chaosLongReads is the number of reads a history run of 5 minutes or
	// more must check (`make chaos`).
	chaosLongReads = 50000

	chaosClients   = 32
	chaosConsumers = 4
	// chaosBrokenDuration is the load time of the broken run.
	chaosBrokenDuration = 8 * time.Second

	// chaosAllow1290InPromotion: a write sent to the old primary just
	// before a promotion fenced it is refused with 1290; the library runs
	// it again on the new primary, or says it did not run (WriteError,
	// ErrBeginAgain). A bare 1290 that reaches the caller unjudged (seen on
	// a Conn's prepared statement) is reported apart while this is true;
	// outside a promotion a bare 1290 is always a violation.
	chaosAllow1290InPromotion = true
)

// chaosFlavor is one server line the checker runs against.
type chaosFlavor struct {
	name string
	// cluster returns the cluster, and whether it is shared with other
	// tests (whose topology must be put back).
	cluster func(t *testing.T) (*rwsplittest.Cluster, bool)
	// first and kinds are the history run's faults (see chaosRunConfig);
	// nil: the async ones, a promotion and an applier stop first.
	first, kinds []string
}

var chaosFlavors = []chaosFlavor{
	{name: "mysql", cluster: func(t *testing.T) (*rwsplittest.Cluster, bool) { return cluster(t, rwsplittest.MySQL), true }},
	{name: "mariadb", cluster: func(t *testing.T) (*rwsplittest.Cluster, bool) { return cluster(t, rwsplittest.MariaDB), true }},
	{name: "mariadb-11.8", cluster: func(t *testing.T) (*rwsplittest.Cluster, bool) {
		return rwsplittest.Start(t, rwsplittest.MariaDB, rwsplittest.WithImage(rwsplittest.MariaDB118Image())), false
	}},
	// Group Replication: an applier held (FLUSH TABLES WITH READ LOCK), a
	// member paused, stopped or cut off, the primary paused, an election
	// (group_replication_set_as_primary), bursts.
	{name: "group-replication", cluster: func(t *testing.T) (*rwsplittest.Cluster, bool) {
		return rwsplittest.Start(t, rwsplittest.MySQL, rwsplittest.WithKind(rwsplittest.GroupReplication)), false
	}, first: []string{faultApplier, faultPromote}, kinds: chaosGroupFaultKinds},
	// Galera: the same but the election (every node is writable; a writer
	// change fails writes until the write-safety work holds them).
	{name: "galera", cluster: func(t *testing.T) (*rwsplittest.Cluster, bool) {
		return rwsplittest.Start(t, rwsplittest.MariaDB, rwsplittest.WithKind(rwsplittest.Galera)), false
	}, first: []string{faultApplier}, kinds: chaosGaleraFaultKinds},
}

// chaosDuration is the history run's load time per flavor.
func chaosDuration(t *testing.T) time.Duration {
	v := strings.TrimSpace(os.Getenv(envChaosDuration))
	if v == "" {
		return chaosShortDuration
	}
	d, err := time.ParseDuration(v)
	require.NoError(t, err, "%s=%q", envChaosDuration, v)
	require.GreaterOrEqual(t, d, 10*time.Second, "%s: at least 10s", envChaosDuration)
	return d
}

func chaosSeed(t *testing.T) uint64 {
	if v := strings.TrimSpace(os.Getenv(envChaosSeed)); v != "" {
		s, err := strconv.ParseUint(v, 10, 64)
		require.NoError(t, err, "%s=%q", envChaosSeed, v)
		return s
	}
	return uint64(time.Now().UnixNano())
}

// TestChaos is the randomized history checker. On each server line (MySQL
// 9.7, MariaDB 10.11, MariaDB 11.8 with asynchronous replication; MySQL 9.7
// Group Replication and MariaDB 10.11 Galera, 3 members each), 32 clients share one *rwsplit.DB (db1,
// with discovery) and 4 consumers share a second one (db2). Each client owns
// four rows, writes strictly increasing values to them (two through its own
// Session, two without one) and reads its rows and others' under a random
// mode (Eventual, Primary, Sleep, CaughtUp, WaitPosition, WaitGTID, with
// timeouts from 30 ms to 2 s that fall back to the primary), in a random
// scope (its Session, or the process scope) and through a random surface
// (DB, Stmt, read-only and read-write Tx, Conn, rwsplitx, and a *sql.DB
// over the Connector: its DB, Stmt, Conn and Tx calls; transactional writes
// through DB.RunTx, or a loop on ErrBeginAgain where there is no RunTx:
// rwsplitx and the Connector). Every write is an UPDATE that also sets the
// row's w to the write's unique value, and a trigger appends each run of
// it to app.chaos_log, which has no unique key. After some
// session writes it hands its Session's token on as text: to a consumer,
// which resumes it in a new Session on db2 and reads the row under a waiting
// mode, or to another client, which advances its own Session with it.
// Meanwhile faults are injected through the test kit one at a time, each put
// back before the next: a replica's applier stopped (one, or all), a
// replication delay, a replica paused, stopped or killed, disconnected; the
// primary paused (at most 2 s); a replica promoted (the old primary demoted
// to a replica); bursts of heavy writes. Every operation is recorded with
// its times, client, scope, mode, surface, answering @@server_id, value and
// error, and the history is checked afterwards:
//
//   - read-your-writes: a read under Primary, WaitPosition or WaitGTID (and
//     under Sleep(≥1s) in a period with no fault) sees every write of its
//     scope that completed before it began (the process scope: every write
//     through db1; a Session: its own writes and the tokens advanced into
//     it; db2: the write whose token it resumed); reads pinned to the
//     primary (Conn, read-write Tx) and Primary reads on db1 see every
//     write;
//   - monotonic reads: a Session's WaitGTID reads of its own rows never go
//     back;
//   - no read fails (reads fall back to the primary); only a read that must
//     reach the primary may fail with ErrNoPrimary during a promotion;
//   - no write fails outside a promotion, and no write is refused as
//     read-only (1290) with the server's bare error outside a promotion
//     (those inside are reported apart; see chaosAllow1290InPromotion);
//   - every write is acknowledged, failed and not run (a WriteError with
//     NotRun set, ErrBeginAgain that RunTx gave up on, ErrNoPrimary, a
//     bare 1290), or of unknown outcome (a WriteError without NotRun,
//     any other error); the summary counts each. On the final primary's
//     app.chaos_log no write ran twice, every acknowledged write ran once,
//     no write that failed as not run ran (nor did a read see its value),
//     and a write of unknown outcome ran once or not at all;
//   - no read sees a value never written or written after it ended, and no
//     acknowledged write is lost;
//   - Eventual reads are stale sometimes (the count is reported and must be
//     above zero: the checker sees staleness);
//   - at the end every pool is idle and no goroutine is left behind.
//
// What is excused, and reported apart, from a promotion's start until 3 s
// after its end: reads that must reach the primary failing with
// ErrNoPrimary; writes not run, and writes the library reports of unknown
// outcome (a *rwsplit.WriteError); writes refused by the fenced old primary
// with a bare 1290. Nothing else: a read that fails, or a write that fails
// outside a promotion, is a violation; and an excused write is still
// checked against the write log.
//
// Then the broken run: with rwsplit.BreakWaits (the waiting modes skip the
// wait and the fallback) and every applier stopped for 3 s, the same checker
// must report read-your-writes violations.
//
// The history run lasts RWSPLIT_CHAOS_DURATION per flavor (default 30 s;
// `make chaos` runs 5 minutes, and must check at least 50,000 reads per
// flavor). RWSPLIT_CHAOS_SEED replays a seed; RWSPLIT_CHAOS_HISTORY=dir
// keeps every run's whole history there.
func TestChaos(t *testing.T) {
	if testing.Short() && !rwsplittest.InCI() {
		t.Skip("integration test: skipped in -short mode")
	}
	d := chaosDuration(t)
	seed := chaosSeed(t)
	for i, fl := range chaosFlavors {
		t.Run(fl.name, func(t *testing.T) {
			c, shared := fl.cluster(t)
			if shared {
				origPrimary, origReplicas := c.Primary, slices.Clone(c.Replicas)
				t.Cleanup(func() {
					require.NoError(t, chaosRestoreTopology(c, origPrimary, origReplicas), "put the shared cluster's topology back")
				})
			}
			t.Run("history", func(t *testing.T) {
				cfg := chaosRunConfig{seed: seed + uint64(i), duration: d, modes: chaosModes,
					first: []string{faultApplier, faultPromote}, kinds: chaosFaultKinds}
				if fl.kinds != nil {
					cfg.first, cfg.kinds = fl.first, fl.kinds
				}
				h, rep := runChaos(t, c, cfg)
				for i, o := range rep.Refused1290 {
					if i == 20 {
						t.Logf("KNOWN ... and %d more writes refused as read-only during a promotion", len(rep.Refused1290)-i)
						break
					}
					t.Logf("KNOWN (write refused as read-only during a promotion, the server's bare error: the library neither ran it again nor judged it): %s", o.Describe(h.Start()))
				}
				for i, e := range rep.Excused {
					if i == 10 {
						t.Logf("excused: ... and %d more", len(rep.Excused)-i)
						break
					}
					t.Logf("excused: %s", e)
				}
				chaosReportViolations(t, h, rep, 50)
				assert.Zero(t, rep.Count(""), "violations")
				if !chaosAllow1290InPromotion {
					assert.Empty(t, rep.Refused1290, "writes refused as read-only during a promotion")
				}
				assert.Positive(t, rep.StaleEventual, "stale Eventual reads: the checker sees staleness")
				assert.Empty(t, rep.FaultErrs, "faults injected and put back without error")
				if slices.Contains(cfg.first, faultPromote) {
					assert.Positive(t, rep.Faults[faultPromote], "a promotion was injected")
				}
				for _, n := range []string{"Eventual", "Primary", "Sleep", "CaughtUp", "WaitPosition", "WaitGTID"} {
					if assert.Contains(t, rep.Modes, n, "reads under %s", n) && n != "Eventual" && n != "CaughtUp" {
						assert.Positive(t, rep.Modes[n].Checked, "%s reads with a write to see", n)
					}
				}
				assert.Positive(t, rep.Scopes["read token"], "token reads on db2")
				assert.Positive(t, rep.Advances, "tokens advanced into another client's Session")
				assert.Positive(t, rep.MonotonicChecked, "monotonic reads checked")
				if d >= 5*time.Minute {
					assert.GreaterOrEqual(t, rep.Reads, chaosLongReads, "reads checked in the long form")
				}
			})
			t.Run("broken", func(t *testing.T) {
				cfg := chaosRunConfig{seed: seed + uint64(i) + 100, duration: chaosBrokenDuration, modes: chaosWaitingModes,
					first: []string{faultApplierAll}, fixedHold: 3 * time.Second, broken: true}
				h, rep := runChaos(t, c, cfg)
				n := rep.Count(hist.ViolRYW)
				shown := 0
				for _, v := range rep.Violations {
					if v.Kind == hist.ViolRYW && shown < 3 {
						t.Logf("the broken library, caught: %s", h.DescribeViolation(v))
						shown++
					}
				}
				assert.Positive(t, n, "with the waits broken the checker reports read-your-writes violations")
				assert.Empty(t, rep.FaultErrs, "faults injected and put back without error")
			})
		})
	}
}

// chaosReportViolations prints up to max violations as test errors, with
// the operations involved, then how many more there were.
func chaosReportViolations(t *testing.T, h *hist.History, rep *hist.Report, max int) {
	t.Helper()
	for i, v := range rep.Violations {
		if i == max {
			t.Errorf("... and %d more violations", len(rep.Violations)-max)
			break
		}
		t.Error(h.DescribeViolation(v))
	}
}

// chaosRunConfig is one run of the checker.
type chaosRunConfig struct {
	seed     uint64
	duration time.Duration
	modes    []chaosModeWeight
	// first are the faults injected first, in order; kinds, those drawn
	// at random after them (none: no more).
	first, kinds []string
	// fixedHold holds every fault this long (0: 0.5–3 s at random).
	fixedHold time.Duration
	// broken breaks both DBs' waits (rwsplit.BreakWaits).
	broken bool
}

// runChaos runs the workload and the faults on c, checks the history and
// logs the figures. It fails t on what keeps the run from being checked
// (setup, leaks, lost writes) and returns the history and the report for the
// caller's assertions.
func runChaos(t *testing.T, c *rwsplittest.Cluster, cfg chaosRunConfig) (*hist.History, *hist.Report) {
	ctx := context.Background()
	keys := chaosClients * hist.KeysPerClient
	admin := c.Primary.Admin()
	var vals []string
	for k := range keys {
		vals = append(vals, fmt.Sprintf("(%d, 0)", k))
	}
	// app.chaos_log: one row per run of a write of app.chaos (its trigger;
	// no unique key, so that a write run twice shows twice).
	for _, q := range []string{
		"DROP TABLE IF EXISTS app.chaos, app.chaos_burst, app.chaos_log",
		"CREATE TABLE app.chaos (k BIGINT PRIMARY KEY, v BIGINT NOT NULL, w BIGINT NOT NULL DEFAULT 0)",
		"CREATE TABLE app.chaos_log (id BIGINT AUTO_INCREMENT PRIMARY KEY, k BIGINT NOT NULL, w BIGINT NOT NULL)",
		"CREATE TRIGGER app.chaos_runs AFTER UPDATE ON app.chaos FOR EACH ROW INSERT INTO app.chaos_log (k, w) VALUES (NEW.k, NEW.w)",
		"CREATE TABLE app.chaos_burst (id BIGINT AUTO_INCREMENT PRIMARY KEY, pad VARCHAR(600) NOT NULL)",
		"INSERT INTO app.chaos (k, v) VALUES " + strings.Join(vals, ", "),
	} {
		_, err := admin.ExecContext(ctx, q)
		require.NoError(t, err, q)
	}
	// The log sees a second run of one write, which leaves app.chaos as the
	// first left it (value -1: no write of the history).
	for range 2 {
		_, err := admin.ExecContext(ctx, chaosWriteSQL, -1, -1, 0)
		require.NoError(t, err)
	}
	var runs int
	require.NoError(t, admin.QueryRowContext(ctx, "SELECT COUNT(*) FROM app.chaos_log WHERE w = -1").Scan(&runs))
	require.Equal(t, 2, runs, "app.chaos_log has a row for each run of the same write")
	_, err := admin.ExecContext(ctx, "DELETE FROM app.chaos_log")
	require.NoError(t, err)
	require.NoError(t, c.WaitCaughtUp(ctx))
	goroutines := runtime.NumGoroutine()

	// db1 takes waits in one round trip with its reads; db2 does not, and
	// waits under WaitGTID(2s) unless told otherwise. Both find the primary
	// among every server (the primary last) and follow promotions.
	oneTrip := []string{"multiStatements=true", "interpolateParams=true"}
	dsns1 := append(c.ReplicaDSNs(oneTrip...), c.Primary.DSN(oneTrip...))
	dsns2 := append(c.ReplicaDSNs(), c.Primary.DSN())
	db1, err := rwsplit.Open("mysql", dsns1[0], dsns1[1:], rwsplit.WithDiscovery(),
		rwsplit.WithMonitorInterval(200*time.Millisecond))
	require.NoError(t, err)
	defer db1.Close()
	db2, err := rwsplit.Open("mysql", dsns2[0], dsns2[1:], rwsplit.WithDiscovery(),
		rwsplit.WithDefaultConsistency(rwsplit.WaitGTID(chaosDB2Default)))
	require.NoError(t, err)
	defer db2.Close()
	for _, db := range []*rwsplit.DB{db1, db2} {
		require.Eventually(t, func() bool {
			if db.Primary() == nil {
				return false
			}
			for _, st := range rwsplit.ReplicaStatus(db) {
				if !st.Usable {
					return false
				}
			}
			return true
		}, 30*time.Second, 20*time.Millisecond, "primary found, replicas usable: %+v", rwsplit.ReplicaStatus(db))
	}
	if cfg.broken {
		require.NotNil(t, chaosBreakWaits, "rwsplit.BreakWaits (export_test.go) is missing")
		chaosBreakWaits(db1)
		chaosBreakWaits(db2)
	}
	s1, err := newChaosSurfaces(ctx, db1)
	require.NoError(t, err)
	s2, err := newChaosSurfaces(ctx, db2)
	require.NoError(t, err)

	h := hist.New()
	load := &chaosLoad{h: h, s1: s1, s2: s2, clients: chaosClients, modes: cfg.modes, seed: cfg.seed}
	stopLoad := load.run(chaosConsumers)
	until := time.Now().Add(cfg.duration)
	inj := &chaosInjector{c: c, h: h, rng: rand.New(rand.NewPCG(cfg.seed, 77)), burst: chaosBurst(db1)}
	inj.holdFixed = cfg.fixedHold
	injected := make(chan struct{})
	go func() {
		defer close(injected)
		chaosPause(ctx, 500*time.Millisecond) // some history before the first fault
		inj.run(ctx, until, cfg.first, cfg.kinds)
	}()
	<-injected // the last fault is put back under load
	chaosPause(ctx, time.Until(until))
	stopLoad()
	loadTime := time.Since(h.Start())

	// Every pool is idle, and every connection given back, once the load
	// is over (hedged attempts end on their own).
	for _, db := range []*rwsplit.DB{db1, db2} {
		assert.Eventually(t, func() bool {
			return rwsplit.PoolsInUse(db) == 0
		}, 15*time.Second, 50*time.Millisecond, "every pool idle after the load: %+v", db.Stats())
	}
	st1, st2 := db1.Stats(), db2.Stats()
	reads1, reads2 := rwsplit.ReplicaReads(db1), rwsplit.ReplicaReads(db2)
	require.NoError(t, s1.close())
	require.NoError(t, s2.close())
	require.NoError(t, db1.Close())
	require.NoError(t, db2.Close())
	assert.Eventually(t, func() bool { return runtime.NumGoroutine() <= goroutines+8 }, 15*time.Second, 50*time.Millisecond,
		"no goroutine left behind: %d before the DBs were opened", goroutines)

	rep := h.Check()
	// No acknowledged write is lost: the primary has every row at least at
	// its last acknowledged value.
	require.NoError(t, c.WaitCaughtUp(ctx))
	final := map[int64]int64{}
	rows, err := c.Primary.Admin().QueryContext(ctx, "SELECT k, v FROM app.chaos")
	require.NoError(t, err)
	for rows.Next() {
		var k, v int64
		require.NoError(t, rows.Scan(&k, &v))
		final[k] = v
	}
	require.NoError(t, rows.Err())
	require.NoError(t, rows.Close())
	_, err = c.Primary.Admin().ExecContext(ctx, "DROP TABLE app.chaos_burst") // megabytes of padding
	require.NoError(t, err)
	// No write ran twice, none reported not run ran, every acknowledged
	// one ran: the final primary's log of runs, by the writes' values.
	logRuns := map[int64]int{}
	rows, err = c.Primary.Admin().QueryContext(ctx, "SELECT w, COUNT(*) FROM app.chaos_log GROUP BY w")
	require.NoError(t, err)
	for rows.Next() {
		var w int64
		var n int
		require.NoError(t, rows.Scan(&w, &n))
		logRuns[w] = n
	}
	require.NoError(t, rows.Err())
	require.NoError(t, rows.Close())
	ops := h.Ops()
	rep.CheckWriteLog(ops, logRuns)
	rep.CheckLost(ops, final)

	name := "history"
	if cfg.broken {
		name = "BROKEN (rwsplit.BreakWaits)"
	}
	if dir := os.Getenv(envChaosHistory); dir != "" {
		path := filepath.Join(dir, strings.NewReplacer("/", "-", " ", "_").Replace(t.Name())+".txt")
		if err := h.Write(path); err != nil {
			t.Errorf("write the history: %v", err)
		} else {
			t.Logf("history written to %s", path)
		}
	}
	t.Logf("chaos %s on %s (%s): %v of load, %d clients on db1 + %d consumers on db2, seed %d",
		name, c.Flavor, c.Version, loadTime.Round(time.Millisecond), chaosClients, chaosConsumers, cfg.seed)
	for _, l := range rep.Summary() {
		t.Log(l)
	}
	t.Logf("tokens handed over: %d (%d dropped, queue full)", load.tokensSent.Load(), load.tokensDropped.Load())
	for _, f := range h.Faults() {
		t.Logf("  %s", f.Describe(h.Start()))
	}
	t.Logf("db1 stats: writes %d, primary reads %d, replica reads %v, captures %d, waits %d (skipped %d), sleeps %d, fallbacks %d, retries %d, no replica %d, hedges %d (won %d)",
		st1.Writes, st1.PrimaryReads, reads1, st1.Captures, st1.Waits, st1.WaitsSkipped, st1.Sleeps,
		st1.Fallbacks, st1.Retries, st1.NoReplica, st1.Hedges, st1.HedgeWins)
	t.Logf("db2 stats: primary reads %d, replica reads %v, captures %d, waits %d (skipped %d), fallbacks %d, retries %d, hedges %d (won %d)",
		st2.PrimaryReads, reads2, st2.Captures, st2.Waits, st2.WaitsSkipped, st2.Fallbacks, st2.Retries,
		st2.Hedges, st2.HedgeWins)
	return h, rep
}

// chaosRestoreTopology makes primary the cluster's primary again and its replicas
// listed in their original order (so that the tests sharing the cluster
// find it as they left it), by promotions that demote the old primary.
func chaosRestoreTopology(c *rwsplittest.Cluster, primary *rwsplittest.Node, replicas []*rwsplittest.Node) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	for try := 0; try < 3; try++ {
		if c.Primary == primary && slices.Equal(c.Replicas, replicas) {
			return c.WaitCaughtUp(ctx)
		}
		if c.Primary == primary {
			// Same primary, replicas reordered: one round trip through
			// the first replica puts them back in order.
			if _, err := c.Promote(ctx, c.Replicas[0], rwsplittest.DemoteOldPrimary); err != nil {
				return err
			}
		}
		if _, err := c.Promote(ctx, primary, rwsplittest.DemoteOldPrimary); err != nil {
			return err
		}
	}
	return fmt.Errorf("topology not restored: primary %s, replicas %v", c.Primary.Name, c.Replicas)
}

// chaosBreakWaits breaks a DB's waiting modes on purpose (every mode but
// Primary behaves as Eventual: no wait, no fallback), for the broken run of
// TestChaos.
var chaosBreakWaits = rwsplit.BreakWaits
