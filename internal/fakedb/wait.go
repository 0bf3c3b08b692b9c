package fakedb

import (
	"context"
	"database/sql/driver"
	"math"
	"strconv"
	"strings"
	"time"
)

// pollEvery is how often a wait looks at the replica again.
const pollEvery = time.Millisecond

// maxTimeout bounds wait timeouts (longer ones wait forever).
const maxTimeout = 1e9 // seconds

// evalWait runs a wait function and returns its value: with the comparison
// (the "= 0" / ">= 0" forms) 1 when the wait succeeded, 0 when it timed
// out, NULL when it cannot wait; raw, the function's own result.
func (c *conn) evalWait(ctx context.Context, we *waitExpr) (driver.Value, error) {
	s := c.srv
	switch we.fn {
	case wGTIDSet:
		// 0 once the applied set contains the set (tagged GTIDs
		// included), 1 after the timeout.
		set, ok := toText(we.args[0])
		if !ok {
			return nil, nil
		}
		t, err := parseMySQLSet(set)
		if err != nil {
			return nil, err
		}
		timeout, hasTimeout, err := toFloat(we.args[1])
		if err != nil {
			return nil, err
		}
		// A real server waits forever with timeout 0: until ctx is done.
		forever := !hasTimeout || timeout <= 0
		raw, err := c.poll(ctx, timeout, forever, int64(1), func() (bool, driver.Value) {
			rt := s.cl.resolve(t)
			s.applyOnWaitTo(rt)
			if !rt.reachedBy(s.applied) {
				return false, int64(0)
			}
			s.execLooks = 0 // returned: gtid_executed names them (SetExecutedBehind)
			return true, int64(0)
		})
		return eq0(we, raw), err
	case wMasterGTID:
		// 0 once gtid_slave_pos reaches the position, -1 after the
		// timeout; the primary's gtid_slave_pos never does.
		pos, ok := toText(we.args[0])
		if !ok {
			return nil, nil
		}
		t, err := parseMariaDBPos(pos)
		if err != nil {
			return nil, err
		}
		if strings.TrimSpace(pos) == "" {
			return eq0(we, int64(0)), nil
		}
		timeout, hasTimeout, err := toFloat(we.args[1])
		if err != nil {
			return nil, err
		}
		// NULL or negative: no timeout; 0: look once.
		forever := !hasTimeout || timeout < 0
		raw, err := c.poll(ctx, timeout, forever, int64(-1), func() (bool, driver.Value) {
			if s.primary || s.cl.kind == Galera {
				// Galera's applier does not advance gtid_slave_pos.
				return false, nil
			}
			s.applyOnWaitTo(t)
			return t.reachedBy(s.applied), int64(0)
		})
		return eq0(we, raw), err
	case wSourcePos, wMasterPos:
		// The number of transactions waited for once the applied position
		// reaches (file, pos), -1 after the timeout, NULL on the primary
		// or when the applier is (or gets) stopped.
		file, ok := toText(we.args[0])
		if !ok || we.args[1] == nil {
			return nil, nil
		}
		pos, err := toInt(we.args[1])
		if err != nil {
			return nil, err
		}
		timeout, hasTimeout, err := toFloat(we.args[2])
		if err != nil {
			return nil, err
		}
		s.cl.mu.Lock()
		noChannel := s.primary || s.cl.kind != Async
		s.cl.mu.Unlock()
		if noChannel {
			// No replication channel to wait on: the primary, and every
			// Group Replication member or Galera node.
			return nil, nil
		}
		t := posTarget(strings.TrimSpace(file), pos)
		forever := !hasTimeout || timeout <= 0
		start := -1
		raw, err := c.poll(ctx, timeout, forever, int64(-1), func() (bool, driver.Value) {
			if start < 0 {
				start = s.applied
			}
			if !s.running && !s.applyOnWait {
				return true, nil
			}
			s.applyOnWaitTo(t)
			return t.reachedBy(s.applied), int64(max(s.applied-start, 0))
		})
		if err != nil || !we.cmp || raw == nil {
			return raw, err
		}
		if raw.(int64) >= 0 {
			return int64(1), nil
		}
		return int64(0), nil
	case wWsrepUpto:
		return c.wsrepWait(ctx, we)
	}
	return nil, syntaxErr("wait")
}

