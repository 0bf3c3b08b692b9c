package gtid

import (
	"bytes"
	"math"
	"regexp"
	"slices"
	"strings"
)

// MaxGNO is the largest transaction number a MySQL GTID may carry. MySQL
// keeps GTID intervals half-open with INT64_MAX as the end sentinel, so the
// last usable number is one less.
const MaxGNO = math.MaxInt64 - 1

// maxTagLen is the longest GTID tag MySQL accepts.
const maxTagLen = 32

// uuidTextLen is the length of a UUID in its dashed text form.
const uuidTextLen = 36

// MySQLSet is a set of MySQL GTIDs, as printed in @@GLOBAL.gtid_executed,
// Executed_Gtid_Set or Retrieved_Gtid_Set, including MySQL 8.3+ tagged GTIDs.
//
// The zero value is the empty set. A MySQLSet is immutable: its methods
// return new sets and never modify their receiver or arguments, so a set may
// be shared between goroutines freely.
type MySQLSet struct {
	// sets is sorted by (uuid, tag), the untagged tsid of a UUID first;
	// keys are unique and every ivs is non-empty and canonical: sorted,
	// neither overlapping nor adjacent.
	sets []uuidSet
}

// tsid is a transaction source id: a server UUID and an optional tag
// (lower case; "" when untagged).
type tsid struct {
	uuid [16]byte
	tag  string
}

// uuidSet is the set of transaction numbers of one tsid.
type uuidSet struct {
	tsid
	ivs []interval
}

// interval is an inclusive range of transaction numbers, 1 <= lo <= hi <= MaxGNO.
type interval struct{ lo, hi int64 }

func compareTSID(a, b tsid) int {
	if c := bytes.Compare(a.uuid[:], b.uuid[:]); c != 0 {
		return c
	}
	return strings.Compare(a.tag, b.tag)
}

// ParseMySQLSet parses a GTID set in the text form MySQL prints:
//
//	3E11FA47-71CA-11E1-9E33-C80AA9429562:1-5:11-18,
//	3E11FA47-71CA-11E1-9E33-C80AA9429562:20,
//	8e2f0b4d-7f1c-11ef-a8a1-0242ac120002:1-3:billing:5-6
//
// UUIDs are in the 36-character dashed form, in either case. Each UUID is
// followed by one or more ":interval" parts ("a-b" or "a", 1 <= a <= b <=
// MaxGNO); a ":tag" part (MySQL 8.3+, [a-z_][a-z0-9_]{0,31}, case-insensitive)
// switches the following intervals to that tag. White space is allowed
// around the commas and at both ends. The empty string is the empty set.
// Repeated UUIDs and overlapping or unsorted intervals are merged.
func ParseMySQLSet(s string) (MySQLSet, error) {
	return parseMySQLSet(s, ',', true)
}

// ParseMySQLOwned parses MySQL's @@GLOBAL.gtid_owned: the GTIDs owned by
// transactions in progress, each uuid followed by its [:tag]:gno#thread_id
// runs, and the next uuid right after the last thread id with no separator
// (MySQL 9.7 prints "u1:tg:9#14u2:101#12:100#11"). The thread ids are
// dropped. A uuid's first group (8 hex digits, then '-') cannot begin
// inside the decimal thread id before it, so the leftmost match of a uuid
// followed by ':' is where each run starts.
func ParseMySQLOwned(s string) (MySQLSet, error) {
	s = strings.TrimSpace(s)
	if !strings.Contains(s, "#") {
		return ParseMySQLSet(s)
	}
	starts := ownedUUID.FindAllStringIndex(s, -1)
	if len(starts) == 0 || starts[0][0] != 0 {
		return MySQLSet{}, &SyntaxError{What: "gtid_owned", Msg: "no uuid at the start of " + quote(s)}
	}
	var b strings.Builder
	b.Grow(len(s))
	for i, st := range starts {
		end := len(s)
		if i+1 < len(starts) {
			end = starts[i+1][0]
		}
		if i > 0 {
			b.WriteByte(',')
		}
		seg := strings.TrimRight(s[st[0]:end], ", \n")
		for j := 0; j < len(seg); j++ {
			if seg[j] != '#' {
				b.WriteByte(seg[j])
				continue
			}
			for j+1 < len(seg) && seg[j+1] >= '0' && seg[j+1] <= '9' {
				j++
			}
		}
	}
	return ParseMySQLSet(b.String())
}

// ownedUUID finds where each uuid's run starts in @@GLOBAL.gtid_owned.
var ownedUUID = regexp.MustCompile(`[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}:`)

