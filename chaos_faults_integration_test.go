package rwsplit_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rwsplit/rwsplit"
	hist "github.com/rwsplit/rwsplit/internal/history"
	"github.com/rwsplit/rwsplit/rwsplittest"
)

// Faults injected through the test kit, one at a time, each put back and
// followed by every replica catching up with the primary before the next.

// The kinds of fault.
const (
	faultApplier      = "applier-stop"       // one replica's applier stopped
	faultApplierAll   = "applier-stop-all"   // every replica's applier stopped: waits must fall back
	faultDelay        = "delay"              // one replica applies 1–2 s late (SOURCE_DELAY)
	faultPauseReplica = "pause-replica"      // one replica frozen (docker pause)
	faultStopReplica  = "stop-replica"       // one replica stopped (cleanly or killed) and started
	faultDisconnect   = "disconnect-replica" // one replica cut from the network, then reconnected
	faultPausePrimary = "pause-primary"      // the primary frozen for at most 2 s
	faultPromote      = hist.FaultPromote    // a replica promoted, the old primary demoted to a replica
	faultBurst        = "burst"              // heavy writes through db1 (replication lag)
)

// chaosFaultKinds are the faults of a history run, drawn as from a deck:
// each once, in random order, then again.
var chaosFaultKinds = []string{
	faultApplier, faultApplierAll, faultDelay, faultPauseReplica, faultStopReplica,
	faultDisconnect, faultPausePrimary, faultPromote, faultBurst,
}

// chaosGroupFaultKinds are those of a Group Replication run: no delay (a
// group has no SOURCE_DELAY); an applier is held with FLUSH TABLES WITH
// READ LOCK (the group's applier channel cannot be stopped); a promotion is
// an election (group_replication_set_as_primary).
var chaosGroupFaultKinds = []string{
	faultApplier, faultApplierAll, faultPauseReplica, faultStopReplica,
	faultDisconnect, faultPausePrimary, faultPromote, faultBurst,
}

// chaosGaleraFaultKinds are those of a Galera run: the group's, but the
// promotion.
var chaosGaleraFaultKinds = []string{
	faultApplier, faultApplierAll, faultPauseReplica, faultStopReplica,
	faultDisconnect, faultPausePrimary, faultBurst,
}

// chaosInjector injects faults into c and records them in h.
type chaosInjector struct {
	c   *rwsplittest.Cluster
	h   *hist.History
	rng *rand.Rand
	// burst writes heavily through db1 (outside the history) for d.
	burst func(ctx context.Context, d time.Duration) (int64, error)
	// holdFixed, when set, is how long every fault is held (else 0.5–3 s).
	holdFixed time.Duration
}

// run injects the faults of first, then faults drawn from kinds, until no
// fault can start at least minLeft before until. Each is put back before the
// next starts; the gap between two is 1–5 s, so that there are quiet periods too.
func (inj *chaosInjector) run(ctx context.Context, until time.Time, first, kinds []string) {
	deck := slices.Clone(first)
	const minLeft = 4 * time.Second
	for time.Until(until) > minLeft && ctx.Err() == nil {
		if len(deck) == 0 {
			if len(kinds) == 0 {
				return
			}
			deck = slices.Clone(kinds)
			inj.rng.Shuffle(len(deck), func(i, j int) { deck[i], deck[j] = deck[j], deck[i] })
		}
		kind := deck[0]
		deck = deck[1:]
		inj.inject(ctx, kind)
		chaosPause(ctx, time.Second+time.Duration(inj.rng.IntN(4000))*time.Millisecond)
	}
}

