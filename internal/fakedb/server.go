package fakedb

import (
	"database/sql"
	"database/sql/driver"
	"strconv"
	"strings"
	"time"
)

// Server is one node of a Cluster: the primary (server id 1) or a replica
// (server id i+2 for replica i). Its methods are safe for concurrent use.
type Server struct {
	cl      *Cluster
	id      int
	primary bool

	// Guarded by cl.mu.
	applied     int             // transactions of the log applied
	data        map[int64]int64 // the first applied transactions, materialised
	running     bool            // the replica's applier runs
	lag         time.Duration   // the running applier applies what is at least lag old
	applyOnWait bool            // a wait applies exactly up to its target
	loggedAhead int             // Galera: gtid_binlog_pos names this many more (SetLoggedAhead)
	execBehind  int             // MySQL: gtid_executed lacks this many of the latest applied (SetExecutedBehind)
	execLooks   int             // for this many more reads of it
	hung        chan struct{}   // non-nil while hung; closed by Unhang
	down        bool
	readOnly    bool         // the primary refuses writes (SetReadOnly)
	memberState string       // Group Replication MEMBER_STATE; "" is ONLINE
	galera      *GaleraState // Galera wsrep state; nil is GaleraSynced
	gtidMode    string       // MySQL @@GLOBAL.gtid_mode as reported; "" is ON (SetGTIDMode)
	gen         int          // incremented when the server goes down: older conns are dead
	failN       int
	failErr     error
	stmts       []string
	open        int
}

func newServer(c *Cluster, id int, primary bool) *Server {
	return &Server{cl: c, id: id, primary: primary, data: make(map[int64]int64), running: !primary}
}

// ID returns the server id: 1 for the primary, i+2 for replica i.
func (s *Server) ID() int { return s.id }

// Connector returns a connector to this server. With multiStatements, a
// statement text may hold several statements separated by ';' (as with the
// MySQL driver's multiStatements=true), which the one-round-trip wait form
// needs.
func (s *Server) Connector(multiStatements bool) driver.Connector {
	return &connector{srv: s, multi: multiStatements}
}

// OpenDB returns sql.OpenDB(s.Connector(multiStatements)). The caller
// closes it.
func (s *Server) OpenDB(multiStatements bool) *sql.DB {
	return sql.OpenDB(s.Connector(multiStatements))
}

// SetReadOnly makes the primary refuse writes with error 1290 and report
// read_only = 1, as a primary fenced during a failover (no effect on an
// async replica or a single-primary Group Replication secondary, which are
// read-only already; a Galera node or multi-primary member that takes
// writes stops taking them).
func (s *Server) SetReadOnly(on bool) {
	s.cl.mu.Lock()
	defer s.cl.mu.Unlock()
	s.readOnly = on
}

// SetGTIDMode makes a MySQL server report mode ("ON", "ON_PERMISSIVE",
// "OFF_PERMISSIVE", "OFF") as its @@GLOBAL.gtid_mode, ON by default. Only
// the report changes: its transactions keep their GTIDs, so a test shows
// what the library does with a server it must not take for gtid_mode ON
// (one where a transaction may be anonymous, its GTID set no proof).
func (s *Server) SetGTIDMode(mode string) {
	s.cl.mu.Lock()
	defer s.cl.mu.Unlock()
	s.gtidMode = mode
}

// reportedGTIDMode is @@GLOBAL.gtid_mode as the server reports it. Called
// with cl.mu held.
func (s *Server) reportedGTIDMode() string {
	if s.gtidMode == "" {
		return "ON"
	}
	return s.gtidMode
}

// StopApplier stops a replica's applier, after applying what it was due to
// apply by now: the replica stays where it is until StartApplier, ApplyAll
// or a wait with ApplyOnWait. No-op on the primary.
func (s *Server) StopApplier() {
	s.cl.mu.Lock()
	defer s.cl.mu.Unlock()
	if s.primary {
		return
	}
	s.sync(time.Now())
	s.running = false
}

// StartApplier restarts a replica's applier: from now on every access
// applies, lazily, every transaction committed at least the lag ago (see
// SetLag). No-op on the primary.
func (s *Server) StartApplier() {
	s.cl.mu.Lock()
	defer s.cl.mu.Unlock()
	if s.primary {
		return
	}
	s.running = true
	s.sync(time.Now())
}

