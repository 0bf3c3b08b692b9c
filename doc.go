// Package rwsplit is a read/write-splitting router for MySQL and MariaDB over
// database/sql. A *DB holds one primary and any number of replica pools,
// classifies every call, sends writes and anything unsafe to the primary and
// provably read-only reads to a replica, and lets the caller choose per call,
// through the context, how fresh a replica read must be.
//
//	db, err := rwsplit.Open("mysql", primaryDSN, replicaDSNs)
//	_, err = db.ExecContext(ctx, "UPDATE users SET name = ? WHERE id = ?", name, id)
//	ctx = rwsplit.WithConsistency(ctx, rwsplit.WaitGTID(time.Second))
//	err = db.QueryRowContext(ctx, "SELECT name FROM users WHERE id = ?", id).Scan(&name)
//
// A statement goes to a replica only when a SQL lexer proves it read-only and
// independent of session state; when in doubt it goes to the primary.
//
// # Consistency modes
//
// Each mode is a Consistency, set per call with WithConsistency or for the
// DB with WithDefaultConsistency. The scope a mode waits for is the
// context's Session (WithSession), else the DB's own writes.
//
//	mode             guarantee                                  cost beyond the read                       when to use
//	Eventual         none: any usable replica                   none                                       data that may be a moment old
//	Primary          the latest data                            the primary serves the read                reads that must never be stale
//	Sleep(d)         the scope's writes if lag < d              sleeps what is left of d since the write   a known, bounded lag
//	CaughtUp(t)      the replica applied all it received        one status query                           setups without GTIDs
//	WaitPosition(t)  the scope's writes (binlog position)       a wait, skipped when known applied         async replication without GTIDs
//	WaitGTID(t)      the scope's writes (GTID)                  a wait, skipped when known applied,        read your writes: the usual choice
//	                                                            in the read's round trip where it can
//	Fast             the scope's writes, never waits            the primary, until a replica has them      latency first
//	Latest(t)        all committed before the read, by anyone   one shared query of the primary, a wait    reads sharing no Session with the writer
//	Monotonic(t)     never goes back in time; own writes        none while it stays on its replica         paginated or polled reads
//	MaxStaleness(d)  data at most d old                         none                                       bounded staleness, no waits
//
// Writes cost nothing: the first waiting read after them reads the
// primary's position once for all of them, shared by concurrent callers. A
// wait that times out tries the next replica, then the primary; OrFail
// fails with ErrReplicaNotCaughtUp instead. A wait never outlives the
// caller's context.
//
// # One pipeline
//
// Every way in (DB, Tx, Stmt, Conn, the Connector, and package rwsplitx)
// runs through one call pipeline: classify, choose the server and any wait,
// run, record the write, count. A guarantee made by one holds for all. (A
// transaction's own prepared statements run on its *sql.Tx: pinned and
// recorded by Commit like the rest of the transaction, but not counted.)
//
// Tokens carry a scope's writes across requests, processes and services
// (Session, ParseToken, DB.FormatToken); the monitor follows each server's
// health and, under WithDiscovery, the primary through failovers
// (WithWriteHold, RunTx); an Observer, a Trace and Explain show where calls
// went and why. The README and docs/ explain each at length.
package rwsplit
