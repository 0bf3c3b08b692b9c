package fakedb

import (
	"strconv"
	"strings"
)

// mysqlUUID is the source uuid of every MySQL cluster's GTIDs.
const mysqlUUID = "3e11fa47-71ca-11e1-9e33-c80aa9429562"

// binlogFile is the primary's only binary log file.
const binlogFile = "binlog.000001"

// binlogPos is the binlog position after n transactions.
func binlogPos(n int) int64 { return 4 + 100*int64(n) }

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// gtidText is the GTID text of the first n transactions.
func gtidText(f Flavor, n int) string {
	switch {
	case n <= 0:
		return ""
	case f == MariaDB:
		return "0-1-" + strconv.Itoa(n)
	case n == 1:
		return mysqlUUID + ":1"
	}
	return mysqlUUID + ":1-" + strconv.Itoa(n)
}

// target is what a GTID or position wait waits for: the first need
// transactions applied, or never when !reachable (a GTID this cluster can
// never have).
type target struct {
	need      int
	reachable bool
}

// reachedBy reports whether a server that applied the first n transactions
// has reached t.
func (t target) reachedBy(n int) bool { return t.reachable && t.need <= n }

// parseMySQLSet parses a MySQL GTID set such as "uuid:1-5:7-9,uuid2:3"
// (optionally with tags, "uuid:tag:1-5"). GTIDs of another uuid or with a
// tag are never reached in a fakedb cluster.
func parseMySQLSet(s string) (target, error) {
	t := target{reachable: true}
	bad := func() (target, error) {
		return target{}, myErr(1772, "HY000", "Malformed GTID set specification '"+s+"'.")
	}
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		fields := strings.Split(part, ":")
		uuid := strings.ToLower(strings.TrimSpace(fields[0]))
		if !isUUID(uuid) {
			return bad()
		}
		tagged := false
		for _, f := range fields[1:] {
			f = strings.TrimSpace(f)
			if f == "" {
				return bad()
			}
			if c := f[0]; c < '0' || c > '9' {
				if !isTag(f) {
					return bad()
				}
				tagged = true
				continue
			}
			_, hi, ok := parseInterval(f)
			if !ok {
				return bad()
			}
			if tagged || uuid != mysqlUUID {
				t.reachable = false
				continue
			}
			t.need = max(t.need, hi)
		}
	}
	return t, nil
}

// parseInterval parses "a" or "a-b" with 1 <= a <= b.
func parseInterval(s string) (lo, hi int, ok bool) {
	a, b, found := strings.Cut(s, "-")
	lo, err := strconv.Atoi(a)
	if err != nil || lo < 1 {
		return 0, 0, false
	}
	hi = lo
	if found {
		if hi, err = strconv.Atoi(b); err != nil || hi < lo {
			return 0, 0, false
		}
	}
	return lo, hi, true
}

func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := range len(s) {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
				return false
			}
		}
	}
	return true
}

func isTag(s string) bool {
	if len(s) > 32 {
		return false
	}
	for i := range len(s) {
		c := s[i] | 0x20
		if !('a' <= c && c <= 'z' || s[i] == '_' || i > 0 && '0' <= s[i] && s[i] <= '9') {
			return false
		}
	}
	return true
}

// parseMariaDBPos parses a MariaDB GTID position such as "0-1-5" or
// "0-1-5,1-2-9". Only domain 0 exists in a fakedb cluster: other domains
// are never reached. The server id does not matter, as with
// MASTER_GTID_WAIT, which compares sequence numbers per domain.
func parseMariaDBPos(s string) (target, error) {
	t := target{reachable: true}
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		f := strings.Split(part, "-")
		if len(f) != 3 {
			return target{}, myErr(1941, "HY000", "Could not parse GTID list")
		}
		var n [3]uint64
		for i, x := range f {
			v, err := strconv.ParseUint(x, 10, 64)
			if err != nil {
				return target{}, myErr(1941, "HY000", "Could not parse GTID list")
			}
			n[i] = v
		}
		if n[0] != 0 || n[2] > 1<<31 {
			t.reachable = false
			continue
		}
		t.need = max(t.need, int(n[2]))
	}
	return t, nil
}

// posTarget is the target of a position wait for (file, pos): the fewest
// transactions whose end position is at least pos. An older file is reached
// at once, a later one never.
func posTarget(file string, pos int64) target {
	switch {
	case file < binlogFile:
		return target{reachable: true}
	case file > binlogFile:
		return target{}
	case pos <= 4:
		return target{reachable: true}
	}
	need := (pos - 4 + 99) / 100
	if need > 1<<31 {
		return target{}
	}
	return target{need: int(need), reachable: true}
}
