package rwsplittest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// activeActiveTimeout bounds how long MakeActiveActive waits for each
// direction of replication to run.
const activeActiveTimeout = time.Minute

// MakeActiveActive turns an asynchronous cluster of a primary and one replica
// (StartCluster with WithReplicas(1)) into an active–active (master–master)
// pair, as in "High Performance MySQL": both servers writable, each a replica
// of the other. The primary starts replicating from replica1 with the kit's
// replication user and GTID auto-positioning (MySQL: SOURCE_AUTO_POSITION=1;
// MariaDB: MASTER_USE_GTID=slave_pos, after the primary took its own binlog
// position as its replication position), and replica1 is made writable
// (read_only=OFF; MySQL: super_read_only=OFF too), which it stays across
// Stop and Start. Replication from the primary to replica1 is left as it was.
//
// Each server writes with its own server_id and skips the events that carry
// it when they come back around the cycle. On MariaDB both write in GTID
// domain 0 (the kit's async nodes run without gtid_strict_mode): that is
// safe while writes go to one server at a time, which is how rwsplit uses the
// pair; concurrent writes on both sides would interleave sequence numbers in
// one domain, and on either flavor nothing detects conflicting writes.
//
// Afterwards Cluster.Primary is still the node named "primary" (server_id 1,
// the lowest: the writer rwsplit's discovery chooses, and the one tests
// write to) and Cluster.Replicas is still [replica1], now writable. Both
// nodes replicate: each has Replica set and Source pointing at the other, so
// StopApplier, StartApplier, SetDelay, ReplicaStatus and WaitCaughtUp work on
// either, and Start waits for either to replicate again. Cluster.WaitCaughtUp
// waits for replica1 to apply what the primary executed. Promote is not
// meant for a pair: to fail over, a client simply writes to the other side.
//
// It returns once both servers replicate, each from the other (receiver and
// applier running, connected to the other's server_id), within a minute. It
// refuses any other topology (another kind, another number of replicas,
// cascaded or semi-synchronous replication, a promoted or retired node, a
// pair made already) before touching anything. It costs a few statements per
// node and the wait, well under a second.
func (c *Cluster) MakeActiveActive(ctx context.Context) error {
	if err := c.activeActiveOK(); err != nil {
		return err
	}
	p, r := c.Primary, c.Replicas[0]
	f := c.Flavor

	// replica1 takes writes, now and after a restart.
	for _, q := range f.roleSQL(rolePrimary, false) {
		if err := r.exec(ctx, q); err != nil {
			return fmt.Errorf("rwsplittest: MakeActiveActive: make %s writable: %w", r.Name, err)
		}
	}
	args := f.roleArgs(rolePrimary, false)
	if err := r.ctr.CopyToContainer(ctx, []byte(strings.Join(args, "\n")+"\n"), roleArgsFile, 0o644); err != nil {
		return fmt.Errorf("rwsplittest: MakeActiveActive: write %s's role to %s: %w", r.Name, roleArgsFile, err)
	}

	// The primary replicates from replica1.
	var qs []string
	if f == MariaDB {
		// What the primary wrote is in its binlog, not in gtid_slave_pos,
		// which MASTER_USE_GTID=slave_pos starts from: without this it
		// would ask replica1 for its whole binlog.
		qs = append(qs, "SET GLOBAL gtid_slave_pos = @@GLOBAL.gtid_binlog_pos")
	}
	qs = append(qs, f.changeSourceSQL(r.Name), f.startReplica(""))
	for _, q := range qs {
		if err := p.exec(ctx, q); err != nil {
			return fmt.Errorf("rwsplittest: MakeActiveActive: point %s at %s: %w", p.Name, r.Name, err)
		}
	}
	p.Replica, p.Source = true, r

	for _, n := range []*Node{p, r} {
		if err := n.waitSourceID(ctx, activeActiveTimeout); err != nil {
			return fmt.Errorf("rwsplittest: MakeActiveActive: %w", err)
		}
	}
	return nil
}

// activeActiveOK checks that c is a primary and one first-tier replica,
// replicating asynchronously.
func (c *Cluster) activeActiveOK() error {
	switch {
	case c.Kind != Async:
		return fmt.Errorf("rwsplittest: MakeActiveActive: a %s cluster; it needs an asynchronous one (WithKind(%s), the default) started WithReplicas(1)", c.Kind, Async)
	case c.Primary == nil || len(c.Replicas) != 1:
		return fmt.Errorf("rwsplittest: MakeActiveActive: %d replicas; it needs a primary and exactly one replica (WithReplicas(1), no WithCascadedReplicas)", len(c.Replicas))
	case c.SemiSyncAcks > 0:
		return errors.New("rwsplittest: MakeActiveActive: a semi-synchronous cluster (WithSemiSync); it needs asynchronous replication")
	case c.Primary.Replica:
		return fmt.Errorf("rwsplittest: MakeActiveActive: %s already replicates from %s (an active–active pair already?)", c.Primary.Name, c.Primary.Source.Name)
	case len(c.Retired) > 0 || c.Primary.Name != "primary" || c.Replicas[0].Source != c.Primary:
		return errors.New("rwsplittest: MakeActiveActive: the cluster was promoted; it needs the topology StartCluster built")
	}
	return nil
}

// waitSourceID waits until the node replicates (receiver and applier running)
// from its Source, as the server_id it reports for its source shows.
func (n *Node) waitSourceID(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var last string
	for {
		st, err := n.ReplicaStatus(ctx)
		if err == nil {
			io, applier := threads(st)
			id := st["Source_Server_Id"]
			if v, ok := st["Master_Server_Id"]; ok {
				id = v
			}
			if io && applier && id == strconv.Itoa(n.Source.ServerID) {
				return nil
			}
			last = fmt.Sprintf("io=%v sql=%v source server_id %q, last IO error %q, last SQL error %q",
				io, applier, id, st["Last_IO_Error"], st["Last_SQL_Error"])
		} else {
			last = err.Error()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s does not replicate from %s (server_id %d) after %v: %s",
				n.Name, n.Source.Name, n.Source.ServerID, timeout, last)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}