// group is one run of intervals of a tsid as it appears in the input:
// flat[lo:hi] in the parser's flat interval list.
type group struct {
	tsid
	lo, hi int
}

// parseMySQLSet parses a set whose elements are separated by sep. With
// lenient, white space is tolerated around separators and at the ends.
func parseMySQLSet(s string, sep byte, lenient bool) (MySQLSet, error) {
	if lenient {
		s = trimSpace(s)
	}
	if s == "" {
		return MySQLSet{}, nil
	}
	var (
		groupBuf [4]group
		flatBuf  [8]interval
		groups   = groupBuf[:0]
		flat     = flatBuf[:0]
	)
	for {
		elem, rest, more := s, "", false
		if k := strings.IndexByte(s, sep); k >= 0 {
			elem, rest, more = s[:k], s[k+1:], true
		}
		if lenient {
			elem = trimSpace(elem)
		}
		if elem == "" {
			return MySQLSet{}, mysqlErr("empty element in list")
		}
		var err error
		groups, flat, err = parseMySQLElem(elem, groups, flat)
		if err != nil {
			return MySQLSet{}, err
		}
		if !more {
			break
		}
		s = rest
	}
	return buildMySQLSet(groups, flat), nil
}

func mysqlErr(msg string) error { return &SyntaxError{What: "MySQL GTID set", Msg: msg} }

// parseMySQLElem parses "uuid(:tag|:interval)+" and appends its groups and
// intervals.
func parseMySQLElem(elem string, groups []group, flat []interval) ([]group, []interval, error) {
	if len(elem) < uuidTextLen {
		return nil, nil, mysqlErr("bad UUID " + quote(elem))
	}
	u, ok := parseUUID(elem[:uuidTextLen])
	if !ok {
		return nil, nil, mysqlErr("bad UUID " + quote(elem[:uuidTextLen]))
	}
	r := elem[uuidTextLen:]
	if r == "" {
		return nil, nil, mysqlErr("UUID " + quote(elem) + " has no intervals")
	}
	if r[0] != ':' {
		return nil, nil, mysqlErr("expected ':' after the UUID, before " + quote(r))
	}
	r = r[1:]
	cur := group{tsid: tsid{uuid: u}, lo: len(flat)}
	for more := true; more; {
		var part string
		part, r, more = strings.Cut(r, ":")
		switch {
		case part == "":
			return nil, nil, mysqlErr("empty part in " + quote(elem))
		case isDigit(part[0]):
			iv, ok := parseInterval(part)
			if !ok {
				return nil, nil, mysqlErr("bad interval " + quote(part) +
					" (want a or a-b with 1 <= a <= b <= 9223372036854775806)")
			}
			flat = append(flat, iv)
		default:
			tag, ok := parseTag(part)
			if !ok {
				return nil, nil, mysqlErr("bad tag " + quote(part) + " (want [a-z_][a-z0-9_]{0,31})")
			}
			if n := len(flat) - cur.lo; n > 0 {
				cur.hi = len(flat)
				groups = append(groups, cur)
			} else if cur.tag != "" {
				return nil, nil, mysqlErr("tag " + quote(cur.tag) + " has no intervals")
			}
			cur = group{tsid: tsid{uuid: u, tag: tag}, lo: len(flat)}
		}
	}
	if len(flat) == cur.lo {
		if cur.tag != "" {
			return nil, nil, mysqlErr("tag " + quote(cur.tag) + " has no intervals")
		}
		return nil, nil, mysqlErr("UUID " + quote(elem[:uuidTextLen]) + " has no intervals")
	}
	cur.hi = len(flat)
	groups = append(groups, cur)
	return groups, flat, nil
}

// parseUUID parses a dashed 8-4-4-4-12 hexadecimal UUID in either case.
func parseUUID(s string) ([16]byte, bool) {
	var u [16]byte
	if len(s) != uuidTextLen {
		return u, false
	}
	j := 0
	for i := 0; i < len(s); {
		switch i {
		case 8, 13, 18, 23:
			if s[i] != '-' {
				return u, false
			}
			i++
			continue
		}
		hi, ok1 := unhex(s[i])
		lo, ok2 := unhex(s[i+1])
		if !ok1 || !ok2 {
			return u, false
		}
		u[j] = hi<<4 | lo
		j++
		i += 2
	}
	return u, true
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// parseInterval parses "a" or "a-b" with 1 <= a <= b <= MaxGNO.
func parseInterval(s string) (interval, bool) {
	a, b, isRange := strings.Cut(s, "-")
	lo, ok := parseUint(a, MaxGNO)
	if !ok || lo == 0 {
		return interval{}, false
	}
	hi := lo
	if isRange {
		if hi, ok = parseUint(b, MaxGNO); !ok || hi < lo {
			return interval{}, false
		}
	}
	return interval{int64(lo), int64(hi)}, true
}

// parseTag validates a GTID tag and returns it in lower case.
func parseTag(s string) (string, bool) {
	if len(s) == 0 || len(s) > maxTagLen {
		return "", false
	}
	var buf [maxTagLen]byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		ok := c == '_' || ('a' <= c && c <= 'z') || (i > 0 && isDigit(c))
		if !ok {
			return "", false
		}
		buf[i] = c
	}
	return string(buf[:len(s)]), true
}

