package cluster

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/rwsplit/rwsplit/internal/dialect"
	"github.com/rwsplit/rwsplit/internal/gtid"
)

// A server's identity, read on every server each monitor round: the
// cheapest query that tells the same facts.
//
// What it costs the server (measured on an idle replica, server CPU per
// query from mysqld's utime+stime over 3,000 queries; see bench/monitor.go):
// a system variable read by name, @@x, costs what SELECT 1 costs (about
// 60 µs on MySQL 9.7, 40-60 µs on MariaDB); a subquery of
// performance_schema.global_variables (MySQL) or
// information_schema.GLOBAL_VARIABLES (MariaDB) materialises every variable
// and costs 300-600 µs. So the kind's marker is read by name
// (@@GLOBAL.group_replication_group_name, @@GLOBAL.wsrep_on), which a
// server without the Group Replication plugin or the wsrep provider
// refuses as an unknown variable (1193): that tells the same (not of that
// kind), and Forms remembers it. The executed GTIDs (and MariaDB's
// replica position) ride in the same row instead of queries of their own;
// on MariaDB 11.6+ the replica status too, from
// information_schema.SLAVE_STATUS (on 10.11 SHOW ALL SLAVES STATUS would
// give the same in a second query, as SHOW REPLICA STATUS and the
// position folded in here do).
//
// MySQL's performance_schema replication tables could give the replica
// status in the identity's row, but a user with REPLICATION CLIENT only (as
// rwsplit asks) may not read them, they name the source by uuid where the
// discovery compares server ids, and the measured CPU of that one query
// equals the cheap identity plus SHOW REPLICA STATUS (about 140 µs each):
// MySQL keeps SHOW REPLICA STATUS.

// Forms remembers which identity forms a server refused: one per server
// (pool), its fields atomic. The zero value tries the cheapest first.
type Forms struct {
	// noMarker: when the server last said it has no marker variable (no
	// Group Replication plugin, no wsrep provider), unix nanoseconds; 0:
	// never. old: when a cheap form last failed otherwise (the old form
	// is used until formRetry has passed). noStatus: the replica status
	// table was refused (MariaDB 11.6+ only).
	noMarker, old atomic.Int64
	noStatus      atomic.Bool
}

// CopyFrom carries what o remembers over to f (a new Server of the same
// pool).
func (f *Forms) CopyFrom(o *Forms) {
	f.noMarker.Store(o.noMarker.Load())
	f.old.Store(o.old.Load())
	f.noStatus.Store(o.noStatus.Load())
}

// formRetry is how long a refused form is left alone before it is tried
// again: a plugin installed at runtime (MySQL Shell installs Group
// Replication's so) is seen within it, and a server without the plugin
// costs one refused query per formRetry.
const formRetry = time.Minute

// since reports whether the form refused at unix nanoseconds at is still
// to be left alone at now.
func since(at int64, now time.Time) bool {
	return at != 0 && now.UnixNano()-at < int64(formRetry)
}

// The old identity queries (the fallback): the last column tells the kind,
// NULL or "" where the server is not in a group.
const (
	mysqlIdentity = "SELECT @@server_id, @@GLOBAL.read_only, @@server_uuid, " +
		"(SELECT VARIABLE_VALUE FROM performance_schema.global_variables WHERE VARIABLE_NAME = 'group_replication_group_name'), " +
		"@@GLOBAL.gtid_mode"
	mariadbIdentity = "SELECT @@server_id, @@GLOBAL.read_only, " +
		"(SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_VARIABLES WHERE VARIABLE_NAME = 'WSREP_ON')"
)

