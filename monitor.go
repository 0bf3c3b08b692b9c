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

// monitor checks every server each interval, or at once when kicked (a
// write refused as read-only under discovery), until ctx ends. Its first
// round is at once, unless New ran one (ranFirst).
func (db *DB) monitor(ctx context.Context, snaps []snapshot, ranFirst bool) {
	defer db.monitorWG.Done()
	t := time.NewTicker(db.interval)
	defer t.Stop()
	for {
		last := time.Now()
		if !ranFirst {
			db.rounds.started.Add(1)
			snaps = db.checkAll(ctx, snaps)
			db.rounds.done.Add(1)
		}
		ranFirst = false
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-db.kicked:
			// Kicked rounds are at least kickSpacing apart: a burst of
			// kicks (refused writes, tokens the primary lacks) costs the
			// servers a round every kickSpacing at most.
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

// kickSpacing is the least time between the starts of two rounds when the
// monitor is kicked.
const kickSpacing = 50 * time.Millisecond

// kick asks the monitor for a round now (under discovery, after a write was
// refused as read-only), without waiting for it.
func (db *DB) kick() {
	select {
	case db.kicked <- struct{}{}:
	default:
	}
}

// checkAll runs one round of checks and publishes any change of health (and,
// under discovery, of roles).
func (db *DB) checkAll(ctx context.Context, snaps []snapshot) []snapshot {
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
	var snap *snapshot
	var pid probe
	var pwg sync.WaitGroup
	if top.primary != nil {
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
	start := time.Now()
	probes := make([]probe, len(top.replicas))
	for i, r := range top.replicas {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rctx, cancel := context.WithTimeout(ctx, budget)
			defer cancel()
			state, lag, err := db.checkReplica(rctx, r, snaps, &probes[i])
			if ctx.Err() != nil {
				return // closing: not a verdict on the replica
			}
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
	if db.discover && db.rediscover(top, pid, probes) {
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
// reads its executed GTIDs, which it notes as what p has executed: one
// query more than the check on async, none on a group, whose member check
// read them. The snapshot is nil when the GTIDs could not be read.
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
	if !pr.m.AppliedOK {
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
		return gtid.Token{Flavor: gtid.FlavorMariaDB, MariaDB: pos}, err
	}
	if err := scanOne(ctx, p.db, "SELECT @@GLOBAL.gtid_executed", &s); err != nil {
		return gtid.Token{}, err
	}
	set, err := gtid.ParseMySQLSet(s.String)
	return gtid.Token{Flavor: gtid.FlavorMySQL, MySQL: set}, err
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
			if !covers(m.Applied, s.tok) {
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

// covers reports whether applied contains every GTID of t.
func covers(applied, t gtid.Token) bool {
	switch t.Flavor {
	case gtid.FlavorMySQL:
		return applied.Flavor == t.Flavor && applied.MySQL.Contains(t.MySQL)
	case gtid.FlavorMariaDB:
		return applied.Flavor == t.Flavor && applied.MariaDB.Contains(t.MariaDB)
	}
	return true
}
