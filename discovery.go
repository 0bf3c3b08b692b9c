package rwsplit

import (
	"context"
	"errors"
	"time"

	"github.com/rwsplit/rwsplit/internal/cluster"
)

// Automatic primary discovery (WithDiscovery): the monitor reads every
// server's read_only flag and replication state each round, and the one
// writable server is the primary, whatever role it was given.

// WithDiscovery lets the monitor find the primary among all the servers
// given (the primary DSN or pool given to Open or New is then just one of
// them): the primary is the one server with read_only = OFF; every other
// server is a replica, serving reads while it replicates. After a failover
// (a replica promoted, the old primary stopped or made read-only) writes go
// to the new primary and reads to the remaining replicas from the monitor's
// next round, with no call to ReplacePrimary.
//
// A primary that stops answering stays the primary until another server is
// writable (it may be hung for a moment; nothing else could take its writes)
// and it has missed two rounds. While no server is known to be writable
// (the primary turned read-only and no other server is writable, or two
// are), writes, and reads that must go to the primary, wait for one within
// the write hold (WithWriteHold), then fail with ErrNoPrimary; other reads
// continue on the replicas. A write the primary refuses as read-only makes
// the monitor look again at once, and runs on the new primary when nothing
// of it ran (see WriteError). Open and New run the first round before they return (within
// max(2 × interval, 1 s)). Each round costs one identity query per server.
func WithDiscovery() Option {
	return func(o *options) error {
		o.discover = true
		return nil
	}
}

// WithMinServing keeps at least n replicas serving reads when excluding the
// lagging ones (WithMaxReplicationLag) would leave fewer: the least-lagged
// lagging replicas serve as well, rather than every read piling onto the
// primary (as Vitess's min_number_serving_vttablets). Replicas that are down
// or broken never serve. The default, 0, sets no floor.
func WithMinServing(n int) Option {
	return func(o *options) error {
		if n < 0 {
			return errors.New("rwsplit: WithMinServing: negative")
		}
		o.minServing = n
		return nil
	}
}

// errNotReplica is a replica check's verdict on a server with no replica
// status: it does not replicate, so its data may be stale for good.
var errNotReplica = errors.New("rwsplit: " + cluster.NotReplica)

// probe is what one round of checks learnt of a server's role.
type probe struct {
	m   cluster.Member
	err error // the server did not answer
}

// writable reports whether the probe saw a server that takes writes.
func (p *probe) writable() bool { return p.err == nil && p.m.ServerID != 0 && p.m.Writable }

// identify reads s's server_id, read_only flag, (MySQL) server_uuid and
// cluster kind, in one query, and records its identity: a server seen with
// another id or uuid than before (rebuilt, or another server behind the
// same address) loses what it was known to have applied.
func (db *DB) identify(ctx context.Context, s *Server) (cluster.Identity, error) {
	v, err := s.version(ctx)
	if err != nil {
		return cluster.Identity{}, err
	}
	id, err := cluster.Identify(ctx, s.db, *v, db.kind)
	if err != nil {
		return cluster.Identity{}, err
	}
	s.noteIdentity(id)
	return id, nil
}

// checkMember identifies s and reads its state as a member of its cluster
// (see cluster.Check), which it records on s, with whether s answered. With full unset, an async
// server is only identified (what the primary's check needs): one query.
func (db *DB) checkMember(ctx context.Context, s *Server, full bool) (m cluster.Member, err error) {
	defer func() { s.answered.Store(err == nil) }()
	id, err := db.identify(ctx, s)
	if err != nil {
		return cluster.Member{}, err
	}
	m = cluster.Member{Identity: id, Writable: !id.ReadOnly, Queue: -1, SecondsBehind: -1}
	if full || id.Kind.Grouped() {
		v, err := s.version(ctx)
		if err != nil {
			return cluster.Member{}, err
		}
		if m, err = cluster.Check(ctx, s.db, *v, id); err != nil {
			return cluster.Member{}, err
		}
	}
	s.member.Store(&m)
	return m, nil
}

