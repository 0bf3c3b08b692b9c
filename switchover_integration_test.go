package rwsplit_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rwsplit/rwsplit"
	"github.com/rwsplit/rwsplit/rwsplittest"
)

// Write safety through a change of primary, on real servers: writers on
// every surface (DB.ExecContext, a prepared *rwsplit.Stmt, a *sql.DB over
// the Connector, DB.RunTx), each reading its own last acknowledged write
// back in its Session under WaitGTID, while the primary changes under them:
// fenced (by hand, Promote ReadOnlyOldPrimary, Promote DemoteOldPrimary),
// crashed (Promote StopOldPrimary), and with writes no replica received
// (lost, and reported).

const (
	swInsertSQL = "INSERT INTO app.sw (k, sid) VALUES (?, @@server_id)"
	swReadSQL   = "SELECT COUNT(*) FROM app.sw WHERE k = ?"
	// swWritersPerSurface writers run on each of the four surfaces.
	swWritersPerSurface = 2
)

// swSurfaces are the ways a writer writes (and reads its write back).
var swSurfaces = []string{"Exec", "Stmt", "Connector", "RunTx"}

// swKey marks a read-back's context with the key it reads, for the
// observer's WritesLost.
type swKey struct{}

// swEnv is a DB under discovery over every node of a cluster, with the
// handles the writers use and what its observer saw.
type swEnv struct {
	db        *rwsplit.DB
	sdb       *sql.DB // sql.OpenDB(db.Connector())
	stmt      *rwsplit.Stmt
	readStmt  *rwsplit.Stmt
	mu        sync.Mutex
	lostReads map[string]bool // keys whose read-back reported lost writes
	lostEvts  []rwsplit.WritesLostEvent
}

// openSwitchDB opens a DB with discovery and a 200 ms monitor over every
// node of c (the primary last: discovery finds it), its Connector's *sql.DB
// and two prepared statements, closed at cleanup.
func openSwitchDB(t *testing.T, c *rwsplittest.Cluster) *swEnv {
	t.Helper()
	env := &swEnv{lostReads: map[string]bool{}}
	obs := rwsplit.Observer{WritesLost: func(ctx context.Context, e rwsplit.WritesLostEvent) {
		env.mu.Lock()
		defer env.mu.Unlock()
		env.lostEvts = append(env.lostEvts, e)
		if k, ok := ctx.Value(swKey{}).(string); ok {
			env.lostReads[k] = true
		}
	}}
	dsns := append(c.ReplicaDSNs(), c.Primary.DSN())
	db, err := rwsplit.Open("mysql", dsns[0], dsns[1:], rwsplit.WithDiscovery(),
		rwsplit.WithMonitorInterval(200*time.Millisecond), rwsplit.WithObserver(obs))
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	require.NotNil(t, db.Primary(), "found when Open returned")
	require.Equal(t, c.Primary.ServerID, serverIDOf(t, db.Primary()))
	env.db = db
	env.sdb = sql.OpenDB(db.Connector())
	t.Cleanup(func() { _ = env.sdb.Close() }) // runs before db.Close
	ctx := context.Background()
	env.stmt, err = db.PrepareContext(ctx, swInsertSQL)
	require.NoError(t, err)
	t.Cleanup(func() { _ = env.stmt.Close() })
	env.readStmt, err = db.PrepareContext(ctx, swReadSQL)
	require.NoError(t, err)
	t.Cleanup(func() { _ = env.readStmt.Close() })
	return env
}

// createSwitchTable creates app.sw (a unique key per write) and waits
// until every replica has it.
func createSwitchTable(t *testing.T, c *rwsplittest.Cluster) {
	t.Helper()
	ctx := context.Background()
	_, err := c.Primary.Admin().ExecContext(ctx,
		"CREATE TABLE app.sw (id BIGINT AUTO_INCREMENT PRIMARY KEY, k VARCHAR(64) NOT NULL, sid INT NOT NULL, UNIQUE KEY (k))")
	require.NoError(t, err)
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	require.NoError(t, c.WaitCaughtUp(wctx))
}

// swWrite is one write call and its read-back.
type swWrite struct {
	key, surface string
	writer       int
	latency      time.Duration
	err          error
	// read is the read-back's outcome: "found", "missing", "failed: ..."
	// ("" when the write failed).
	read string
}

// swWriter is one writer goroutine: its surface and Session.
type swWriter struct {
	id      int
	surface string
	sess    *rwsplit.Session
}

// swLoad is what the writers of a phase did.
type swLoad struct {
	mu      sync.Mutex
	writes  []swWrite
	writers []*swWriter
	wg      sync.WaitGroup
}

