package rwsplit_test

// Group Replication and Galera on real servers: the monitor reads each
// member's role and state, discovery finds the one writer, reads spread
// over the other members, and every waiting mode reads its write while a
// member's applier is held (the Eventual control reads stale data under the
// same hold).

import (
	"context"
	"database/sql"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rwsplit/rwsplit"
	"github.com/rwsplit/rwsplit/rwsplittest"
)

// kindCase is one cluster kind the kit builds.
type kindCase struct {
	name   string
	flavor rwsplittest.Flavor
	kind   rwsplit.ClusterKind
	opts   []rwsplittest.Option
}

// groupKinds are the grouped kinds, 3 members each.
func groupKinds() []kindCase {
	return []kindCase{
		{"group-replication", rwsplittest.MySQL, rwsplit.ClusterGroupReplication,
			[]rwsplittest.Option{rwsplittest.WithKind(rwsplittest.GroupReplication)}},
		{"group-replication-multi-primary", rwsplittest.MySQL, rwsplit.ClusterGroupReplication,
			[]rwsplittest.Option{rwsplittest.WithKind(rwsplittest.GroupReplication), rwsplittest.WithMultiPrimary()}},
		{"galera-10.11", rwsplittest.MariaDB, rwsplit.ClusterGalera,
			[]rwsplittest.Option{rwsplittest.WithKind(rwsplittest.Galera)}},
		{"galera-11.8", rwsplittest.MariaDB, rwsplit.ClusterGalera,
			[]rwsplittest.Option{rwsplittest.WithKind(rwsplittest.Galera), rwsplittest.WithImage(rwsplittest.MariaDB118Image())}},
	}
}

// expectedWriter is the member rwsplit must write to: the group's primary
// (single-primary), else the member of lowest key (member id for Group
// Replication, node name for Galera).
func expectedWriter(c *rwsplittest.Cluster) *rwsplittest.Node {
	switch {
	case c.Kind == rwsplittest.GroupReplication && !c.MultiPrimary:
		return c.Primary
	case c.Kind == rwsplittest.GroupReplication:
		return slices.MinFunc(c.Nodes(), func(a, b *rwsplittest.Node) int { return strings.Compare(a.UUID, b.UUID) })
	}
	return slices.MinFunc(c.Nodes(), func(a, b *rwsplittest.Node) int { return strings.Compare(a.Name, b.Name) })
}

// memberName is the expression that names the member answering a query:
// its report host (Group Replication) or node name (Galera), both set to
// its kit name.
func memberName(c *rwsplittest.Cluster) string {
	if c.Kind == rwsplittest.Galera {
		return "@@wsrep_node_name"
	}
	return "@@report_host"
}

// kindRead reads k under ctx with the name of the member that answered.
func kindRead(ctx context.Context, c *rwsplittest.Cluster, db *rwsplit.DB, k int64) (v sql.NullInt64, host string, err error) {
	err = db.QueryRowContext(ctx, "SELECT (SELECT v FROM app.kv WHERE k = ?), "+memberName(c), k).Scan(&v, &host)
	return v, host, err
}