// noteIdentity records id, forgetting what the server was known to have
// applied if it is not the server seen before.
func (s *Server) noteIdentity(id cluster.Identity) {
	oldID := s.serverID.Swap(id.ServerID)
	changed := oldID != 0 && oldID != id.ServerID
	if id.UUID != "" {
		if old := s.uuid.Swap(&id.UUID); old != nil && *old != id.UUID {
			changed = true
		}
	}
	if changed {
		s.applied.Store(nil)
		s.sourceID.Store(0)
	}
}

// rediscover decides the primary after a round of checks under discovery
// (pid: the primary's probe; probes: the replicas', in top's order) and
// publishes any change of roles. It reports whether the primary changed.
// Only the monitor's goroutine calls it.
func (db *DB) rediscover(top *topology, pid probe, probes []probe) bool {
	p := top.primary
	hung := false
	if p != nil {
		switch {
		case pid.writable() && (pid.m.Rank == 0 || !betterPeer(probes, pid.m.Rank)):
			db.primaryFails = 0
			db.trustPrimary(p)
			return false
		case pid.err != nil:
			// Not answering: one miss may be a slow round. A primary that
			// does not answer stays the primary until another server is
			// writable: a hung one may come back, and nothing else can
			// take its writes anyway.
			db.primaryFails++
			hung = true
		}
	}
	next := db.chooseWriter(top, p, hung, probes)
	if hung && (next == nil || db.primaryFails < 2) {
		return false
	}
	return db.setPrimary(top, next)
}

// chooseWriter picks the next primary among the replicas after a round of
// checks (probes, in top's order), when the primary p (nil: none known) is
// not writable or does not answer (hung), or nil:
//   - the one writable server that does not replicate, when there is one
//     (the primary of async replication, Group Replication's single
//     primary);
//   - several writable peers that replicate each other are not a split
//     brain (a Group Replication multi-primary group, a Galera cluster, an
//     async active–active pair): the one of lowest key (member id, node
//     name, server_id), so that independent processes agree; the current
//     primary stays while it is writable (rediscover never gets here then);
//   - else the one writable server, if it replicates and the primary
//     itself turned read-only (an active–passive flip).
//
// A writable server that replicates from a primary that does not replicate
// back is never taken while the primary merely does not answer, or none is
// known: it may be a replica left writable by mistake (MariaDB's default),
// and writes there would split the data.
func (db *DB) chooseWriter(top *topology, p *Server, hung bool, probes []probe) *Server {
	var alone, any []int
	for i, pr := range probes {
		if pr.writable() {
			any = append(any, i)
			if !pr.m.Replica {
				alone = append(alone, i)
			}
		}
	}
	lowest := func(idx []int) *Server {
		best := idx[0]
		for _, i := range idx[1:] {
			a, b := &probes[i].m, &probes[best].m
			if a.Rank < b.Rank || a.Rank == b.Rank && a.Key < b.Key {
				best = i
			}
		}
		return top.replicas[best]
	}
	switch {
	case len(alone) == 1:
		return top.replicas[alone[0]]
	case len(alone) > 1 && peers(probes, alone, true):
		return lowest(alone)
	case len(alone) == 0 && len(any) > 1 && peers(probes, any, false):
		return lowest(any)
	case len(alone) == 0 && len(any) == 1 && ((p != nil && !hung) || (p == nil && db.demoted)):
		return top.replicas[any[0]]
	}
	return nil
}

// betterPeer reports whether a writable member of a multi-writer group
// among probes ranks better than rank (see cluster.Member.Rank).
func betterPeer(probes []probe, rank int) bool {
	for i := range probes {
		if m := &probes[i].m; probes[i].writable() && m.Kind.Grouped() && m.MultiWriter && m.Rank < rank {
			return true
		}
	}
	return false
}