// The cheap identity queries, with the kind's marker last when asked.
const (
	mysqlCheap   = "SELECT @@server_id, @@GLOBAL.read_only, @@server_uuid, @@GLOBAL.gtid_executed, @@GLOBAL.gtid_mode"
	mariadbCheap = "SELECT @@server_id, @@GLOBAL.read_only, @@GLOBAL.gtid_binlog_pos, @@GLOBAL.gtid_slave_pos"
	mysqlMarker  = ", @@GLOBAL.group_replication_group_name"
	mariaMarker  = ", @@GLOBAL.wsrep_on"
	// mariadbStatus reads the replica status of the default connection
	// (what SHOW REPLICA STATUS shows) in the identity's row: NULLs when
	// there is none.
	mariadbStatus = ", s.Slave_IO_Running, s.Slave_SQL_Running, s.Seconds_Behind_Master, s.Master_Server_Id, " +
		"s.Last_IO_Errno, s.Last_IO_Error, s.Last_SQL_Errno, s.Last_SQL_Error " +
		"FROM (SELECT 1) d LEFT JOIN information_schema.SLAVE_STATUS s ON s.Connection_name = @@default_master_connection"
)

// statusCols name the columns of mariadbStatus as SHOW REPLICA STATUS does.
var statusCols = []string{"Slave_IO_Running", "Slave_SQL_Running", "Seconds_Behind_Master", "Master_Server_Id",
	"Last_IO_Errno", "Last_IO_Error", "Last_SQL_Errno", "Last_SQL_Error"}

// HasStatusTable reports whether v has information_schema.SLAVE_STATUS
// (MariaDB 11.6+).
func HasStatusTable(v dialect.Version) bool {
	return v.Flavor == dialect.MariaDB && v.AtLeast(11, 6, 0)
}

// Identify reads s's identity and kind in one query (two, once per
// formRetry, on a server without the kind's marker; see Forms), with its
// executed GTIDs and, with status on MariaDB 11.6+, its replica status.
// The kind comes from what the server reports: a Group Replication group
// name (MySQL) or wsrep_on = ON (MariaDB); else async. force, if not
// Unknown, is taken instead where it fits the server's flavor (Group
// Replication is MySQL's, Galera MariaDB's; a misfit is ignored and the
// kind detected). f may be nil (the cheapest form each time).
func Identify(ctx context.Context, q Querier, v dialect.Version, force Kind, f *Forms, status bool) (Identity, error) {
	if f == nil {
		f = &Forms{}
	}
	now := time.Now()
	fits := force == Async || force == Group && v.Flavor == dialect.MySQL || force == Galera && v.Flavor == dialect.MariaDB
	// The marker is needed to detect the kind, and for the group's name.
	marker := !fits || force == Group
	if since(f.old.Load(), now) {
		return identifyOld(ctx, q, v, force, fits)
	}
	status = status && HasStatusTable(v) && !f.noStatus.Load()
	withMarker := marker && !since(f.noMarker.Load(), now)
	id, err := identifyCheap(ctx, q, v, withMarker, status)
	var me *mysql.MySQLError
	switch {
	case err == nil:
	case !errors.As(err, &me):
		return Identity{}, err
	case withMarker && me.Number == 1193 && strings.Contains(me.Message, markerName(v)):
		f.noMarker.Store(now.UnixNano())
		return Identify(ctx, q, v, force, f, status)
	case status && (me.Number == 1109 || me.Number == 1142 || me.Number == 1146 || me.Number == 1227):
		f.noStatus.Store(true)
		return Identify(ctx, q, v, force, f, false)
	case refused(me.Number):
		// Refused otherwise (a variable this build lacks, a privilege):
		// the old form, which asks nothing new.
		f.old.Store(now.UnixNano())
		return identifyOld(ctx, q, v, force, fits)
	default:
		// A server error that says nothing of the form (shutting down,
		// a timeout): the check failed, as the old form's would.
		return Identity{}, err
	}
	id.Kind = kindOf(v, force, fits, id.Group)
	if v.Flavor == dialect.MySQL {
		id.Group = strings.ToLower(id.Group)
	} else {
		id.Group = ""
	}
	return id, nil
}

// refused reports whether a server error number says the server does not
// take a query: an unknown variable, column or table, a missing privilege,
// a syntax it does not know.
func refused(n uint16) bool {
	switch n {
	case 1054, 1064, 1109, 1142, 1143, 1146, 1193, 1227, 1238, 1305, 3075:
		return true
	}
	return false
}

