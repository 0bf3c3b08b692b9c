package gtid

import (
	"strings"
	"testing"

	"github.com/rwsplit/rwsplit/internal/dialect"
)

// sqlSafe reports whether s is made only of ASCII letters, digits and
// ". _ : , -" with no "--": no quote, backslash, semicolon, white space or
// comment marker can hide in it.
func sqlSafe(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9') ||
			c == '.' || c == '_' || c == ':' || c == ',' || c == '-'
		if !ok {
			return false
		}
	}
	return !strings.Contains(s, "--")
}

func tokenSeeds() []string {
	return []string{
		"",
		"1~my~" + uA + ":1-5~binlog.000042:1234~1700000000000",
		"1~ma~0-1-100.1-2-50~mysql-bin.000003:785~1700000000123",
		"1~my~" + uA + ":1-4:aa:1:bb:2-3." + uB + ":1-3~~",
		"1~~~binlog.000001:4~5",
		"1~~~~1",
		"1~ma~~~9",
		"1~my~~~",
		"1~~~~",
		"2~my~" + uA + ":1~~",
		"2~my~" + uA + ":1-5~binlog.000042:1234:7~1700000000000",
		"2~~~b.1:4:0~",
		"3~my~" + uA + ":1~~",
		"1~my~" + strings.ToUpper(uA) + ":1-1~~",
		"1~my~" + uA + ":0~~",
		"1~ma~0-1-2.0-1-3~~",
		"1~~~bin--log.000001:4~",
		"1~~~~01",
		"1~my~" + uA + ":9223372036854775806~b.18446744073709551615:18446744073709551615~9223372036854775807",
	}
}

// FuzzDecode checks that Decode never panics, that whatever it accepts has
// exactly one spelling, and that decoded pieces are safe for SQL.
func FuzzDecode(f *testing.F) {
	for _, s := range tokenSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tok, err := Decode(s)
		if err != nil {
			if !tok.IsZero() {
				t.Fatalf("Decode(%q) returned a non-zero token with error %v", s, err)
			}
			if len(err.Error()) > 300 {
				t.Fatalf("error too long (%d bytes): %.300s", len(err.Error()), err)
			}
			return
		}
		if len(s) > MaxTokenLen {
			t.Fatalf("accepted a %d-byte token", len(s))
		}
		want := s
		if s != "" && s[0] == '1' { // version 1: re-encoded as version 2
			want = "2" + s[1:]
			if tok.Pos.ServerID != 0 {
				t.Fatalf("version 1 token %q decoded with a server id", s)
			}
		}
		if enc := Encode(tok); enc != want {
			t.Fatalf("Encode(Decode(%q)) = %q", s, enc)
		}
		again, err := Decode(s)
		if err != nil || Encode(again) != want {
			t.Fatalf("Decode not deterministic on %q: %v", s, err)
		}
		for _, piece := range []string{tok.MySQL.String(), tok.MariaDB.String(), tok.Pos.File, tok.Pos.String()} {
			if !sqlSafe(piece) {
				t.Fatalf("Decode(%q) yields unsafe piece %q", s, piece)
			}
		}
		if err := tok.Pos.Validate(); err != nil {
			t.Fatalf("Decode(%q) yields invalid position: %v", s, err)
		}
		if tok.Time < 0 {
			t.Fatalf("Decode(%q) yields negative time %d", s, tok.Time)
		}
		// A decoded token merges with itself to itself.
		m, err := Merge(tok, tok)
		if err != nil || Encode(m) != want {
			t.Fatalf("Merge(tok, tok) of %q = %q, %v", s, Encode(m), err)
		}
	})
}

// FuzzParseMySQLSet checks that ParseMySQLSet never panics and that every
// accepted set has a canonical text that is a fixed point.
func FuzzParseMySQLSet(f *testing.F) {
	for _, s := range []string{
		"",
		uA + ":1-5",
		"3E11FA47-71CA-11E1-9E33-C80AA9429562:1-5:11-18,\n3E11FA47-71CA-11E1-9E33-C80AA9429562:20",
		uA + ":1-3:tag1:5-6",
		uB + ":1-4:aaaa:1:abc:1-3:bbbbb:1:bbbbbb:1:x:1," + uC + ":1-2",
		"3E11FA47-71CA-11E1-9E33-C80AA9429562:Domain_1:1-3:15-21, 3E11FA47-71CA-11E1-9E33-C80AA9429562:Domain_2:8-52",
		uA + ":9223372036854775806",
		uA + ":0",
		uA + ":tag",
		uA + ":5-3,",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		set, err := ParseMySQLSet(s)
		if err != nil {
			if !set.IsEmpty() {
				t.Fatalf("ParseMySQLSet(%q) returned a set with error %v", s, err)
			}
			return
		}
		str := set.String()
		if !sqlSafe(str) {
			t.Fatalf("ParseMySQLSet(%q).String() = %q is not SQL-safe", s, str)
		}
		again, err := ParseMySQLSet(str)
		if err != nil {
			t.Fatalf("canonical text %q of %q does not parse: %v", str, s, err)
		}
		if again.String() != str || !again.Equal(set) {
			t.Fatalf("canonical text not a fixed point: %q -> %q -> %q", s, str, again.String())
		}
		if set.IsEmpty() != (str == "") {
			t.Fatalf("IsEmpty disagrees with String for %q", s)
		}
		if !set.Contains(set) {
			t.Fatalf("%q does not contain itself", str)
		}
		if u := set.Union(set); !u.Equal(set) || u.String() != str {
			t.Fatalf("union of %q with itself is %q", str, u.String())
		}
		if !set.Contains(MySQLSet{}) || (!set.IsEmpty() && (MySQLSet{}).Contains(set)) {
			t.Fatalf("empty-set containment wrong for %q", str)
		}
		// The set survives a token round trip.
		tok := Token{Flavor: dialect.MySQL, MySQL: set}
		enc := Encode(tok)
		if len(enc) <= MaxTokenLen {
			dec, err := Decode(enc)
			if err != nil || !dec.MySQL.Equal(set) {
				t.Fatalf("token round trip of %q: %q, %v", str, enc, err)
			}
		}
	})
}

