package rwsplit

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rwsplit/rwsplit/internal/cluster"
	"github.com/rwsplit/rwsplit/internal/gtid"
)

// Writes lost with a former primary. Under asynchronous replication a
// primary acknowledges a write before any replica has it: if it dies then
// and a replica is promoted, the write is gone. A token naming it cannot be
// waited for on any server; rwsplit says so rather than clamp it silently.

// ErrWritesLost means that the read's scope (its Session or token) names
// writes that a former primary acknowledged and that the current primary
// does not have, and never will: the former primary was replaced before
// its replicas received them. The read does not wait for them. Under
// OrFail the read fails with an error wrapping ErrReplicaNotCaughtUp and
// ErrWritesLost; otherwise it goes on, reading the rest of its scope's
// writes, and the loss is counted (Stats.WritesLost) and reported
// (Observer.WritesLost). The application decides: write again what it
// can, tell the user, or reconcile from the former primary's binary log.
// It is reported on asynchronous replication only (Group Replication and
// Galera keep every write they acknowledged), once the current primary's
// executed set, read fresh, lacks them, the writes came from another
// server than the current primary, and the current primary no longer
// applies a replication backlog.
var ErrWritesLost = errors.New("rwsplit: writes acknowledged by a former primary are lost")

// lostError is ErrWritesLost with the GTIDs lost.
type lostError struct {
	primary *Server
	lost    gtid.Token
}

func (e *lostError) Error() string {
	return fmt.Sprintf("%v: %s lacks %s", ErrWritesLost, e.primary.Name(), lostText(e.lost))
}

func (e *lostError) Is(target error) bool { return target == ErrWritesLost }

func lostText(t gtid.Token) string {
	if t.Flavor == gtid.FlavorMariaDB {
		return t.MariaDB.String()
	}
	return t.MySQL.String()
}

// WritesLostEvent reports writes named by a read's scope that the current
// primary lacks for good (see ErrWritesLost).
type WritesLostEvent struct {
	// Primary is the current primary, which lacks them.
	Primary *Server
	// GTIDs are the lost writes' GTIDs as the scope's token names them
	// (MySQL GTID set or MariaDB GTID position).
	GTIDs string
}

// lostWrites returns the part of target (GTIDs) that primary p, whose
// executed set executed was read fresh, lacks for good: GTIDs written by
// another server the DB knows (a former primary; GTIDs of a server it never
// saw are a claim, clamped silently as before), on an asynchronous
// cluster, while p applies no backlog (it has no replica status). Empty
// when none, or when that cannot be confirmed.
func (db *DB) lostWrites(ctx context.Context, p *Server, target, executed gtid.Token) gtid.Token {
	lost := db.lostCandidates(p, target, executed)
	if !hasTarget(lost) {
		return gtid.Token{}
	}
	if k := p.kind(); k.Grouped() || !db.notApplying(ctx, p) {
		return gtid.Token{}
	}
	if lost.Flavor == gtid.FlavorMariaDB {
		// A MariaDB primary's executed set is its binary log's position,
		// which lacks what it applied as a replica without
		// log_slave_updates: its current position has it.
		var s string
		if err := scanOne(ctx, p.db, "SELECT @@GLOBAL.gtid_current_pos", &s); err != nil {
			return gtid.Token{}
		}
		cur, err := gtid.ParseMariaDBPos(s)
		if err != nil {
			return gtid.Token{}
		}
		e, err := gtid.Merge(executed, gtid.Token{Flavor: gtid.FlavorMariaDB, MariaDB: cur})
		if err != nil {
			return gtid.Token{}
		}
		if lost = db.lostCandidates(p, target, e); !hasTarget(lost) {
			return gtid.Token{}
		}
	}
	db.tokens().noteLost(p, lost)
	return lost
}

// lostCandidates is the part of target that p, having executed executed,
// lacks and that another server the DB knows wrote (see missingElsewhere),
// but for the servers its latest check saw answer writable: a former
// primary is one of the others; a writable one may be a newer primary the
// DB has not switched to yet. No I/O.
func (db *DB) lostCandidates(p *Server, target, executed gtid.Token) gtid.Token {
	var others []primaryIdent
	for _, r := range db.topology().replicas {
		if m := r.member.Load(); r != p && (m == nil || !m.Writable || !r.answered.Load()) {
			others = append(others, r.knownIdent())
		}
	}
	return missingElsewhere(target, executed, p.knownIdent(), others)
}

// lostKnown is what a primary was found to lack for good (lostWrites).
type lostKnown struct {
	srv  *Server
	lost gtid.Token
}