// buildMySQLSet turns the parsed groups into a canonical set: tsids sorted
// and unique, intervals sorted and merged. The result does not share memory
// with groups or flat.
func buildMySQLSet(groups []group, flat []interval) MySQLSet {
	if !slices.IsSortedFunc(groups, func(a, b group) int { return compareTSID(a.tsid, b.tsid) }) {
		slices.SortStableFunc(groups, func(a, b group) int { return compareTSID(a.tsid, b.tsid) })
	}
	nKeys := 0
	for i := range groups {
		if i == 0 || groups[i].tsid != groups[i-1].tsid {
			nKeys++
		}
	}
	out := make([]interval, 0, len(flat))
	sets := make([]uuidSet, 0, nKeys)
	for i := 0; i < len(groups); {
		j := i + 1
		for j < len(groups) && groups[j].tsid == groups[i].tsid {
			j++
		}
		start := len(out)
		for _, g := range groups[i:j] {
			out = append(out, flat[g.lo:g.hi]...)
		}
		n := normalizeIntervals(out[start:])
		out = out[:start+n]
		sets = append(sets, uuidSet{tsid: groups[i].tsid, ivs: out[start : start+n : start+n]})
		i = j
	}
	return MySQLSet{sets: sets}
}

// normalizeIntervals sorts ivs and merges overlapping or adjacent intervals
// in place, returning the number of intervals left at the front of ivs.
func normalizeIntervals(ivs []interval) int {
	if len(ivs) <= 1 {
		return len(ivs)
	}
	if !slices.IsSortedFunc(ivs, cmpInterval) {
		slices.SortFunc(ivs, cmpInterval)
	}
	n := 0
	for _, iv := range ivs[1:] {
		if iv.lo <= ivs[n].hi+1 { // hi <= MaxGNO, so hi+1 cannot overflow
			ivs[n].hi = max(ivs[n].hi, iv.hi)
			continue
		}
		n++
		ivs[n] = iv
	}
	return n + 1
}

func cmpInterval(a, b interval) int {
	switch {
	case a.lo < b.lo:
		return -1
	case a.lo > b.lo:
		return 1
	}
	return 0
}

// IsEmpty reports whether the set holds no GTID.
func (s MySQLSet) IsEmpty() bool { return len(s.sets) == 0 }

// Equal reports whether s and o hold the same GTIDs.
func (s MySQLSet) Equal(o MySQLSet) bool {
	return slices.EqualFunc(s.sets, o.sets, func(a, b uuidSet) bool {
		return a.tsid == b.tsid && slices.Equal(a.ivs, b.ivs)
	})
}

// Contains reports whether every GTID of o is also in s (o ⊆ s). Every set
// contains the empty set. It runs in time linear in the sizes of both sets
// and does not allocate.
func (s MySQLSet) Contains(o MySQLSet) bool {
	i := 0
	for _, os := range o.sets {
		for i < len(s.sets) && compareTSID(s.sets[i].tsid, os.tsid) < 0 {
			i++
		}
		if i == len(s.sets) || s.sets[i].tsid != os.tsid {
			return false
		}
		if !containsIntervals(s.sets[i].ivs, os.ivs) {
			return false
		}
	}
	return true
}

// containsIntervals reports whether the canonical interval list b is
// covered by the canonical list a.
func containsIntervals(a, b []interval) bool {
	i := 0
	for _, iv := range b {
		for i < len(a) && a[i].hi < iv.lo {
			i++
		}
		// a is canonical (no adjacent intervals), so iv must fit in a[i].
		if i == len(a) || a[i].lo > iv.lo || a[i].hi < iv.hi {
			return false
		}
	}
	return true
}