// SetLag sets how old a transaction must be before a running applier
// applies it (0, the default, applies at once). What was already due under
// the previous lag is applied first: a replica never goes back. No-op on
// the primary.
func (s *Server) SetLag(d time.Duration) {
	s.cl.mu.Lock()
	defer s.cl.mu.Unlock()
	if s.primary {
		return
	}
	s.sync(time.Now())
	s.lag = max(d, 0)
}

// SetLoggedAhead makes a Galera node's @@GLOBAL.gtid_binlog_pos (also in
// its member check) name up to n committed transactions more than it has
// applied: MariaDB writes a transaction to its binary log before InnoDB
// commits it, and a new snapshot misses it meanwhile. Its data and
// WSREP_SYNC_WAIT_UPTO_GTID go by what it has applied. No-op on the
// primary.
func (s *Server) SetLoggedAhead(n int) {
	s.cl.mu.Lock()
	defer s.cl.mu.Unlock()
	if s.primary {
		return
	}
	s.sync(time.Now())
	s.loggedAhead = max(n, 0)
}

// SetExecutedBehind makes a MySQL server's @@GLOBAL.gtid_executed (also in
// SHOW BINARY LOG STATUS and its checks) lack its latest n applied
// transactions for its next looks reads, while @@GLOBAL.gtid_owned names
// their GTIDs: MySQL makes a commit visible in InnoDB a moment before it adds
// the GTID to gtid_executed and releases its ownership (binlog group
// commit's commit stage). Its data and its GTID waits go by what it has
// applied.
func (s *Server) SetExecutedBehind(n, looks int) {
	s.cl.mu.Lock()
	defer s.cl.mu.Unlock()
	s.sync(time.Now())
	s.execBehind, s.execLooks = max(n, 0), max(looks, 0)
}

// executed is how many transactions the server's gtid_executed names: what
// it applied, less execBehind on MySQL. cl.mu must be held, after sync.
func (s *Server) executed() int {
	if s.cl.flavor != MySQL || s.execLooks == 0 {
		return s.applied
	}
	return max(s.applied-s.execBehind, 0)
}

// lookExecuted is executed for a read of gtid_executed, which counts
// against SetExecutedBehind's looks. cl.mu must be held, after sync.
func (s *Server) lookExecuted() int {
	n := s.executed()
	if s.execLooks > 0 {
		s.execLooks--
	}
	return n
}

// owned is @@GLOBAL.gtid_owned: the GTIDs of the transactions applied but
// not yet in gtid_executed, each as uuid:gno#thread, the way MySQL lists
// them. cl.mu must be held, after sync.
func (s *Server) owned() string {
	var b strings.Builder
	for i := s.executed(); i < s.applied && i < len(s.cl.log); i++ {
		x := s.cl.log[i]
		if b.Len() == 0 {
			b.WriteString(mysqlUUID)
		}
		if x.tag != "" {
			b.WriteString(":" + x.tag)
		}
		b.WriteString(":" + strconv.Itoa(x.seq) + "#" + strconv.Itoa(100+i))
	}
	return b.String()
}

// logged is what the server's binary log names: what it applied, and on a
// Galera node up to loggedAhead more. cl.mu must be held, after sync.
func (s *Server) logged() int {
	if s.cl.kind != Galera {
		return s.applied
	}
	return min(s.applied+s.loggedAhead, len(s.cl.log))
}

// ApplyOnWait makes waits apply: with the applier stopped, a GTID,
// position or WSREP_SYNC_WAIT_UPTO_GTID wait applies exactly up to its target (never beyond) as soon as
// the primary has committed it, and succeeds. No-op on the primary.
func (s *Server) ApplyOnWait(on bool) {
	s.cl.mu.Lock()
	defer s.cl.mu.Unlock()
	if s.primary {
		return
	}
	s.applyOnWait = on
}

// ApplyAll applies every committed transaction now, even with the applier
// stopped. No-op on the primary.
func (s *Server) ApplyAll() {
	s.cl.mu.Lock()
	defer s.cl.mu.Unlock()
	s.applyTo(len(s.cl.log))
}

// Applied returns how many of the primary's transactions this server has
// applied (on the primary: how many are committed), after lazy applying.
func (s *Server) Applied() int {
	s.cl.mu.Lock()
	defer s.cl.mu.Unlock()
	s.sync(time.Now())
	return s.applied
}

