package rwsplit

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/rwsplit/rwsplit/internal/dialect"
	"github.com/rwsplit/rwsplit/internal/gtid"
)

// A route trace: Explain says where a call would go and why, from what the
// DB knows now, without sending anything (MySQL Router's `ROUTER SET
// trace`, as a dry run).

// The values of RouteExplanation.Wait.
const (
	planNone      = "none"
	planSkip      = "skip"
	planWait      = "wait"
	planAfterRead = "after a read of the primary"
	planPoll      = "poll"
	planSleep     = "sleep"
)

// RouteExplanation is where a call would go, and why (see DB.Explain).
type RouteExplanation struct {
	Query string
	// ReplicaSafe, Write and Reason are the classifier's verdict: the
	// statement is provably read-only (it may go to a replica); it may
	// write; why it goes to the primary ("" when replica-safe).
	ReplicaSafe, Write bool
	Reason             string
	// Mode is the consistency mode in force (the context's, else the DB's
	// default); Session reports whether the scope is the context's Session
	// (else the DB's process scope).
	Mode    Consistency
	Session bool
	// Primary reports that the call goes to the primary.
	Primary bool
	// Server is where the call goes when that is decided already: the
	// primary, the one candidate, or Monotonic's replica. Otherwise nil:
	// the balancer picks among Candidates when the call runs.
	Server *Server
	// Candidates are the replicas the read may go to (after the wait, if
	// any). Their Health (and that of Server) is the verdict Explain
	// decided on, unless a check ended since.
	Candidates []*Server
	// Capture: the scope has writes whose position the primary must be
	// asked for first (one round trip, shared with concurrent readers).
	Capture bool
	// Wait is what the read waits for before it runs:
	//   - "none": no wait (the mode waits for nothing, or the scope has
	//     written nothing);
	//   - "skip": no wait, because a candidate replica is already known
	//     (from the monitor or an earlier wait) to have applied what the
	//     read waits for; the read goes to one of those (Candidates);
	//   - "wait": a wait on a candidate replica, within the mode's timeout,
	//     then the fallback;
	//   - "after a read of the primary": the target is known only after a
	//     query of the primary that Explain does not make (the position of
	//     the scope's pending writes: Capture; or the primary's executed
	//     set: Latest, a Monotonic move); then a wait unless a replica is
	//     known to have it;
	//   - "poll": CaughtUp polls the candidates' replica status;
	//   - "sleep": Sleep sleeps for Sleep first.
	// Sleep is Sleep's remaining time.
	Wait  string
	Sleep time.Duration
	// Fallback is what happens when no replica serves the read in time:
	// "primary", "error" (OrFail: ErrReplicaNotCaughtUp; no primary
	// fallback: ErrNoReplica), or "" when the read does not go to a replica.
	Fallback string
	// Err is the error the call would fail with at once (ErrClosed,
	// ErrNoPrimary, ErrNoReplica, ErrReplicaNotCaughtUp).
	Err error
	// Steps are the reasons, in the order the pipeline weighs them.
	Steps []string
}

// String is the explanation on one line: where, then the reasons.
func (e RouteExplanation) String() string {
	var b strings.Builder
	switch {
	case e.Err != nil:
		fmt.Fprintf(&b, "error (%v)", e.Err)
	case e.Server != nil:
		b.WriteString(e.Server.Name())
	case len(e.Candidates) > 0:
		names := make([]string, len(e.Candidates))
		for i, s := range e.Candidates {
			names[i] = s.Name()
		}
		b.WriteString("one of " + strings.Join(names, ", "))
	default:
		b.WriteString("nowhere")
	}
	if e.Wait != "" && e.Wait != planNone {
		b.WriteString(", wait: " + string(e.Wait))
	}
	if len(e.Steps) > 0 {
		b.WriteString(": " + strings.Join(e.Steps, "; "))
	}
	return b.String()
}

