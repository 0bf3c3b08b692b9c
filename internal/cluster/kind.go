// Package cluster knows the kinds of cluster rwsplit runs on: asynchronous
// replication (also cascaded, semi-synchronous, active–passive and
// active–active pairs), MySQL Group Replication and MariaDB Galera Cluster.
// Each kind says, behind one seam, how a server's role is read, what makes it
// usable, how its lag and what it has applied are read, and how a read waits
// for a token on it. The rest of rwsplit (the pipeline, the balancers, the
// consistency modes) never branches on the kind: it reads a Member.
//
// Each kind lives in its own file: async.go, group.go, galera.go.
package cluster

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/rwsplit/rwsplit/internal/dialect"
	"github.com/rwsplit/rwsplit/internal/gtid"
)

// Kind is a kind of cluster.
type Kind uint8

// Cluster kinds.
const (
	Unknown Kind = iota // not detected yet
	Async               // asynchronous (or semi-synchronous) replication
	Group               // MySQL Group Replication (InnoDB Cluster)
	Galera              // MariaDB Galera Cluster
)

// String returns "unknown", "async", "group-replication" or "galera".
func (k Kind) String() string {
	switch k {
	case Async:
		return "async"
	case Group:
		return "group-replication"
	case Galera:
		return "galera"
	}
	return "unknown"
}

// ParseKind reads a kind's String form ("" is Unknown).
func ParseKind(s string) (Kind, error) {
	for _, k := range []Kind{Unknown, Async, Group, Galera} {
		if s == k.String() || s == "" && k == Unknown {
			return k, nil
		}
	}
	return Unknown, fmt.Errorf("unknown cluster kind %q (want async, group-replication or galera)", s)
}

// Grouped reports whether the kind is a group of peers that replicate
// each other (Group Replication, Galera): binlog positions mean nothing
// across its members, so position waits are answered by GTID.
func (k Kind) Grouped() bool { return k == Group || k == Galera }

// Identity is what a server says it is, in one cheap query (Identify).
type Identity struct {
	Kind     Kind
	ServerID int64
	UUID     string // MySQL's @@server_uuid; "" on MariaDB
	ReadOnly bool
	// Group is Group Replication's group name: the uuid every transaction
	// of the group carries ("" for other kinds).
	Group string
	// GTIDsOn (MySQL): @@GLOBAL.gtid_mode is ON, so every transaction the
	// server commits carries a GTID (false on MariaDB, whose GTIDs are
	// always on, and for ON_PERMISSIVE and below, where a transaction may
	// be anonymous).
	GTIDsOn bool
	// Executed is what the server has executed, read with its identity
	// (MySQL's @@GLOBAL.gtid_executed, MariaDB's @@GLOBAL.gtid_binlog_pos);
	// ExecutedOK is false when the identity query did not read it (the
	// old form, see Forms).
	Executed   gtid.Token
	ExecutedOK bool
	// slavePos is MariaDB's @@GLOBAL.gtid_slave_pos read with the identity
	// (nil: not read); status is the async replica status read with it
	// (MariaDB 11.6+, nil: not read; empty: no replica status). Check uses
	// them instead of a query of its own, and drops them.
	slavePos *gtid.Token
	status   Row
}