// wsrepWait runs WSREP_SYNC_WAIT_UPTO_GTID(gtid[, timeout]) as MariaDB
// 10.11 does: 1 once the node has committed the GTID (one
// "domain-server-seq"; its sequence number counts, as the node compares
// only that with its wsrep position), error 1205 when the timeout (whole
// seconds: a fractional one is rounded, 0 looks once; NULL, negative or
// none is 30 s) passes first. NULL or a list of GTIDs is error 1210, an
// unparsable GTID error 1941. Outside Galera (wsrep_on OFF) it is error
// 1210 at once (not verified on a real server). With the "= 1" comparison
// the result is 1 or the same errors.
func (c *conn) wsrepWait(ctx context.Context, we *waitExpr) (driver.Value, error) {
	s := c.srv
	wrongArgs := myErr(1210, "HY000", "Incorrect arguments to WSREP_SYNC_WAIT_UPTO_GTID")
	s.cl.mu.Lock()
	galera := s.cl.kind == Galera
	s.cl.mu.Unlock()
	text, ok := toText(we.args[0])
	if !ok || !galera {
		return nil, wrongArgs
	}
	text = strings.TrimSpace(text)
	if strings.Contains(text, ",") {
		return nil, wrongArgs
	}
	f := strings.Split(text, "-")
	var seq uint64
	if len(f) == 3 {
		var err error
		for i, x := range f {
			var n uint64
			if n, err = strconv.ParseUint(x, 10, 64); err != nil {
				break
			}
			if i == 2 {
				seq = n
			}
		}
		if err != nil {
			f = nil
		}
	}
	if len(f) != 3 {
		return nil, myErr(1941, "HY000", "Could not parse GTID list")
	}
	t := target{need: int(min(seq, 1<<31)), reachable: seq <= 1<<31}
	timeout := wsrepDefaultTimeout.Seconds()
	if len(we.args) > 1 {
		x, has, err := toFloat(we.args[1])
		if err != nil {
			return nil, err
		}
		if has && x >= 0 {
			timeout = math.Round(x)
		}
	}
	raw, err := c.poll(ctx, timeout, false, nil, func() (bool, driver.Value) {
		s.applyOnWaitTo(t)
		return t.reachedBy(s.applied), int64(1)
	})
	if err != nil {
		return nil, err
	}
	if raw == nil {
		return nil, myErr(1205, "HY000", "Lock wait timeout exceeded; try restarting transaction")
	}
	return raw, nil
}

// eq0 applies the "= 0" comparison of a GTID wait form to its raw result.
func eq0(we *waitExpr, raw driver.Value) driver.Value {
	if !we.cmp || raw == nil {
		return raw
	}
	if raw == int64(0) {
		return int64(1)
	}
	return int64(0)
}

// applyOnWaitTo applies exactly up to t on a stopped replica with
// ApplyOnWait, once the primary has committed it. cl.mu must be held.
func (s *Server) applyOnWaitTo(t target) {
	if s.primary || s.running || !s.applyOnWait || !t.reachable || t.need > len(s.cl.log) {
		return
	}
	s.applyTo(t.need)
}

// poll calls check under the cluster's mutex (after lazy applying) every
// pollEvery until it reports done, returning its value; timedOut once
// timeout seconds have passed (unless forever); ctx.Err() when ctx is done
// first. check is called at least once.
func (c *conn) poll(ctx context.Context, timeout float64, forever bool, timedOut driver.Value, check func() (bool, driver.Value)) (driver.Value, error) {
	s := c.srv
	if timeout > maxTimeout {
		forever = true
	}
	var deadline time.Time
	if !forever {
		deadline = time.Now().Add(time.Duration(timeout * float64(time.Second)))
	}
	var t *time.Timer
	defer func() {
		if t != nil {
			t.Stop()
		}
	}()
	for {
		s.cl.mu.Lock()
		now := time.Now()
		s.sync(now)
		done, v := check()
		s.cl.mu.Unlock()
		if done {
			return v, nil
		}
		d := pollEvery
		if !forever {
			left := deadline.Sub(now)
			if left <= 0 {
				return timedOut, nil
			}
			d = min(d, left)
		}
		if t == nil {
			t = time.NewTimer(d)
		} else {
			t.Reset(d)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}
