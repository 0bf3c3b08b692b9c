package gtid

import (
	"fmt"
	"math"
	"strings"

	"github.com/rwsplit/rwsplit/internal/dialect"
)

// Token is a causality token: what a reader must wait for to see a write.
// It records the write's GTIDs (the field matching Flavor), the primary's
// binlog position after the write, and the time of the write. The zero
// Token constrains nothing.
type Token struct {
	Flavor  dialect.Flavor // dialect.Unknown: the token carries no GTIDs
	MySQL   MySQLSet       // GTIDs to wait for, when Flavor is dialect.MySQL
	MariaDB MariaDBPos     // GTID position to wait for, when Flavor is dialect.MariaDB
	Pos     BinlogPos      // the primary's binlog position after the write; zero if unknown
	Time    int64          // unix milliseconds of the write; 0 if unknown
}

// MaxTokenLen is the longest encoded token Decode accepts, in bytes.
const MaxTokenLen = 8192

// IsZero reports whether t constrains nothing: it carries no GTID, no
// binlog position and no time (whatever its Flavor). Encode returns "" for
// such tokens.
func (t Token) IsZero() bool {
	return t.gtidsEmpty() && t.Pos.IsZero() && t.Time <= 0
}

// gtidsEmpty reports whether the GTID field selected by Flavor is empty.
func (t Token) gtidsEmpty() bool {
	switch t.Flavor {
	case dialect.MySQL:
		return t.MySQL.IsEmpty()
	case dialect.MariaDB:
		return t.MariaDB.IsEmpty()
	}
	return true
}

// String returns Encode(t).
func (t Token) String() string { return Encode(t) }

// Merge returns a token that waits for everything a and b wait for: the
// union of their GTIDs, the later binlog position, and the later time.
// A token of flavor dialect.Unknown merges with either flavor; tokens of MySQL
// and MariaDB flavor do not merge (the error matches ErrFlavorMismatch).
// When the two binlog positions are not comparable (different files or
// different servers, as after a failover), b's is kept, being the newer; an
// unknown position never replaces a known one.
func Merge(a, b Token) (Token, error) {
	f := a.Flavor
	switch {
	case a.Flavor == b.Flavor, b.Flavor == dialect.Unknown:
	case a.Flavor == dialect.Unknown:
		f = b.Flavor
	default:
		return Token{}, fmt.Errorf("%w: %s and %s", ErrFlavorMismatch, a.Flavor, b.Flavor)
	}
	t := Token{
		Flavor:  f,
		MySQL:   a.MySQL.Union(b.MySQL),
		MariaDB: a.MariaDB.Merge(b.MariaDB),
		Pos:     b.Pos,
		Time:    max(a.Time, b.Time),
	}
	if b.Pos.IsZero() {
		t.Pos = a.Pos
	} else if c, ok := a.Pos.Compare(b.Pos); ok && c > 0 {
		t.Pos = a.Pos
	}
	return t, nil
}

// Wire format; see Encode.
const (
	tokenVersion   = "2" // what Encode prints
	tokenVersion1  = "1" // still decoded: no server id in the position
	tokenFieldSep  = '~'
	tokenListSep   = '.'
	tokenFieldsLen = 5
	flavorMySQL    = "my"
	flavorMariaDB  = "ma"
)

// Encode returns the compact text form of t, for a cookie value, an HTTP
// header, a URL or a queue message.
//
// Wire format, version 2. The zero token (see Token.IsZero) is the empty
// string. Any other token is five fields separated by '~':
//
//	2~FLAVOR~GTIDS~POS~TIME
//
//	2       the format version; a later format changes it.
//	FLAVOR  "" for dialect.Unknown, "my" for dialect.MySQL, "ma" for dialect.MariaDB.
//	GTIDS   the canonical text of the GTID set (MySQL) or position (MariaDB),
//	        as String prints it, with each ',' replaced by '.' (neither
//	        text uses '.'); "" when empty, and always "" for dialect.Unknown.
//	POS     the binlog position "file:pos" as BinlogPos.String prints it,
//	        followed by ":server_id" (decimal, no leading zeros) when its
//	        ServerID is known; "" when unknown.
//	TIME    unix milliseconds of the write in decimal, without sign or
//	        leading zeros; "" when unknown.
//
// For example:
//
//	2~my~3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5~binlog.000042:1234:1~1700000000000
//	2~ma~0-1-100.1-2-50~mysql-bin.000003:785~1700000000123
//	2~my~3e11fa47-71ca-11e1-9e33-c80aa9429562:1-4:billing:7.896e7882-18fe-11ef-ab88-22222d34d411:1-3~~
//
// Version 1 is the same without the server id; Decode still reads it.
//
// The alphabet is [A-Za-z0-9._~:-]: safe unescaped in a cookie value, an
// HTTP header and a URL. Every token has exactly one spelling: Decode
// rejects anything Encode would not print (version 1 tokens aside, which
// Encode prints as version 2).
//
// Only the GTID field selected by t.Flavor is encoded (none for dialect.Unknown
// or an unknown flavor); a binlog position that fails BinlogPos.Validate
// and a non-positive time are left out, as unknown, and a token left with
// nothing to encode is "". A token whose encoding exceeds MaxTokenLen (a
// set of hundreds of UUIDs or intervals) is still encoded, but Decode will
// refuse it; callers that may build such sets should check the length.
func Encode(t Token) string {
	var buf [256]byte
	b := appendToken(buf[:0], t, tokenVersion)
	return string(b)
}