// Explain says where a call of query through db under ctx (its consistency
// mode, its Session) would go now, and why: the classifier's verdict and
// reason, the mode, the health snapshot, the candidate replicas, and
// whether a wait is needed, skipped (a replica is already known to have
// applied the scope's writes) or depends on a query of the primary. It is a
// dry run through the pipeline's own decisions (the classifier, the health
// snapshot, what each replica is known to have applied), as a routed call
// outside a transaction would take them.
//
// Explain does no I/O: it runs neither the query, nor a wait, nor a read of
// the primary's position, and does not move the balancer or any counter.
// Where the real call would learn something first (the position of pending
// writes, the primary's executed set, a replica's status), it says so
// (Capture, planAfterRead, planPoll) rather than guess. Its answer
// may differ from the next call's when the cluster changes in between, and
// a token the primary has not fully executed may be clamped by the real
// call (a wait needed here may then be skipped). Cost: one classification
// and a walk over the replicas; a few allocations.
func (db *DB) Explain(ctx context.Context, query string) RouteExplanation {
	e := RouteExplanation{Query: query, Wait: planNone}
	if db.closed.Load() {
		e.Err = ErrClosed
		return e
	}
	cls := db.classify(query)
	e.ReplicaSafe, e.Write, e.Reason = cls.Replica, cls.Write, cls.Reason
	e.Session = SessionFrom(ctx) != nil
	top := db.topology()
	toPrimary := func(why string) RouteExplanation {
		e.Primary = true
		e.Server, e.Err = db.writer()
		e.Steps = append(e.Steps, why)
		if e.Err != nil {
			e.Steps = append(e.Steps, "no primary is known")
		}
		return e
	}
	if !cls.Replica {
		return toPrimary("the classifier sends it to the primary: " + cls.Reason)
	}
	mode := db.consistency(ctx)
	e.Mode = mode
	e.Steps = append(e.Steps, "read-only: may go to a replica", "mode "+mode.String())
	if mode.kind == kindPrimary {
		return toPrimary("the mode reads the primary")
	}
	if len(top.replicas) == 0 {
		return toPrimary("no replicas")
	}
	cands := top.usable
	if len(cands) == 0 {
		if top.primary == nil && mode.kind == kindEventual {
			if s := lastResort(top, nil); s != nil {
				e.Server, e.Candidates = s, []*Server{s}
				e.Steps = append(e.Steps, "no usable replica and no primary: the last replica the monitor reached")
				return e
			}
		}
		if !db.primaryFallback {
			e.Err = ErrNoReplica
			e.Fallback = "error"
			e.Steps = append(e.Steps, "no usable replica, and WithPrimaryFallback(false)")
			return e
		}
		return toPrimary("no usable replica")
	}
	e.Fallback = "primary"
	if mode.fail {
		e.Fallback = "error"
	}
	fallback := func(why string) RouteExplanation {
		e.Candidates = nil
		if mode.fail {
			e.Err = ErrReplicaNotCaughtUp
			e.Steps = append(e.Steps, why, "OrFail: the read fails")
			return e
		}
		return toPrimary(why + ": fallback to the primary")
	}
	e.Candidates = cands
	v := db.scope(ctx).view()
	switch mode.kind {
	case kindSleep:
		if last := v.tok.Time; last > 0 {
			if d := time.Until(time.UnixMilli(last).Add(mode.d)); d > 0 {
				e.Wait, e.Sleep = planSleep, d
				e.Steps = append(e.Steps, fmt.Sprintf("sleeps %v: the scope wrote less than %v ago", d.Round(time.Millisecond), mode.d))
			}
		}
	case kindCaughtUp:
		e.Wait = planPoll
		e.Steps = append(e.Steps, fmt.Sprintf("asks the candidates' replica status (one query each) until one reports no lag, within %v", mode.d))
	case kindWaitPosition, kindWaitGTID, kindFast:
		byGTID := mode.kind != kindWaitPosition || db.clusterKind().Grouped()
		if mode.kind == kindWaitPosition && byGTID {
			e.Steps = append(e.Steps, fmt.Sprintf("a %s cluster: waits for the writes' GTIDs (binlog positions differ between members)", db.clusterKind()))
		}
		byPos := mode.kind == kindWaitPosition && !byGTID
		if byGTID && v.writes > v.gtidAt || !byGTID && v.writes > v.posAt {
			e.Capture, e.Wait = true, planAfterRead
			e.Steps = append(e.Steps, "the scope has writes whose position is pending: one read of the primary first")
			if mode.kind == kindFast {
				e.Steps = append(e.Steps, "then a replica known to have them, else the fallback; never a wait")
				e.Wait = planNone
			}
			if byPos {
				e.Steps = append(e.Steps, db.positionWaitStep(cands, db.positionByGTID(v.tok, true)))
			}
			break
		}
		t := v.tok.WaitTarget(byGTID)
		viaGTIDs := byPos && !t.Pos.IsZero() && v.gtidAt >= v.writes && db.positionByGTID(v.tok, false)
		if viaGTIDs {
			t.Flavor, t.MySQL = dialect.MySQL, v.tok.MySQL // as positionGTIDs, unclamped
		}
		if !t.HasTarget() {
			e.Steps = append(e.Steps, "the scope has written nothing: no wait")
			break
		}
		if known := db.knownApplied(cands, t); len(known) > 0 {
			e.Wait, e.Candidates = planSkip, known
			e.Steps = append(e.Steps, "a replica is known to have applied the scope's writes: no wait")
			break
		}
		if mode.kind == kindFast {
			return fallback("no usable replica is known to have applied the scope's writes")
		}
		if !t.Pos.IsZero() {
			if e.Candidates = db.directReplicas(cands, t.Pos.ServerID); len(e.Candidates) == 0 {
				return fallback("no usable replica replicates from the position's primary")
			}
		}
		e.Wait = planWait
		e.Steps = append(e.Steps, fmt.Sprintf("no replica is known to have applied the scope's writes: a wait, within %v", mode.d))
		if byPos {
			e.Steps = append(e.Steps, db.positionWaitStep(e.Candidates, viaGTIDs))
		}
	case kindLatest:
		e.Wait = planAfterRead
		e.Steps = append(e.Steps, "reads the primary's executed set (one query, shared), then waits for it unless a replica is known to have it")
	case kindMonotonic:
		_, seen := db.scope(ctx).monoView()
		var last *Server
		var lastAt time.Time
		for _, r := range seen {
			if last == nil || r.at.After(lastAt) {
				last, lastAt = r.srv, r.at
			}
		}
		switch {
		case last != nil && contains(cands, last):
			e.Server, e.Candidates = last, []*Server{last}
			e.Steps = append(e.Steps, "stays on the replica of the scope's latest Monotonic read")
		case last != nil:
			e.Wait = planAfterRead
			e.Steps = append(e.Steps, "moves: reads the primary's executed set, then waits for it on the new replica")
		}
		if v.writes > v.gtidAt {
			e.Capture, e.Wait = true, planAfterRead
			e.Steps = append(e.Steps, "the scope has writes whose position is pending: one read of the primary first")
		} else if t := v.tok.WaitTarget(true); t.HasTarget() && e.Wait != planAfterRead {
			if known := db.knownApplied(e.Candidates, t); len(known) > 0 {
				e.Wait, e.Candidates = planSkip, known
				e.Steps = append(e.Steps, "a replica is known to have applied the scope's writes: no wait")
			} else {
				e.Wait = planWait
				e.Steps = append(e.Steps, fmt.Sprintf("waits for the scope's writes, within %v", mode.d))
			}
		}
	case kindMaxStaleness:
		fresh := withinStaleness(cands, mode.d, time.Now())
		if len(fresh) == 0 {
			return fallback(fmt.Sprintf("no usable replica is known to be within %v", mode.d))
		}
		e.Candidates = fresh
		e.Steps = append(e.Steps, fmt.Sprintf("replicas within %v by the monitor's last measure", mode.d))
	default:
		e.Steps = append(e.Steps, "any usable replica")
	}
	if e.Server == nil && len(e.Candidates) == 1 {
		e.Server = e.Candidates[0]
	}
	return e
}

