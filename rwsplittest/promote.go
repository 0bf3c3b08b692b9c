package rwsplittest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// PromoteMode says what Promote does with the old primary.
type PromoteMode int

// The ways Promote takes the old primary out of its role. The zero value is
// none of them.
const (
	// StopOldPrimary stops the old primary's container at once (Node.Kill),
	// as a primary that crashed or lost power: the promoted replica applies
	// what it had received, anything it had not received is lost. (A clean
	// shutdown would count up to ten seconds of MySQL's shutdown as write
	// downtime.) The stopped node is Retired; started again, it comes back
	// read-only, replicating from nobody.
	StopOldPrimary PromoteMode = iota + 1
	// ReadOnlyOldPrimary makes the old primary read-only (MySQL:
	// super_read_only; MariaDB: read_only) and leaves it running, replicating
	// from nobody, as a fenced primary: it serves stale reads and refuses
	// writes. The promoted replica first applies everything it had executed,
	// so nothing is lost. The node is Retired.
	ReadOnlyOldPrimary
	// DemoteOldPrimary makes the old primary read-only and a replica of the
	// new one, the flip of an active–passive pair: a planned switchover. The
	// promoted replica first applies everything the old primary had
	// executed, so nothing is lost. The node is appended to Cluster.Replicas.
	DemoteOldPrimary
)

// String names the mode as its constant does.
func (m PromoteMode) String() string {
	switch m {
	case StopOldPrimary:
		return "StopOldPrimary"
	case ReadOnlyOldPrimary:
		return "ReadOnlyOldPrimary"
	case DemoteOldPrimary:
		return "DemoteOldPrimary"
	}
	return fmt.Sprintf("PromoteMode(%d)", int(m))
}

// Promotion is what Promote measured.
type Promotion struct {
	// WriteDowntime runs from Promote's call, when it starts fencing the old
	// primary, until the new primary took writes: an upper bound on how long
	// the cluster had no writable primary (the old one may take writes for
	// part of its fencing, such as the first moments of its shutdown).
	WriteDowntime time.Duration
	// Total runs until every replica replicated from the new primary again
	// (and, WithSemiSync, until enough of them acknowledge its writes).
	Total time.Duration
}

// promoteApplyTimeout bounds how long Promote waits for the chosen replica to
// apply what it must before it becomes the primary.
const promoteApplyTimeout = time.Minute

