package rwsplit

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rwsplit/rwsplit/internal/cluster"
	"github.com/rwsplit/rwsplit/internal/dialect"
	"github.com/rwsplit/rwsplit/internal/gtid"
)

// snapshot is the primary's executed GTIDs at one moment.
type snapshot struct {
	at  time.Time
	tok gtid.Token
}

// lagUnknown is the lag recorded when the monitor could not measure it.
const lagUnknown = time.Duration(-1)

// maxSnapshots bounds the monitor's history of the primary (at the default
// interval, two minutes: lag beyond that is reported as at least that).
const maxSnapshots = 120

// monitor checks the primary each interval and every replica when due (see
// backoff.go: each interval while this DB reads, less often while it does
// not), at once when kicked (a write refused as read-only under discovery:
// every server) or woken (the first read after a pause, a sign of trouble
// from real traffic: the replicas concerned), until ctx ends. Its first
// round is at once, unless New ran one (ranFirst).
func (db *DB) monitor(ctx context.Context, snaps []snapshot, ranFirst bool) {
	defer db.monitorWG.Done()
	t := time.NewTicker(db.interval)
	defer t.Stop()
	rk := roundAll
	for {
		last := time.Now()
		if !ranFirst {
			db.rounds.started.Add(1)
			snaps = db.checkAll(ctx, snaps, rk)
			db.rounds.done.Add(1)
		}
		ranFirst = false
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			rk = roundTick
		case <-db.kicked:
			rk = roundAll
		case <-db.idle.woken:
			rk = roundWake
		}
		if rk != roundTick {
			// Kicked and woken rounds are at least kickSpacing apart: a
			// burst of kicks (refused writes, tokens the primary lacks,
			// failed reads) costs the servers a round every kickSpacing
			// at most.
			if wait := kickSpacing - time.Since(last); wait > 0 {
				select {
				case <-ctx.Done():
					return
				case <-time.After(wait):
				}
			}
		}
	}
}

// roundKind is what a round of checks looks at.
type roundKind uint8

const (
	// roundTick: the primary, and each replica that is due or asked for a
	// check (under discovery, every other replica's identity).
	roundTick roundKind = iota
	// roundAll: every server, fully (the first round, a kick).
	roundAll
	// roundWake: the replicas that asked for a check, and every replica
	// checked less often when reads resumed; not the primary.
	roundWake
)

// kickSpacing is the least time between the starts of two rounds when the
// monitor is kicked.
const kickSpacing = 50 * time.Millisecond

// kick asks the monitor for a round of every server now (under discovery,
// after a write was refused as read-only), without waiting for it.
func (db *DB) kick() {
	select {
	case db.kicked <- struct{}{}:
	default:
	}
}

// checkAll runs one round of checks of kind rk and publishes any change of
// health (and, under discovery, of roles).
func (db *DB) checkAll(ctx context.Context, snaps []snapshot, rk roundKind) []snapshot {
	top := db.topology()
	if len(top.replicas) == 0 && !db.discover {
		return snaps
	}
	// A check may take longer than the interval on a loaded machine; a
	// server is down when it does not answer within a second (or two
	// intervals, if longer). Each check has its own deadline and they run at
	// once: a hung primary never makes a healthy replica look down. The
	// replicas' lag is measured against the snapshots of earlier rounds.
	budget := max(2*db.interval, time.Second)
	start := time.Now()
	plan := db.planRound(top, rk, start)
	var snap *snapshot
	var pid probe
	var pwg sync.WaitGroup
	if top.primary != nil && rk != roundWake {
		pwg.Add(1)
		go func() {
			defer pwg.Done()
			pctx, cancel := context.WithTimeout(ctx, budget)
			defer cancel()
			pid, snap = db.lookAtPrimary(pctx, top.primary)
		}()
	}
	var changed atomic.Bool
	var wg sync.WaitGroup
	probes := make([]probe, len(top.replicas))
	for i, r := range top.replicas {
		if plan[i] == lookNone {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			rctx, cancel := context.WithTimeout(ctx, budget)
			defer cancel()
			if plan[i] == lookIdentity && db.identityOnly(rctx, r, &probes[i]) {
				return // as it was: its verdict stands
			}
			r.checkSoon.Store(false)
			state, lag, err := db.checkReplica(rctx, r, snaps, &probes[i])
			if ctx.Err() != nil {
				return // closing: not a verdict on the replica
			}
			db.scheduleNext(r, start)
			var m *cluster.Member // what this check read, if it answered
			if probes[i].err == nil {
				mm := probes[i].m
				m = &mm
			}
			before := db.healthOf(r)
			if r.setHealth(state, lag, err, m, start) {
				changed.Store(true)
			}
			db.observeHealth(r, before, err)
		}()
	}
	wg.Wait()
	pwg.Wait()
	if ctx.Err() != nil {
		return snaps
	}
	db.noteBackedOff(top)
	if db.discover && rk != roundWake && db.rediscover(top, pid, probes) {
		return nil // a new primary: its history starts now
	}
	if changed.Load() {
		db.refresh()
	}
	if snap != nil {
		snaps = append(snaps, *snap)
		if len(snaps) > maxSnapshots {
			snaps = append(snaps[:0:0], snaps[len(snaps)-maxSnapshots:]...)
		}
	}
	return snaps
}