// peers reports whether the writable servers idx are peers that replicate
// each other: members of one multi-writer group (grouped), or async
// servers each replicating from another of them (an active–active cycle).
func peers(probes []probe, idx []int, grouped bool) bool {
	ids := make(map[int64]bool, len(idx))
	for _, i := range idx {
		ids[probes[i].m.ServerID] = true
	}
	for _, i := range idx {
		m := &probes[i].m
		switch {
		case grouped && !(m.Kind.Grouped() && m.MultiWriter):
			return false
		case !grouped && !(m.Replica && ids[m.SourceID] && m.SourceID != m.ServerID):
			return false
		}
	}
	return true
}

// setPrimary publishes next (one of top's replicas, or nil for none) as the
// primary; the old primary, if any, becomes a replica that serves no read
// until the monitor sees it replicating. It reports whether it changed
// anything.
func (db *DB) setPrimary(top *topology, next *Server) bool {
	if next == nil && top.primary == nil {
		return false
	}
	db.topoMu.Lock()
	defer db.topoMu.Unlock()
	if db.topology() != top {
		return false // changed meanwhile (AddReplica, ...): decide next round
	}
	db.primaryFails = 0
	db.demoted = next == nil && top.primary != nil // it answered read-only
	rest := make([]*Server, 0, len(top.replicas)+1)
	for _, r := range top.replicas {
		if r != next {
			r.forgetPositions() // binlog positions of the old primary mean nothing now
			rest = append(rest, r)
		}
	}
	if old := top.primary; old != nil {
		rest = append(rest, old.reborn(len(rest), false))
	}
	var np *Server
	if next != nil {
		np = next.reborn(-1, true)
		np.refused = db.kick
	}
	db.publish(np, rest)
	return true
}

// reborn returns a new Server for s's pool in another role: what it knew of
// the pool (version, identity, options) carries over; its health and what it
// was known to have applied do not. A former primary starts down: it serves
// reads once the monitor sees it replicating.
func (s *Server) reborn(index int, primary bool) *Server {
	n := newServer(s.db, index, s.name)
	if primary {
		n = newServer(s.db, -1, s.name)
	}
	n.weight = s.weight
	n.oneTrip = s.oneTrip
	n.readsAhead.Store(s.readsAhead.Load())
	n.ver.Store(s.ver.Load())
	n.serverID.Store(s.serverID.Load())
	n.uuid.Store(s.uuid.Load())
	n.member.Store(s.member.Load())
	if s.primary && !primary {
		n.health.Store(&verdict{state: StateDown, at: time.Now(), err: "rwsplit: was the primary; not seen replicating yet",
			member: s.member.Load(), version: s.verdict().version})
	}
	return n
}

// readerOnPrimary returns the primary for a read (or a Conn or transaction,
// which read) that must see ctx's scope there. Under discovery, when the
// scope's token names GTIDs the primary is not known to have, it checks them
// there (one read of its executed set, shared); if the primary lacks them,
// the token was written on a primary promoted since (by another DB): it asks
// the monitor to look again and waits, within the write hold, for the new
// primary (one round when the writes it lacks were lost with a former
// primary: see newerOrLost). Otherwise, and without discovery, it is the primary (held for
// while none is known, see primary): no I/O.
func (db *DB) readerOnPrimary(ctx context.Context) (*Server, error) {
	p, err := db.primary(ctx)
	if err != nil || !db.discover {
		return p, err
	}
	tok := waitTarget(db.scope(ctx).view().tok, true)
	if tok.MySQL.IsEmpty() && tok.MariaDB.IsEmpty() {
		return p, nil
	}
	if k, ok := db.tokens().knownExecuted(p); ok && covers(k, tok) {
		return p, nil
	}
	rctx, cancel := context.WithTimeout(ctx, max(db.writeHold, 10*time.Millisecond))
	defer cancel()
	_, e, cut, err := db.clampGTIDsRead(rctx, p, tok)
	if err != nil || !cut {
		return p, nil
	}
	np, lost := db.newerOrLost(ctx, rctx, p, tok, e, true)
	if np != nil {
		return np, nil
	}
	if hasTarget(lost) {
		// Lost with a former primary: no newer primary will have them.
		db.reportLost(ctx, &lostError{primary: p, lost: lost})
	}
	return p, nil
}