// Promote makes replica the primary, taking the old primary out of its role
// as how says, and returns how long the cluster could not take writes.
//
// It fences the old primary (stops it, or makes it read-only), lets replica
// apply everything it must (what it received; with a running old primary,
// everything that one executed) within a minute (its applier is started if
// stopped; a delay still holds it back), then stops and forgets its
// replication (STOP REPLICA and RESET REPLICA ALL; MariaDB: STOP SLAVE and
// RESET SLAVE ALL) and makes it writable. Then it points at replica every
// node that replicated from the old primary (with SOURCE_AUTO_POSITION=1;
// MariaDB: MASTER_USE_GTID=slave_pos, after a demoted old primary took its
// own binlog position as its replication position), plus the demoted old
// primary, and waits until they replicate; a replica whose applier was
// stopped keeps it stopped, a delay stays. Replicas of any other node keep
// their source: cascaded replicas of replica1 stay under replica1 unless
// replica1 is promoted, when they become first-tier.
//
// Cluster.Primary, Replicas and Retired, and each Node's Replica and Source,
// describe the new topology from then on; node names do not change, so names
// are not roles after a promotion. The nodes whose role changed keep it
// across Stop and Start. With WithSemiSync the new primary waits for the
// same number of acknowledgements, and Promote returns once that many of its
// replicas are connected; it fails before doing anything when fewer would be.
//
// Promote may be called again on the new topology (a second Demote flips an
// active–passive pair back). Every node it touches must be up. Replicas that
// had received more than replica must not be left to replicate from it:
// promote the most advanced replica after StopOldPrimary. On error the
// cluster may be left part-way (the error names the step), with the fields
// describing the intended topology once the new primary took writes. It costs
// a few statements per node and the waits, about a second; it must not run
// concurrently with other uses of the Cluster's fields.
func (c *Cluster) Promote(ctx context.Context, replica *Node, how PromoteMode) (Promotion, error) {
	begin := time.Now()
	f, semi := c.Flavor, c.SemiSyncAcks > 0
	switch {
	case how < StopOldPrimary || how > DemoteOldPrimary:
		return Promotion{}, fmt.Errorf("rwsplittest: Promote: unknown %v", how)
	case replica == nil:
		return Promotion{}, errors.New("rwsplittest: Promote: nil replica")
	case !slices.Contains(c.Replicas, replica):
		return Promotion{}, fmt.Errorf("rwsplittest: Promote(%s, %v): not a replica of this cluster (its replicas: %s)",
			replica.Name, how, names(c.Replicas))
	}
	old := c.Primary

	// The new topology: who replicates from the new primary.
	var repoint []*Node
	direct := 0
	for _, r := range c.Replicas {
		switch {
		case r == replica:
		case r.Source == old:
			repoint = append(repoint, r)
			direct++
		case r.Source == replica:
			direct++
		}
	}
	if how == DemoteOldPrimary {
		repoint = append(repoint, old)
		direct++
	}
	if semi && direct < c.SemiSyncAcks {
		return Promotion{}, fmt.Errorf("rwsplittest: Promote(%s, %v): the new primary would have %d replicas, fewer than the %d semi-sync acknowledgements its writes wait for",
			replica.Name, how, direct, c.SemiSyncAcks)
	}

	// Fence the old primary, and learn what the replica must apply.
	var mustApply string
	if how == StopOldPrimary {
		if err := old.Kill(ctx); err != nil {
			return Promotion{}, fmt.Errorf("rwsplittest: Promote: fence old primary: %w", err)
		}
	} else {
		// Read-only is the fence; its semi-sync side goes after the
		// promotion (turning the source side off takes MySQL a second).
		for _, q := range f.roleSQL(roleRetired, false) {
			if err := old.exec(ctx, q); err != nil {
				return Promotion{}, fmt.Errorf("rwsplittest: Promote: fence old primary: %w", err)
			}
		}
		if err := old.admin().QueryRowContext(ctx, f.executedSQL()).Scan(&mustApply); err != nil {
			return Promotion{}, fmt.Errorf("rwsplittest: Promote: read old primary %s's executed GTIDs: %w", old.Name, err)
		}
	}

	// Let the replica apply it, then make it the primary.
	if err := replica.applyAll(ctx, mustApply); err != nil {
		return Promotion{}, err
	}
	for _, q := range append([]string{f.stopReplica(""), f.resetReplicaSQL()}, f.roleSQL(rolePrimary, semi)...) {
		if err := replica.exec(ctx, q); err != nil {
			return Promotion{}, fmt.Errorf("rwsplittest: Promote: promote %s: %w", replica.Name, err)
		}
	}
	p := Promotion{WriteDowntime: time.Since(begin)}

	// Describe the new topology.
	replicas := slices.DeleteFunc(slices.Clone(c.Replicas), func(r *Node) bool { return r == replica })
	c.Primary = replica
	replica.Replica, replica.Source = false, nil
	old.Replica, old.Source = false, nil
	if how != DemoteOldPrimary {
		c.Retired = append(c.Retired, old)
	} else {
		replicas = append(replicas, old)
	}
	for _, r := range repoint {
		r.Replica, r.Source = true, replica
	}
	c.Replicas = replicas

	if how == ReadOnlyOldPrimary && semi { // a demoted one gets its side as it is re-pointed
		for _, q := range f.roleSQL(roleRetired, semi) {
			if err := old.exec(ctx, q); err != nil {
				return p, fmt.Errorf("rwsplittest: Promote: retire old primary: %w", err)
			}
		}
	}
	// The old and new primaries keep their roles across Stop and Start.
	for _, n := range []*Node{replica, old} {
		if err := n.persistRole(ctx); err != nil {
			return p, err
		}
	}

	// Point the others at the new primary.
	applying := make([]bool, len(repoint))
	for i, r := range repoint {
		var err error
		if applying[i], err = r.repoint(ctx, replica, r == old); err != nil {
			return p, err
		}
	}
	for i, r := range repoint {
		if err := r.waitThreads(ctx, time.Minute, applying[i]); err != nil {
			return p, fmt.Errorf("rwsplittest: Promote: %w", err)
		}
	}
	if err := c.waitSemiSync(ctx, time.Minute); err != nil {
		return p, fmt.Errorf("rwsplittest: Promote: %w", err)
	}
	p.Total = time.Since(begin)
	return p, nil
}