// appendToken appends the encoding of t in format version (tokenVersion, or
// tokenVersion1, which has no server id), or nothing if every encoded field
// would be empty.
func appendToken(b []byte, t Token, version string) []byte {
	start := len(b)
	b = append(b, version...)
	b = append(b, tokenFieldSep)
	empty := true
	switch t.Flavor {
	case dialect.MySQL:
		b = append(b, flavorMySQL...)
		b = append(b, tokenFieldSep)
		if !t.MySQL.IsEmpty() {
			empty = false
			b = t.MySQL.appendText(b, tokenListSep)
		}
	case dialect.MariaDB:
		b = append(b, flavorMariaDB...)
		b = append(b, tokenFieldSep)
		if !t.MariaDB.IsEmpty() {
			empty = false
			b = t.MariaDB.appendText(b, tokenListSep)
		}
	default:
		b = append(b, tokenFieldSep)
	}
	b = append(b, tokenFieldSep)
	if !t.Pos.IsZero() && t.Pos.Validate() == nil {
		empty = false
		if version == tokenVersion1 {
			b = t.Pos.appendText(b)
		} else {
			b = t.Pos.appendTokenText(b)
		}
	}
	b = append(b, tokenFieldSep)
	if t.Time > 0 {
		empty = false
		b = appendUint(b, uint64(t.Time))
	}
	if empty {
		return b[:start]
	}
	return b
}

func tokenErr(msg string) error { return &SyntaxError{What: "token", Msg: msg} }

// fieldErr reports a bad token field, keeping the inner parser's message.
func fieldErr(field string, err error) error {
	if se, ok := err.(*SyntaxError); ok {
		return tokenErr(field + " field: " + se.What + ": " + se.Msg)
	}
	return tokenErr(field + " field: " + err.Error())
}

func tokenByteOK(c byte) bool {
	return ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || isDigit(c) ||
		c == '.' || c == '_' || c == '~' || c == ':' || c == '-'
}

// Decode parses a token printed by Encode, in format version 2 or 1. It
// never trusts its input, which comes back from cookies, headers and queue
// messages: it refuses input longer than MaxTokenLen before any other work,
// any byte outside [A-Za-z0-9._~:-], an unknown version, a missing or extra
// field, any field the parsers of this package reject, and any spelling
// other than the one Encode prints (so Encode(Decode(s)) == s whenever
// Decode accepts a version 2 token s; a version 1 token re-encodes with
// only its version changed). The empty string decodes to the zero Token.
// Errors match ErrSyntax, name the bad field, and quote at most a short
// prefix of it.
func Decode(s string) (Token, error) {
	if s == "" {
		return Token{}, nil
	}
	if len(s) > MaxTokenLen {
		return Token{}, tokenErr(fmt.Sprintf("%d bytes, longer than the %d-byte limit", len(s), MaxTokenLen))
	}
	for i := 0; i < len(s); i++ {
		if !tokenByteOK(s[i]) {
			return Token{}, tokenErr(fmt.Sprintf("byte 0x%02x at offset %d is outside [A-Za-z0-9._~:-]", s[i], i))
		}
	}
	var fields [tokenFieldsLen]string
	rest := s
	for i := range fields {
		k := strings.IndexByte(rest, tokenFieldSep)
		if i == tokenFieldsLen-1 {
			if k >= 0 {
				return Token{}, tokenErr(fmt.Sprintf("more than %d '~'-separated fields", tokenFieldsLen))
			}
			fields[i] = rest
			break
		}
		if k < 0 {
			if i == 0 {
				return Token{}, tokenErr("no version field (want 2~FLAVOR~GTIDS~POS~TIME), got " + quote(s))
			}
			return Token{}, tokenErr(fmt.Sprintf("%d fields, want %d (2~FLAVOR~GTIDS~POS~TIME)", i+1, tokenFieldsLen))
		}
		fields[i], rest = rest[:k], rest[k+1:]
	}
	version := fields[0]
	if version != tokenVersion && version != tokenVersion1 {
		return Token{}, tokenErr("unsupported version " + quote(version) + " (want 2 or 1)")
	}

	var t Token
	var buf [256]byte // scratch for canonical-form checks
	switch g := fields[2]; fields[1] {
	case "":
		if g != "" {
			return Token{}, tokenErr("GTID field " + quote(g) + " without a flavor")
		}
	case flavorMySQL:
		t.Flavor = dialect.MySQL
		set, err := parseMySQLSet(g, tokenListSep, false)
		if err != nil {
			return Token{}, fieldErr("GTID", err)
		}
		if string(set.appendText(buf[:0], tokenListSep)) != g {
			return Token{}, tokenErr("GTID field " + quote(g) + " is not in canonical form")
		}
		t.MySQL = set
	case flavorMariaDB:
		t.Flavor = dialect.MariaDB
		pos, err := parseMariaDBPos(g, tokenListSep, false)
		if err != nil {
			return Token{}, fieldErr("GTID", err)
		}
		if string(pos.appendText(buf[:0], tokenListSep)) != g {
			return Token{}, tokenErr("GTID field " + quote(g) + " is not in canonical form")
		}
		t.MariaDB = pos
	default:
		return Token{}, tokenErr("unknown flavor " + quote(fields[1]) + " (want \"\", \"my\" or \"ma\")")
	}

	if p := fields[3]; p != "" {
		pos, err := parseTokenPos(p, version)
		if err != nil {
			return Token{}, fieldErr("position", err)
		}
		if string(pos.appendTokenText(buf[:0])) != p {
			return Token{}, tokenErr("position field " + quote(p) + " is not in canonical form")
		}
		pos.File = strings.Clone(pos.File) // do not pin the whole input
		t.Pos = pos
	}

	if ts := fields[4]; ts != "" {
		n, ok := parseUint(ts, math.MaxInt64)
		if !ok || n == 0 || ts[0] == '0' {
			return Token{}, tokenErr("time field " + quote(ts) + " is not a positive decimal without leading zeros")
		}
		t.Time = int64(n)
	}

	// Every field has its canonical spelling; only a token that constrains
	// nothing, spelt out ("2~my~~~"), is not what Encode prints (FuzzDecode
	// checks that Encode(Decode(s)) == s).
	if t.IsZero() {
		return Token{}, tokenErr("spells out a token that constrains nothing; its encoding is the empty string")
	}
	return t, nil
}

