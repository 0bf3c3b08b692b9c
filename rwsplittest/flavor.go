package rwsplittest

import (
	"fmt"
	"os"
	"strings"
	"time"
)

// Flavor names a server family. The kit runs both the same way; only the SQL
// it sends differs.
type Flavor string

// The two server flavors.
const (
	MySQL   Flavor = "mysql"
	MariaDB Flavor = "mariadb"
)

// Default images: built locally from Debian packages by `make images`
// (scripts/build-images.sh), so nothing reaches an image registry unless asked.
const (
	DefaultMySQLImage   = "rwsplit/mysql:9.7"
	DefaultMariaDBImage = "rwsplit/mariadb:10.11"
)

// Environment variables that select other images, such as the official
// "mysql:8.4" or "mariadb:11.4" where a registry is reachable.
const (
	EnvMySQLImage   = "RWSPLIT_MYSQL_IMAGE"
	EnvMariaDBImage = "RWSPLIT_MARIADB_IMAGE"
)

// Flavors lists both flavors, for table-driven tests.
var Flavors = []Flavor{MySQL, MariaDB}

func (f Flavor) valid() error {
	if f != MySQL && f != MariaDB {
		return fmt.Errorf("rwsplittest: unknown flavor %q (want %q or %q)", string(f), MySQL, MariaDB)
	}
	return nil
}

// Image is the image the kit runs for f: the value of RWSPLIT_MYSQL_IMAGE or
// RWSPLIT_MARIADB_IMAGE when set, else the local default.
func (f Flavor) Image() string {
	env, def := EnvMySQLImage, DefaultMySQLImage
	if f == MariaDB {
		env, def = EnvMariaDBImage, DefaultMariaDBImage
	}
	if v := strings.TrimSpace(os.Getenv(env)); v != "" {
		return v
	}
	return def
}

// serverArgs are the command-line options of a node (Debian's MariaDB reads
// conf.d before its own bind-address, so nothing is left to option files).
func (f Flavor) serverArgs(serverID int, replica bool) []string {
	args := []string{
		fmt.Sprintf("--server-id=%d", serverID),
		"--port=3306",
		"--bind-address=0.0.0.0",
		"--skip-name-resolve",
		"--log-bin=binlog",
		"--binlog-format=ROW",
		"--relay-log=relay",
		"--innodb-buffer-pool-size=64M",
		"--performance-schema=OFF",
		"--max-connections=500",
		// Test servers trade durability for speed: no fsync per commit.
		"--sync-binlog=0",
		"--innodb-flush-log-at-trx-commit=2",
	}
	switch f {
	case MySQL:
		args = append(args,
			"--gtid-mode=ON",
			"--enforce-gtid-consistency=ON",
			"--log-replica-updates=ON",
			"--replica-net-timeout=5",
			"--mysqlx=OFF",
			"--innodb-redo-log-capacity=16M",
			// One applier worker (still the multi-threaded applier, with
			// its coordinator: SOURCE_POS_WAIT reads its checkpointed
			// position, which moves every replica_checkpoint_period;
			// WaitPosition waits by GTID here, gtid_mode being ON).
			"--replica-parallel-workers=1",
		)
		if replica {
			args = append(args, "--skip-replica-start=OFF")
		}
	case MariaDB:
		args = append(args,
			"--log-slave-updates=ON",
			"--slave-net-timeout=5",
			"--innodb-log-file-size=16M",
		)
	}
	return args
}

// role is what a node does in the cluster; the options and settings that
// differ between roles follow from it.
type role int

const (
	rolePrimary role = iota // writable; the semi-sync source side is on
	roleReplica             // read-only; the semi-sync replica side is on
	roleRetired             // read-only, replicating from nobody; no semi-sync side
)

func onOff(b bool) string {
	if b {
		return "ON"
	}
	return "OFF"
}

// semiSyncTimeout is how long a semi-synchronous primary waits for an
// acknowledgement before it falls back to asynchronous replication: one hour,
// longer than any test, so that a test never passes on a silent fallback.
const semiSyncTimeout = time.Hour