// positionByGTID reports whether a WaitPosition read of a scope whose token
// is tok would wait for the GTIDs read with the position (see
// positionGTIDs) as far as Explain can tell without I/O: MySQL GTIDs in the
// token (or, with pending, a capture to come, which reads them), on a
// primary last seen with gtid_mode ON.
func (db *DB) positionByGTID(tok gtid.Token, pending bool) bool {
	p := db.primaryServer()
	return p != nil && p.gtidsOn() && (pending || tok.Flavor == dialect.MySQL && !tok.MySQL.IsEmpty())
}

// positionWaitStep says which wait a WaitPosition read sends to cands, and
// what the position wait costs where the servers allow no better: byGTID
// when the read has GTIDs of the same writes to wait for instead.
func (db *DB) positionWaitStep(cands []*Server, byGTID bool) string {
	var mysql, mariadb, gtids int
	for _, s := range cands {
		switch v := s.ver.Load(); {
		case v == nil:
		case v.Flavor == dialect.MySQL:
			mysql++
			if s.gtidsOn() {
				gtids++
			}
		case v.Flavor == dialect.MariaDB:
			mariadb++
		}
	}
	switch {
	case mysql == 0 && mariadb > 0:
		return "a position wait (MASTER_POS_WAIT on MariaDB: it returns as the replica commits the write)"
	case mysql == 0:
		return "a position wait, or on MySQL with gtid_mode ON a wait for the GTIDs read with the position (the replicas' versions are not known yet)"
	case byGTID && gtids == len(cands):
		return "waits for the GTIDs read with the position (WAIT_FOR_EXECUTED_GTID_SET; gtid_mode ON on the primary and the replicas): as fast as WaitGTID"
	}
	const cost = "SOURCE_POS_WAIT: on MySQL's multi-threaded applier (replica_parallel_workers >= 1, the default) it returns only at the applier's " +
		"next checkpoint, up to replica_checkpoint_period (300 ms by default; 302 ms at the median right after a write on MySQL 9.7) after the write " +
		"is applied; a smaller replica_checkpoint_period, replica_parallel_workers=0 where the server has it, or gtid_mode ON shorten it"
	if byGTID && gtids > 0 {
		return "waits for the GTIDs read with the position on the replicas with gtid_mode ON; on the others " + cost
	}
	return "waits for the position with " + cost
}
