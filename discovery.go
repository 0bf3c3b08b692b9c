package rwsplit

import (
	"context"
	"errors"
	"time"

	"github.com/rwsplit/rwsplit/internal/dialect"
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
// are), writes, and reads that must go to the primary, fail at once with
// ErrNoPrimary; other reads continue on the replicas. A write the primary refuses as read-only makes the monitor look
// again at once. Open and New run the first round before they return (within
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
var errNotReplica = errors.New("rwsplit: not a replica (no replica status)")

// identity is what a server says it is.
type identity struct {
	serverID int64
	uuid     string // MySQL's @@server_uuid; "" on MariaDB
	readOnly bool
}

// probe is what one round of checks learnt of a server's role.
type probe struct {
	id      identity
	err     error // the server did not answer
	replica bool  // it has replica status (replicates from some source)
}

// writable reports whether the probe saw a server that takes writes.
func (p *probe) writable() bool { return p.err == nil && p.id.serverID != 0 && !p.id.readOnly }

// identify reads s's server_id, read_only flag and (MySQL) server_uuid, in
// one query, and records its identity: a server seen with another id or uuid
// than before (rebuilt, or another server behind the same address) loses
// what it was known to have applied.
func (db *DB) identify(ctx context.Context, s *Server) (identity, error) {
	v, err := s.version(ctx)
	if err != nil {
		return identity{}, err
	}
	var id identity
	var ro int64
	if v.Flavor == dialect.MySQL {
		err = s.db.QueryRowContext(ctx, "SELECT @@server_id, @@GLOBAL.read_only, @@server_uuid").Scan(&id.serverID, &ro, &id.uuid)
	} else {
		err = s.db.QueryRowContext(ctx, "SELECT @@server_id, @@GLOBAL.read_only").Scan(&id.serverID, &ro)
	}
	if err != nil {
		return identity{}, err
	}
	id.readOnly = ro != 0
	s.noteIdentity(id)
	return id, nil
}

// noteIdentity records id, forgetting what the server was known to have
// applied if it is not the server seen before.
func (s *Server) noteIdentity(id identity) {
	oldID := s.serverID.Swap(id.serverID)
	changed := oldID != 0 && oldID != id.serverID
	if id.uuid != "" {
		if old := s.uuid.Swap(&id.uuid); old != nil && *old != id.uuid {
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
		case pid.writable():
			db.primaryFails = 0
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
	// The one writable server that does not replicate; else the one
	// writable server (in an active–passive pair the passive one replicates
	// from the active one, and is read-only): two or more is no primary.
	var alone, any []*Server
	for i, pr := range probes {
		if pr.writable() {
			any = append(any, top.replicas[i])
			if !pr.replica {
				alone = append(alone, top.replicas[i])
			}
		}
	}
	// A writable server that still replicates is taken only after the
	// primary itself turned read-only (an active–passive flip): while the
	// primary merely does not answer, or none is known, it may be a replica
	// left writable by mistake (MariaDB's default), and writes there would
	// split the data.
	flip := (p != nil && !hung) || (p == nil && db.demoted)
	var next *Server
	switch {
	case len(alone) == 1:
		next = alone[0]
	case len(alone) == 0 && len(any) == 1 && flip:
		next = any[0]
	}
	if hung && (next == nil || db.primaryFails < 2) {
		return false
	}
	return db.setPrimary(top, next)
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
	n := newServer(s.db, index)
	if primary {
		n = newServer(s.db, -1)
	}
	n.weight = s.weight
	n.oneTrip = s.oneTrip
	n.readsAhead.Store(s.readsAhead.Load())
	n.ver.Store(s.ver.Load())
	n.serverID.Store(s.serverID.Load())
	n.uuid.Store(s.uuid.Load())
	if s.primary && !primary {
		down := StateDown
		msg := "rwsplit: was the primary; not seen replicating yet"
		n.health.state.Store(&down)
		n.health.lastErr.Store(&msg)
		n.health.lastCheck.Store(time.Now().UnixNano())
	}
	return n
}

// refusedWriteWait bounds how long a write refused as read-only waits for
// the monitor to find the new primary before it fails.
const refusedWriteWait = 2 * time.Second

// refusedWrite returns, under discovery, the server to run a write on once
// more when s (the primary it was routed to, not a pinned one) refused it as
// read-only: the new primary the monitor finds within refusedWriteWait and
// the write's context. The write did not run, so running it again is safe.
// Nil otherwise (the write's error stands).
func (db *DB) refusedWrite(c *call, s *Server, err error) *Server {
	if !db.discover || c.pin != nil || err == nil || !isReadOnlyError(err) {
		return nil
	}
	ctx, cancel := context.WithTimeout(c.ctx, refusedWriteWait)
	defer cancel()
	np := db.awaitNewPrimary(ctx, s)
	if np != nil {
		db.stats.retries.Add(1)
		db.observeRetry(c.ctx, s, np, err, true)
	}
	return np
}

// readerOnPrimary returns the primary for a read (or a Conn or transaction,
// which read) that must see ctx's scope there. Under discovery, when the
// scope's token names GTIDs the primary is not known to have, it checks them
// there (one read of its executed set, shared); if the primary lacks them,
// the token was written on a primary promoted since (by another DB): it asks
// the monitor to look again and waits, up to refusedWriteWait, for the new
// primary. Otherwise, and without discovery, it is writer: no I/O.
func (db *DB) readerOnPrimary(ctx context.Context) (*Server, error) {
	p, err := db.writer()
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
	rctx, cancel := context.WithTimeout(ctx, refusedWriteWait)
	defer cancel()
	if _, cut, err := db.clampGTIDs(rctx, p, tok); err != nil || !cut {
		return p, nil
	}
	if np := db.awaitNewPrimary(rctx, p); np != nil {
		return np, nil
	}
	return p, nil
}