// Union returns the set of GTIDs in s or in o. When one set already
// contains the other, it returns that set without allocating.
func (s MySQLSet) Union(o MySQLSet) MySQLSet {
	if s.Contains(o) {
		return s
	}
	if o.Contains(s) {
		return o
	}
	sets := make([]uuidSet, 0, len(s.sets)+len(o.sets))
	i, j := 0, 0
	for i < len(s.sets) || j < len(o.sets) {
		var c int
		switch {
		case i == len(s.sets):
			c = 1
		case j == len(o.sets):
			c = -1
		default:
			c = compareTSID(s.sets[i].tsid, o.sets[j].tsid)
		}
		switch {
		case c < 0:
			sets = append(sets, s.sets[i])
			i++
		case c > 0:
			sets = append(sets, o.sets[j])
			j++
		default:
			sets = append(sets, uuidSet{tsid: s.sets[i].tsid, ivs: unionIntervals(s.sets[i].ivs, o.sets[j].ivs)})
			i++
			j++
		}
	}
	return MySQLSet{sets: sets}
}

// unionIntervals merges two canonical interval lists into a new one.
func unionIntervals(a, b []interval) []interval {
	if containsIntervals(a, b) {
		return a
	}
	if containsIntervals(b, a) {
		return b
	}
	out := make([]interval, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		var iv interval
		if j == len(b) || (i < len(a) && a[i].lo <= b[j].lo) {
			iv = a[i]
			i++
		} else {
			iv = b[j]
			j++
		}
		if n := len(out); n > 0 && iv.lo <= out[n-1].hi+1 {
			out[n-1].hi = max(out[n-1].hi, iv.hi)
			continue
		}
		out = append(out, iv)
	}
	return out[:len(out):len(out)]
}

// Intersect returns the set of GTIDs in both s and o. When s is contained
// in o it returns s without allocating.
func (s MySQLSet) Intersect(o MySQLSet) MySQLSet {
	if o.Contains(s) {
		return s
	}
	var sets []uuidSet
	i, j := 0, 0
	for i < len(s.sets) && j < len(o.sets) {
		switch c := compareTSID(s.sets[i].tsid, o.sets[j].tsid); {
		case c < 0:
			i++
		case c > 0:
			j++
		default:
			if ivs := intersectIntervals(s.sets[i].ivs, o.sets[j].ivs); len(ivs) > 0 {
				sets = append(sets, uuidSet{tsid: s.sets[i].tsid, ivs: ivs})
			}
			i++
			j++
		}
	}
	return MySQLSet{sets: sets}
}

// intersectIntervals returns the canonical list of numbers in both
// canonical lists a and b (nil when none).
func intersectIntervals(a, b []interval) []interval {
	var out []interval
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		lo, hi := max(a[i].lo, b[j].lo), min(a[i].hi, b[j].hi)
		if lo <= hi {
			out = append(out, interval{lo, hi})
		}
		if a[i].hi < b[j].hi {
			i++
		} else {
			j++
		}
	}
	return out[:len(out):len(out)]
}

// OfUUID returns the GTIDs of s whose source is the server uuid (in the
// 36-character dashed form, either case), with every tag: what a server of
// that @@server_uuid committed itself, as opposed to what it replicated.
// It fails with an error matching ErrSyntax for a malformed uuid.
func (s MySQLSet) OfUUID(uuid string) (MySQLSet, error) {
	u, ok := parseUUID(uuid)
	if !ok {
		return MySQLSet{}, mysqlErr("bad UUID " + quote(uuid))
	}
	lo := 0
	for lo < len(s.sets) && bytes.Compare(s.sets[lo].uuid[:], u[:]) < 0 {
		lo++
	}
	hi := lo
	for hi < len(s.sets) && s.sets[hi].uuid == u {
		hi++
	}
	if lo == hi {
		return MySQLSet{}, nil
	}
	return MySQLSet{sets: s.sets[lo:hi:hi]}, nil
}

// UUIDs returns how many distinct server uuids the set holds GTIDs of.
func (s MySQLSet) UUIDs() int {
	n := 0
	for i, us := range s.sets {
		if i == 0 || us.uuid != s.sets[i-1].uuid {
			n++
		}
	}
	return n
}

// String returns the set in the canonical form MySQL prints and
// WAIT_FOR_EXECUTED_GTID_SET accepts: lower-case UUIDs in ascending order,
// each UUID once, its untagged intervals first and then each tag in
// ascending order with its intervals, intervals merged and written "a-b" or
// "a", elements separated by commas without spaces. The empty set is "".
func (s MySQLSet) String() string {
	if len(s.sets) == 0 {
		return ""
	}
	return string(s.appendText(make([]byte, 0, s.textLen()), ','))
}

