package rwsplit

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"

	"github.com/rwsplit/rwsplit/internal/cluster"
)

// ClusterKind is a kind of cluster rwsplit runs on. The monitor detects
// each server's kind from what it reports (a Group Replication group name,
// wsrep_on) and Health.Kind shows it; WithClusterKind forces one.
//
//   - async: asynchronous or semi-synchronous replication, cascaded, an
//     active–passive or active–active pair. Roles from read_only and SHOW
//     REPLICA STATUS; reads wait with WAIT_FOR_EXECUTED_GTID_SET,
//     MASTER_GTID_WAIT or a binlog position wait.
//   - group-replication: MySQL Group Replication (InnoDB Cluster), single-
//     or multi-primary. Roles and state from
//     performance_schema.replication_group_members (only ONLINE members
//     serve); reads wait with WAIT_FOR_EXECUTED_GTID_SET.
//   - galera: MariaDB Galera Cluster. State from wsrep_* status (ready,
//     in the primary component, Synced or Desynced, not rejecting queries);
//     one node takes the writes; reads wait with WSREP_SYNC_WAIT_UPTO_GTID.
//
// On group-replication and galera a binlog position means nothing across
// members: WaitPosition waits for the GTIDs of the same writes instead.
type ClusterKind string

// Cluster kinds.
const (
	ClusterAuto             ClusterKind = ""                  // detected (the default)
	ClusterAsync            ClusterKind = "async"             // asynchronous replication
	ClusterGroupReplication ClusterKind = "group-replication" // MySQL Group Replication
	ClusterGalera           ClusterKind = "galera"            // MariaDB Galera Cluster
)

// WithClusterKind makes the monitor take every server as of kind k instead
// of detecting it (ClusterAuto: detect, the default). A kind that does not
// fit a server's flavor (group-replication on MariaDB, galera on MySQL) is
// ignored for that server. It costs nothing: the identity query each
// server answers every round is the same. It fails for an unknown kind.
func WithClusterKind(k ClusterKind) Option {
	return func(o *options) error {
		kind, err := cluster.ParseKind(string(k))
		if err != nil {
			return fmt.Errorf("rwsplit: WithClusterKind: %w", err)
		}
		o.kind = kind
		return nil
	}
}

// grouped reports whether db's cluster is a group of peers (Group
// Replication, Galera), identifying the primary first (one query, once)
// when no server has been checked yet.
func (db *DB) grouped(ctx context.Context) bool {
	k := db.clusterKind()
	if p := db.primaryServer(); k == cluster.Unknown && p != nil {
		k, _ = db.kindOf(ctx, p)
	}
	return k.Grouped()
}

// kindOf returns s's cluster kind, checking s first (identity and member
// state: two queries, once) when the monitor has not yet.
func (db *DB) kindOf(ctx context.Context, s *Server) (cluster.Kind, error) {
	if k := s.kind(); k != cluster.Unknown {
		return k, nil
	}
	m, err := db.checkMember(ctx, s, !s.primary)
	return m.Kind, err
}

// clusterKind returns the kind of db's cluster as its servers' last checks
// saw it: the primary's, else the first replica's that was checked, else
// WithClusterKind's (Unknown by default). No I/O.
func (db *DB) clusterKind() cluster.Kind {
	t := db.topology()
	if t.primary != nil {
		if k := t.primary.kind(); k != cluster.Unknown {
			return k
		}
	}
	for _, r := range t.replicas {
		if k := r.kind(); k != cluster.Unknown {
			return k
		}
	}
	return db.kind
}

// topology is an immutable snapshot of the servers behind a DB. The hot path
// reads it through an atomic pointer, without a lock; changes (monitor
// verdicts, AddReplica, RemoveReplica, ReplacePrimary) publish a new one.
type topology struct {
	primary  *Server
	replicas []*Server // every replica, in order
	usable   []*Server // the replicas that may serve reads now
}

// topology returns the current snapshot.
func (db *DB) topology() *topology { return db.topo.Load() }

// primaryServer returns the current primary: nil only under WithDiscovery
// while no server is known to be writable.
func (db *DB) primaryServer() *Server { return db.topo.Load().primary }

// writer returns the current primary, or ErrNoPrimary while none is known.
func (db *DB) writer() (*Server, error) {
	if p := db.primaryServer(); p != nil {
		return p, nil
	}
	return nil, ErrNoPrimary
}

