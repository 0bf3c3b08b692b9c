package gtid

import (
	"strconv"
	"strings"
	"testing"

	"github.com/rwsplit/rwsplit/internal/dialect"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func mustPos(t testing.TB, s string) BinlogPos {
	t.Helper()
	p, err := ParseBinlogPos(s)
	require.NoError(t, err)
	return p
}

func TestEncodeDecodeExamples(t *testing.T) {
	tests := []struct {
		name string
		tok  Token
		want string
	}{
		{"zero", Token{}, ""},
		{"flavor only constrains nothing", Token{Flavor: dialect.MySQL}, ""},
		{"mysql full", Token{
			Flavor: dialect.MySQL,
			MySQL:  mustMySQL(t, uA+":1-5"),
			Pos:    mustPos(t, "binlog.000042:1234"),
			Time:   1700000000000,
		}, "2~my~" + uA + ":1-5~binlog.000042:1234~1700000000000"},
		{"mariadb full", Token{
			Flavor:  dialect.MariaDB,
			MariaDB: mustMaria(t, "1-2-50,0-1-100"),
			Pos:     mustPos(t, "mysql-bin.000003:785"),
			Time:    1700000000123,
		}, "2~ma~0-1-100.1-2-50~mysql-bin.000003:785~1700000000123"},
		{"mysql tagged, two uuids, gtid only", Token{
			Flavor: dialect.MySQL,
			MySQL:  mustMySQL(t, uB+":1-3,"+uA+":1-4:aa:1:bb:2-3"),
		}, "2~my~" + uA + ":1-4:aa:1:bb:2-3." + uB + ":1-3~~"},
		{"doc example", Token{
			Flavor: dialect.MySQL,
			MySQL:  mustMySQL(t, uB+":1-3, "+strings.ToUpper(uA)+":BILLING:7,"+uA+":1-4"),
		}, "2~my~3e11fa47-71ca-11e1-9e33-c80aa9429562:1-4:billing:7.896e7882-18fe-11ef-ab88-22222d34d411:1-3~~"},
		{"no flavor, position and time", Token{
			Pos:  mustPos(t, "binlog.000001:4"),
			Time: 5,
		}, "2~~~binlog.000001:4~5"},
		{"time only", Token{Time: 1}, "2~~~~1"},
		{"position only", Token{Pos: mustPos(t, "b.1:0")}, "2~~~b.1:0~"},
		{"mariadb flavor, time only", Token{Flavor: dialect.MariaDB, Time: 9}, "2~ma~~~9"},
		{"position with its server id", Token{
			Flavor: dialect.MySQL,
			MySQL:  mustMySQL(t, uA+":1-5"),
			Pos:    BinlogPos{File: "binlog.000042", Pos: 1234, ServerID: 7},
			Time:   1700000000000,
		}, "2~my~" + uA + ":1-5~binlog.000042:1234:7~1700000000000"},
		{"largest server id", Token{Pos: BinlogPos{File: "b.1", Pos: 4, ServerID: 4294967295}}, "2~~~b.1:4:4294967295~"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Encode(tt.tok)
			assert.Equal(t, tt.want, s)
			assert.Equal(t, s, tt.tok.String())
			got, err := Decode(s)
			require.NoError(t, err)
			assert.Equal(t, s, Encode(got))
			if s != "" {
				assert.Equal(t, tt.tok.Flavor, got.Flavor)
			}
			assert.True(t, got.MySQL.Equal(tt.tok.MySQL))
			assert.True(t, got.MariaDB.Equal(tt.tok.MariaDB))
			assert.Equal(t, tt.tok.Pos, got.Pos)
			assert.Equal(t, tt.tok.Time, got.Time)
		})
	}
}

