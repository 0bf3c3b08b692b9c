package cluster

import (
	"context"
	"database/sql"
	"strconv"
	"time"

	"github.com/rwsplit/rwsplit/internal/dialect"
	"github.com/rwsplit/rwsplit/internal/gtid"
)

// MariaDB Galera Cluster: every node of the primary component is writable;
// rwsplit writes to one (the writer, chosen deterministically: see
// ChooseWriter) and reads from the others. A node serves while it is ready
// (wsrep_ready), in the primary component (wsrep_cluster_status = Primary),
// Synced or Donor/Desynced (wsrep_local_state 4 or 2: a desynced node is
// behind, like a lagging replica, and its lag is measured as a replica's),
// and accepts queries (wsrep_reject_queries = NONE); it takes writes then,
// but a Synced node is preferred as the writer. Its backlog is wsrep_local_recv_queue, what it has applied
// its @@GLOBAL.gtid_binlog_pos (the cluster's GTIDs, in the
// wsrep_gtid_domain_id domain, when wsrep_gtid_mode is ON), and reads wait
// with WSREP_SYNC_WAIT_UPTO_GTID (MASTER_GTID_WAIT reads gtid_slave_pos,
// which Galera's applier does not advance).

// galeraCheck reads a node's state in one query.
const galeraCheck = "SELECT @@GLOBAL.gtid_binlog_pos, @@GLOBAL.wsrep_desync, @@GLOBAL.wsrep_reject_queries, " +
	"@@GLOBAL.wsrep_gtid_mode, @@GLOBAL.wsrep_gtid_domain_id, @@GLOBAL.wsrep_node_name, " +
	"(SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'WSREP_READY'), " +
	"(SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'WSREP_LOCAL_STATE'), " +
	"(SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'WSREP_LOCAL_STATE_COMMENT'), " +
	"(SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'WSREP_CLUSTER_STATUS'), " +
	"(SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'WSREP_LOCAL_RECV_QUEUE')"

// galeraLookTimeout bounds the check's look at whether a node has committed
// its logged GTIDs (it answers at once).
const galeraLookTimeout = 250 * time.Millisecond

// Galera's wsrep_local_state values.
const (
	galeraDonor  = 2 // Donor/Desynced
	galeraSynced = 4
)

func checkGalera(ctx context.Context, q Querier, m *Member) error {
	var binlogPos, reject, node, ready, state, comment, cluster, queue sql.NullString
	var desync, mode, domain sql.NullInt64
	if err := ScanRow(ctx, q, galeraCheck, nil, &binlogPos, &desync, &reject, &mode, &domain, &node,
		&ready, &state, &comment, &cluster, &queue); err != nil {
		return err
	}
	m.Key = node.String
	m.MultiWriter = true
	m.State = comment.String
	m.GTIDMode = mode.Int64 != 0
	if domain.Valid && domain.Int64 >= 0 {
		m.Domain = uint32(domain.Int64)
	}
	if n, err := strconv.ParseInt(queue.String, 10, 64); err == nil {
		m.Queue = n
	}
	pos, perr := gtid.ParseMariaDBPos(binlogPos.String)
	if perr == nil {
		m.Applied, m.AppliedOK = gtid.Token{Flavor: dialect.MariaDB, MariaDB: pos}, true
	}
	st, _ := strconv.Atoi(state.String)
	switch {
	case ready.String != "ON":
		m.NotServing = "wsrep_ready is " + ready.String
	case cluster.String != "Primary":
		m.NotServing = "not in the primary component (wsrep_cluster_status " + cluster.String + ")"
	case st != galeraSynced && st != galeraDonor:
		m.NotServing = "wsrep_local_state " + state.String + " (" + comment.String + ")"
	case reject.String != "" && reject.String != "NONE":
		m.NotServing = "wsrep_reject_queries is " + reject.String
	}
	if m.NotServing != "" {
		m.Broken = true
		return nil
	}
	m.Serving = true
	m.Writable = !m.ReadOnly
	if m.AppliedOK && m.GTIDMode {
		// gtid_binlog_pos names a write set once it is in the binary log,
		// before its InnoDB commit makes it visible to a new snapshot: a
		// read that skipped its wait on the strength of it could miss it
		// (seen on 10.11 under load). WSREP_SYNC_WAIT_UPTO_GTID goes by
		// what the node has committed: with a timeout of 0 it looks once,
		// without waiting, and fails with 1205 while the logged GTID is
		// not committed yet; the node's GTIDs then go unnoted this round.
		own, _ := pos.SplitDomain(m.Domain)
		var done sql.NullInt64
		if !own.IsEmpty() {
			// Bounded too, should a server take 0 for its default timeout.
			lctx, cancel := context.WithTimeout(ctx, galeraLookTimeout)
			err := ScanRow(lctx, q, "SELECT WSREP_SYNC_WAIT_UPTO_GTID(?, 0)", []any{own.String()}, &done)
			cancel()
			if err != nil || done.Int64 != 1 {
				m.AppliedOK = false
			}
		}
	}
	if st != galeraSynced || desync.Int64 != 0 {
		m.Rank = 1 // desynced or a donor: writable, but not while a synced node is
	}
	return nil
}

// galeraCaughtUp reports whether a node is Synced with an empty receive
// queue.
func galeraCaughtUp(ctx context.Context, q Querier) (bool, error) {
	var state, queue sql.NullString
	err := ScanRow(ctx, q, "SELECT "+
		"(SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'WSREP_LOCAL_STATE'), "+
		"(SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'WSREP_LOCAL_RECV_QUEUE')", nil, &state, &queue)
	if err != nil {
		return false, err
	}
	return state.String == strconv.Itoa(galeraSynced) && queue.String == "0", nil
}

// GaleraWait returns the GTID a Galera node waits for with
// WSREP_SYNC_WAIT_UPTO_GTID to have applied tok: tok's GTID in the
// cluster's domain. ok is false when tok holds GTIDs of other domains
// that known (what the node is known to have applied) does not cover (no
// wait on the node can establish those), or none of the cluster's domain.
func GaleraWait(m *Member, tok gtid.MariaDBPos, known gtid.MariaDBPos) (string, bool) {
	if m == nil || !m.GTIDMode {
		return "", false
	}
	own, rest := tok.SplitDomain(m.Domain)
	if own.IsEmpty() || !rest.IsEmpty() && !known.Contains(rest) {
		return "", false
	}
	return own.String(), true
}