// Member is what one check read of one server (Check).
type Member struct {
	Identity
	// Writable: the server takes writes now. Async: not read-only. Group
	// Replication: an ONLINE member that is a PRIMARY. Galera: a Synced,
	// ready node of the primary component that is not read-only.
	Writable bool
	// Serving: the server may serve reads (as far as its own kind tells;
	// lag is judged apart). NotServing says why not.
	Serving    bool
	NotServing string
	// Broken: it does not serve because replication failed or it left its
	// group, not because it is unreachable.
	Broken bool
	// Replica (async): the server has replica status, replicating from the
	// server whose server_id is SourceID (0: unknown).
	Replica  bool
	SourceID int64
	// Applied is what the server has applied (its executed GTIDs);
	// AppliedOK is false when they could not be read.
	Applied   gtid.Token
	AppliedOK bool
	// Queue is the applier's backlog in transactions (Group Replication's
	// COUNT_TRANSACTIONS_REMOTE_IN_APPLIER_QUEUE, Galera's
	// wsrep_local_recv_queue); -1 when the kind has none.
	Queue int64
	// SecondsBehind is the replica's Seconds_Behind_Source (async); -1 when
	// unknown.
	SecondsBehind int64
	// State is the member's state in its group (MEMBER_STATE,
	// wsrep_local_state_comment), "" for async.
	State string
	// Rank ranks writable peers before Key (lowest first): 0 for a member
	// fit to take writes, 1 for one that takes them but should not be
	// chosen while another can (a desynced Galera node: a backup may hold
	// its writes behind FLUSH TABLES WITH READ LOCK).
	Rank int
	// Key orders writable peers for a deterministic writer (lowest first):
	// Group Replication's MEMBER_ID, Galera's wsrep_node_name, the
	// server_id for async. Independent processes pick the same writer.
	Key string
	// MultiWriter: every serving member of the group takes writes (Group
	// Replication multi-primary, Galera).
	MultiWriter bool
	// Domain is Galera's wsrep_gtid_domain_id when wsrep_gtid_mode is ON
	// (GTIDMode): the domain the cluster's transactions carry.
	Domain   uint32
	GTIDMode bool
}

// Querier is what checks need of a pool.
type Querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// Check reads what a server of identity id is now: its role, whether it
// may serve, what it has applied and its backlog (one query after
// Identify for every kind; none on an async MariaDB replica whose
// Identify read its status; two on one whose Identify used the old form). It never
// fails for a server that answered: a server that does not replicate, or
// left its group, is a Member that does not serve, and says why.
func Check(ctx context.Context, q Querier, v dialect.Version, id Identity) (Member, error) {
	m := Member{Identity: id, Queue: -1, SecondsBehind: -1}
	switch id.Kind {
	case Group, Galera:
		m.status, m.slavePos = nil, nil
	}
	switch id.Kind {
	case Group:
		return m, checkGroup(ctx, q, &m)
	case Galera:
		return m, checkGalera(ctx, q, &m)
	}
	return m, checkAsync(ctx, q, v, &m)
}

// CaughtUp asks a member whether it has applied everything it has
// received (CaughtUp mode): async by its replica status, Group Replication
// and Galera by an empty applier queue.
func CaughtUp(ctx context.Context, q Querier, v dialect.Version, k Kind) (bool, error) {
	switch k {
	case Group:
		return groupCaughtUp(ctx, q)
	case Galera:
		return galeraCaughtUp(ctx, q)
	}
	return asyncCaughtUp(ctx, q, v)
}

// ScanRow runs query with args and scans its single row into dest; with no
// row it returns an error wrapping sql.ErrNoRows.
func ScanRow(ctx context.Context, q Querier, query string, args []any, dest ...any) error {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return err
		}
		return fmt.Errorf("rwsplit: %s: no row: %w", query, sql.ErrNoRows)
	}
	if err := rows.Scan(dest...); err != nil {
		return err
	}
	return rows.Close()
}

// Row is one row of a SHOW statement, by column name.
type Row map[string]string

// Get returns the first of the named columns the row has (MySQL's new
// names and MariaDB's old ones), or "".
func (r Row) Get(names ...string) string {
	for _, n := range names {
		if v, ok := r[n]; ok {
			return v
		}
	}
	return ""
}

// ShowRow runs a SHOW statement and returns its first row by column name
// (an empty row when it returns none, as SHOW REPLICA STATUS on a primary).
func ShowRow(ctx context.Context, q Querier, query string) (Row, error) {
	rows, err := q.QueryContext(ctx, query)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	st := make(Row, len(cols))
	if !rows.Next() {
		return st, rows.Err()
	}
	vals := make([]sql.NullString, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		return nil, err
	}
	for i, c := range cols {
		st[c] = vals[i].String
	}
	return st, rows.Close()
}