// publish stores a new snapshot built from primary and replicas, computing
// which replicas are usable. Callers hold db.topoMu.
func (db *DB) publish(primary *Server, replicas []*Server) {
	t := &topology{primary: primary, replicas: replicas}
	var lagging []*Server
	for i, r := range replicas {
		r.index.Store(int32(i))
		switch v := r.verdict(); {
		case v.usable():
			t.usable = append(t.usable, r)
		case v.state == StateLagging && !v.suspect:
			lagging = append(lagging, r)
		}
	}
	if n := db.minServing - len(t.usable); n > 0 && len(lagging) > 0 {
		// The floor (WithMinServing): the least-lagged lagging replicas
		// serve too.
		slices.SortStableFunc(lagging, func(a, b *Server) int {
			return cmp.Compare(a.verdict().lag, b.verdict().lag)
		})
		t.usable = append(t.usable, lagging[:min(n, len(lagging))]...)
	}
	old := db.topo.Load()
	db.topo.Store(t)
	db.observeTopology(old, t)
}

// refresh republishes the snapshot after a replica's health changed.
func (db *DB) refresh() {
	db.topoMu.Lock()
	defer db.topoMu.Unlock()
	t := db.topology()
	db.publish(t.primary, t.replicas)
}

// AddReplica adds a replica pool at runtime with the given weight (for
// weighted balancers; 1 if weight < 1). It serves reads at once, and is
// checked by the monitor from its next round. The DB closes it on Close.
func (db *DB) AddReplica(replica *sql.DB, weight int) error {
	if replica == nil {
		return errors.New("rwsplit: AddReplica: replica is nil")
	}
	if db.closed.Load() {
		return ErrClosed
	}
	db.topoMu.Lock()
	defer db.topoMu.Unlock()
	t := db.topology()
	if t.primary != nil && replica == t.primary.db {
		return errors.New("rwsplit: AddReplica: the replica is the primary's *sql.DB")
	}
	for _, r := range t.replicas {
		if r.db == replica {
			return fmt.Errorf("rwsplit: AddReplica: already %s", r.name)
		}
	}
	s := newServer(replica, len(t.replicas), fmt.Sprintf("replica %d", db.added.Add(1)-1))
	s.weight = max(weight, 1)
	db.publish(t.primary, append(append([]*Server(nil), t.replicas...), s))
	return nil
}

// RemoveReplica stops sending reads to a replica pool. Calls already running
// on it finish normally; transactions and statements that hold it keep it
// until they end. It does not close the pool: the caller owns it again.
func (db *DB) RemoveReplica(replica *sql.DB) error {
	db.topoMu.Lock()
	defer db.topoMu.Unlock()
	t := db.topology()
	rest := make([]*Server, 0, len(t.replicas))
	found := false
	for _, r := range t.replicas {
		if r.db == replica {
			found = true
			continue
		}
		rest = append(rest, r)
	}
	if !found {
		return errors.New("rwsplit: RemoveReplica: not a replica of this DB")
	}
	db.publish(t.primary, rest)
	return nil
}

// ReplacePrimary makes primary the pool writes go to, after a failover (a
// replica promoted with STOP REPLICA; RESET REPLICA ALL; SET GLOBAL
// read_only = OFF, or a Redis-style REPLICAOF NO ONE). Calls already running
// on the old primary finish normally. If primary was one of the replicas, it
// stops serving reads as a replica. It returns the old primary's pool, which
// the caller owns again (close it, or AddReplica it once it replicates from
// the new primary). Tokens captured on the old primary stay valid for a
// MySQL GTID set or a MariaDB GTID position (the new primary carries the same
// GTIDs); binlog positions are not comparable across servers.
func (db *DB) ReplacePrimary(primary *sql.DB) (*sql.DB, error) {
	if primary == nil {
		return nil, errors.New("rwsplit: ReplacePrimary: primary is nil")
	}
	if db.closed.Load() {
		return nil, ErrClosed
	}
	db.topoMu.Lock()
	defer db.topoMu.Unlock()
	t := db.topology()
	if t.primary != nil && primary == t.primary.db {
		return nil, errors.New("rwsplit: ReplacePrimary: already the primary")
	}
	rest := make([]*Server, 0, len(t.replicas))
	for _, r := range t.replicas {
		if r.db != primary {
			rest = append(rest, r)
		}
	}
	var old *sql.DB
	if t.primary != nil {
		old = t.primary.db
	}
	for _, r := range rest {
		r.forgetPositions() // binlog positions of the old primary mean nothing now
	}
	name := "primary"
	for _, r := range t.replicas {
		if r.db == primary {
			name = r.name // it was a replica: it keeps its name
		}
	}
	db.publish(newServer(primary, -1, name), rest)
	return old, nil
}
