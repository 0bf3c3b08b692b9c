package fakedb

import (
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/rwsplit/rwsplit/internal/dialect"
)

// mysqlUUID is the source uuid of every MySQL cluster's GTIDs.
const mysqlUUID = "3e11fa47-71ca-11e1-9e33-c80aa9429562"

// binlogFile is the primary's only binary log file.
const binlogFile = "binlog.000001"

// binlogPos is the binlog position after n transactions.
func binlogPos(n int) int64 { return 4 + 100*int64(n) }

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// gtidText is the GTID text of the first n transactions.
func gtidText(f dialect.Flavor, n int) string {
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
// never have). A MySQL GTID set's target counts GTIDs, not transactions:
// need is the highest untagged GTID number and tags the highest number per
// tag; Cluster.resolve turns it into transactions of the log.
type target struct {
	need      int
	reachable bool
	tags      map[string]int
}

// reachedBy reports whether a server that applied the first n transactions
// has reached t (t resolved).
func (t target) reachedBy(n int) bool { return t.reachable && t.need <= n }

// resolve returns the target t of a MySQL GTID set (parseMySQLSet) in
// transactions of the log: the fewest that hold every GTID of t. While the
// log does not hold them all yet (an untagged number beyond the untagged
// transactions committed, a tag the log has not that many of, or never
// used), need is beyond the log: not reached, never applied by
// ApplyOnWait. Without tags anywhere, GTID numbers are transaction numbers
// and t is returned as it is. c.mu must be held.
func (c *Cluster) resolve(t target) target {
	if !t.reachable || c.tagged == 0 && len(t.tags) == 0 {
		return t
	}
	want := make(map[string]int, len(t.tags)+1)
	for tag, k := range t.tags {
		want[tag] = k
	}
	if t.need > 0 {
		want[""] = t.need
	}
	need := 0
	for i := 0; i < len(c.log) && len(want) > 0; i++ {
		x := &c.log[i]
		if k, ok := want[x.tag]; ok && x.seq >= k {
			need = i + 1
			delete(want, x.tag)
		}
	}
	if len(want) > 0 {
		return target{need: len(c.log) + 1, reachable: true}
	}
	return target{need: need, reachable: true}
}

// gtidSet is the executed GTID text of the first n transactions (see
// GTIDSet). c.mu must be held.
func (c *Cluster) gtidSet(n int) string {
	if c.flavor != MySQL || c.tagged == 0 && (c.tag == "" || n <= len(c.log)) {
		return gtidText(c.flavor, n)
	}
	if n <= 0 {
		return ""
	}
	counts := make(map[string]int)
	for _, x := range c.log[:min(n, len(c.log))] {
		counts[x.tag] = x.seq
	}
	for range n - len(c.log) {
		// Beyond the log: as if committed now.
		counts[c.tag]++
	}
	var b strings.Builder
	b.WriteString(mysqlUUID)
	interval := func(k int) {
		b.WriteString(":1")
		if k > 1 {
			b.WriteString("-" + strconv.Itoa(k))
		}
	}
	if k := counts[""]; k > 0 {
		interval(k)
	}
	delete(counts, "")
	for _, tag := range slices.Sorted(maps.Keys(counts)) {
		b.WriteString(":" + tag)
		interval(counts[tag])
	}
	return b.String()
}

// parseMySQLSet parses a MySQL GTID set such as "uuid:1-5:7-9,uuid2:3",
// optionally with tags, "uuid:1-5:tag:1-3" (a tag applies to the intervals
// that follow it, up to the next tag of the same uuid; tags are folded to
// lower case). GTIDs of another uuid are never reached in a fakedb cluster;
// tagged GTIDs of its uuid are, once committed (SetTag) and applied.
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
		tag := ""
		for _, f := range fields[1:] {
			f = strings.TrimSpace(f)
			if f == "" {
				return bad()
			}
			if c := f[0]; c < '0' || c > '9' {
				if !isTag(f) {
					return bad()
				}
				tag = strings.ToLower(f)
				continue
			}
			_, hi, ok := parseInterval(f)
			if !ok {
				return bad()
			}
			switch {
			case uuid != mysqlUUID:
				t.reachable = false
			case tag != "":
				if t.tags == nil {
					t.tags = make(map[string]int)
				}
				t.tags[tag] = max(t.tags[tag], hi)
			default:
				t.need = max(t.need, hi)
			}
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
