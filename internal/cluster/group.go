package cluster

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/go-sql-driver/mysql"

	"github.com/rwsplit/rwsplit/internal/dialect"
	"github.com/rwsplit/rwsplit/internal/gtid"
)

// MySQL Group Replication (InnoDB Cluster): roles from
// performance_schema.replication_group_members (MEMBER_ROLE), only ONLINE
// members serve, the backlog is replication_group_member_stats'
// COUNT_TRANSACTIONS_REMOTE_IN_APPLIER_QUEUE, what a member has applied is
// its @@GLOBAL.gtid_executed, and reads wait with WAIT_FOR_EXECUTED_GTID_SET
// as on an async MySQL replica. Every transaction of the group carries the
// group name's uuid, not the member's server_uuid.

// groupCheck reads a member's own row of replication_group_members (none
// when Group Replication is stopped on it), its executed GTIDs, the group's
// mode, its applier backlog and, as it sees the group, how many members are
// reachable (ONLINE or RECOVERING) of how many, in one query.
const groupCheck = "SELECT " +
	"(SELECT MEMBER_STATE FROM performance_schema.replication_group_members WHERE MEMBER_ID = @@server_uuid), " +
	"(SELECT MEMBER_ROLE FROM performance_schema.replication_group_members WHERE MEMBER_ID = @@server_uuid), " +
	"@@GLOBAL.gtid_executed, @@GLOBAL.group_replication_single_primary_mode, " +
	"(SELECT COUNT_TRANSACTIONS_REMOTE_IN_APPLIER_QUEUE FROM performance_schema.replication_group_member_stats WHERE MEMBER_ID = @@server_uuid), " +
	"(SELECT COUNT(*) FROM performance_schema.replication_group_members WHERE MEMBER_STATE IN ('ONLINE', 'RECOVERING')), " +
	"(SELECT COUNT(*) FROM performance_schema.replication_group_members)"

func checkGroup(ctx context.Context, q Querier, m *Member) error {
	var state, role, executed sql.NullString
	var single, queue, reachable, members sql.NullInt64
	if err := ScanRow(ctx, q, groupCheck, nil, &state, &role, &executed, &single, &queue, &reachable, &members); err != nil {
		var me *mysql.MySQLError
		if errors.As(err, &me) && me.Number == 1142 {
			return fmt.Errorf("the Group Replication member check needs SELECT on performance_schema for this user: %w", err)
		}
		return err
	}
	m.State = state.String
	if m.State == "" {
		m.State = "OFFLINE"
	}
	m.Key = strings.ToLower(m.UUID)
	m.MultiWriter = single.Valid && single.Int64 == 0
	if queue.Valid {
		m.Queue = queue.Int64
	}
	if set, err := gtid.ParseMySQLSet(executed.String); err == nil {
		m.Applied, m.AppliedOK = gtid.Token{Flavor: dialect.MySQL, MySQL: set}, true
	}
	if m.State != "ONLINE" {
		// RECOVERING, UNREACHABLE, ERROR, OFFLINE: not a member that may
		// serve (a RECOVERING one is still catching up with the group).
		m.Broken, m.NotServing = true, "group replication member "+m.State
		return nil
	}
	if 2*reachable.Int64 <= members.Int64 {
		// Cut off in a minority: it still calls itself ONLINE (and a
		// primary still PRIMARY) while the majority goes on without it
		// and may elect another primary.
		m.Broken, m.NotServing = true, fmt.Sprintf("group replication member in a minority (%d of %d members reachable)", reachable.Int64, members.Int64)
		return nil
	}
	m.Serving = true
	m.Writable = role.String == "PRIMARY" && !m.ReadOnly
	return nil
}

// groupCaughtUp reports whether a member has applied and certified every
// transaction it has received.
func groupCaughtUp(ctx context.Context, q Querier) (bool, error) {
	var state sql.NullString
	var queue, certify sql.NullInt64
	err := ScanRow(ctx, q, "SELECT MEMBER_STATE, "+
		"(SELECT COUNT_TRANSACTIONS_REMOTE_IN_APPLIER_QUEUE FROM performance_schema.replication_group_member_stats WHERE MEMBER_ID = @@server_uuid), "+
		"(SELECT COUNT_TRANSACTIONS_IN_QUEUE FROM performance_schema.replication_group_member_stats WHERE MEMBER_ID = @@server_uuid) "+
		"FROM performance_schema.replication_group_members WHERE MEMBER_ID = @@server_uuid", nil, &state, &queue, &certify)
	if err != nil {
		return false, err
	}
	return state.String == "ONLINE" && queue.Valid && queue.Int64 == 0 && certify.Valid && certify.Int64 == 0, nil
}
