package cluster

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"

	"github.com/rwsplit/rwsplit/internal/dialect"
	"github.com/rwsplit/rwsplit/internal/gtid"
)

// Asynchronous replication: roles from read_only and SHOW REPLICA STATUS, a
// replica serves while its replication threads have not failed, what it
// has applied is its Executed_Gtid_Set (MySQL) or @@gtid_slave_pos
// (MariaDB), and reads wait with WAIT_FOR_EXECUTED_GTID_SET /
// MASTER_GTID_WAIT or a binlog position wait.

// NotReplica is why a server with no replica status does not serve reads
// as a replica: it does not replicate, so its data may be stale for good.
const NotReplica = "not a replica (no replica status)"

// checkAsync fills m from the server's replica status. A server with none
// (a primary, a server that does not replicate) is Writable when it is not
// read-only and serves no reads as a replica.
func checkAsync(ctx context.Context, q Querier, v dialect.Version, m *Member) error {
	m.Writable = !m.ReadOnly
	m.Key = fmt.Sprintf("%020d", m.ServerID)
	st, slavePos := m.status, m.slavePos
	m.status, m.slavePos = nil, nil // read once: the member is kept
	if st == nil {
		var err error
		if st, err = ShowRow(ctx, q, v.ReplicaStatus()); err != nil {
			return err
		}
	}
	if len(st) == 0 {
		m.Broken, m.NotServing = true, NotReplica
		return nil
	}
	get := st.Get
	m.Replica = true
	if src, err := strconv.ParseInt(get("Source_Server_Id", "Master_Server_Id"), 10, 64); err == nil {
		m.SourceID = src
	}
	if sb, err := strconv.ParseInt(get("Seconds_Behind_Source", "Seconds_Behind_Master"), 10, 64); err == nil {
		m.SecondsBehind = sb
	}
	switch {
	case get("Replica_SQL_Running", "Slave_SQL_Running") != "Yes" && get("Last_SQL_Errno") != "0":
		m.Broken, m.NotServing = true, "applier stopped with error "+get("Last_SQL_Errno")+": "+get("Last_SQL_Error")
		return nil
	case get("Replica_IO_Running", "Slave_IO_Running") == "No" && get("Last_IO_Errno") != "0":
		m.Broken, m.NotServing = true, "receiver stopped with error "+get("Last_IO_Errno")+": "+get("Last_IO_Error")
		return nil
	}
	m.Serving = true
	if v.Flavor == dialect.MariaDB && slavePos != nil {
		m.Applied, m.AppliedOK = *slavePos, true
		return nil
	}
	if v.Flavor == dialect.MariaDB {
		// SHOW REPLICA STATUS has no applied position on MariaDB.
		var p sql.NullString
		if err := ScanRow(ctx, q, "SELECT @@GLOBAL.gtid_slave_pos", nil, &p); err != nil {
			return err
		}
		pos, perr := gtid.ParseMariaDBPos(p.String)
		m.Applied, m.AppliedOK = gtid.Token{Flavor: dialect.MariaDB, MariaDB: pos}, perr == nil
		return nil
	}
	set, perr := gtid.ParseMySQLSet(get("Executed_Gtid_Set"))
	m.Applied, m.AppliedOK = gtid.Token{Flavor: dialect.MySQL, MySQL: set}, perr == nil
	return nil
}

// asyncCaughtUp asks a replica whether it has applied everything it has
// received: MySQL by Retrieved_Gtid_Set ⊆ Executed_Gtid_Set (else by the
// read and executed positions), MariaDB by the read and executed positions;
// Seconds_Behind = 0 is the weakest signal, used when nothing else is known.
func asyncCaughtUp(ctx context.Context, q Querier, v dialect.Version) (bool, error) {
	st, err := ShowRow(ctx, q, v.ReplicaStatus())
	if err != nil {
		return false, fmt.Errorf("%s: %w", v.ReplicaStatus(), err)
	}
	get := st.Get
	if len(st) == 0 {
		return false, fmt.Errorf("%s", NotReplica)
	}
	if get("Replica_SQL_Running", "Slave_SQL_Running") != "Yes" {
		return false, nil
	}
	if retrieved, executed := get("Retrieved_Gtid_Set"), get("Executed_Gtid_Set"); retrieved != "" {
		r, err1 := gtid.ParseMySQLSet(retrieved)
		e, err2 := gtid.ParseMySQLSet(executed)
		if err1 == nil && err2 == nil {
			return e.Contains(r), nil
		}
	}
	readFile := get("Source_Log_File", "Master_Log_File")
	execFile := get("Relay_Source_Log_File", "Relay_Master_Log_File")
	readPos := get("Read_Source_Log_Pos", "Read_Master_Log_Pos")
	execPos := get("Exec_Source_Log_Pos", "Exec_Master_Log_Pos")
	if readFile != "" && execFile != "" {
		return readFile == execFile && readPos == execPos, nil
	}
	return get("Seconds_Behind_Source", "Seconds_Behind_Master") == "0", nil
}
