package rwsplittest

import (
	"fmt"
	"os"
	"strings"
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
			// One applier worker: SOURCE_POS_WAIT reads the applier's
			// checkpointed position, which lags under several workers.
			"--replica-parallel-workers=1",
		)
		if replica {
			args = append(args, "--read-only=ON", "--super-read-only=ON", "--skip-replica-start=OFF")
		}
	case MariaDB:
		args = append(args,
			"--log-slave-updates=ON",
			"--slave-net-timeout=5",
			"--innodb-log-file-size=16M",
		)
		if replica {
			args = append(args, "--read-only=ON")
		}
	}
	return args
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
