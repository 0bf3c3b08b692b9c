// Package fakedb is an in-memory database/sql driver that models a
// replicated MySQL or MariaDB cluster: one primary, any number of replicas,
// one table kv(k BIGINT PRIMARY KEY, v BIGINT), GTIDs, binlog positions,
// replication lag, the wait functions and a fixed grammar of statements.
//
// It drives rwsplit's unit tests the way database/sql's own fakedb_test.go
// drives its pool paths. It is deterministic and starts no goroutines:
// replicas apply lazily on every access, and waits poll with timers inside
// the calling goroutine, honouring its context. Everything is safe for
// concurrent use.
//
// The primary keeps an append-only log of committed transactions, numbered
// 1, 2, 3...; a replica's state is a prefix of that log. Transaction n has
// the GTID "<uuid>:1-n" on MySQL (one cluster-wide uuid, see UUID; tagged
// "<uuid>:<tag>:m" from SetTag on) and "0-1-n" on MariaDB, and ends at
// binlog position binlog.000001:4+100*n.
//
// By default the cluster models asynchronous replication; SetKind makes it
// model MySQL Group Replication or MariaDB Galera Cluster instead (see
// Kind): the same log and lazy appliers, with the statements, roles and
// waits of that kind.
package fakedb

import (
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rwsplit/rwsplit/internal/dialect"
)

// The server families a cluster models (internal/dialect's Flavor).
const (
	// MySQL models MySQL 9.7: GTID sets, SHOW BINARY LOG STATUS,
	// WAIT_FOR_EXECUTED_GTID_SET and SOURCE_POS_WAIT.
	MySQL = dialect.MySQL
	// MariaDB models MariaDB 10.11: domain-server-sequence GTIDs,
	// SHOW MASTER STATUS, MASTER_GTID_WAIT and MASTER_POS_WAIT.
	MariaDB = dialect.MariaDB
)

// change is one row change of a transaction.
type change struct {
	k, v    int64
	deleted bool
}

// txn is one committed transaction of the primary's log.
type txn struct {
	at      time.Time
	changes []change
	tag     string // its MySQL GTID tag, "" when untagged (SetTag)
	seq     int    // its GTID number: <uuid>:seq, or <uuid>:tag:seq
}

// Cluster is a primary and its replicas sharing one transaction log.
// One mutex guards the whole cluster: every server and connection state.
type Cluster struct {
	flavor dialect.Flavor
	mu     sync.Mutex
	// commitAtClose: a write through Query commits when its rows close.
	commitAtClose bool
	log           []txn // committed transactions; log[i] is transaction i+1
	primary       *Server
	replicas      []*Server
	kind          Kind           // SetKind
	multiPrimary  bool           // SetMultiPrimary
	tag           string         // SetTag: the tag of the transactions committed now
	tagSeq        map[string]int // the last GTID number given per tag ("" untagged)
	tagged        int            // how many transactions of the log carry a tag
}

// NewCluster returns a cluster of the given flavor with a primary and the
// given number of replicas, all empty, every replica's applier running with
// no lag.
func NewCluster(f dialect.Flavor, replicas int) *Cluster {
	if f != MySQL && f != MariaDB {
		panic("fakedb: unknown flavor")
	}
	c := &Cluster{flavor: f}
	c.primary = newServer(c, 1, true)
	for i := range replicas {
		c.replicas = append(c.replicas, newServer(c, i+2, false))
	}
	return c
}

// Flavor returns the cluster's server family.
func (c *Cluster) Flavor() dialect.Flavor { return c.flavor }

// Primary returns the primary (server id 1).
func (c *Cluster) Primary() *Server { return c.primary }

// Replicas returns the replicas in order (server ids 2, 3, ...).
func (c *Cluster) Replicas() []*Server { return append([]*Server(nil), c.replicas...) }

// Servers returns every server, the primary first.
func (c *Cluster) Servers() []*Server {
	return append([]*Server{c.primary}, c.replicas...)
}