// startSwitchLoad starts swWritersPerSurface writers per surface, each
// writing keys "<phase>-<writer>-<n>" and reading its last acknowledged
// write back in its Session under WaitGTID(2s), until stop.
func startSwitchLoad(env *swEnv, phase string, stop <-chan struct{}) *swLoad {
	l := &swLoad{}
	for si, surface := range swSurfaces {
		for j := range swWritersPerSurface {
			w := &swWriter{id: si*swWritersPerSurface + j, surface: surface, sess: rwsplit.NewSession(rwsplit.Token{})}
			l.writers = append(l.writers, w)
			l.wg.Add(1)
			go func() {
				defer l.wg.Done()
				for n := 0; ; n++ {
					select {
					case <-stop:
						return
					case <-time.After(10 * time.Millisecond):
					}
					rec := env.writeAndRead(w, fmt.Sprintf("%s-%d-%d", phase, w.id, n))
					l.mu.Lock()
					l.writes = append(l.writes, rec)
					l.mu.Unlock()
				}
			}()
		}
	}
	return l
}

// writeAndRead writes key through w's surface in w's Session, and, when
// the write was acknowledged, reads it back in the Session under
// WaitGTID(2s).
func (env *swEnv) writeAndRead(w *swWriter, key string) swWrite {
	rec := swWrite{key: key, surface: w.surface, writer: w.id}
	base, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ctx := rwsplit.WithConsistency(rwsplit.WithSession(base, w.sess), rwsplit.WaitGTID(2*time.Second))
	t0 := time.Now()
	switch w.surface {
	case "Exec":
		_, rec.err = env.db.ExecContext(ctx, swInsertSQL, key)
	case "Stmt":
		_, rec.err = env.stmt.ExecContext(ctx, key)
	case "Connector":
		_, rec.err = env.sdb.ExecContext(ctx, swInsertSQL, key)
	case "RunTx":
		rec.err = env.db.RunTx(ctx, nil, func(tx *rwsplit.Tx) error {
			_, err := tx.ExecContext(ctx, swInsertSQL, key)
			return err
		})
	}
	rec.latency = time.Since(t0)
	if rec.err != nil {
		return rec
	}
	rctx := context.WithValue(ctx, swKey{}, key)
	var row *sql.Row
	switch w.surface {
	case "Stmt":
		row = env.readStmt.QueryRowContext(rctx, key)
	case "Connector":
		row = env.sdb.QueryRowContext(rctx, swReadSQL, key)
	default:
		row = env.db.QueryRowContext(rctx, swReadSQL, key)
	}
	var n int
	switch err := row.Scan(&n); {
	case err != nil:
		rec.read = "failed: " + err.Error()
	case n == 0:
		rec.read = "missing"
	default:
		rec.read = "found"
	}
	return rec
}

// swErrorKind names how a write failed: a WriteError and its outcome,
// ErrBeginAgain, a duplicate key (the write ran twice), or "plain".
func swErrorKind(err error) string {
	var me *mysql.MySQLError
	var we *rwsplit.WriteError
	switch {
	case errors.As(err, &me) && me.Number == 1062:
		return "duplicate key (ran twice)"
	case errors.Is(err, rwsplit.ErrBeginAgain):
		return "ErrBeginAgain"
	case errors.As(err, &we):
		if we.NotRun {
			return "WriteError(not run)"
		}
		return "WriteError(outcome unknown)"
	}
	return "plain"
}

// swTally is a phase's figures, checked against the new primary's rows.
type swTally struct {
	acked, failed, dups, stale, readFails, readBacks int
	ackedBy                                          map[string]int
	errKinds                                         map[string]int
	errTexts                                         []string
	missing, notRunPresent                           []string // acked keys the new primary lacks; NotRun keys it has
	staleKeys, readErrs                              []string
	lostByWriter                                     map[int][]string
	lostReported                                     map[string]bool
	maxLatency                                       time.Duration
	maxLatencyKey                                    string
	// unknownRan and unknownNot count the writes that failed with an
	// Unknown outcome whose key the new primary has, and lacks.
	unknownRan, unknownNot int
	// inARow is the most writes one writer saw fail in a row.
	inARow int
}