func TestEncodeLeavesOutWhatCannotBeEncoded(t *testing.T) {
	// Only the GTIDs of the token's flavor are encoded.
	tok := Token{Flavor: dialect.MariaDB, MySQL: mustMySQL(t, uA+":1"), MariaDB: mustMaria(t, "0-1-2")}
	assert.Equal(t, "2~ma~0-1-2~~", Encode(tok))
	assert.Equal(t, "", Encode(Token{MySQL: mustMySQL(t, uA+":1")}))
	assert.Equal(t, "", Encode(Token{Flavor: 9, MySQL: mustMySQL(t, uA+":1")}))
	// An invalid file name is dropped, as an unknown position.
	assert.Equal(t, "", Encode(Token{Pos: BinlogPos{File: "x~y.1", Pos: 4}}))
	assert.Equal(t, "2~~~~7", Encode(Token{Pos: BinlogPos{File: "a';--", Pos: 4}, Time: 7}))
	// A non-positive time is unknown.
	assert.Equal(t, "", Encode(Token{Time: -5}))
	assert.True(t, Token{Time: -5}.IsZero())
	assert.False(t, Token{Time: 1}.IsZero())
}

func TestDecodeRejects(t *testing.T) {
	mysqlOK := uA + ":1-5"
	tests := []struct {
		name, in, errPart string
	}{
		{"space", "1~my~" + uA + ":1 ~~", "byte 0x20 at offset 43"},
		{"comma", "1~my~" + uA + ":1," + uB + ":1~~", "byte 0x2c"},
		{"semicolon", "1~~~~1;", "byte 0x3b"},
		{"equals", "1~~~~=1", "byte 0x3d"},
		{"plus", "1~~~~+1", "byte 0x2b"},
		{"slash", "1~~~/b.1:4~", "byte 0x2f"},
		{"quote", `1~~~"b.1:4~`, "byte 0x22"},
		{"single quote", "1~~~'b.1:4~", "byte 0x27"},
		{"backslash", `1~~~\b.1:4~`, "byte 0x5c"},
		{"percent", "1~~~~%31", "byte 0x25"},
		{"NUL", "1~~~~1\x00", "byte 0x00"},
		{"non-ascii", "1~~~~1é", "byte 0xc3"},
		{"no separator", "1", "no version field"},
		{"garbage", "hello", "no version field"},
		{"too few fields", "1~my~" + mysqlOK, "3 fields, want 5"},
		{"four fields", "1~my~" + mysqlOK + "~", "4 fields, want 5"},
		{"too many fields", "1~my~" + mysqlOK + "~~~", "more than 5"},
		{"trailing garbage", "1~~~~1~x", "more than 5"},
		{"version 3", "3~my~" + mysqlOK + "~~", "unsupported version \"3\""},
		{"version v1", "v1~my~" + mysqlOK + "~~", "unsupported version \"v1\""},
		{"empty version", "~my~" + mysqlOK + "~~", "unsupported version"},
		{"unknown flavor", "1~pg~" + mysqlOK + "~~", "unknown flavor \"pg\""},
		{"upper-case flavor", "1~MY~" + mysqlOK + "~~", "unknown flavor"},
		{"gtids without flavor", "1~~" + mysqlOK + "~~", "without a flavor"},
		{"zero spelt out", "1~~~~", "constrains nothing"},
		{"mysql empty spelt out", "1~my~~~", "constrains nothing"},
		{"mariadb empty spelt out", "1~ma~~~", "constrains nothing"},
		// GTID field.
		{"bad uuid", "1~my~3e11fa47-71ca-11e1-9e33-c80aa942956:1~~", "GTID field: MySQL GTID set: bad UUID"},
		{"upper-case uuid", "1~my~" + strings.ToUpper(uA) + ":1~~", "not in canonical form"},
		{"interval 0", "1~my~" + uA + ":0~~", "bad interval \"0\""},
		{"interval reversed", "1~my~" + uA + ":5-1~~", "bad interval"},
		{"one-element range", "1~my~" + uA + ":1-1~~", "not in canonical form"},
		{"adjacent intervals", "1~my~" + uA + ":1-3:4-5~~", "not in canonical form"},
		{"unsorted intervals", "1~my~" + uA + ":7:1-3~~", "not in canonical form"},
		{"unsorted uuids", "1~my~" + uB + ":1." + uA + ":1~~", "not in canonical form"},
		{"repeated uuid", "1~my~" + uA + ":1." + uA + ":3~~", "not in canonical form"},
		{"leading zero gno", "1~my~" + uA + ":01~~", "not in canonical form"},
		{"upper-case tag", "1~my~" + uA + ":TAG:1~~", "not in canonical form"},
		{"tags unsorted", "1~my~" + uA + ":b:1:a:1~~", "not in canonical form"},
		{"empty list element", "1~my~" + uA + ":1..~~", "empty element"},
		{"trailing list separator", "1~my~" + uA + ":1.~~", "empty element"},
		{"gno overflow", "1~my~" + uA + ":9223372036854775807~~", "bad interval"},
		{"mariadb in mysql token", "1~my~0-1-2~~", "bad UUID"},
		{"mysql in mariadb token", "1~ma~" + mysqlOK + "~~", "MariaDB GTID position: bad GTID"},
		{"mariadb duplicate domain", "1~ma~0-1-2.0-1-3~~", "appears more than once"},
		{"mariadb unsorted", "1~ma~1-1-2.0-1-3~~", "not in canonical form"},
		{"mariadb leading zero", "1~ma~0-01-2~~", "not in canonical form"},
		{"mariadb seq overflow", "1~ma~0-1-18446744073709551616~~", "bad GTID"},
		// Position field.
		{"position without offset", "1~~~binlog.000001~", "position field: binlog position: missing ':'"},
		{"position bad file", "1~~~binlog:4~", "numeric extension"},
		{"position comment", "1~~~bin--log.000001:4~", `"--"`},
		{"position leading zero", "1~~~b.1:04~", "not in canonical form"},
		{"position extra colon", "1~~~b:1.1:4~", "outside"},
		{"server id in version 1", "1~~~b.1:4:7~", "outside"},
		{"server id 0", "2~~~b.1:4:0~", "bad server id \"0\""},
		{"server id leading zero", "2~~~b.1:4:07~", "not in canonical form"},
		{"server id overflow", "2~~~b.1:4:4294967296~", "bad server id"},
		{"server id negative", "2~~~b.1:4:-1~", "bad server id"},
		{"server id empty", "2~~~b.1:4:~", "bad server id"},
		{"position three colons", "2~~~b.1:4:5:6~", "outside"},
		{"version 2 zero spelt out", "2~my~~~", "constrains nothing"},
		// Time field.
		{"time zero", "1~~~~0", "time field \"0\""},
		{"time leading zero", "1~~~~01", "leading zeros"},
		{"time negative", "1~~~~-1", "time field"},
		{"time overflow", "1~~~~9223372036854775808", "time field"},
		{"time hex", "1~~~~a1", "time field"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := Decode(tt.in)
			require.Error(t, err)
			assert.True(t, tok.IsZero())
			assert.ErrorIs(t, err, ErrSyntax)
			assert.Contains(t, err.Error(), "gtid: invalid token: ")
			assert.Contains(t, err.Error(), tt.errPart)
		})
	}
}