// noteLost records that p lacks lost for good: later reads naming only
// such GTIDs are told at once (knownLost), without a monitor round.
func (ts *tokenState) noteLost(p *Server, lost gtid.Token) {
	next := &lostKnown{srv: p, lost: lost}
	if old := ts.lost.Load(); old != nil && old.srv == p {
		if m, err := gtid.Merge(old.lost, lost); err == nil {
			next.lost = m
		}
	}
	ts.lost.Store(next)
}

// knownLost returns the part of target p lacks (executed is what it has)
// when all of it is already known lost on p; empty otherwise. No I/O.
func (db *DB) knownLost(p *Server, target, executed gtid.Token) gtid.Token {
	k := db.tokens().lost.Load()
	if k == nil || k.srv != p {
		return gtid.Token{}
	}
	lost := db.lostCandidates(p, target, executed)
	if !hasTarget(lost) || !covers(k.lost, lost) {
		return gtid.Token{}
	}
	// All of what p lacks: nothing else (a newer primary's) either.
	if rest := gtid.IntersectGTIDs(target, executed); !covers(gtid.Token{Flavor: lost.Flavor, MySQL: rest.MySQL.Union(lost.MySQL), MariaDB: rest.MariaDB.Merge(lost.MariaDB)}, target) {
		return gtid.Token{}
	}
	return lost
}

// missingElsewhere returns the GTIDs of t that executed lacks and that were
// written by one of the servers others, not by own: MySQL GTIDs of their
// server uuids, MariaDB GTIDs of their server_ids beyond executed's
// sequence number in their domain.
func missingElsewhere(t, executed gtid.Token, own primaryIdent, others []primaryIdent) gtid.Token {
	out := gtid.Token{Flavor: t.Flavor}
	switch t.Flavor {
	case gtid.FlavorMySQL:
		u, ok := gtid.ParseUUID(own.uuid)
		if !ok {
			return out
		}
		isOther := func(x [16]byte) bool {
			for _, o := range others {
				if ou, ok := gtid.ParseUUID(o.uuid); ok && ou == x && x != u {
					return true
				}
			}
			return false
		}
		out.MySQL = t.MySQL.KeepUUIDs(isOther).Subtract(executed.MySQL)
	case gtid.FlavorMariaDB:
		if own.serverID == 0 {
			return out
		}
		have := map[uint32]uint64{}
		for _, g := range executed.MariaDB.GTIDs() {
			have[g.Domain] = g.Seq
		}
		var lost []gtid.MariaDBGTID
		isOther := func(id uint32) bool {
			for _, o := range others {
				if o.serverID == id && id != own.serverID {
					return true
				}
			}
			return false
		}
		for _, g := range t.MariaDB.GTIDs() {
			if isOther(g.Server) && g.Seq > have[g.Domain] {
				lost = append(lost, g)
			}
		}
		out.MariaDB, _ = gtid.NewMariaDBPos(lost...)
	}
	return out
}

// notApplyingFor is how long a primary's "no replica status" verdict is
// kept for lost-write checks.
const notApplyingFor = time.Second

// backlogCheck is the last verdict of notApplying.
type backlogCheck struct {
	srv *Server
	at  time.Time
	ok  bool
}

// notApplying reports whether primary p has no replica status (it applies
// no backlog from a former primary): one query, its verdict kept for
// notApplyingFor.
func (db *DB) notApplying(ctx context.Context, p *Server) bool {
	ts := db.tokens()
	if c := ts.backlog.Load(); c != nil && c.srv == p && time.Since(c.at) < notApplyingFor {
		return c.ok
	}
	v, err := p.version(ctx)
	if err != nil {
		return false
	}
	cctx, cancel := context.WithTimeout(ctx, identTimeout)
	defer cancel()
	m, err := cluster.Check(cctx, p.db, *v, cluster.Identity{Kind: cluster.Async})
	if err != nil {
		return false
	}
	ts.backlog.Store(&backlogCheck{srv: p, at: time.Now(), ok: !m.Replica})
	return !m.Replica
}

// reportLost counts and reports a read's lost writes.
func (db *DB) reportLost(ctx context.Context, err error) {
	var le *lostError
	if !errors.As(err, &le) {
		return
	}
	db.stats.lost.Add(1)
	if len(db.obs.writesLost) > 0 {
		e := WritesLostEvent{Primary: le.primary, GTIDs: lostText(le.lost)}
		for _, f := range db.obs.writesLost {
			f(ctx, e)
		}
	}
}