// applyAll waits, within promoteApplyTimeout, until the replica has applied
// executed or, when it is empty, everything it had received; it starts the
// applier if it was stopped.
func (n *Node) applyAll(ctx context.Context, executed string) error {
	f := n.cluster.Flavor
	if err := n.exec(ctx, f.startReplica("SQL_THREAD")); err != nil { // a no-op, with a warning, when it runs
		return fmt.Errorf("rwsplittest: Promote: %w", err)
	}
	if executed == "" {
		st, err := n.ReplicaStatus(ctx)
		if err != nil {
			return fmt.Errorf("rwsplittest: Promote: %w", err)
		}
		executed = st[f.retrievedColumn()]
	}
	wctx, cancel := context.WithTimeout(ctx, promoteApplyTimeout)
	defer cancel()
	if err := n.waitFor(wctx, executed); err != nil {
		if ctx.Err() == nil && wctx.Err() != nil {
			return fmt.Errorf("rwsplittest: Promote: %s has not applied %s after %v", n.Name,
				strings.ReplaceAll(executed, "\n", ""), promoteApplyTimeout)
		}
		return fmt.Errorf("rwsplittest: Promote: %w", err)
	}
	return nil
}

// repoint makes the node replicate from source: a replica keeps its applier
// stopped if it was; a demoted primary becomes a replica, taking its own
// binlog position as its replication position on MariaDB. It reports whether
// the applier runs.
func (n *Node) repoint(ctx context.Context, source *Node, demoted bool) (applying bool, err error) {
	f := n.cluster.Flavor
	applying = true
	if !demoted {
		st, err := n.ReplicaStatus(ctx)
		if err != nil {
			return false, fmt.Errorf("rwsplittest: Promote: %w", err)
		}
		_, applying = threads(st)
	}
	var qs []string
	if !demoted { // a demoted primary replicates from nobody
		qs = append(qs, f.stopReplica(""))
	} else {
		qs = append(qs, f.roleSQL(roleReplica, n.cluster.SemiSyncAcks > 0)...)
		if f == MariaDB {
			// What it executed as the primary is in its binlog, not in
			// gtid_slave_pos, which MASTER_USE_GTID=slave_pos starts from.
			qs = append(qs, "SET GLOBAL gtid_slave_pos = @@GLOBAL.gtid_binlog_pos")
		}
	}
	qs = append(qs, f.changeSourceSQL(source.Name))
	if applying {
		qs = append(qs, f.startReplica(""))
	} else {
		qs = append(qs, f.startReplica("IO_THREAD"))
	}
	for _, q := range qs {
		if err := n.exec(ctx, q); err != nil {
			return false, fmt.Errorf("rwsplittest: Promote: point %s at %s: %w", n.Name, source.Name, err)
		}
	}
	return applying, nil
}

// persistRole writes the node's current role options where start.sh reads
// them, so that a restart keeps the role. It works on a stopped container.
func (n *Node) persistRole(ctx context.Context) error {
	args := n.cluster.Flavor.roleArgs(n.role(), n.cluster.SemiSyncAcks > 0)
	if err := n.ctr.CopyToContainer(ctx, []byte(strings.Join(args, "\n")+"\n"), roleArgsFile, 0o644); err != nil {
		return fmt.Errorf("rwsplittest: Promote: write %s's role to %s: %w", n.Name, roleArgsFile, err)
	}
	return nil
}

func names(nodes []*Node) string {
	s := make([]string, len(nodes))
	for i, n := range nodes {
		s[i] = n.Name
	}
	return strings.Join(s, ", ")
}