func TestDecodeLengthLimit(t *testing.T) {
	// Grow a valid token until it passes the limit.
	var b strings.Builder
	b.WriteString(uA + ":1")
	last := ""
	for n := 3; ; n += 2 {
		b.WriteString(":" + strconv.Itoa(n))
		tok := Token{Flavor: dialect.MySQL, MySQL: mustMySQL(t, b.String())}
		s := Encode(tok)
		if len(s) > MaxTokenLen {
			_, err := Decode(s)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "longer than the 8192-byte limit")
			break
		}
		last = s
	}
	require.NotEmpty(t, last)
	_, err := Decode(last)
	assert.NoError(t, err, "a %d-byte token is within the limit", len(last))

	// The limit applies before anything else, and nothing is echoed.
	huge := strings.Repeat("'", 1<<20)
	_, err = Decode(huge)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "1048576 bytes")
	assert.Less(t, len(err.Error()), 120)
}

func TestDecodeErrorsDoNotEchoInput(t *testing.T) {
	long := strings.Repeat("a", 5000)
	for _, in := range []string{
		long,
		"1~my~" + long + "~~",
		"1~" + long + "~~~",
		"1~~~" + long + "~",
		"1~~~~" + long,
		long + "~~~~",
		"1~ma~" + long + "~~",
	} {
		_, err := Decode(in)
		require.Error(t, err)
		assert.Less(t, len(err.Error()), 200, err.Error())
	}
}