// tally checks l's writes against the rows of prefix on the new primary
// p: each acknowledged key there exactly once (or lost), no duplicate, no
// key of a NotRun error there, no read-back missing a key p has.
func (l *swLoad) tally(t *testing.T, env *swEnv, p *rwsplittest.Node, prefix string) *swTally {
	t.Helper()
	ctx := context.Background()
	var total, distinct int
	require.NoError(t, p.Admin().QueryRowContext(ctx,
		"SELECT COUNT(*), COUNT(DISTINCT k) FROM app.sw WHERE k LIKE ?", prefix+"-%").Scan(&total, &distinct))
	rows, err := p.Admin().QueryContext(ctx, "SELECT k, COUNT(*) FROM app.sw WHERE k LIKE ? GROUP BY k", prefix+"-%")
	require.NoError(t, err)
	have := map[string]int{}
	for rows.Next() {
		var k string
		var n int
		require.NoError(t, rows.Scan(&k, &n))
		have[k] = n
	}
	require.NoError(t, rows.Err())
	rows.Close()

	tl := &swTally{ackedBy: map[string]int{}, errKinds: map[string]int{}, lostByWriter: map[int][]string{}, lostReported: map[string]bool{}}
	tl.dups = total - distinct
	l.mu.Lock()
	writes := slices.Clone(l.writes)
	l.mu.Unlock()
	env.mu.Lock()
	lostReads := map[string]bool{}
	for k, v := range env.lostReads {
		lostReads[k] = v
	}
	env.mu.Unlock()
	run := map[int]int{}
	for _, w := range writes { // in each writer's order
		if w.err != nil {
			run[w.writer]++
			tl.inARow = max(tl.inARow, run[w.writer])
		} else {
			run[w.writer] = 0
		}
	}
	for _, w := range writes {
		if w.latency > tl.maxLatency {
			tl.maxLatency, tl.maxLatencyKey = w.latency, w.surface+" "+w.key
		}
		if w.err != nil {
			tl.failed++
			kind := swErrorKind(w.err)
			tl.errKinds[w.surface+": "+kind]++
			tl.errTexts = append(tl.errTexts, fmt.Sprintf("%s %s: %v", w.surface, w.key, w.err))
			if kind == "duplicate key (ran twice)" {
				tl.dups++
			}
			var we *rwsplit.WriteError
			switch {
			case !errors.As(w.err, &we):
			case we.NotRun && have[w.key] > 0:
				tl.notRunPresent = append(tl.notRunPresent, w.key)
			case !we.NotRun && have[w.key] > 0:
				tl.unknownRan++
			case !we.NotRun:
				tl.unknownNot++
			}
			continue
		}
		tl.acked++
		tl.ackedBy[w.surface]++
		if have[w.key] == 0 {
			tl.missing = append(tl.missing, w.key)
			tl.lostByWriter[w.writer] = append(tl.lostByWriter[w.writer], w.key)
			tl.lostReported[w.key] = lostReads[w.key]
		}
		tl.readBacks++
		switch {
		case w.read == "missing" && have[w.key] > 0:
			tl.stale++
			tl.staleKeys = append(tl.staleKeys, w.surface+" "+w.key)
		case strings.HasPrefix(w.read, "failed"):
			tl.readFails++
			tl.readErrs = append(tl.readErrs, w.surface+" "+w.key+": "+w.read)
		}
	}
	return tl
}

// swNodeSQL is the flavor's SQL for promoting and re-pointing by hand
// (the kit's own statements are unexported).
type swNodeSQL struct{ f rwsplittest.Flavor }

func (q swNodeSQL) fence() []string {
	if q.f == rwsplittest.MariaDB {
		return []string{"SET GLOBAL read_only = ON"}
	}
	return []string{"SET GLOBAL super_read_only = ON"}
}

func (q swNodeSQL) writable() []string {
	if q.f == rwsplittest.MariaDB {
		return []string{"SET GLOBAL read_only = OFF"}
	}
	return []string{"SET GLOBAL super_read_only = OFF", "SET GLOBAL read_only = OFF"}
}

func (q swNodeSQL) stop() string {
	if q.f == rwsplittest.MariaDB {
		return "STOP SLAVE"
	}
	return "STOP REPLICA"
}

func (q swNodeSQL) start() string {
	if q.f == rwsplittest.MariaDB {
		return "START SLAVE"
	}
	return "START REPLICA"
}

func (q swNodeSQL) resetAll() string {
	if q.f == rwsplittest.MariaDB {
		return "RESET SLAVE ALL"
	}
	return "RESET REPLICA ALL"
}