// lookAtPrimary checks primary p (its identity; as a member too on Group
// Replication and Galera), records the verdict (StateUp when it answered,
// StateDown when not, unless the check was cut short by closing), and
// reads its executed GTIDs, which it notes as what p has executed: none
// more than the check when its identity query read them (or on a group,
// whose member check read them), one on the old identity form. The snapshot is nil when the GTIDs could not be read.
func (db *DB) lookAtPrimary(ctx context.Context, p *Server) (probe, *snapshot) {
	var pr probe
	start := time.Now()
	if pr.m, pr.err = db.checkMember(ctx, p, false); pr.err != nil {
		if ctx.Err() == nil || errors.Is(ctx.Err(), context.DeadlineExceeded) {
			p.setHealth(StateDown, 0, pr.err, nil, start)
		}
		return pr, nil
	}
	m := pr.m
	p.setHealth(StateUp, 0, nil, &m, start)
	if pr.m.Writable && db.discover {
		// It answers writable: calls held for doubt of it go on now, not
		// at the round's end (a hung replica may hold that).
		db.trustPrimary(p)
	}
	tok, err := pr.m.Applied, error(nil)
	switch {
	case pr.m.AppliedOK:
	case pr.m.ExecutedOK: // read with the identity
		tok = pr.m.Executed
	default:
		tok, err = db.executed(ctx, p)
	}
	if err != nil {
		return pr, nil
	}
	db.notePrimaryExecuted(p, tok)
	return pr, &snapshot{at: time.Now(), tok: tok}
}

// executed reads the primary's executed GTIDs.
func (db *DB) executed(ctx context.Context, p *Server) (gtid.Token, error) {
	v, err := p.version(ctx)
	if err != nil {
		return gtid.Token{}, err
	}
	var s sql.NullString
	if v.Flavor == dialect.MariaDB {
		if err := scanOne(ctx, p.db, "SELECT @@GLOBAL.gtid_binlog_pos", &s); err != nil {
			return gtid.Token{}, err
		}
		pos, err := gtid.ParseMariaDBPos(s.String)
		return gtid.Token{Flavor: dialect.MariaDB, MariaDB: pos}, err
	}
	if err := scanOne(ctx, p.db, "SELECT @@GLOBAL.gtid_executed", &s); err != nil {
		return gtid.Token{}, err
	}
	set, err := gtid.ParseMySQLSet(s.String)
	return gtid.Token{Flavor: dialect.MySQL, MySQL: set}, err
}

