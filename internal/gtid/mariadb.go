package gtid

import (
	"math"
	"slices"
	"strings"
)

// MariaDBGTID is one MariaDB GTID: replication domain, originating server id
// and sequence number, printed "domain-server-seq".
type MariaDBGTID struct {
	Domain uint32
	Server uint32
	Seq    uint64
}

// String returns the GTID as MariaDB prints it, e.g. "0-1-100".
func (g MariaDBGTID) String() string { return string(g.appendText(nil)) }

func (g MariaDBGTID) appendText(b []byte) []byte {
	b = appendUint(b, uint64(g.Domain))
	b = append(b, '-')
	b = appendUint(b, uint64(g.Server))
	b = append(b, '-')
	return appendUint(b, g.Seq)
}

// MariaDBPos is a MariaDB GTID position: at most one GTID per replication
// domain, as in @@gtid_binlog_pos, @@gtid_slave_pos, @@gtid_current_pos,
// @@last_gtid or Gtid_IO_Pos. In MariaDB, a position reaches a GTID of a
// domain when its sequence number in that domain is at least as high.
//
// The zero value is the empty position. A MariaDBPos is immutable: its
// methods return new values and never modify their receiver or arguments.
type MariaDBPos struct {
	gtids []MariaDBGTID // sorted by Domain, domains unique
}

// ParseMariaDBPos parses a GTID position as MariaDB prints it:
// comma-separated "domain-server-seq" triples ("0-1-100,1-2-50"), with
// domain and server in uint32 range and seq in uint64 range. White space is
// allowed around the commas and at both ends; the empty string is the empty
// position. A domain may appear only once.
func ParseMariaDBPos(s string) (MariaDBPos, error) {
	return parseMariaDBPos(s, ',', true)
}

func mariaErr(msg string) error { return &SyntaxError{What: "MariaDB GTID position", Msg: msg} }

func parseMariaDBPos(s string, sep byte, lenient bool) (MariaDBPos, error) {
	if lenient {
		s = trimSpace(s)
	}
	if s == "" {
		return MariaDBPos{}, nil
	}
	n := strings.Count(s, string(sep)) + 1
	gtids := make([]MariaDBGTID, 0, n)
	for {
		elem, rest, more := s, "", false
		if k := strings.IndexByte(s, sep); k >= 0 {
			elem, rest, more = s[:k], s[k+1:], true
		}
		if lenient {
			elem = trimSpace(elem)
		}
		if elem == "" {
			return MariaDBPos{}, mariaErr("empty element in list")
		}
		g, ok := parseMariaDBGTID(elem)
		if !ok {
			return MariaDBPos{}, mariaErr("bad GTID " + quote(elem) + " (want domain-server-seq)")
		}
		gtids = append(gtids, g)
		if !more {
			break
		}
		s = rest
	}
	if !slices.IsSortedFunc(gtids, cmpDomain) {
		slices.SortStableFunc(gtids, cmpDomain)
	}
	for i := 1; i < len(gtids); i++ {
		if gtids[i].Domain == gtids[i-1].Domain {
			return MariaDBPos{}, mariaErr("domain " + string(appendUint(nil, uint64(gtids[i].Domain))) + " appears more than once")
		}
	}
	return MariaDBPos{gtids: gtids}, nil
}

func cmpDomain(a, b MariaDBGTID) int {
	switch {
	case a.Domain < b.Domain:
		return -1
	case a.Domain > b.Domain:
		return 1
	}
	return 0
}

func parseMariaDBGTID(s string) (MariaDBGTID, bool) {
	d, rest, ok1 := strings.Cut(s, "-")
	sv, q, ok2 := strings.Cut(rest, "-")
	if !ok1 || !ok2 {
		return MariaDBGTID{}, false
	}
	domain, ok1 := parseUint(d, math.MaxUint32)
	server, ok2 := parseUint(sv, math.MaxUint32)
	seq, ok3 := parseUint(q, math.MaxUint64)
	if !ok1 || !ok2 || !ok3 {
		return MariaDBGTID{}, false
	}
	return MariaDBGTID{Domain: uint32(domain), Server: uint32(server), Seq: seq}, true
}

