package fakedb

import (
	"fmt"
	"time"
)

// Kind is the kind of cluster a Cluster models: how its servers replicate,
// which of them take writes, and what they report about it. Every kind
// shares one log of committed transactions; a server's state is a prefix of
// it, applied lazily as with asynchronous replicas (StopApplier, SetLag and
// ApplyOnWait work on every server but the primary).
type Kind int

// Cluster kinds.
const (
	// Async is asynchronous replication (the default): one writable
	// primary, read-only replicas that report SHOW REPLICA STATUS.
	Async Kind = iota
	// GroupReplication models MySQL Group Replication (MySQL flavor only),
	// single-primary unless SetMultiPrimary: every server is a member of one
	// group, reports its own @@server_uuid (Server.UUID) while every
	// transaction's GTID carries the group name's uuid (Cluster.UUID),
	// answers the member check statements of
	// performance_schema.replication_group_members / _member_stats, and
	// shows no row in SHOW REPLICA STATUS. The primary (single-primary) or
	// every ONLINE member (multi-primary) takes writes; the others refuse
	// them with error 1290 and report read_only = 1. Promote is a primary
	// election.
	GroupReplication
	// Galera models MariaDB Galera Cluster (MariaDB flavor only, with
	// wsrep_gtid_mode ON in domain 0): every node reports wsrep_on = ON and
	// read_only = 0, takes writes (they commit to the shared log), reports
	// the cluster's GTIDs in @@GLOBAL.gtid_binlog_pos and none in
	// @@GLOBAL.gtid_slave_pos (MASTER_GTID_WAIT never succeeds), answers the
	// wsrep check statements and WSREP_SYNC_WAIT_UPTO_GTID, and shows no row
	// in SHOW REPLICA STATUS. A node whose GaleraState is not ready (or
	// rejects queries) refuses statements on kv with error 1047. Promote
	// only changes which node Cluster.Primary returns (the node that is
	// never behind).
	Galera
)