// parseTokenPos parses a token's position field: "file:pos", and in format
// version 2 "file:pos:server_id" (a file name holds no ':'), the server id
// a positive uint32.
func parseTokenPos(s, version string) (BinlogPos, error) {
	var id uint64
	if version != tokenVersion1 && strings.Count(s, ":") == 2 {
		k := strings.LastIndexByte(s, ':')
		n, ok := parseUint(s[k+1:], math.MaxUint32)
		if !ok || n == 0 {
			return BinlogPos{}, binlogErr("bad server id " + quote(s[k+1:]) + " (want a positive uint32)")
		}
		s, id = s[:k], n
	}
	p, err := ParseBinlogPos(s)
	if err != nil {
		return BinlogPos{}, err
	}
	p.ServerID = uint32(id)
	return p, nil
}

// IntersectGTIDs returns t with its GTIDs cut down to those executed also
// holds (for MySQL the set intersection, for MariaDB per domain the lower
// of the two sequence numbers, domains executed lacks dropped): what a
// reader can wait for if executed is everything a primary has run. GTIDs of
// another flavor than executed's are dropped whole. Pos and Time are kept.
func IntersectGTIDs(t, executed Token) Token {
	switch {
	case t.Flavor == dialect.MySQL && executed.Flavor == dialect.MySQL:
		t.MySQL = t.MySQL.Intersect(executed.MySQL)
	case t.Flavor == dialect.MariaDB && executed.Flavor == dialect.MariaDB:
		t.MariaDB = t.MariaDB.Intersect(executed.MariaDB)
	default:
		t.MySQL, t.MariaDB = MySQLSet{}, MariaDBPos{}
	}
	return t
}

// Covers reports whether applied contains every GTID of t (of t's flavor;
// a t with no flavor is covered by anything).
func Covers(applied, t Token) bool {
	switch t.Flavor {
	case dialect.MySQL:
		return applied.Flavor == t.Flavor && applied.MySQL.Contains(t.MySQL)
	case dialect.MariaDB:
		return applied.Flavor == t.Flavor && applied.MariaDB.Contains(t.MariaDB)
	}
	return true
}

// WaitTarget is the one part of t a wait establishes: its GTIDs (byGTID)
// or its binlog position, or the other part when that one is empty.
func (t Token) WaitTarget(byGTID bool) Token {
	g := Token{Flavor: t.Flavor, MySQL: t.MySQL, MariaDB: t.MariaDB}
	p := Token{Flavor: t.Flavor, Pos: t.Pos}
	hasG := !t.MySQL.IsEmpty() || !t.MariaDB.IsEmpty()
	if byGTID && hasG || t.Pos.IsZero() {
		return g
	}
	return p
}

// HasTarget reports whether t names anything to wait for.
func (t Token) HasTarget() bool {
	return !t.MySQL.IsEmpty() || !t.MariaDB.IsEmpty() || !t.Pos.IsZero()
}

// ComparePrimaryPos compares the primary's position k with a token's
// position q, taking a q of unknown server as k's server's (see
// BinlogPos.Compare).
func ComparePrimaryPos(k, q BinlogPos) (int, bool) {
	if q.ServerID == 0 {
		q.ServerID = k.ServerID
	}
	return k.Compare(q)
}
