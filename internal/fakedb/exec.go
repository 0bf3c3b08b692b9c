package fakedb

import (
	"context"
	"database/sql/driver"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Server versions, as SELECT VERSION() reports them.
const (
	mysqlVersion   = "9.7.0"
	mariadbVersion = "10.11.14-MariaDB-0+deb12u1"
)

// outcome is what one statement produced: a result, and a result set for
// statements that return rows.
type outcome struct {
	res result
	set *resultSet
}

// run runs a statement text: it is recorded as received, split into its
// statements (more than one only on a multi-statement connector) and each
// is run in order, stopping at the first error. It returns the last
// statement's result and the result sets that have columns.
func (c *conn) run(ctx context.Context, query string, nargs []driver.NamedValue, wantRows bool) (driver.Result, driver.Rows, error) {
	text := normalize(query)
	if err := c.enter(ctx, text, true); err != nil {
		return nil, nil, err
	}
	flavor := c.srv.cl.flavor
	c.srv.cl.mu.Unlock()

	stmts := split(text)
	if len(stmts) == 0 {
		return nil, nil, myErr(1065, "42000", "Query was empty")
	}
	if len(stmts) > 1 && !c.multi {
		return nil, nil, syntaxErr(stmts[1])
	}
	args := make([]any, len(nargs))
	for i, nv := range nargs {
		if nv.Ordinal >= 1 && nv.Ordinal <= len(args) {
			args[nv.Ordinal-1] = nv.Value
		} else {
			args[i] = nv.Value
		}
	}
	counts := make([]int, len(stmts))
	total := 0
	for i, st := range stmts {
		counts[i] = countPlaceholders(st)
		total += counts[i]
	}
	if total != len(args) {
		return nil, nil, fmt.Errorf("fakedb: %d placeholders, %d arguments", total, len(args))
	}

	var last result
	var sets []*resultSet
	c.srv.cl.mu.Lock()
	c.deferring = wantRows && c.tx == nil && c.srv.cl.commitAtClose
	c.srv.cl.mu.Unlock()
	defer func() {
		c.srv.cl.mu.Lock()
		c.deferring = false
		c.srv.cl.mu.Unlock()
	}()
	for i, st := range stmts {
		p, err := parse(st, args[:counts[i]], flavor)
		if err != nil {
			return nil, nil, err
		}
		args = args[counts[i]:]
		out, err := c.exec(ctx, p)
		if err != nil {
			return nil, nil, err
		}
		c.srv.afterStatement(p.text) // faults.go
		last = out.res
		if out.set != nil && len(out.set.cols) > 0 {
			sets = append(sets, out.set)
		}
	}
	if !wantRows {
		return last, nil, nil
	}
	var onClose func() // commits a deferred write (Cluster.CommitQueryWritesAtClose)
	c.srv.cl.mu.Lock()
	if changes := c.deferred; len(changes) > 0 {
		c.deferred = nil
		onClose = func() {
			c.srv.cl.mu.Lock()
			defer c.srv.cl.mu.Unlock()
			c.commitNow(changes)
		}
	}
	c.srv.cl.mu.Unlock()
	return last, newRows(sets, onClose), nil
}

// exec runs one parsed statement.
func (c *conn) exec(ctx context.Context, p *parsed) (outcome, error) {
	switch p.kind {
	case kSleep:
		secs, ok, err := toFloat(p.vals[0])
		if err != nil {
			return outcome{}, err
		}
		if ok && secs > 0 {
			if err := sleep(ctx, time.Duration(secs*float64(time.Second))); err != nil {
				return outcome{}, err
			}
		}
		return outcome{set: intSet(p.col, int64(0))}, nil
	case kSelectWait:
		v, err := c.evalWait(ctx, p.wait)
		if err != nil {
			return outcome{}, err
		}
		return outcome{set: intSet(p.col, v)}, nil
	case kSetSQLMode:
		v, err := c.evalWait(ctx, p.wait)
		if err != nil {
			return outcome{}, err
		}
		if v != int64(1) {
			lit, _ := toText(p.vals[0])
			return outcome{}, myErr(1231, "42000", "Variable 'sql_mode' can't be set to the value of '"+lit+"'")
		}
		return outcome{}, nil
	}
	cl := c.srv.cl
	cl.mu.Lock()
	defer cl.mu.Unlock()
	now := time.Now()
	c.srv.sync(now)
	return c.execLocked(p, now)
}

// execLocked runs a statement that does not wait. cl.mu must be held.
func (c *conn) execLocked(p *parsed, now time.Time) (outcome, error) {
	s := c.srv
	cl := s.cl
	if p.kind.onKV() && s.refusesKV() {
		return outcome{}, errWsrepNotReady()
	}
	if p.kind.writes() {
		if c.tx != nil && c.tx.readOnly {
			return outcome{}, myErr(1792, "25006", "Cannot execute statement in a READ ONLY transaction.")
		}
		if err := s.writeErr(); err != nil {
			return outcome{}, err
		}
	}
	ints := func() ([]int64, error) {
		out := make([]int64, len(p.vals))
		for i, v := range p.vals {
			n, err := toInt(v)
			if err != nil {
				return nil, err
			}
			out[i] = n
		}
		return out, nil
	}
	switch p.kind {
	case kInsert, kReplace, kInsertReturning, kCall, kSelectPut:
		a, err := ints()
		if err != nil {
			return outcome{}, err
		}
		k, v := a[0], a[1]
		c.write([]change{{k: k, v: v}})
		switch p.kind {
		case kInsertReturning:
			return outcome{res: result{lastID: k, affected: 1}, set: kvSet([2]int64{k, v})}, nil
		case kCall:
			return outcome{res: result{affected: 1}, set: kvSet([2]int64{k, v})}, nil
		case kSelectPut:
			return outcome{set: intSet(p.col, v)}, nil
		}
		return outcome{res: result{lastID: k, affected: 1}}, nil
	case kUpdate:
		a, err := ints()
		if err != nil {
			return outcome{}, err
		}
		v, k := a[0], a[1]
		var changes []change
		if _, ok := c.get(k); ok {
			changes = []change{{k: k, v: v}}
		}
		c.write(changes)
		return outcome{res: result{affected: int64(len(changes))}}, nil
	case kDelete:
		a, err := ints()
		if err != nil {
			return outcome{}, err
		}
		var changes []change
		if _, ok := c.get(a[0]); ok {
			changes = []change{{k: a[0], deleted: true}}
		}
		c.write(changes)
		return outcome{res: result{affected: int64(len(changes))}}, nil
	case kSelectV, kSelectVLock:
		if p.vals[0] == nil {
			return outcome{set: intSet("v")}, nil // k = NULL matches nothing
		}
		a, err := ints()
		if err != nil {
			return outcome{}, err
		}
		if v, ok := c.get(a[0]); ok {
			return outcome{set: intSet("v", v)}, nil
		}
		return outcome{set: intSet("v")}, nil
	case kSelectAll:
		return outcome{set: c.all()}, nil
	case kServerID:
		return outcome{set: intSet(p.col, int64(s.id))}, nil
	case kIdentity:
		ro := "0"
		if s.reportsReadOnly() {
			ro = "1"
		}
		if cl.flavor == MariaDB {
			return outcome{set: stringSet([]string{"@@server_id", "@@GLOBAL.read_only"}, []string{itoa(int64(s.id)), ro})}, nil
		}
		return outcome{set: stringSet([]string{"@@server_id", "@@GLOBAL.read_only", "@@server_uuid"},
			// Async: one uuid for the whole log (see Cluster.UUID), the
			// one the primary's GTIDs carry, whichever server is primary.
			// Group Replication: the member's own uuid.
			[]string{itoa(int64(s.id)), ro, s.uuid()})}, nil
	case kIdentityKind:
		ro := "0"
		if s.reportsReadOnly() {
			ro = "1"
		}
		if cl.flavor == MariaDB {
			wsrep := "OFF"
			if cl.kind == Galera {
				wsrep = "ON"
			}
			return outcome{set: stringSet([]string{"@@server_id", "@@GLOBAL.read_only", "wsrep_on"}, []string{itoa(int64(s.id)), ro, wsrep})}, nil
		}
		var group any
		if cl.kind == GroupReplication {
			group = mysqlUUID
		}
		if strings.Contains(strings.ToLower(p.text), "gtid_mode") {
			return outcome{set: nullableSet([]string{"@@server_id", "@@GLOBAL.read_only", "@@server_uuid", "group_name", "@@GLOBAL.gtid_mode"},
				[]any{itoa(int64(s.id)), ro, s.uuid(), group, s.reportedGTIDMode()})}, nil
		}
		return outcome{set: nullableSet([]string{"@@server_id", "@@GLOBAL.read_only", "@@server_uuid", "group_name"},
			[]any{itoa(int64(s.id)), ro, s.uuid(), group})}, nil
	case kIdentityCheap, kIdentityCheapMarker:
		return s.identityCheap(p.kind == kIdentityCheapMarker)
	case kGroupCheck:
		set, err := s.groupCheck()
		return outcome{set: set}, err
	case kGroupCaughtUp:
		return outcome{set: s.groupCaughtUp()}, nil
	case kGaleraCheck:
		return outcome{set: s.galeraCheck()}, nil
	case kGaleraCaughtUp:
		return outcome{set: s.galeraCaughtUp()}, nil
	case kSubquery:
		return outcome{}, myErr(1242, "21000", "Subquery returns more than 1 row")
	case kSelect1:
		return outcome{set: intSet(p.col, int64(1))}, nil
	case kVersion:
		v := mysqlVersion
		if cl.flavor == MariaDB {
			v = mariadbVersion
		}
		return outcome{set: stringSet([]string{p.col}, []string{v})}, nil
	case kBinlogStatus:
		return outcome{set: s.binlogStatus()}, nil
	case kGtidExecuted:
		return outcome{set: stringSet([]string{p.col}, []string{cl.gtidSet(s.lookExecuted())})}, nil
	case kGtidOwned:
		return outcome{set: stringSet([]string{p.col}, []string{s.owned()})}, nil
	case kGtidBinlogPos:
		return outcome{set: stringSet([]string{p.col}, []string{cl.gtidSet(s.logged())})}, nil
	case kGtidExecutedUUID:
		return outcome{set: stringSet([]string{"@@GLOBAL.gtid_executed", "@@server_uuid"},
			[]string{cl.gtidSet(s.lookExecuted()), s.uuid()})}, nil
	case kGtidSlavePos:
		pos := ""
		if !s.primary && cl.kind == Async {
			pos = gtidText(cl.flavor, s.applied)
		}
		return outcome{set: stringSet([]string{p.col}, []string{pos})}, nil
	case kLastGtid:
		return outcome{set: stringSet([]string{p.col}, []string{c.lastGTID})}, nil
	case kReplicaStatus:
		return outcome{set: s.replicaStatus(now)}, nil
	case kNoop:
		return outcome{}, nil
	}
	return outcome{}, syntaxErr(p.text)
}

// write commits changes as one transaction, or buffers them in the open
// transaction. cl.mu must be held.
func (c *conn) write(changes []change) {
	if c.tx != nil {
		c.tx.changes = append(c.tx.changes, changes...)
		c.tx.wrote = true
		return
	}
	if c.deferring {
		c.deferred = append(c.deferred, changes...)
		return
	}
	c.commitNow(changes)
}

// commitNow commits changes as one transaction. cl.mu must be held.
func (c *conn) commitNow(changes []change) {
	n := c.srv.cl.commit(c.srv, changes)
	if c.srv.cl.flavor == MariaDB {
		c.lastGTID = gtidText(MariaDB, n)
	}
}

// get returns k as the connection sees it: the server's state plus its
// open transaction's changes. cl.mu must be held.
func (c *conn) get(k int64) (int64, bool) {
	if c.tx != nil {
		if v, ok, found := c.tx.get(k); found {
			return v, ok
		}
	}
	v, ok := c.srv.data[k]
	return v, ok
}

// all returns every row as the connection sees it, ordered by k. cl.mu
// must be held.
func (c *conn) all() *resultSet {
	data := c.srv.data
	if c.tx != nil && len(c.tx.changes) > 0 {
		data = maps.Clone(data)
		for _, ch := range c.tx.changes {
			if ch.deleted {
				delete(data, ch.k)
			} else {
				data[ch.k] = ch.v
			}
		}
	}
	keys := slices.Sorted(maps.Keys(data))
	rows := make([][2]int64, len(keys))
	for i, k := range keys {
		rows[i] = [2]int64{k, data[k]}
	}
	return kvSet(rows...)
}

// binlogStatus is SHOW BINARY LOG STATUS (MySQL) or SHOW MASTER STATUS
// (MariaDB): the server's own applied prefix. cl.mu must be held.
func (s *Server) binlogStatus() *resultSet {
	pos := itoa(binlogPos(s.applied))
	if s.cl.flavor == MariaDB {
		return stringSet([]string{"File", "Position", "Binlog_Do_DB", "Binlog_Ignore_DB"},
			[]string{binlogFile, pos, "", ""})
	}
	return stringSet([]string{"File", "Position", "Binlog_Do_DB", "Binlog_Ignore_DB", "Executed_Gtid_Set"},
		[]string{binlogFile, pos, "", "", s.cl.gtidSet(s.lookExecuted())})
}

// identityCheap answers internal/cluster's cheap identity query: the
// identity, the executed GTIDs (MariaDB: the binlog and replica positions)
// and, with marker, the kind's marker variable, which a server not of that
// kind refuses as unknown (no Group Replication plugin, no wsrep
// provider). cl.mu must be held, after sync.
func (s *Server) identityCheap(marker bool) (outcome, error) {
	cl := s.cl
	ro := "0"
	if s.reportsReadOnly() {
		ro = "1"
	}
	if cl.flavor == MariaDB {
		if marker && cl.kind != Galera {
			return outcome{}, myErr(1193, "HY000", "Unknown system variable 'wsrep_on'")
		}
		slave := ""
		if !s.primary && cl.kind == Async {
			slave = gtidText(cl.flavor, s.applied)
		}
		cols := []string{"@@server_id", "@@GLOBAL.read_only", "@@GLOBAL.gtid_binlog_pos", "@@GLOBAL.gtid_slave_pos"}
		vals := []string{itoa(int64(s.id)), ro, cl.gtidSet(s.logged()), slave}
		if marker {
			cols, vals = append(cols, "@@GLOBAL.wsrep_on"), append(vals, "1")
		}
		return outcome{set: stringSet(cols, vals)}, nil
	}
	if marker && cl.kind != GroupReplication {
		return outcome{}, myErr(1193, "HY000", "Unknown system variable 'group_replication_group_name'")
	}
	cols := []string{"@@server_id", "@@GLOBAL.read_only", "@@server_uuid", "@@GLOBAL.gtid_executed", "@@GLOBAL.gtid_mode"}
	vals := []string{itoa(int64(s.id)), ro, s.uuid(), cl.gtidSet(s.executed()), s.reportedGTIDMode()}
	if marker {
		cols, vals = append(cols, "@@GLOBAL.group_replication_group_name"), append(vals, mysqlUUID)
	}
	return outcome{set: stringSet(cols, vals)}, nil
}

// replicaStatus is SHOW REPLICA STATUS: no row on the primary nor on any
// server of a Group Replication or Galera cluster. cl.mu must be held,
// after sync.
func (s *Server) replicaStatus(now time.Time) *resultSet {
	mysqlCols := []string{
		"Replica_IO_Running", "Replica_SQL_Running",
		"Source_Log_File", "Read_Source_Log_Pos",
		"Relay_Source_Log_File", "Exec_Source_Log_Pos",
		"Seconds_Behind_Source", "Retrieved_Gtid_Set", "Executed_Gtid_Set",
		"Last_SQL_Errno", "Last_SQL_Error", "Last_IO_Errno", "Last_IO_Error", "Source_Server_Id",
	}
	mariaCols := []string{
		"Slave_IO_Running", "Slave_SQL_Running",
		"Master_Log_File", "Read_Master_Log_Pos",
		"Relay_Master_Log_File", "Exec_Master_Log_Pos",
		"Seconds_Behind_Master", "Gtid_IO_Pos",
		"Last_SQL_Errno", "Last_SQL_Error", "Last_IO_Errno", "Last_IO_Error", "Master_Server_Id",
	}
	cols := mysqlCols
	if s.cl.flavor == MariaDB {
		cols = mariaCols
	}
	if s.primary || s.cl.kind != Async {
		// No row on a primary, nor on a Group Replication member or a
		// Galera node: their channels are not shown.
		return stringSet(cols)
	}
	f := s.cl.flavor
	committed := len(s.cl.log)
	sqlRunning := "No"
	if s.running {
		sqlRunning = "Yes"
	}
	head := []string{
		"Yes", sqlRunning,
		binlogFile, itoa(binlogPos(committed)),
		binlogFile, itoa(binlogPos(s.applied)),
		s.secondsBehind(now),
	}
	tail := []string{"0", "", "0", "", itoa(int64(s.cl.primary.id))}
	var row []string
	if f == MariaDB {
		row = append(append(head, gtidText(f, committed)), tail...)
	} else {
		row = append(append(head, s.cl.gtidSet(committed), s.cl.gtidSet(s.applied)), tail...)
	}
	return stringSet(cols, row)
}

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