// openKind opens a DB over every member of c under discovery, the writer's
// DSN given last (discovery must find it), and waits until the monitor has
// found the writer and sees the other members serving.
func openKind(t *testing.T, c *rwsplittest.Cluster, writer *rwsplittest.Node, opts ...rwsplit.Option) *rwsplit.DB {
	t.Helper()
	var dsns []string
	for _, n := range c.Nodes() {
		if n != writer {
			dsns = append(dsns, n.DSN("multiStatements=true", "interpolateParams=true"))
		}
	}
	dsns = append(dsns, writer.DSN("multiStatements=true", "interpolateParams=true"))
	db, err := rwsplit.Open("mysql", dsns[0], dsns[1:], append([]rwsplit.Option{
		rwsplit.WithDiscovery(), rwsplit.WithMonitorInterval(100 * time.Millisecond)}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	var host string
	var herr error
	require.Eventually(t, func() bool {
		up := 0
		for _, st := range rwsplit.ReplicaStatus(db) {
			if st.Usable && st.State == rwsplit.StateUp {
				up++
			}
		}
		herr = db.QueryRowContext(rwsplit.WithConsistency(context.Background(), rwsplit.Primary), "SELECT "+memberName(c)).Scan(&host)
		return herr == nil && host == writer.Name && up == len(c.Nodes())-1
	}, 60*time.Second, 50*time.Millisecond, "writer %s found (the primary answers %q, %v), the others serving: %+v", writer.Name, host, herr, rwsplit.ReplicaStatus(db))
	return db
}

// TestClusterKinds runs, on each grouped kind, the checks of the issue on
// real servers: roles, kind and names in ReplicaStatus, reads spread over
// the non-writer members, and every mode under a held applier.
func TestClusterKinds(t *testing.T) {
	if testing.Short() && !rwsplittest.InCI() {
		t.Skip("integration test: skipped in -short mode")
	}
	for _, kc := range groupKinds() {
		t.Run(kc.name, func(t *testing.T) {
			c := rwsplittest.Start(t, kc.flavor, kc.opts...)
			createKV(t, c)
			require.NoError(t, c.WaitCaughtUp(context.Background()))
			writer := expectedWriter(c)
			db := openKind(t, c, writer)

			t.Run("status", func(t *testing.T) {
				names := map[string]bool{}
				for _, st := range rwsplit.ReplicaStatus(db) {
					assert.Equal(t, kc.kind, st.Kind, "%s", st.Name)
					assert.NotEmpty(t, st.MemberState, "%s", st.Name)
					assert.GreaterOrEqual(t, st.Queue, int64(0), "%s", st.Name)
					assert.False(t, names[st.Name], "names are unique: %s twice", st.Name)
					names[st.Name] = true
				}
			})
			t.Run("eventual spreads", func(t *testing.T) {
				served := map[string]int{}
				const n = 300
				for range n {
					_, host, err := kindRead(context.Background(), c, db, 1)
					require.NoError(t, err)
					served[host]++
				}
				for _, m := range c.Nodes() {
					if m == writer {
						assert.Zero(t, served[m.Name], "the writer serves no Eventual read: %v", served)
						continue
					}
					assert.GreaterOrEqual(t, served[m.Name], n/4, "%s serves at least 25%%: %v", m.Name, served)
				}
			})
			held := heldMember(c, writer)
			t.Run("modes under a held applier", func(t *testing.T) {
				for _, mc := range []struct {
					mode        rwsplit.Consistency
					minMember   float64 // least share of reads served by a non-writer member
					mustBeFresh bool
					mustBeStale bool
					n           int
					afterRounds bool // read once the hold is over and the monitor looked again
				}{
					{rwsplit.WaitGTID(5 * time.Second), 0.9, true, false, 12, false},
					{rwsplit.WaitPosition(5 * time.Second), 0.9, true, false, 12, false},
					{rwsplit.Latest(5 * time.Second), 0.9, true, false, 12, false},
					{rwsplit.Monotonic(5 * time.Second), 0.9, true, false, 12, false},
					// Fast never waits: right after a write it reads the
					// writer (no member is known to have the write yet)...
					{rwsplit.Fast, 0, true, false, 10, false},
					// ... and a member once the monitor saw them apply it.
					{rwsplit.Fast, 0.9, true, false, 10, true},
					{rwsplit.Sleep(time.Second), 0.9, true, false, 5, false},
					{rwsplit.Primary, 0, true, false, 10, false},
					{rwsplit.Eventual, 0.9, false, true, 12, false},
				} {
					name := mc.mode.String()
					if mc.afterRounds {
						name += "/after-rounds"
					}
					t.Run(name, func(t *testing.T) {
						out := heldPairs(t, c, db, held, mc.mode, mc.n, mc.afterRounds)
						t.Logf("%v: %d stale of %d, served %v", mc.mode, out.stale, out.n, out.served)
						if mc.mustBeFresh {
							assert.Zero(t, out.stale, "reads its writes")
						}
						if mc.mustBeStale {
							assert.Positive(t, out.stale, "the control reads stale data under the same hold")
						}
						onMembers := out.n - out.served[writer.Name]
						assert.GreaterOrEqual(t, float64(onMembers), mc.minMember*float64(out.n), "served by non-writer members: %v", out.served)
						if mc.mode == rwsplit.Primary {
							assert.Equal(t, out.n, out.served[writer.Name], "Primary reads the writer")
						}
					})
				}
			})
			t.Run("lag and queue", func(t *testing.T) {
				release, err := held.HoldApplier(context.Background())
				require.NoError(t, err)
				defer func() { _ = release(context.Background()) }()
				ctx := context.Background()
				for i := range 5 {
					_, err := db.ExecContext(ctx, "INSERT INTO app.kv (k, v) VALUES (?, ?) ON DUPLICATE KEY UPDATE v = v + 1", 2, i)
					require.NoError(t, err)
				}
				require.Eventually(t, func() bool {
					for _, st := range rwsplit.ReplicaStatus(db) {
						if st.Name == held.Addr() {
							return st.Lag >= 300*time.Millisecond && st.Queue > 0
						}
					}
					return false
				}, 10*time.Second, 20*time.Millisecond, "the held member's lag and queue grow: %+v", rwsplit.ReplicaStatus(db))
				// MaxStaleness, on the topology's own lag measure, avoids
				// the held member.
				for range 20 {
					_, host, err := kindRead(rwsplit.WithConsistency(ctx, rwsplit.MaxStaleness(250*time.Millisecond)), c, db, 2)
					require.NoError(t, err)
					assert.NotEqual(t, held.Name, host, "MaxStaleness never reads the held member")
				}
				require.NoError(t, release(ctx))
			})
		})
	}
}

// heldMember is the non-writer member whose applier tests hold: the first in
// name order.
func heldMember(c *rwsplittest.Cluster, writer *rwsplittest.Node) *rwsplittest.Node {
	for _, n := range c.Nodes() {
		if n != writer {
			return n
		}
	}
	return nil
}

// heldOutcome is what n write→read pairs under a held applier saw.
type heldOutcome struct {
	n, stale int
	served   map[string]int // member name → reads it answered
}

// heldPairs makes n pairs: the applier of member held is held, a fresh key
// written through a new Session, the hold released 300 ms after the write
// returned (in the background) and the key read at once under mode through
// the same Session.
//
// With afterRounds the read waits for the release, then until every
// member's last check ended 250 ms after it (a check that began after the
// release): the members have applied the write and the monitor has seen
// them do it.
func heldPairs(t *testing.T, c *rwsplittest.Cluster, db *rwsplit.DB, held *rwsplittest.Node, mode rwsplit.Consistency, n int, afterRounds bool) heldOutcome {
	t.Helper()
	out := heldOutcome{n: n, served: map[string]int{}}
	base := time.Now().UnixNano() % 1e12 * 1000
	var wg sync.WaitGroup
	defer wg.Wait()
	for i := range n {
		k := base + int64(i)
		release, err := held.HoldApplier(context.Background())
		require.NoError(t, err)
		ctx := rwsplit.WithConsistency(rwsplit.WithSession(context.Background(), rwsplit.NewSession(rwsplit.Token{})), mode)
		_, err = db.ExecContext(ctx, "INSERT INTO app.kv (k, v) VALUES (?, ?)", k, k)
		if err != nil {
			_ = release(context.Background())
			require.NoError(t, err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(300 * time.Millisecond)
			assert.NoError(t, release(context.Background()))
		}()
		if afterRounds {
			wg.Wait()
			released := time.Now()
			require.Eventually(t, func() bool {
				for _, st := range rwsplit.ReplicaStatus(db) {
					if !st.LastCheck.After(released.Add(250 * time.Millisecond)) {
						return false
					}
				}
				return true
			}, 10*time.Second, 10*time.Millisecond, "the monitor looked again after the release")
		}
		v, host, err := kindRead(ctx, c, db, k)
		require.NoError(t, err)
		out.served[host]++
		if !v.Valid || v.Int64 != k {
			out.stale++
		}
		wg.Wait()
	}
	return out
}

// TestClusterKindWriterChange: after the writer changes (a Group Replication
// election planned with group_replication_set_as_primary, the Galera writer
// node stopped), writes resume on the new writer within 2 monitor rounds of
// the group having it, no acknowledged write is lost and no read fails.
func TestClusterKindWriterChange(t *testing.T) {
	if testing.Short() && !rwsplittest.InCI() {
		t.Skip("integration test: skipped in -short mode")
	}
	stopGR := groupKinds()[0]
	stopGR.name += "/primary-stopped"
	for _, kc := range []kindCase{groupKinds()[0], stopGR, groupKinds()[2]} {
		t.Run(kc.name, func(t *testing.T) {
			c := rwsplittest.Start(t, kc.flavor, kc.opts...)
			createKV(t, c)
			require.NoError(t, c.WaitCaughtUp(context.Background()))
			writer := expectedWriter(c)
			const interval = 200 * time.Millisecond
			db := openKind(t, c, writer, rwsplit.WithMonitorInterval(interval))

			// Writers and readers run until stopped; each acknowledged write
			// is remembered.
			ctx, stop := context.WithCancel(context.Background())
			var acked sync.Map
			var next atomic.Int64
			next.Store(time.Now().UnixNano() % 1e12 * 1000)
			var writeErrs, readErrs atomic.Int64
			var lastErr atomic.Value
			var lastAck atomic.Int64
			var wg sync.WaitGroup
			for range 2 {
				wg.Add(2)
				go func() {
					defer wg.Done()
					for ctx.Err() == nil {
						k := next.Add(1)
						if _, err := db.ExecContext(ctx, "INSERT INTO app.kv (k, v) VALUES (?, ?)", k, k); err != nil {
							if ctx.Err() == nil {
								writeErrs.Add(1)
								lastErr.Store(err.Error())
							}
							time.Sleep(10 * time.Millisecond)
							continue
						}
						acked.Store(k, true)
						lastAck.Store(time.Now().UnixNano())
					}
				}()
				go func() {
					defer wg.Done()
					for ctx.Err() == nil {
						if _, _, err := kindRead(ctx, c, db, 1); err != nil && ctx.Err() == nil {
							readErrs.Add(1)
							lastErr.Store(err.Error())
						}
					}
				}()
			}
			time.Sleep(time.Second)

			var newWriter *rwsplittest.Node
			var changed time.Time
			switch {
			case c.Kind == rwsplittest.GroupReplication && strings.HasSuffix(kc.name, "/primary-stopped"):
				// The primary stops: the group elects another (its own
				// rule), which the kit reads.
				require.NoError(t, writer.Stop(context.Background()))
				require.NoError(t, c.UpdateRoles(context.Background()))
				changed = time.Now()
				newWriter = c.Primary
				require.NotEqual(t, writer, newWriter)
			case c.Kind == rwsplittest.GroupReplication:
				newWriter = c.Replicas[len(c.Replicas)-1]
				require.NoError(t, c.SetPrimary(context.Background(), newWriter))
				changed = time.Now()
			case c.Kind == rwsplittest.Galera:
				require.NoError(t, writer.Stop(context.Background()))
				changed = time.Now()
				rest := slices.DeleteFunc(slices.Clone(c.Nodes()), func(n *rwsplittest.Node) bool { return n == writer })
				newWriter = slices.MinFunc(rest, func(a, b *rwsplittest.Node) int { return strings.Compare(a.Name, b.Name) })
			}
			// Writes resume on the new writer.
			var resumed time.Duration
			require.Eventually(t, func() bool {
				var host string
				err := db.QueryRowContext(rwsplit.WithConsistency(context.Background(), rwsplit.Primary), "SELECT "+memberName(c)).Scan(&host)
				if err == nil && host == newWriter.Name && time.Unix(0, lastAck.Load()).After(changed) {
					resumed = time.Since(changed)
					return true
				}
				return false
			}, 30*time.Second, 5*time.Millisecond, "writes move to %s", newWriter.Name)
			time.Sleep(time.Second)
			stop()
			wg.Wait()
			t.Logf("%s: writer %s → %s; writes resumed %v after the change; %d write errors, %d read errors (last: %v)",
				kc.name, writer.Name, newWriter.Name, resumed.Round(time.Millisecond), writeErrs.Load(), readErrs.Load(), lastErr.Load())

			// Every acknowledged write is on the new writer.
			var keys []int64
			acked.Range(func(k, _ any) bool { keys = append(keys, k.(int64)); return true })
			sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
			lost := 0
			for _, k := range keys {
				var v sql.NullInt64
				err := newWriter.Admin().QueryRowContext(context.Background(), "SELECT v FROM app.kv WHERE k = ?", k).Scan(&v)
				if err != nil || !v.Valid {
					lost++
				}
			}
			assert.Positive(t, len(keys))
			assert.Zero(t, lost, "acknowledged writes lost, of %d", len(keys))
			assert.Zero(t, readErrs.Load(), "reads failed")
			// Measured from when the group or cluster had its new writer
			// (the election returned; the stopped node's container
			// stopped, the group's expel and election included).
			assert.Less(t, resumed, 2*interval+time.Second, "writes resume within 2 monitor rounds (plus margin)")
		})
	}
}