// Hang makes the server unresponsive: every statement, Begin, Prepare, Ping
// and Connect blocks until Unhang, or returns the context's error when it
// is done first.
func (s *Server) Hang() {
	s.cl.mu.Lock()
	defer s.cl.mu.Unlock()
	if s.hung == nil {
		s.hung = make(chan struct{})
	}
}

// Unhang releases everything Hang blocked.
func (s *Server) Unhang() {
	s.cl.mu.Lock()
	defer s.cl.mu.Unlock()
	if s.hung != nil {
		close(s.hung)
		s.hung = nil
	}
}

// SetDown takes the server down or brings it back. While down, Connect
// fails with a *net.OpError wrapping syscall.ECONNREFUSED, and statements
// on existing connections (and their ResetSession, Ping, Begin, Prepare,
// Commit) return driver.ErrBadConn. Connections opened before the server
// went down stay dead after it comes back, as after a restart.
func (s *Server) SetDown(down bool) {
	s.cl.mu.Lock()
	defer s.cl.mu.Unlock()
	if down && !s.down {
		s.gen++
	}
	s.down = down
}

// FailNext makes the next n statements received fail with err, before they
// run (they are still recorded by Statements). A nil err means
// driver.ErrBadConn.
func (s *Server) FailNext(n int, err error) {
	if err == nil {
		err = driver.ErrBadConn
	}
	s.cl.mu.Lock()
	defer s.cl.mu.Unlock()
	s.failN, s.failErr = max(n, 0), err
}

// Statements returns every statement text received, in order, as sent with
// whitespace runs collapsed to one space. A multi-statement text is one
// entry. Begin, Commit, Rollback, Prepare and Ping are not statements, and
// statements refused because the connection is dead (server down, conn
// closed) were never received.
func (s *Server) Statements() []string {
	s.cl.mu.Lock()
	defer s.cl.mu.Unlock()
	return append([]string(nil), s.stmts...)
}

// ResetStatements forgets the statements received so far.
func (s *Server) ResetStatements() {
	s.cl.mu.Lock()
	defer s.cl.mu.Unlock()
	s.stmts = nil
}

// Count returns how many received statements contain substr, ignoring case.
func (s *Server) Count(substr string) int {
	substr = strings.ToLower(normalize(substr))
	s.cl.mu.Lock()
	defer s.cl.mu.Unlock()
	n := 0
	for _, st := range s.stmts {
		if strings.Contains(strings.ToLower(st), substr) {
			n++
		}
	}
	return n
}

// OpenConns returns how many driver connections to this server are open.
func (s *Server) OpenConns() int {
	s.cl.mu.Lock()
	defer s.cl.mu.Unlock()
	return s.open
}

// Value returns what this server currently holds for k, after lazy
// applying.
func (s *Server) Value(k int64) (v int64, ok bool) {
	s.cl.mu.Lock()
	defer s.cl.mu.Unlock()
	s.sync(time.Now())
	v, ok = s.data[k]
	return v, ok
}

// sync applies, on a replica whose applier runs, every transaction
// committed at least lag before now. cl.mu must be held.
func (s *Server) sync(now time.Time) {
	if s.primary || !s.running {
		return
	}
	log := s.cl.log
	n := s.applied
	cutoff := now.Add(-s.lag)
	for n < len(log) && !log[n].at.After(cutoff) {
		n++
	}
	s.applyTo(n)
}

// applyTo applies the log up to transaction n (never backwards).
// cl.mu must be held.
func (s *Server) applyTo(n int) {
	n = min(n, len(s.cl.log))
	for ; s.applied < n; s.applied++ {
		for _, ch := range s.cl.log[s.applied].changes {
			if ch.deleted {
				delete(s.data, ch.k)
			} else {
				s.data[ch.k] = ch.v
			}
		}
	}
}

// secondsBehind is Seconds_Behind_Source: whole seconds since the oldest
// unapplied transaction's commit, "0" when caught up, "" when the applier
// is stopped. cl.mu must be held, after sync.
func (s *Server) secondsBehind(now time.Time) string {
	if !s.running {
		return ""
	}
	if s.applied >= len(s.cl.log) {
		return "0"
	}
	return itoa(int64(now.Sub(s.cl.log[s.applied].at) / time.Second))
}

// readOnlyErr is the error a write gets on a replica.
func (s *Server) readOnlyErr() error {
	opt := "--super-read-only"
	if s.cl.flavor == MariaDB {
		opt = "--read-only"
	}
	return myErr(1290, "HY000", "The MySQL server is running with the "+opt+" option so it cannot execute this statement")
}