func TestMerge(t *testing.T) {
	my1 := Token{Flavor: dialect.MySQL, MySQL: mustMySQL(t, uA+":1-5"), Pos: mustPos(t, "binlog.000002:100"), Time: 10}
	my2 := Token{Flavor: dialect.MySQL, MySQL: mustMySQL(t, uA+":6-7,"+uB+":1"), Pos: mustPos(t, "binlog.000001:900"), Time: 20}
	m, err := Merge(my1, my2)
	require.NoError(t, err)
	assert.Equal(t, dialect.MySQL, m.Flavor)
	assert.Equal(t, uA+":1-7,"+uB+":1", m.MySQL.String())
	assert.Equal(t, mustPos(t, "binlog.000002:100"), m.Pos, "the later position wins")
	assert.Equal(t, int64(20), m.Time)

	m, err = Merge(my2, my1)
	require.NoError(t, err)
	assert.Equal(t, uA+":1-7,"+uB+":1", m.MySQL.String())
	assert.Equal(t, mustPos(t, "binlog.000002:100"), m.Pos)
	assert.Equal(t, int64(20), m.Time)

	// Incomparable positions (after a failover): b's, the newer, is kept.
	other := Token{Flavor: dialect.MySQL, Pos: mustPos(t, "mysql-bin.000001:4")}
	m, err = Merge(my1, other)
	require.NoError(t, err)
	assert.Equal(t, other.Pos, m.Pos)
	m, err = Merge(other, my1)
	require.NoError(t, err)
	assert.Equal(t, my1.Pos, m.Pos)

	// Positions of different servers are not comparable: b's is kept.
	p1 := Token{Flavor: dialect.MySQL, Pos: BinlogPos{File: "binlog.000009", Pos: 900, ServerID: 1}}
	p2 := Token{Flavor: dialect.MySQL, Pos: BinlogPos{File: "binlog.000001", Pos: 4, ServerID: 2}}
	m, err = Merge(p1, p2)
	require.NoError(t, err)
	assert.Equal(t, p2.Pos, m.Pos, "another primary's position is newer, not smaller")
	p3 := Token{Flavor: dialect.MySQL, Pos: BinlogPos{File: "binlog.000001", Pos: 4, ServerID: 1}}
	m, err = Merge(p1, p3)
	require.NoError(t, err)
	assert.Equal(t, p1.Pos, m.Pos, "the same server's later position wins")

	// An unknown position never replaces a known one.
	m, err = Merge(my1, Token{Flavor: dialect.MySQL, Time: 1})
	require.NoError(t, err)
	assert.Equal(t, my1.Pos, m.Pos)
	assert.Equal(t, int64(10), m.Time)

	// The zero token is the identity; flavor none adopts the other's.
	for _, pair := range [][2]Token{{Token{}, my1}, {my1, Token{}}} {
		m, err = Merge(pair[0], pair[1])
		require.NoError(t, err)
		assert.Equal(t, Encode(my1), Encode(m))
	}
	m, err = Merge(Token{}, Token{})
	require.NoError(t, err)
	assert.Equal(t, "", Encode(m))

	// MariaDB.
	ma1 := Token{Flavor: dialect.MariaDB, MariaDB: mustMaria(t, "0-1-100,1-2-5")}
	ma2 := Token{Flavor: dialect.MariaDB, MariaDB: mustMaria(t, "0-1-90,2-1-1"), Time: 3}
	m, err = Merge(ma1, ma2)
	require.NoError(t, err)
	assert.Equal(t, "2~ma~0-1-100.1-2-5.2-1-1~~3", Encode(m))

	// Different flavors do not merge.
	_, err = Merge(my1, ma1)
	assert.ErrorIs(t, err, ErrFlavorMismatch)
	assert.Contains(t, err.Error(), "mysql and mariadb")
	_, err = Merge(ma1, my1)
	assert.ErrorIs(t, err, ErrFlavorMismatch)

	// Inputs are untouched.
	assert.Equal(t, "2~my~"+uA+":1-5~binlog.000002:100~10", Encode(my1))
}

func TestDecodeVersion1(t *testing.T) {
	for _, s := range []string{
		"1~my~" + uA + ":1-5~binlog.000042:1234~1700000000000",
		"1~ma~0-1-100.1-2-50~mysql-bin.000003:785~1700000000123",
		"1~~~~1",
	} {
		tok, err := Decode(s)
		require.NoError(t, err, s)
		assert.Zero(t, tok.Pos.ServerID)
		assert.Equal(t, "2"+s[1:], Encode(tok), "re-encoded as version 2")
	}
}