func chaosPause(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// hold is how long to keep a fault: holdFixed, or 0.5–3 s.
func (inj *chaosInjector) hold() time.Duration {
	if inj.holdFixed > 0 {
		return inj.holdFixed
	}
	return 500*time.Millisecond + time.Duration(inj.rng.Int64N(int64(2500*time.Millisecond)))
}

// replica picks one of the current replicas.
func (inj *chaosInjector) replica() *rwsplittest.Node {
	return inj.c.Replicas[inj.rng.IntN(len(inj.c.Replicas))]
}

// chaosNodeName names a node with its server_id and current role (after a
// promotion the node named "primary" may be a replica).
func chaosNodeName(n *rwsplittest.Node, role string) string {
	return fmt.Sprintf("%s (server %d, %s)", n.Name, n.ServerID, role)
}

// inject runs one fault, puts the cluster back, and waits until every
// replica has caught up; it records the fault, with any error, in the
// history. The cluster is put back even when injecting failed part-way.
func (inj *chaosInjector) inject(ctx context.Context, kind string) {
	c := inj.c
	f := &hist.Fault{Kind: kind, Start: time.Now()}
	// Restoring uses its own context: it must run even if ctx ended.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 3*time.Minute)
	defer cancel()
	var errs []error
	do := func(err error) bool {
		if err != nil {
			errs = append(errs, err)
		}
		return err == nil
	}
	hold := inj.hold()
	switch kind {
	case faultApplier:
		r := inj.replica()
		f.Target = chaosNodeName(r, "replica")
		if start, err := chaosStopApplier(ctx, r); do(err) {
			chaosPause(ctx, hold)
			do(start(rctx))
		}
	case faultApplierAll:
		f.Target = "every replica"
		var started []func(context.Context) error
		for _, r := range c.Replicas {
			if start, err := chaosStopApplier(ctx, r); do(err) {
				started = append(started, start)
			}
		}
		chaosPause(ctx, hold)
		for _, start := range started {
			do(start(rctx))
		}
	case faultDelay:
		r := inj.replica()
		d := time.Duration(1+inj.rng.IntN(2)) * time.Second
		f.Target, f.Detail = chaosNodeName(r, "replica"), fmt.Sprintf(" by %v", d)
		if do(r.SetDelay(ctx, d)) {
			chaosPause(ctx, max(hold, 2*time.Second))
		}
		do(r.SetDelay(rctx, 0))
	case faultPauseReplica:
		r := inj.replica()
		f.Target = chaosNodeName(r, "replica")
		if do(r.Pause(ctx)) {
			chaosPause(ctx, hold)
			do(r.Unpause(rctx))
		}
	case faultStopReplica:
		r := inj.replica()
		f.Target = chaosNodeName(r, "replica")
		stop, how := r.Stop, " (clean stop)"
		if inj.rng.IntN(2) == 0 {
			stop, how = r.Kill, " (killed)"
		}
		f.Detail = how
		do(stop(ctx))
		do(r.Start(rctx))
	case faultDisconnect:
		r := inj.replica()
		f.Target = chaosNodeName(r, "replica")
		if do(r.Disconnect(ctx)) {
			chaosPause(ctx, hold)
			do(r.Reconnect(rctx))
		}
	case faultPausePrimary:
		p := c.Primary
		d := min(hold, 2*time.Second)
		f.Target, f.Detail = chaosNodeName(p, "primary"), fmt.Sprintf(" for %v", d.Round(time.Millisecond))
		if do(p.Pause(ctx)) {
			chaosPause(ctx, d)
			do(p.Unpause(rctx))
		}
	case faultPromote:
		r := inj.replica()
		f.Target = chaosNodeName(r, "replica")
		if c.Kind == rwsplittest.GroupReplication {
			t0 := time.Now()
			if do(c.SetPrimary(rctx, r)) {
				f.Detail = fmt.Sprintf(" (election, %v)", time.Since(t0).Round(time.Millisecond))
			}
			break
		}
		p, err := c.Promote(rctx, r, rwsplittest.DemoteOldPrimary)
		if do(err) {
			f.Detail = fmt.Sprintf(" (write downtime %v, total %v)", p.WriteDowntime.Round(time.Millisecond), p.Total.Round(time.Millisecond))
		}
	case faultBurst:
		f.Target = "db1"
		n, err := inj.burst(ctx, hold)
		do(err)
		f.Detail = fmt.Sprintf(" (%d statements in %v)", n, hold.Round(time.Millisecond))
	default:
		do(fmt.Errorf("unknown fault %q", kind))
	}
	f.Restored = time.Now()
	do(c.WaitCaughtUp(rctx))
	f.End = time.Now()
	f.Err = errors.Join(errs...)
	inj.h.AddFault(f)
}

// chaosBurst returns a burst function writing through db with 4 writers:
// each statement copies 64 rows of 512 bytes into app.chaos_burst, whose
// binlog the replicas must then apply. It returns the statements run; errors
// of single statements are counted, not returned, while a promotion may
// refuse them.
// chaosStopApplier stops r's applier and returns what starts it again: the
// replication applier thread of an async replica; on a Group Replication
// member or a Galera node, whose applier cannot be stopped alone, a FLUSH
// TABLES WITH READ LOCK held until then.
func chaosStopApplier(ctx context.Context, r *rwsplittest.Node) (func(context.Context) error, error) {
	if r.Replica {
		return r.StartApplier, r.StopApplier(ctx)
	}
	return r.HoldApplier(ctx)
}

func chaosBurst(db *rwsplit.DB) func(ctx context.Context, d time.Duration) (int64, error) {
	return func(ctx context.Context, d time.Duration) (int64, error) {
		ctx, cancel := context.WithTimeout(ctx, d)
		defer cancel()
		var n, failed atomic.Int64
		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for ctx.Err() == nil {
					_, err := db.ExecContext(ctx,
						"INSERT INTO app.chaos_burst (pad) SELECT REPEAT('x', 512) FROM app.chaos LIMIT 64")
					switch {
					case err == nil:
						n.Add(1)
					case ctx.Err() == nil:
						failed.Add(1)
					}
				}
			}()
		}
		wg.Wait()
		if failed.Load() > 0 {
			return n.Load(), fmt.Errorf("%d burst writes failed", failed.Load())
		}
		return n.Load(), nil
	}
}