// String returns "async", "group-replication" or "galera".
func (k Kind) String() string {
	switch k {
	case Async:
		return "async"
	case GroupReplication:
		return "group-replication"
	case Galera:
		return "galera"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// SetKind makes the cluster model kind k. It panics when k does not fit
// the cluster's flavor (GroupReplication is MySQL's, Galera MariaDB's).
// Call it before the servers are used; switching later keeps every
// server's applied prefix and per-server setting.
func (c *Cluster) SetKind(k Kind) {
	switch {
	case k == GroupReplication && c.flavor != MySQL:
		panic("fakedb: Group Replication needs the MySQL flavor")
	case k == Galera && c.flavor != MariaDB:
		panic("fakedb: Galera needs the MariaDB flavor")
	case k != Async && k != GroupReplication && k != Galera:
		panic("fakedb: unknown kind")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.kind = k
}

// Kind returns the kind the cluster models (Async unless SetKind).
func (c *Cluster) Kind() Kind {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.kind
}

// SetMultiPrimary switches a Group Replication cluster to multi-primary
// mode (on) or back to single-primary (off, the default): in multi-primary
// mode every ONLINE member reports read_only = 0, MEMBER_ROLE PRIMARY and
// group_replication_single_primary_mode = 0, and takes writes, which commit
// to the shared log. Cluster.Primary stays the member that is never behind.
// It has no effect on other kinds.
func (c *Cluster) SetMultiPrimary(on bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.multiPrimary = on
}

// Group Replication member states (MEMBER_STATE).
const (
	MemberOnline      = "ONLINE"
	MemberRecovering  = "RECOVERING"
	MemberUnreachable = "UNREACHABLE"
	MemberError       = "ERROR"
	MemberOffline     = "OFFLINE"
)

// UUID returns the server's @@server_uuid: its own member uuid under
// GroupReplication ("5e4b3c2d-0000-4000-8000-" and its id in 12 hex
// digits, so that member uuids order as server ids), else the cluster's
// uuid (Cluster.UUID), which all servers of an async fakedb cluster share.
func (s *Server) UUID() string {
	s.cl.mu.Lock()
	defer s.cl.mu.Unlock()
	return s.uuid()
}

// uuid is UUID with cl.mu held.
func (s *Server) uuid() string {
	if s.cl.kind == GroupReplication {
		return memberUUID(s.id)
	}
	return mysqlUUID
}

// memberUUID is the @@server_uuid of Group Replication member id.
func memberUUID(id int) string { return fmt.Sprintf("5e4b3c2d-0000-4000-8000-%012x", id) }

// SetMemberState sets the Group Replication MEMBER_STATE the member reports
// for itself ("" or MemberOnline: ONLINE, the default). A member that is not
// ONLINE reports read_only = 1 and refuses writes; an OFFLINE or ERROR one
// reports an empty MEMBER_ROLE, an OFFLINE one no applier queue (NULL). Its
// applier is not touched: stop it with StopApplier to hold it behind.
func (s *Server) SetMemberState(state string) {
	s.cl.mu.Lock()
	defer s.cl.mu.Unlock()
	if state == MemberOnline {
		state = ""
	}
	s.memberState = state
}

// memberStateLocked returns the member's MEMBER_STATE. cl.mu must be held.
func (s *Server) memberStateLocked() string {
	if s.memberState == "" {
		return MemberOnline
	}
	return s.memberState
}

// GaleraState is a Galera node's wsrep state, as its status variables and
// @@wsrep_desync / @@wsrep_reject_queries report it.
type GaleraState struct {
	// Ready is wsrep_ready. A node that is not ready refuses statements
	// on kv (reads and writes) with error 1047; it still answers
	// statements that read no table (variables, status, waits).
	Ready bool
	// LocalState is wsrep_local_state: 0 Initialized, 1 Joining, 2
	// Donor/Desynced, 3 Joined, 4 Synced.
	LocalState int
	// Comment is wsrep_local_state_comment; "" derives it from LocalState.
	Comment string
	// ClusterStatus is wsrep_cluster_status: "Primary", "non-Primary" or
	// "Disconnected".
	ClusterStatus string
	// Desync is @@GLOBAL.wsrep_desync.
	Desync bool
	// RejectQueries is @@GLOBAL.wsrep_reject_queries ("" is NONE). A node
	// that rejects queries refuses statements on kv with error 1047, as
	// one that is not ready.
	RejectQueries string
}

// Galera node states for SetGaleraState.
var (
	// GaleraSynced is a node's default state: ready, Synced, in the
	// primary component.
	GaleraSynced = GaleraState{Ready: true, LocalState: 4, ClusterStatus: "Primary"}
	// GaleraDesynced is a node desynced by SET GLOBAL wsrep_desync = ON
	// (FLUSH TABLES WITH READ LOCK desyncs too, without the variable):
	// ready, Donor/Desynced, in the primary component. Combine with
	// StopApplier or SetLag to hold it behind.
	GaleraDesynced = GaleraState{Ready: true, LocalState: 2, ClusterStatus: "Primary", Desync: true}
	// GaleraNonPrimary is a node that left the primary component: not
	// ready (it refuses statements on kv with error 1047), Initialized.
	GaleraNonPrimary = GaleraState{LocalState: 0, ClusterStatus: "non-Primary"}
	// GaleraJoining is a node joining the cluster (state transfer):
	// not ready, Joining, in the primary component.
	GaleraJoining = GaleraState{LocalState: 1, ClusterStatus: "Primary"}
)

// SetGaleraState sets the wsrep state the Galera node reports (GaleraSynced
// by default). Its applier is not touched: stop it with StopApplier to hold
// the node behind.
func (s *Server) SetGaleraState(st GaleraState) {
	s.cl.mu.Lock()
	defer s.cl.mu.Unlock()
	s.galera = &st
}

// GaleraState returns the wsrep state the Galera node reports.
func (s *Server) GaleraState() GaleraState {
	s.cl.mu.Lock()
	defer s.cl.mu.Unlock()
	return s.galeraLocked()
}

// galeraLocked returns the node's wsrep state. cl.mu must be held.
func (s *Server) galeraLocked() GaleraState {
	if s.galera == nil {
		return GaleraSynced
	}
	return *s.galera
}

// stateComment is wsrep_local_state_comment for a wsrep_local_state.
func stateComment(st int) string {
	switch st {
	case 1:
		return "Joining"
	case 2:
		return "Donor/Desynced"
	case 3:
		return "Joined"
	case 4:
		return "Synced"
	}
	return "Initialized"
}

// refusesKV reports whether a Galera node refuses statements on kv (error
// 1047): not ready, or rejecting queries. cl.mu must be held.
func (s *Server) refusesKV() bool {
	if s.cl.kind != Galera {
		return false
	}
	g := s.galeraLocked()
	return !g.Ready || g.RejectQueries != "" && g.RejectQueries != "NONE"
}

// errWsrepNotReady is the error a Galera node that is not ready answers.
func errWsrepNotReady() error {
	return myErr(1047, "08S01", "WSREP has not yet prepared node for application use")
}

// reportsReadOnly is the server's @@GLOBAL.read_only. cl.mu must be held.
func (s *Server) reportsReadOnly() bool {
	switch s.cl.kind {
	case GroupReplication:
		return s.readOnly || s.memberStateLocked() != MemberOnline || !s.primary && !s.cl.multiPrimary
	case Galera:
		return s.readOnly
	}
	return !s.primary || s.readOnly
}

// writeErr is the error a write gets on the server, nil when it takes
// writes. cl.mu must be held.
func (s *Server) writeErr() error {
	switch s.cl.kind {
	case Galera:
		if s.refusesKV() {
			return errWsrepNotReady()
		}
	case GroupReplication:
		if s.reportsReadOnly() {
			// super_read_only, but the message names --read-only
			// (verified on 9.7).
			return myErr(1290, "HY000", "The MySQL server is running with the --read-only option so it cannot execute this statement")
		}
		return nil
	}
	if s.reportsReadOnly() {
		return s.readOnlyErr()
	}
	return nil
}

// queue is the server's applier backlog: committed transactions it has
// not applied. cl.mu must be held, after sync.
func (s *Server) queue() int64 { return int64(len(s.cl.log) - s.applied) }

// The check statements of internal/cluster (copied: fakedb answers exactly
// what rwsplit sends).
const (
	groupCheckSQL = "SELECT " +
		"(SELECT MEMBER_STATE FROM performance_schema.replication_group_members WHERE MEMBER_ID = @@server_uuid), " +
		"(SELECT MEMBER_ROLE FROM performance_schema.replication_group_members WHERE MEMBER_ID = @@server_uuid), " +
		"@@GLOBAL.gtid_executed, @@GLOBAL.group_replication_single_primary_mode, " +
		"(SELECT COUNT_TRANSACTIONS_REMOTE_IN_APPLIER_QUEUE FROM performance_schema.replication_group_member_stats WHERE MEMBER_ID = @@server_uuid), " +
		"(SELECT COUNT(*) FROM performance_schema.replication_group_members WHERE MEMBER_STATE IN ('ONLINE', 'RECOVERING')), " +
		"(SELECT COUNT(*) FROM performance_schema.replication_group_members)"
	groupCaughtUpSQL = "SELECT MEMBER_STATE, " +
		"(SELECT COUNT_TRANSACTIONS_REMOTE_IN_APPLIER_QUEUE FROM performance_schema.replication_group_member_stats WHERE MEMBER_ID = @@server_uuid), " +
		"(SELECT COUNT_TRANSACTIONS_IN_QUEUE FROM performance_schema.replication_group_member_stats WHERE MEMBER_ID = @@server_uuid) " +
		"FROM performance_schema.replication_group_members WHERE MEMBER_ID = @@server_uuid"
	galeraCheckSQL = "SELECT @@GLOBAL.gtid_binlog_pos, @@GLOBAL.wsrep_desync, @@GLOBAL.wsrep_reject_queries, " +
		"@@GLOBAL.wsrep_gtid_mode, @@GLOBAL.wsrep_gtid_domain_id, @@GLOBAL.wsrep_node_name, " +
		"(SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'WSREP_READY'), " +
		"(SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'WSREP_LOCAL_STATE'), " +
		"(SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'WSREP_LOCAL_STATE_COMMENT'), " +
		"(SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'WSREP_CLUSTER_STATUS'), " +
		"(SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'WSREP_LOCAL_RECV_QUEUE')"
	galeraCaughtUpSQL = "SELECT " +
		"(SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'WSREP_LOCAL_STATE'), " +
		"(SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'WSREP_LOCAL_RECV_QUEUE')"
)

// groupCheck answers groupCheckSQL: MEMBER_STATE, MEMBER_ROLE,
// gtid_executed, single_primary_mode, applier queue. A server outside Group
// Replication has no group_replication_single_primary_mode variable. cl.mu
// must be held, after sync.
func (s *Server) groupCheck() (*resultSet, error) {
	if s.cl.kind != GroupReplication {
		return nil, myErr(1193, "HY000", "Unknown system variable 'group_replication_single_primary_mode'")
	}
	state := s.memberStateLocked()
	var role, queue any = "", nil
	switch state {
	case MemberOnline, MemberRecovering, MemberUnreachable:
		role = "SECONDARY"
		if s.primary || s.cl.multiPrimary {
			role = "PRIMARY"
		}
	}
	if state != MemberOffline {
		queue = s.queue()
	}
	single := int64(1)
	if s.cl.multiPrimary {
		single = 0
	}
	reachable, members := int64(0), int64(0)
	for _, m := range append([]*Server{s.cl.primary}, s.cl.replicas...) {
		members++
		if st := m.memberStateLocked(); st == MemberOnline || st == MemberRecovering {
			reachable++
		}
	}
	return valuesSet([]string{"MEMBER_STATE", "MEMBER_ROLE", "@@GLOBAL.gtid_executed",
		"@@GLOBAL.group_replication_single_primary_mode", "COUNT_TRANSACTIONS_REMOTE_IN_APPLIER_QUEUE",
		"reachable", "members"},
		state, role, s.cl.gtidSet(s.applied), single, queue, reachable, members), nil
}

// groupCaughtUp answers groupCaughtUpSQL: MEMBER_STATE, applier queue,
// certification queue (always 0); no row outside Group Replication (the
// performance_schema tables exist, empty). cl.mu must be held, after sync.
func (s *Server) groupCaughtUp() *resultSet {
	cols := []string{"MEMBER_STATE", "COUNT_TRANSACTIONS_REMOTE_IN_APPLIER_QUEUE", "COUNT_TRANSACTIONS_IN_QUEUE"}
	if s.cl.kind != GroupReplication {
		return valuesSet(cols)
	}
	state := s.memberStateLocked()
	if state == MemberOffline {
		return valuesSet(cols, state, nil, nil)
	}
	return valuesSet(cols, state, s.queue(), int64(0))
}

// galeraCheck answers galeraCheckSQL. A MariaDB server outside Galera
// (wsrep_on OFF, no provider) reports wsrep_ready OFF, cluster status
// Disconnected and no local state or queue. cl.mu must be held, after sync.
func (s *Server) galeraCheck() *resultSet {
	cols := []string{"@@GLOBAL.gtid_binlog_pos", "@@GLOBAL.wsrep_desync", "@@GLOBAL.wsrep_reject_queries",
		"@@GLOBAL.wsrep_gtid_mode", "@@GLOBAL.wsrep_gtid_domain_id", "@@GLOBAL.wsrep_node_name",
		"WSREP_READY", "WSREP_LOCAL_STATE", "WSREP_LOCAL_STATE_COMMENT", "WSREP_CLUSTER_STATUS", "WSREP_LOCAL_RECV_QUEUE"}
	pos := gtidText(MariaDB, s.logged())
	name := "node" + itoa(int64(s.id))
	if s.cl.kind != Galera {
		return valuesSet(cols, pos, int64(0), "NONE", int64(0), int64(0), name, "OFF", nil, nil, "Disconnected", nil)
	}
	g := s.galeraLocked()
	comment := g.Comment
	if comment == "" {
		comment = stateComment(g.LocalState)
	}
	reject := g.RejectQueries
	if reject == "" {
		reject = "NONE"
	}
	return valuesSet(cols, pos, boolInt(g.Desync), reject, int64(1), int64(0), name,
		onOff(g.Ready), itoa(int64(g.LocalState)), comment, g.ClusterStatus, itoa(s.queue()))
}

// galeraCaughtUp answers galeraCaughtUpSQL: wsrep_local_state and
// wsrep_local_recv_queue (NULL, NULL outside Galera). cl.mu must be held,
// after sync.
func (s *Server) galeraCaughtUp() *resultSet {
	cols := []string{"WSREP_LOCAL_STATE", "WSREP_LOCAL_RECV_QUEUE"}
	if s.cl.kind != Galera {
		return valuesSet(cols, nil, nil)
	}
	return valuesSet(cols, itoa(int64(s.galeraLocked().LocalState)), itoa(s.queue()))
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

func onOff(b bool) string {
	if b {
		return "ON"
	}
	return "OFF"
}

// wsrepDefaultTimeout is WSREP_SYNC_WAIT_UPTO_GTID's timeout when none is
// given (NULL or negative): Galera's repl.causal_read_timeout default.
const wsrepDefaultTimeout = 30 * time.Second