// textLen estimates the length of the text form, to size buffers.
func (s MySQLSet) textLen() int {
	n := 0
	for _, us := range s.sets {
		n += uuidTextLen + 2 + len(us.tag) + len(us.ivs)*12
	}
	return n
}

// appendText appends the canonical text form with sep between UUIDs.
func (s MySQLSet) appendText(b []byte, sep byte) []byte {
	for i, us := range s.sets {
		if i == 0 || us.uuid != s.sets[i-1].uuid {
			if i > 0 {
				b = append(b, sep)
			}
			b = appendUUID(b, us.uuid)
		}
		if us.tag != "" {
			b = append(b, ':')
			b = append(b, us.tag...)
		}
		for _, iv := range us.ivs {
			b = append(b, ':')
			b = appendUint(b, uint64(iv.lo))
			if iv.hi != iv.lo {
				b = append(b, '-')
				b = appendUint(b, uint64(iv.hi))
			}
		}
	}
	return b
}

const hexDigits = "0123456789abcdef"

func appendUUID(b []byte, u [16]byte) []byte {
	for i, c := range u {
		switch i {
		case 4, 6, 8, 10:
			b = append(b, '-')
		}
		b = append(b, hexDigits[c>>4], hexDigits[c&15])
	}
	return b
}

// appendUint appends n in decimal without allocating.
func appendUint(b []byte, n uint64) []byte {
	var buf [20]byte
	i := len(buf)
	for {
		i--
		buf[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			break
		}
	}
	return append(b, buf[i:]...)
}

// UUIDPart is the GTIDs of one server uuid in a set (every tag of it).
type UUIDPart struct {
	UUID [16]byte
	Set  MySQLSet
}

// ByUUID splits s into one part per server uuid, in ascending uuid order.
// The parts share s's memory.
func (s MySQLSet) ByUUID() []UUIDPart {
	var out []UUIDPart
	for lo := 0; lo < len(s.sets); {
		hi := lo + 1
		for hi < len(s.sets) && s.sets[hi].uuid == s.sets[lo].uuid {
			hi++
		}
		out = append(out, UUIDPart{UUID: s.sets[lo].uuid, Set: MySQLSet{sets: s.sets[lo:hi:hi]}})
		lo = hi
	}
	return out
}

// KeepUUIDs returns the GTIDs of s whose server uuid keep accepts, with
// every tag.
func (s MySQLSet) KeepUUIDs(keep func(uuid [16]byte) bool) MySQLSet {
	var out []uuidSet
	for i, us := range s.sets {
		if keep(us.uuid) {
			if out == nil {
				out = make([]uuidSet, 0, len(s.sets)-i)
			}
			out = append(out, us)
		}
	}
	if len(out) == len(s.sets) {
		return s
	}
	return MySQLSet{sets: out}
}

// ParseUUID reads a server uuid in the 36-character dashed form, either
// case.
func ParseUUID(s string) ([16]byte, bool) { return parseUUID(s) }

// Subtract returns the GTIDs of s that o lacks. When o holds none of s it
// returns s without allocating.
func (s MySQLSet) Subtract(o MySQLSet) MySQLSet {
	var sets []uuidSet
	changed := false
	j := 0
	for _, us := range s.sets {
		for j < len(o.sets) && compareTSID(o.sets[j].tsid, us.tsid) < 0 {
			j++
		}
		if j == len(o.sets) || compareTSID(o.sets[j].tsid, us.tsid) != 0 {
			sets = append(sets, us)
			continue
		}
		ivs := subtractIntervals(us.ivs, o.sets[j].ivs)
		if len(ivs) != len(us.ivs) || !slices.Equal(ivs, us.ivs) {
			changed = true
		}
		if len(ivs) > 0 {
			sets = append(sets, uuidSet{tsid: us.tsid, ivs: ivs})
		}
	}
	if !changed {
		return s
	}
	return MySQLSet{sets: sets}
}

// subtractIntervals returns the canonical list of numbers in a and not in
// b, both canonical.
func subtractIntervals(a, b []interval) []interval {
	var out []interval
	j := 0
	for _, iv := range a {
		lo := iv.lo
		for j < len(b) && b[j].hi < lo {
			j++
		}
		k := j
		for k < len(b) && b[k].lo <= iv.hi {
			if b[k].lo > lo {
				out = append(out, interval{lo, b[k].lo - 1})
			}
			if b[k].hi >= iv.hi {
				lo = iv.hi + 1
				break
			}
			lo = b[k].hi + 1
			k++
		}
		if lo <= iv.hi {
			out = append(out, interval{lo, iv.hi})
		}
	}
	return out[:len(out):len(out)]
}