// changeSource points a node at host by GTID, with the kit's replication
// user ('repl'/'repl', created on every node by the kit's bootstrap).
func (q swNodeSQL) changeSource(host string) string {
	if q.f == rwsplittest.MariaDB {
		return fmt.Sprintf("CHANGE MASTER TO MASTER_HOST='%s', MASTER_PORT=3306, MASTER_USER='repl', "+
			"MASTER_PASSWORD='repl', MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1, MASTER_HEARTBEAT_PERIOD=1", host)
	}
	return fmt.Sprintf("CHANGE REPLICATION SOURCE TO SOURCE_HOST='%s', SOURCE_PORT=3306, SOURCE_USER='repl', "+
		"SOURCE_PASSWORD='repl', SOURCE_AUTO_POSITION=1, GET_SOURCE_PUBLIC_KEY=1, SOURCE_CONNECT_RETRY=1, "+
		"SOURCE_RETRY_COUNT=86400, SOURCE_HEARTBEAT_PERIOD=1", host)
}

func (q swNodeSQL) waitGTIDs() string {
	if q.f == rwsplittest.MariaDB {
		return "SELECT MASTER_GTID_WAIT(?, ?)"
	}
	return "SELECT WAIT_FOR_EXECUTED_GTID_SET(?, ?)"
}

func (q swNodeSQL) retrievedColumn() string {
	if q.f == rwsplittest.MariaDB {
		return "Gtid_IO_Pos"
	}
	return "Retrieved_Gtid_Set"
}

func swExec(ctx context.Context, n *rwsplittest.Node, qs ...string) error {
	for _, q := range qs {
		if _, err := n.Admin().ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%s: %s: %w", n.Name, q, err)
		}
	}
	return nil
}

// swWaitApplied waits until n has applied the GTIDs executed.
func swWaitApplied(ctx context.Context, n *rwsplittest.Node, f rwsplittest.Flavor, executed string) error {
	executed = strings.ReplaceAll(executed, "\n", "")
	if executed == "" {
		return nil
	}
	for {
		var res sql.NullInt64
		if err := n.Admin().QueryRowContext(ctx, swNodeSQL{f}.waitGTIDs(), executed, 1).Scan(&res); err != nil {
			return fmt.Errorf("%s: wait for %s: %w", n.Name, executed, err)
		}
		if res.Valid && res.Int64 == 0 {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("%s: has not applied %s: %w", n.Name, executed, err)
		}
	}
}