// NewMariaDBPos builds a position from GTIDs in any order. It fails with an
// error matching ErrSyntax if a domain appears more than once.
func NewMariaDBPos(gtids ...MariaDBGTID) (MariaDBPos, error) {
	if len(gtids) == 0 {
		return MariaDBPos{}, nil
	}
	gs := slices.Clone(gtids)
	slices.SortStableFunc(gs, cmpDomain)
	for i := 1; i < len(gs); i++ {
		if gs[i].Domain == gs[i-1].Domain {
			return MariaDBPos{}, mariaErr("domain " + string(appendUint(nil, uint64(gs[i].Domain))) + " appears more than once")
		}
	}
	return MariaDBPos{gtids: gs}, nil
}

// GTIDs returns the position's GTIDs sorted by domain, in a new slice.
func (p MariaDBPos) GTIDs() []MariaDBGTID { return slices.Clone(p.gtids) }

// IsEmpty reports whether the position holds no GTID.
func (p MariaDBPos) IsEmpty() bool { return len(p.gtids) == 0 }

// Equal reports whether p and o hold the same GTIDs.
func (p MariaDBPos) Equal(o MariaDBPos) bool { return slices.Equal(p.gtids, o.gtids) }

// Contains reports whether p has reached o: for every domain in o, p has a
// GTID of that domain with a sequence number at least as high. Server ids
// are not compared. Every position contains the empty position.
func (p MariaDBPos) Contains(o MariaDBPos) bool {
	i := 0
	for _, g := range o.gtids {
		for i < len(p.gtids) && p.gtids[i].Domain < g.Domain {
			i++
		}
		if i == len(p.gtids) || p.gtids[i].Domain != g.Domain || p.gtids[i].Seq < g.Seq {
			return false
		}
	}
	return true
}

// Merge returns the position that has reached both p and o: for each domain
// the GTID with the higher sequence number (p's on a tie). When p already
// contains o (or o contains p) it returns that position without allocating.
func (p MariaDBPos) Merge(o MariaDBPos) MariaDBPos {
	if p.Contains(o) {
		return p
	}
	if o.Contains(p) {
		return o
	}
	out := make([]MariaDBGTID, 0, len(p.gtids)+len(o.gtids))
	i, j := 0, 0
	for i < len(p.gtids) || j < len(o.gtids) {
		switch {
		case j == len(o.gtids) || (i < len(p.gtids) && p.gtids[i].Domain < o.gtids[j].Domain):
			out = append(out, p.gtids[i])
			i++
		case i == len(p.gtids) || o.gtids[j].Domain < p.gtids[i].Domain:
			out = append(out, o.gtids[j])
			j++
		default:
			g := p.gtids[i]
			if o.gtids[j].Seq > g.Seq {
				g = o.gtids[j]
			}
			out = append(out, g)
			i++
			j++
		}
	}
	return MariaDBPos{gtids: out}
}

// Intersect returns the position that both p and o have reached: for each
// domain in both, the GTID with the lower sequence number (p's on a tie);
// domains missing from either are dropped. When o contains p it returns p
// without allocating.
func (p MariaDBPos) Intersect(o MariaDBPos) MariaDBPos {
	if o.Contains(p) {
		return p
	}
	var out []MariaDBGTID
	i, j := 0, 0
	for i < len(p.gtids) && j < len(o.gtids) {
		switch a, b := p.gtids[i], o.gtids[j]; {
		case a.Domain < b.Domain:
			i++
		case a.Domain > b.Domain:
			j++
		default:
			if b.Seq < a.Seq {
				a = b
			}
			out = append(out, a)
			i++
			j++
		}
	}
	return MariaDBPos{gtids: out}
}

// String returns the position as MariaDB prints it and MASTER_GTID_WAIT
// accepts: "domain-server-seq" triples sorted by domain, separated by commas
// without spaces. The empty position is "".
func (p MariaDBPos) String() string {
	if len(p.gtids) == 0 {
		return ""
	}
	return string(p.appendText(make([]byte, 0, len(p.gtids)*24), ','))
}

func (p MariaDBPos) appendText(b []byte, sep byte) []byte {
	for i, g := range p.gtids {
		if i > 0 {
			b = append(b, sep)
		}
		b = g.appendText(b)
	}
	return b
}

// SplitDomain splits p into its GTID of domain d (empty if it has none) and
// the rest.
func (p MariaDBPos) SplitDomain(d uint32) (in, rest MariaDBPos) {
	for i, g := range p.gtids {
		if g.Domain == d {
			return MariaDBPos{gtids: p.gtids[i : i+1 : i+1]},
				MariaDBPos{gtids: append(slices.Clip(p.gtids[:i]), p.gtids[i+1:]...)}
		}
	}
	return MariaDBPos{}, p
}