func TestIntersectGTIDs(t *testing.T) {
	exec := Token{Flavor: dialect.MySQL, MySQL: mustMySQL(t, uA+":1-100,"+uB+":1-3")}
	tok := Token{Flavor: dialect.MySQL, MySQL: mustMySQL(t, uA+":1-9223372036854775806,"+uC+":1-5"), Pos: mustPos(t, "b.1:4"), Time: 9}
	got := IntersectGTIDs(tok, exec)
	assert.Equal(t, uA+":1-100", got.MySQL.String())
	assert.Equal(t, tok.Pos, got.Pos)
	assert.Equal(t, tok.Time, got.Time)

	mexec := Token{Flavor: dialect.MariaDB, MariaDB: mustMaria(t, "0-1-100,1-2-7")}
	mtok := Token{Flavor: dialect.MariaDB, MariaDB: mustMaria(t, "0-9-18446744073709551615,1-2-5,5-5-5")}
	assert.Equal(t, "0-1-100,1-2-5", IntersectGTIDs(mtok, mexec).MariaDB.String())

	// Another flavor's GTIDs are dropped.
	assert.True(t, IntersectGTIDs(tok, mexec).MySQL.IsEmpty())
	assert.True(t, IntersectGTIDs(mtok, exec).MariaDB.IsEmpty())
	assert.True(t, IntersectGTIDs(tok, Token{}).MySQL.IsEmpty())
}

// TestWaitTarget: a wait establishes one part of a token: its GTIDs when
// asked (or when it has no position), else its position; HasTarget says
// whether anything is left to wait for; Covers and ComparePrimaryPos judge
// what a server has against it.
func TestWaitTarget(t *testing.T) {
	set, err := ParseMySQLSet("3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5")
	require.NoError(t, err)
	pos := mustPos(t, "binlog.000002:120")
	both := Token{Flavor: dialect.MySQL, MySQL: set, Pos: pos, Time: 7}

	g := both.WaitTarget(true)
	assert.True(t, g.MySQL.Equal(set))
	assert.True(t, g.Pos.IsZero())
	assert.Zero(t, g.Time, "a target carries no time")
	p := both.WaitTarget(false)
	assert.True(t, p.MySQL.IsEmpty())
	assert.Equal(t, pos, p.Pos)
	onlyGTIDs := Token{Flavor: dialect.MySQL, MySQL: set}
	assert.True(t, onlyGTIDs.WaitTarget(false).MySQL.Equal(set), "no position: the GTIDs")
	onlyPos := Token{Flavor: dialect.MySQL, Pos: pos}
	assert.Equal(t, pos, onlyPos.WaitTarget(true).Pos, "no GTIDs: the position")

	assert.True(t, both.HasTarget())
	assert.True(t, onlyPos.HasTarget())
	assert.False(t, Token{Flavor: dialect.MySQL, Time: 7}.HasTarget())

	fewer, err := ParseMySQLSet("3e11fa47-71ca-11e1-9e33-c80aa9429562:1-3")
	require.NoError(t, err)
	assert.True(t, Covers(Token{Flavor: dialect.MySQL, MySQL: set}, Token{Flavor: dialect.MySQL, MySQL: fewer}))
	assert.False(t, Covers(Token{Flavor: dialect.MySQL, MySQL: fewer}, Token{Flavor: dialect.MySQL, MySQL: set}))
	assert.False(t, Covers(Token{Flavor: dialect.MariaDB}, Token{Flavor: dialect.MySQL, MySQL: fewer}), "another flavor")
	assert.True(t, Covers(Token{}, Token{}), "nothing to cover")

	k := BinlogPos{ServerID: 9, File: "binlog.000002", Pos: 200}
	c, ok := ComparePrimaryPos(k, BinlogPos{File: "binlog.000002", Pos: 120})
	assert.True(t, ok, "a position of unknown server is taken as the primary's")
	assert.Positive(t, c)
	_, ok = ComparePrimaryPos(k, BinlogPos{ServerID: 8, File: "binlog.000002", Pos: 120})
	assert.False(t, ok, "another server's position does not compare")
}