// semiSyncArgs are the options every node of a semi-synchronous cluster gets,
// whatever its role: both sides available (a replica may be promoted, a
// primary demoted), the source side waiting for acks acknowledgements for up
// to semiSyncTimeout. MariaDB has both sides built in and waits for one.
func (f Flavor) semiSyncArgs(acks int) []string {
	timeout := fmt.Sprint(semiSyncTimeout.Milliseconds())
	if f == MariaDB {
		return []string{"--rpl-semi-sync-master-timeout=" + timeout}
	}
	return []string{
		"--plugin-load-add=semisync_source.so",
		"--plugin-load-add=semisync_replica.so",
		fmt.Sprintf("--rpl-semi-sync-source-wait-for-replica-count=%d", acks),
		"--rpl-semi-sync-source-timeout=" + timeout,
	}
}

// roleArgs are the command-line options of a node in role r. They are given
// at creation and, after Promote changed the role, written to roleArgsFile,
// which start.sh appends to the command line (the last value wins), so that a
// node keeps its role across Stop and Start.
func (f Flavor) roleArgs(r role, semiSync bool) []string {
	ro := onOff(r != rolePrimary)
	var args []string
	if f == MySQL {
		args = []string{"--read-only=" + ro, "--super-read-only=" + ro}
	} else {
		args = []string{"--read-only=" + ro}
	}
	if semiSync {
		src, rep := onOff(r == rolePrimary), onOff(r == roleReplica)
		if f == MySQL {
			args = append(args, "--rpl-semi-sync-source-enabled="+src, "--rpl-semi-sync-replica-enabled="+rep)
		} else {
			args = append(args, "--rpl-semi-sync-master-enabled="+src, "--rpl-semi-sync-slave-enabled="+rep)
		}
	}
	return args
}

// roleArgsFile is where Promote writes a node's roleArgs inside its container.
const roleArgsFile = "/rwsplit/role.args"

// roleSQL switches a running node to role r. Leaving the primary role, the
// node turns read-only first (that fences it); taking it, the semi-sync
// source side turns on before the node takes writes, so that no write
// commits unacknowledged. A replica's semi-sync side takes effect when its
// receiver next connects.
func (f Flavor) roleSQL(r role, semiSync bool) []string {
	var ro, semi []string
	if f == MySQL {
		if r == rolePrimary {
			ro = []string{"SET GLOBAL super_read_only = OFF", "SET GLOBAL read_only = OFF"}
		} else {
			ro = []string{"SET GLOBAL super_read_only = ON"} // implies read_only
		}
	} else {
		ro = []string{"SET GLOBAL read_only = " + onOff(r != rolePrimary)}
	}
	if semiSync {
		src, rep := onOff(r == rolePrimary), onOff(r == roleReplica)
		if f == MySQL {
			semi = []string{"SET GLOBAL rpl_semi_sync_replica_enabled = " + rep, "SET GLOBAL rpl_semi_sync_source_enabled = " + src}
		} else {
			semi = []string{"SET GLOBAL rpl_semi_sync_slave_enabled = " + rep, "SET GLOBAL rpl_semi_sync_master_enabled = " + src}
		}
	}
	if r == rolePrimary {
		return append(semi, ro...)
	}
	return append(ro, semi...)
}

// semiSyncStatusSQL reads the primary's semi-sync state: whether it waits for
// acknowledgements, and how many semi-sync replicas are connected.
func (f Flavor) semiSyncStatusSQL() (query, statusVar, clientsVar string) {
	if f == MariaDB {
		return "SHOW GLOBAL STATUS LIKE 'Rpl_semi_sync_master_%'", "Rpl_semi_sync_master_status", "Rpl_semi_sync_master_clients"
	}
	return "SHOW GLOBAL STATUS LIKE 'Rpl_semi_sync_source_%'", "Rpl_semi_sync_source_status", "Rpl_semi_sync_source_clients"
}

// resetReplicaSQL forgets a replica's source, for a node that becomes the
// primary.
func (f Flavor) resetReplicaSQL() string {
	if f == MariaDB {
		return "RESET SLAVE ALL"
	}
	return "RESET REPLICA ALL"
}

// retrievedColumn names the SHOW REPLICA STATUS column holding what the
// replica received from its source, in a form waitSQL accepts.
func (f Flavor) retrievedColumn() string {
	if f == MariaDB {
		return "Gtid_IO_Pos"
	}
	return "Retrieved_Gtid_Set"
}