// swWaitReplicating waits until n's receiver and applier run.
func swWaitReplicating(ctx context.Context, n *rwsplittest.Node) error {
	for {
		st, err := n.ReplicaStatus(ctx)
		if err == nil && (st["Replica_IO_Running"] == "Yes" || st["Slave_IO_Running"] == "Yes") &&
			(st["Replica_SQL_Running"] == "Yes" || st["Slave_SQL_Running"] == "Yes") {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s does not replicate: %v %v", n.Name, st, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// promoteByHand fences the primary read-only, waits until next (a replica)
// has applied everything it executed, promotes next (stop and forget its
// replication, writable) and re-points the other replicas of the old
// primary at it; then describes the new topology in c's fields (the old
// primary Retired), as Promote would. It returns the old primary's
// executed GTIDs once fenced.
func promoteByHand(ctx context.Context, c *rwsplittest.Cluster, next *rwsplittest.Node) (fencedAt string, err error) {
	q, old := swNodeSQL{c.Flavor}, c.Primary
	if err := swExec(ctx, old, q.fence()...); err != nil {
		return "", err
	}
	if err := old.Admin().QueryRowContext(ctx, gtidExecutedSQL(c.Flavor)).Scan(&fencedAt); err != nil {
		return "", err
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := swWaitApplied(wctx, next, c.Flavor, fencedAt); err != nil {
		return fencedAt, err
	}
	if err := swExec(ctx, next, append([]string{q.stop(), q.resetAll()}, q.writable()...)...); err != nil {
		return fencedAt, err
	}
	var rest []*rwsplittest.Node
	for _, r := range c.Replicas {
		if r == next {
			continue
		}
		rest = append(rest, r)
		if r.Source == old {
			if err := swExec(ctx, r, q.stop(), q.changeSource(next.Name), q.start()); err != nil {
				return fencedAt, err
			}
			r.Source = next
		}
	}
	c.Primary, c.Replicas = next, rest
	next.Replica, next.Source = false, nil
	old.Replica, old.Source = false, nil
	c.Retired = append(c.Retired, old)
	for _, r := range rest {
		if err := swWaitReplicating(wctx, r); err != nil {
			return fencedAt, err
		}
	}
	return fencedAt, nil
}

// reattach makes a retired (read-only, replicating from nobody) node a
// replica of c's primary again, by hand (MariaDB: from its own binlog
// position), and waits until it has caught up.
func reattach(ctx context.Context, c *rwsplittest.Cluster, n *rwsplittest.Node) error {
	q := swNodeSQL{c.Flavor}
	var qs []string
	if c.Flavor == rwsplittest.MariaDB {
		qs = append(qs, "SET GLOBAL gtid_slave_pos = @@GLOBAL.gtid_binlog_pos")
	}
	qs = append(qs, q.changeSource(c.Primary.Name), q.start())
	if err := swExec(ctx, n, qs...); err != nil {
		return err
	}
	n.Replica, n.Source = true, c.Primary
	c.Replicas = append(c.Replicas, n)
	c.Retired = slices.DeleteFunc(c.Retired, func(r *rwsplittest.Node) bool { return r == n })
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := swWaitReplicating(wctx, n); err != nil {
		return err
	}
	return c.WaitCaughtUp(wctx)
}

// awaitPrimary waits until db writes to node n.
func awaitPrimary(t *testing.T, db *rwsplit.DB, n *rwsplittest.Node, what string) {
	t.Helper()
	require.Eventually(t, func() bool {
		p := db.Primary()
		if p == nil {
			return false
		}
		var id int
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		return p.QueryRowContext(ctx, "SELECT @@server_id").Scan(&id) == nil && id == n.ServerID
	}, 15*time.Second, 20*time.Millisecond, "%s: writes move to %s", what, n.Name)
}

func (tl *swTally) log(t *testing.T, what string, promote time.Duration, before, after rwsplit.Stats) {
	t.Helper()
	t.Logf("%s: promotion %v; writes: %d acknowledged %v, %d failed %v, %d duplicates, %d acknowledged missing on the new primary; "+
		"read-backs: %d, %d stale, %d failed; longest write call %v (%s); WriteHolds %d (%v held in all); WritesLost %d, Retries %d, Fallbacks %d",
		what, promote.Round(time.Millisecond), tl.acked, tl.ackedBy, tl.failed, tl.errKinds, tl.dups, len(tl.missing),
		tl.readBacks, tl.stale, tl.readFails, tl.maxLatency.Round(time.Millisecond), tl.maxLatencyKey,
		after.WriteHolds-before.WriteHolds, (after.WriteHoldTime - before.WriteHoldTime).Round(time.Millisecond),
		after.WritesLost-before.WritesLost, after.Retries-before.Retries, after.Fallbacks-before.Fallbacks)
}

// TestSwitchover: under discovery (200 ms monitor), writers on every
// surface (Exec, a prepared Stmt, the Connector's *sql.DB, RunTx) and
// their WaitGTID read-backs run while the primary changes three fenced
// ways, one after the other on one cluster per flavor: by hand (the
// primary made read-only, replica applied all, promoted, the other
// replica re-pointed), Promote ReadOnlyOldPrimary, Promote
// DemoteOldPrimary. No write fails (the write hold carries them over), no
// acknowledged write is missing on the new primary, none ran twice, no
// read-back is stale, no read fails, and nothing lands on a fenced old
// primary.
func TestSwitchover(t *testing.T) {
	if testing.Short() && !rwsplittest.InCI() {
		t.Skip("integration test: skipped in -short mode")
	}
	for _, f := range rwsplittest.Flavors {
		t.Run(string(f), func(t *testing.T) {
			c := rwsplittest.Start(t, f, rwsplittest.WithReplicas(2))
			ctx := context.Background()
			createSwitchTable(t, c)
			env := openSwitchDB(t, c)

			for _, step := range []struct {
				phase string
				how   rwsplittest.PromoteMode // 0: by hand
			}{
				{"hand", 0},
				{"ro", rwsplittest.ReadOnlyOldPrimary},
				{"demote", rwsplittest.DemoteOldPrimary},
			} {
				what := "by hand"
				if step.how != 0 {
					what = step.how.String()
				}
				old, next := c.Primary, c.Replicas[0]
				before := env.db.Stats()
				stop := make(chan struct{})
				load := startSwitchLoad(env, step.phase, stop)
				time.Sleep(300 * time.Millisecond) // writes on the old primary

				t0 := time.Now()
				var fencedAt string
				var err error
				if step.how == 0 {
					fencedAt, err = promoteByHand(ctx, c, next)
				} else {
					_, err = c.Promote(ctx, next, step.how)
					if err == nil && step.how == rwsplittest.ReadOnlyOldPrimary {
						err = old.Admin().QueryRowContext(ctx, gtidExecutedSQL(f)).Scan(&fencedAt)
					}
				}
				promoted := time.Since(t0)
				if err != nil {
					close(stop)
					load.wg.Wait()
					require.NoError(t, err, "%s: promote %s", what, next.Name)
				}
				awaitPrimary(t, env.db, next, what)
				time.Sleep(time.Second) // writes on the new primary
				close(stop)
				load.wg.Wait()
				after := env.db.Stats()

				tl := load.tally(t, env, c.Primary, step.phase)
				tl.log(t, what, promoted, before, after)
				assert.Positive(t, tl.acked, "%s: writes acknowledged", what)
				for _, s := range swSurfaces {
					assert.Positive(t, tl.ackedBy[s], "%s: writes acknowledged through %s", what, s)
				}
				assert.Zero(t, tl.failed, "%s: no write fails through a fenced switchover: %s", what, strings.Join(firstN(tl.errTexts, 10), "; "))
				assert.Empty(t, tl.missing, "%s: every acknowledged write is on the new primary", what)
				assert.Zero(t, tl.dups, "%s: no write ran twice", what)
				assert.Zero(t, tl.stale, "%s: no read-back misses its own write: %v", what, firstN(tl.staleKeys, 10))
				assert.Zero(t, tl.readFails, "%s: no read-back fails: %v", what, firstN(tl.readErrs, 10))
				if fencedAt != "" {
					var now string
					require.NoError(t, old.Admin().QueryRowContext(ctx, gtidExecutedSQL(f)).Scan(&now))
					assert.Equal(t, fencedAt, now, "%s: no write landed on the fenced old primary", what)
				}
				if t.Failed() {
					return // the next phase starts from this one's topology
				}
				// Keep two replicas for the next phase: the retired old
				// primary replicates from the new one (a demoted one does).
				if step.how != rwsplittest.DemoteOldPrimary {
					require.NoError(t, reattach(ctx, c, old), "%s: re-attach %s", what, old.Name)
				}
			}
		})
	}
}

// checkCrash checks a crash run: failures typed, nothing run
// twice, NotRun keys absent, lost writes reported, no stale read of what
// the new primary has.
func checkCrash(t *testing.T, env *swEnv, load *swLoad, tl *swTally, before, after rwsplit.Stats) {
	t.Helper()
	for kind, n := range tl.errKinds {
		surface, k, _ := strings.Cut(kind, ": ")
		ok := strings.HasPrefix(k, "WriteError(") || surface == "RunTx" && k == "ErrBeginAgain"
		assert.True(t, ok, "a write failed with an error that says nothing of its outcome: %s (%d)", kind, n)
	}
	if len(tl.errTexts) > 0 {
		t.Logf("failed writes (%d of unknown outcome ran, %d did not; at most %d in a row for one writer): %s",
			tl.unknownRan, tl.unknownNot, tl.inARow,
			strings.Join(firstN(tl.errTexts, 12), "; "))
	}
	for _, e := range tl.errTexts {
		if !strings.Contains(e, "rwsplit:") {
			t.Errorf("plain write error: %s", e)
		}
	}
	assert.Zero(t, tl.dups, "no write ran twice")
	assert.Empty(t, tl.notRunPresent, "a write that failed NotRun is not on the new primary")
	assert.Zero(t, tl.stale, "no read-back misses a write the new primary has: %v", firstN(tl.staleKeys, 10))
	if len(tl.readErrs) > 0 {
		t.Logf("read-backs failed: %s", strings.Join(firstN(tl.readErrs, 10), "; "))
	}
	if len(tl.missing) == 0 {
		return
	}
	// Lost acknowledged writes: each must be reported, to its read-back (an
	// WritesLost event in its context) or to a reader of its writer's
	// Session under WaitGTID(1s).OrFail().
	t.Logf("acknowledged writes the new primary lacks: %v", tl.missing)
	assert.Greater(t, after.WritesLost, before.WritesLost, "lost writes counted in Stats.WritesLost")
	for _, w := range load.writers {
		keys := tl.lostByWriter[w.id]
		if len(keys) == 0 {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		rctx := rwsplit.WithConsistency(rwsplit.WithSession(ctx, w.sess), rwsplit.WaitGTID(time.Second).OrFail())
		var n int
		err := env.db.QueryRowContext(rctx, swReadSQL, keys[0]).Scan(&n)
		cancel()
		for _, k := range keys {
			assert.True(t, tl.lostReported[k] || errors.Is(err, rwsplit.ErrWritesLost),
				"lost write %s (writer %d, %s) reported: not at its read-back, and its Session's OrFail read returned %v (token %s)",
				k, w.id, w.surface, err, w.sess.Token())
		}
	}
}

// mostAdvanced returns, after the primary died, the replica of c that
// received the most: each replica applies what it received (its receiver
// stopped first), and the one with the most rows of app.sw wins.
func mostAdvanced(ctx context.Context, c *rwsplittest.Cluster) (*rwsplittest.Node, error) {
	q := swNodeSQL{c.Flavor}
	var best *rwsplittest.Node
	bestRows := -1
	for _, r := range c.Replicas {
		deadline := time.Now().Add(15 * time.Second)
		var st map[string]string
		var err error
		for { // the receiver sees its source gone
			st, err = r.ReplicaStatus(ctx)
			if err == nil && st["Replica_IO_Running"] != "Yes" && st["Slave_IO_Running"] != "Yes" {
				break
			}
			if time.Now().After(deadline) {
				return nil, fmt.Errorf("%s still receives from the killed primary: %v %v", r.Name, st, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
		wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err = swWaitApplied(wctx, r, c.Flavor, st[q.retrievedColumn()])
		cancel()
		if err != nil {
			return nil, err
		}
		var rows int
		if err := r.Admin().QueryRowContext(ctx, "SELECT COUNT(*) FROM app.sw").Scan(&rows); err != nil {
			return nil, err
		}
		if rows > bestRows {
			best, bestRows = r, rows
		}
	}
	return best, nil
}

// TestCrashPromotion: the primary is killed under the same writers and
// read-backs as TestSwitchover, and the replica that received the most is
// promoted (Promote StopOldPrimary). A write may fail, but only saying
// whether it ran (WriteError NotRun or Unknown; ErrBeginAgain from a RunTx
// that gave up); none runs twice; a NotRun write is not on the new primary;
// an acknowledged write the new primary lacks is reported (ErrWritesLost to
// a reader of its Session under OrFail, or WritesLost and
// Stats.WritesLost at its read-back); no read-back misses a write the new
// primary has.
func TestCrashPromotion(t *testing.T) {
	if testing.Short() && !rwsplittest.InCI() {
		t.Skip("integration test: skipped in -short mode")
	}
	for _, f := range rwsplittest.Flavors {
		t.Run(string(f), func(t *testing.T) {
			c := rwsplittest.Start(t, f, rwsplittest.WithReplicas(2))
			ctx := context.Background()
			createSwitchTable(t, c)
			env := openSwitchDB(t, c)

			old := c.Primary
			before := env.db.Stats()
			stop := make(chan struct{})
			load := startSwitchLoad(env, "crash", stop)
			time.Sleep(500 * time.Millisecond) // writes on the old primary

			t0 := time.Now()
			err := old.Kill(ctx)
			var next *rwsplittest.Node
			if err == nil {
				next, err = mostAdvanced(ctx, c)
			}
			if err == nil {
				_, err = c.Promote(ctx, next, rwsplittest.StopOldPrimary)
			}
			promoted := time.Since(t0)
			if err != nil {
				close(stop)
				load.wg.Wait()
				require.NoError(t, err, "kill %s and promote the most advanced replica", old.Name)
			}
			awaitPrimary(t, env.db, next, "crash")
			time.Sleep(time.Second) // writes on the new primary
			close(stop)
			load.wg.Wait()
			after := env.db.Stats()

			tl := load.tally(t, env, c.Primary, "crash")
			tl.log(t, "StopOldPrimary (killed, "+next.Name+" promoted)", promoted, before, after)
			assert.Positive(t, tl.acked, "writes acknowledged")
			checkCrash(t, env, load, tl, before, after)
		})
	}
}

// TestLostWrites: writes that no replica received (every replica's
// replication stopped) are acknowledged by the primary, the Session's
// token is taken, the primary is killed and a replica promoted. A read in
// a Session resumed from that token fails under WaitGTID(1s).OrFail() with
// ErrWritesLost at once, with no replica wait; without OrFail it succeeds,
// Stats.WritesLost grows and the observer's WritesLost receives the
// event (the new primary, the lost GTIDs).
func TestLostWrites(t *testing.T) {
	if testing.Short() && !rwsplittest.InCI() {
		t.Skip("integration test: skipped in -short mode")
	}
	for _, f := range rwsplittest.Flavors {
		t.Run(string(f), func(t *testing.T) {
			c := rwsplittest.Start(t, f, rwsplittest.WithReplicas(2))
			ctx := context.Background()
			q := swNodeSQL{f}
			createSwitchTable(t, c)
			env := openSwitchDB(t, c)
			db := env.db

			// A write every replica has, then every replica stops replicating.
			sess := rwsplit.NewSession(rwsplit.Token{})
			sctx := rwsplit.WithSession(ctx, sess)
			_, err := db.ExecContext(sctx, swInsertSQL, "kept-1")
			require.NoError(t, err)
			require.NoError(t, c.WaitCaughtUp(ctx))
			for _, r := range c.Replicas {
				require.NoError(t, swExec(ctx, r, q.stop()))
			}
			old := c.Primary
			var oldUUID string
			if f == rwsplittest.MySQL {
				require.NoError(t, old.Admin().QueryRowContext(ctx, "SELECT @@server_uuid").Scan(&oldUUID))
			}
			for i := range 3 {
				_, err := db.ExecContext(sctx, swInsertSQL, fmt.Sprintf("lost-%d", i))
				require.NoError(t, err)
			}
			tok := sess.Token()
			require.False(t, tok.IsZero())
			text := tok.String()
			t.Logf("token of the writes (%d bytes): %s", len(text), text)

			// The primary dies; a replica, which has none of them, is promoted.
			p, err := c.Promote(ctx, c.Replicas[0], rwsplittest.StopOldPrimary)
			require.NoError(t, err)
			next := c.Primary
			for _, r := range c.Replicas {
				require.NoError(t, r.StartApplier(ctx))
			}
			awaitPrimary(t, db, next, "lost writes")
			var have int
			require.NoError(t, next.Admin().QueryRowContext(ctx, "SELECT COUNT(*) FROM app.sw WHERE k LIKE 'lost-%'").Scan(&have))
			require.Zero(t, have, "the new primary lacks the writes")
			var executed string
			require.NoError(t, next.Admin().QueryRowContext(ctx, gtidExecutedSQL(f)).Scan(&executed))
			t.Logf("%s promoted in %v; it has executed %s", next.Name, p.Total.Round(time.Millisecond), strings.ReplaceAll(executed, "\n", ""))

			resumed := func() context.Context {
				tk, err := rwsplit.ParseToken(text)
				require.NoError(t, err)
				return rwsplit.WithSession(ctx, rwsplit.NewSession(tk))
			}

			// OrFail: ErrWritesLost, with no wait.
			st0 := db.Stats()
			t0 := time.Now()
			var n int
			err = db.QueryRowContext(rwsplit.WithConsistency(resumed(), rwsplit.WaitGTID(time.Second).OrFail()),
				"SELECT COUNT(*) FROM app.sw WHERE k LIKE 'lost-%'").Scan(&n)
			took := time.Since(t0)
			st1 := db.Stats()
			t.Logf("WaitGTID(1s).OrFail() read: %v after %v", err, took.Round(time.Millisecond))
			assert.ErrorIs(t, err, rwsplit.ErrWritesLost)
			assert.ErrorIs(t, err, rwsplit.ErrReplicaNotCaughtUp)
			assert.Equal(t, st0.Waits, st1.Waits, "the read waits on no replica for writes that are lost")
			assert.Equal(t, st0.WritesLost+1, st1.WritesLost, "Stats.WritesLost counts the read")

			// Without OrFail: the read goes on, the loss is counted and observed.
			env.mu.Lock()
			evts := len(env.lostEvts)
			env.mu.Unlock()
			t0 = time.Now()
			err = db.QueryRowContext(rwsplit.WithConsistency(resumed(), rwsplit.WaitGTID(time.Second)),
				"SELECT COUNT(*) FROM app.sw WHERE k = 'kept-1'").Scan(&n)
			took = time.Since(t0)
			st2 := db.Stats()
			require.NoError(t, err, "a read without OrFail goes on")
			assert.Equal(t, 1, n, "it reads the writes that were kept")
			assert.Greater(t, st2.WritesLost, st1.WritesLost, "Stats.WritesLost grows")
			env.mu.Lock()
			got := slices.Clone(env.lostEvts[evts:])
			env.mu.Unlock()
			t.Logf("WaitGTID(1s) read: ok after %v; events: %+v", took.Round(time.Millisecond), got)
			if assert.Len(t, got, 1, "WritesLost receives the event") {
				e := got[0]
				if assert.NotNil(t, e.Primary) {
					assert.Same(t, db.Primary(), e.Primary.DB(), "the event names the new primary")
				}
				assert.NotEmpty(t, e.GTIDs)
				if f == rwsplittest.MySQL {
					assert.Contains(t, strings.ToLower(e.GTIDs), strings.ToLower(oldUUID), "the lost GTIDs are the old primary's")
				} else {
					assert.Contains(t, e.GTIDs, fmt.Sprintf("-%d-", old.ServerID), "the lost GTIDs are the old primary's")
				}
			}
		})
	}
}

// firstN returns at most n elements of s.
func firstN(s []string, n int) []string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