// FuzzParseMariaDBPos checks that ParseMariaDBPos never panics and that
// accepted positions round-trip through their canonical text.
func FuzzParseMariaDBPos(f *testing.F) {
	for _, s := range []string{"", "0-1-100", "0-1-100,1-2-50", " 1-2-3 ,\n0-1-1", "0-1-1,0-1-2", "4294967296-1-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParseMariaDBPos(s)
		if err != nil {
			return
		}
		str := p.String()
		if !sqlSafe(str) {
			t.Fatalf("unsafe %q", str)
		}
		again, err := ParseMariaDBPos(str)
		if err != nil || again.String() != str || !again.Equal(p) {
			t.Fatalf("%q -> %q -> %q, %v", s, str, again.String(), err)
		}
		if !p.Contains(p) || !p.Merge(p).Equal(p) {
			t.Fatalf("reflexivity fails for %q", str)
		}
	})
}

// FuzzParseBinlogPos checks that ParseBinlogPos never panics, that accepted
// positions are safe and that comparisons are consistent.
func FuzzParseBinlogPos(f *testing.F) {
	for _, s := range []string{"", "binlog.000042:1234", "a.b.1:0", "bin--log.1:4", "x:1", "b.1:18446744073709551616"} {
		f.Add(s, "binlog.000043:4")
	}
	f.Fuzz(func(t *testing.T, s, s2 string) {
		p, err := ParseBinlogPos(s)
		if err != nil {
			return
		}
		if !sqlSafe(p.File) || p.Validate() != nil {
			t.Fatalf("unsafe or invalid file %q", p.File)
		}
		again, err := ParseBinlogPos(p.String())
		if err != nil || again != p {
			t.Fatalf("%q -> %q -> %v, %v", s, p.String(), again, err)
		}
		if c, ok := p.Compare(p); !ok || c != 0 {
			t.Fatalf("%q not equal to itself", s)
		}
		if q, err := ParseBinlogPos(s2); err == nil {
			c1, ok1 := p.Compare(q)
			c2, ok2 := q.Compare(p)
			if ok1 != ok2 || c1 != -c2 {
				t.Fatalf("Compare not antisymmetric for %q, %q", s, s2)
			}
		}
	})
}

// FuzzEncodeDecode builds tokens from parsed parts and checks that every
// token Encode prints (within MaxTokenLen) decodes to an equal token.
func FuzzEncodeDecode(f *testing.F) {
	f.Add(uint8(1), uA+":1-5:tag:7", "binlog.000042:1234", int64(1700000000000))
	f.Add(uint8(2), "0-1-100,1-2-50", "mysql-bin.000003:785", int64(1))
	f.Add(uint8(0), "", "b.1:0", int64(-1))
	f.Fuzz(func(t *testing.T, flavor uint8, gtids, pos string, ms int64) {
		tok := Token{Flavor: dialect.Flavor(flavor % 4), Time: ms}
		serverID := uint32(ms) // some known, some not
		var err error
		if tok.MySQL, err = ParseMySQLSet(gtids); err != nil {
			tok.MySQL = MySQLSet{}
		}
		if tok.MariaDB, err = ParseMariaDBPos(gtids); err != nil {
			tok.MariaDB = MariaDBPos{}
		}
		if tok.Pos, err = ParseBinlogPos(pos); err != nil {
			tok.Pos = BinlogPos{File: pos, Pos: 4} // Encode must drop what does not validate
		}
		if !tok.Pos.IsZero() {
			tok.Pos.ServerID = serverID
		}
		s := Encode(tok)
		if len(s) > MaxTokenLen {
			return
		}
		dec, err := Decode(s)
		if err != nil {
			t.Fatalf("Decode(Encode(%+v)) = %q: %v", tok, s, err)
		}
		if Encode(dec) != s {
			t.Fatalf("not a fixed point: %q -> %q", s, Encode(dec))
		}
		if s == "" {
			if !tok.IsZero() && tok.Pos.Validate() == nil {
				t.Fatalf("non-zero token %+v encoded as empty", tok)
			}
			return
		}
		switch tok.Flavor {
		case dialect.MySQL:
			if !dec.MySQL.Equal(tok.MySQL) {
				t.Fatalf("MySQL set lost: %q", s)
			}
		case dialect.MariaDB:
			if !dec.MariaDB.Equal(tok.MariaDB) {
				t.Fatalf("MariaDB position lost: %q", s)
			}
		}
		if tok.Pos.Validate() == nil && dec.Pos != tok.Pos {
			t.Fatalf("position lost: %q", s)
		}
		if tok.Time > 0 && dec.Time != tok.Time {
			t.Fatalf("time lost: %q", s)
		}
	})
}