// App credentials: the user the library under test connects as. It cannot
// write on a replica (read_only / super_read_only), so a misrouted write fails
// loudly with the read-only error.
const (
	AppUser     = "app"
	AppPassword = "app"
	AppDatabase = "app"
	adminUser   = "admin"
	adminPass   = "admin"
	replUser    = "repl"
	replPass    = "repl"
)

// bootstrapSQL runs once per node over the socket, with the binary log off so
// that every node holds the same users without replicating them.
func (f Flavor) bootstrapSQL() string {
	monitor := "GRANT REPLICATION CLIENT ON *.* TO 'app'@'%';"
	if f == MariaDB {
		monitor = "GRANT BINLOG MONITOR, SLAVE MONITOR ON *.* TO 'app'@'%';"
	}
	unlock, relock := "", ""
	if f == MySQL {
		// A replica starts with super_read_only, which binds root too.
		unlock = "SET @ro = @@GLOBAL.super_read_only;\nSET GLOBAL super_read_only = OFF;\n"
		relock = "SET GLOBAL super_read_only = @ro;\n"
	}
	return unlock + `SET sql_log_bin = 0;
CREATE USER 'admin'@'%' IDENTIFIED BY '` + adminPass + `';
GRANT ALL ON *.* TO 'admin'@'%' WITH GRANT OPTION;
CREATE USER 'repl'@'%' IDENTIFIED BY '` + replPass + `';
GRANT REPLICATION SLAVE ON *.* TO 'repl'@'%';
CREATE USER 'app'@'%' IDENTIFIED BY '` + AppPassword + `';
CREATE DATABASE app;
GRANT ALL ON app.* TO 'app'@'%';
` + monitor + `
SET sql_log_bin = 1;
` + relock
}

// changeSourceSQL points a replica at the primary, by its alias on the
// cluster's network, with auto-positioning by GTID.
func (f Flavor) changeSourceSQL(host string) string {
	if f == MariaDB {
		return fmt.Sprintf("CHANGE MASTER TO MASTER_HOST='%s', MASTER_PORT=3306, MASTER_USER='%s', "+
			"MASTER_PASSWORD='%s', MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1, MASTER_HEARTBEAT_PERIOD=1",
			host, replUser, replPass)
	}
	return fmt.Sprintf("CHANGE REPLICATION SOURCE TO SOURCE_HOST='%s', SOURCE_PORT=3306, SOURCE_USER='%s', "+
		"SOURCE_PASSWORD='%s', SOURCE_AUTO_POSITION=1, GET_SOURCE_PUBLIC_KEY=1, SOURCE_CONNECT_RETRY=1, "+
		"SOURCE_RETRY_COUNT=86400, SOURCE_HEARTBEAT_PERIOD=1", host, replUser, replPass)
}

func (f Flavor) startReplica(thread string) string {
	if f == MariaDB {
		return strings.TrimSpace("START SLAVE " + thread)
	}
	return strings.TrimSpace("START REPLICA " + thread)
}

func (f Flavor) stopReplica(thread string) string {
	if f == MariaDB {
		return strings.TrimSpace("STOP SLAVE " + thread)
	}
	return strings.TrimSpace("STOP REPLICA " + thread)
}

func (f Flavor) setDelaySQL(seconds int) string {
	if f == MariaDB {
		return fmt.Sprintf("CHANGE MASTER TO MASTER_DELAY=%d", seconds)
	}
	return fmt.Sprintf("CHANGE REPLICATION SOURCE TO SOURCE_DELAY=%d", seconds)
}

// executedSQL reads what a primary has executed; waitSQL waits on a replica
// for it (MySQL returns 0 when done, 1 on timeout; MariaDB 0 and -1).
func (f Flavor) executedSQL() string {
	if f == MariaDB {
		return "SELECT @@GLOBAL.gtid_binlog_pos"
	}
	return "SELECT @@GLOBAL.gtid_executed"
}

func (f Flavor) waitSQL() string {
	if f == MariaDB {
		return "SELECT MASTER_GTID_WAIT(?, ?)"
	}
	return "SELECT WAIT_FOR_EXECUTED_GTID_SET(?, ?)"
}