// markerName is the kind's marker variable on v's flavor.
func markerName(v dialect.Version) string {
	if v.Flavor == dialect.MariaDB {
		return "wsrep_on"
	}
	return "group_replication_group_name"
}

// kindOf decides the kind from the marker's value (the group name; "ON" or
// "1" for wsrep_on).
func kindOf(v dialect.Version, force Kind, fits bool, marker string) Kind {
	switch {
	case fits:
		return force
	case v.Flavor == dialect.MariaDB && (strings.EqualFold(marker, "ON") || marker == "1"):
		return Galera
	case v.Flavor == dialect.MySQL && marker != "":
		return Group
	}
	return Async
}

// identifyCheap runs the cheap form; Group holds the marker's value until
// Identify decides the kind.
func identifyCheap(ctx context.Context, q Querier, v dialect.Version, marker, status bool) (Identity, error) {
	var id Identity
	var ro int64
	var executed, slavePos, mark, gtidMode sql.NullString
	var query string
	dest := []any{&id.ServerID, &ro}
	if v.Flavor == dialect.MariaDB {
		query = mariadbCheap
		dest = append(dest, &executed, &slavePos)
		if marker {
			query += mariaMarker
			dest = append(dest, &mark)
		}
	} else {
		query = mysqlCheap
		dest = append(dest, &id.UUID, &executed, &gtidMode)
		if marker {
			query += mysqlMarker
			dest = append(dest, &mark)
		}
	}
	var st []sql.NullString
	if status {
		query += mariadbStatus
		st = make([]sql.NullString, len(statusCols))
		for i := range st {
			dest = append(dest, &st[i])
		}
	}
	if err := ScanRow(ctx, q, query, nil, dest...); err != nil {
		return Identity{}, err
	}
	id.ReadOnly = ro != 0
	id.Group = mark.String
	id.GTIDsOn = strings.EqualFold(gtidMode.String, "ON")
	if v.Flavor == dialect.MariaDB {
		if pos, err := gtid.ParseMariaDBPos(executed.String); err == nil {
			id.Executed, id.ExecutedOK = gtid.Token{Flavor: dialect.MariaDB, MariaDB: pos}, true
		}
		if pos, err := gtid.ParseMariaDBPos(slavePos.String); err == nil {
			id.slavePos = &gtid.Token{Flavor: dialect.MariaDB, MariaDB: pos}
		}
	} else if set, err := gtid.ParseMySQLSet(executed.String); err == nil {
		id.Executed, id.ExecutedOK = gtid.Token{Flavor: dialect.MySQL, MySQL: set}, true
	}
	if status {
		id.status = Row{}
		if st[0].Valid { // a replica: SHOW REPLICA STATUS would show a row
			for i, c := range statusCols {
				id.status[c] = st[i].String
			}
		}
	}
	return id, nil
}

// identifyOld reads the identity with the old form (one query, its marker
// a subquery of the variables table), and nothing more.
func identifyOld(ctx context.Context, q Querier, v dialect.Version, force Kind, fits bool) (Identity, error) {
	var id Identity
	var ro int64
	var marker, gtidMode sql.NullString
	var err error
	if v.Flavor == dialect.MariaDB {
		err = ScanRow(ctx, q, mariadbIdentity, nil, &id.ServerID, &ro, &marker)
	} else {
		err = ScanRow(ctx, q, mysqlIdentity, nil, &id.ServerID, &ro, &id.UUID, &marker, &gtidMode)
		id.GTIDsOn = strings.EqualFold(gtidMode.String, "ON")
	}
	if err != nil {
		return Identity{}, err
	}
	id.ReadOnly = ro != 0
	if v.Flavor == dialect.MySQL {
		id.Group = strings.ToLower(marker.String)
	}
	id.Kind = kindOf(v, force, fits, marker.String)
	return id, nil
}