// Promote makes replica r the primary, as a failover does: r first applies
// the whole log (it was caught up when promoted), then takes writes, which
// every other server, the old primary included, applies as a replica with
// its applier running. Reads of SHOW REPLICA STATUS name r as the source.
// Under GroupReplication it is a primary election (r becomes the PRIMARY
// member, the old primary a SECONDARY applying the log); under Galera it
// only changes which node Primary returns (every node takes writes).
func (c *Cluster) Promote(r *Server) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r.primary {
		return
	}
	r.applyTo(len(c.log))
	old := c.primary
	old.primary, old.running = false, true
	r.primary, r.running = true, false
	c.primary = r
	rest := []*Server{old}
	for _, s := range c.replicas {
		if s != r {
			rest = append(rest, s)
		}
	}
	c.replicas = rest
}

// Write commits k=v directly on the primary, as one transaction with one
// GTID (test setup: no connection, no statement recorded).
func (c *Cluster) Write(k, v int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.commit(c.primary, []change{{k: k, v: v}})
}

// UUID returns the MySQL source uuid of the cluster's GTIDs: under
// GroupReplication, the group name (every member's own @@server_uuid is
// Server.UUID).
func (c *Cluster) UUID() string { return mysqlUUID }

// GTIDSet returns the GTID text of the first n transactions, as the servers
// report it: "<uuid>:1-n" on MySQL ("<uuid>:1" when n is 1), "0-1-n" on
// MariaDB, "" when n is 0. Once some transaction carries a tag (SetTag), the
// MySQL text is in MySQL's canonical form: the untagged interval first, then
// each tag's interval in ascending order of tags, such as
// "<uuid>:1-7:app:1-3:migration:1-2"; transactions beyond the log count as
// if committed now, under the current tag.
func (c *Cluster) GTIDSet(n int) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gtidSet(n)
}

// SetTag makes every transaction committed from now on carry a tagged GTID
// "<uuid>:<tag>:<m>" (m counting the transactions of that tag, from 1), as
// MySQL 8.3+ does for a session that ran SET gtid_next='AUTOMATIC:<tag>'
// (the cluster-wide setting stands for every session's); "" goes back to
// untagged GTIDs "<uuid>:<n>" (SET gtid_next='AUTOMATIC'), n counting the
// untagged transactions only. Transactions committed earlier keep their
// GTIDs. Every executed set the servers report (@@GLOBAL.gtid_executed,
// SHOW BINARY LOG STATUS, SHOW REPLICA STATUS, the Group Replication
// member check) is then in MySQL's canonical form (see GTIDSet), and
// WAIT_FOR_EXECUTED_GTID_SET reaches a tagged GTID of the cluster's uuid
// once the server applied the transaction that carries it. A tag is 1 to 32
// letters, digits and underscores, not starting with a digit; it is folded
// to lower case, as MySQL does. SetTag panics on a MariaDB cluster or with
// an invalid tag.
func (c *Cluster) SetTag(tag string) {
	if c.flavor != MySQL {
		panic("fakedb: GTID tags need the MySQL flavor")
	}
	if tag != "" && !isTag(tag) {
		panic("fakedb: invalid GTID tag " + strconv.Quote(tag))
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.tag = strings.ToLower(tag)
}

// Tag returns the tag SetTag set ("" when transactions are untagged).
func (c *Cluster) Tag() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tag
}

// BinlogPos returns the binary log file and position that follow the first
// n transactions: "binlog.000001" and 4+100*n.
func (c *Cluster) BinlogPos(n int) (file string, pos int64) { return binlogFile, binlogPos(n) }

// commit appends one transaction, written on server by, to the log and
// applies it on the primary and on by (a Galera node or multi-primary
// member writing applies the whole log first: its state stays a prefix of
// the log). It returns the transaction's number. c.mu must be held.
func (c *Cluster) commit(by *Server, changes []change) int {
	if c.tagSeq == nil {
		c.tagSeq = make(map[string]int)
	}
	c.tagSeq[c.tag]++
	if c.tag != "" {
		c.tagged++
	}
	c.log = append(c.log, txn{at: time.Now(), changes: changes, tag: c.tag, seq: c.tagSeq[c.tag]})
	n := len(c.log)
	c.primary.applyTo(n)
	if c.kind != Async {
		by.applyTo(n)
	}
	return n
}

// CommitQueryWritesAtClose makes an autocommit write run through Query
// (INSERT ... RETURNING, CALL, a writing stored function) commit only when its
// rows are closed, as a real server commits at the end of the statement,
// after sending its rows: while the caller still reads them, the write is not
// committed.
func (c *Cluster) CommitQueryWritesAtClose(on bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.commitAtClose = on
}