// checkReplica reads one replica's status as a member of its cluster (see
// cluster.Check): reachable, serving (async: replication threads without
// error; Group Replication: ONLINE; Galera: in the primary component and
// synced or desynced), applied GTIDs (learnt, so that reads can skip waits)
// and lag, measured against the primary's history: the age of the oldest
// snapshot of the primary that the replica has not applied yet
// (Seconds_Behind when the GTIDs cannot be compared). This measures
// sub-second lag without a heartbeat table, and sees lag grow while an
// applier is stopped or held. It fills in what the replica said of itself
// (see probe).
func (db *DB) checkReplica(ctx context.Context, r *Server, snaps []snapshot, p *probe) (State, time.Duration, error) {
	m, err := db.checkMember(ctx, r, true)
	if err != nil {
		p.err = err
		return StateDown, 0, err
	}
	if !r.oneTripKnown.Load() {
		probeOneTrip(ctx, r)
	}
	p.m = m
	if m.Replica && m.SourceID != 0 {
		if old := r.sourceID.Swap(m.SourceID); old != 0 && old != m.SourceID {
			r.forgetPositions() // re-pointed: positions of its old source mean nothing
		}
	}
	if !m.Serving {
		if m.NotServing == cluster.NotReplica {
			return StateBroken, 0, errNotReplica
		}
		return StateBroken, 0, errors.New("rwsplit: " + m.NotServing)
	}
	var lag time.Duration
	if m.AppliedOK {
		r.noteApplied(m.Applied)
	}
	switch {
	case m.AppliedOK && len(snaps) > 0:
		now := time.Now()
		for _, s := range snaps {
			if !gtid.Covers(m.Applied, s.tok) {
				lag = now.Sub(s.at)
				break
			}
		}
	case m.SecondsBehind >= 0:
		// Whole seconds only (a replica keeping up under a steady load
		// shows 0 or 1): the fallback when GTIDs tell nothing.
		lag = time.Duration(m.SecondsBehind) * time.Second
	case m.Queue == 0:
		lag = 0 // a group member with nothing to apply
	default:
		// NULL (an applier stopped without an error, a receiver not
		// connected) and no history to measure against: unknown, which
		// MaxStaleness never takes as fresh.
		lag = lagUnknown
	}
	if db.maxLag > 0 && lag > db.maxLag {
		return StateLagging, lag, nil
	}
	return StateUp, lag, nil
}

// Automatic primary discovery (WithDiscovery): the monitor reads every
// server's read_only flag and replication state each round, and the one
// writable server is the primary, whatever role it was given.

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

// identify reads s's server_id, read_only flag, (MySQL) server_uuid,
// cluster kind and executed GTIDs, in one query (with full, on MariaDB
// 11.6+, its replica status too: see cluster.Identify), and records its
// identity: a server seen with
// another id or uuid than before (rebuilt, or another server behind the
// same address) loses what it was known to have applied.
func (db *DB) identify(ctx context.Context, s *Server) (cluster.Identity, error) {
	return db.identifyAs(ctx, s, false)
}

// identifyAs is identify, with the replica status too when full.
func (db *DB) identifyAs(ctx context.Context, s *Server, full bool) (cluster.Identity, error) {
	v, err := s.version(ctx)
	if err != nil {
		return cluster.Identity{}, err
	}
	id, err := cluster.Identify(ctx, s.db, *v, db.kind, &s.forms, full)
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
	id, err := db.identifyAs(ctx, s, full)
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
	n.oneTrip.Store(s.oneTrip.Load())
	n.oneTripKnown.Store(s.oneTripKnown.Load())
	n.readsAhead.Store(s.readsAhead.Load())
	n.ver.Store(s.ver.Load())
	n.forms.CopyFrom(&s.forms)
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
	tok := db.scope(ctx).view().tok.WaitTarget(true)
	if tok.MySQL.IsEmpty() && tok.MariaDB.IsEmpty() {
		return p, nil
	}
	if k, ok := db.tokens().knownExecuted(p); ok && gtid.Covers(k, tok) {
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
	if lost.HasTarget() {
		// Lost with a former primary: no newer primary will have them.
		db.reportLost(ctx, &lostError{primary: p, lost: lost})
	}
	return p, nil
}

// probeOneTrip learns, once, whether r's pool (given to New, AddReplica or
// ReplacePrimary, its DSN unseen) lets a wait ride in its read's round trip:
// a text of two statements with an argument runs only where the DSN sets
// both multiStatements (else the server refuses the second statement) and
// interpolateParams (else the driver prepares it, and a prepared statement
// holds one statement). One query, once per pool; a connection error or the
// check's deadline leaves it for the next check.
func probeOneTrip(ctx context.Context, r *Server) {
	rows, err := r.db.QueryContext(ctx, "SELECT ?; SELECT 1", 1)
	ok := false
	if err == nil {
		for rows.Next() {
		}
		ok = rows.NextResultSet()
		for rows.Next() {
		}
		ok = ok && rows.Err() == nil
		err = rows.Close()
	}
	if err != nil && (ctx.Err() != nil || isConnError(err)) {
		return
	}
	r.oneTrip.Store(ok)
	r.oneTripKnown.Store(true)
}
