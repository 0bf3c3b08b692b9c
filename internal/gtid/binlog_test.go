package gtid

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseBinlogPosValid(t *testing.T) {
	tests := []struct {
		in   string
		want BinlogPos
		str  string
	}{
		{"", BinlogPos{}, ""},
		{"binlog.000042:1234", BinlogPos{File: "binlog.000042", Pos: 1234}, "binlog.000042:1234"},
		{"mysql-bin.000003:4", BinlogPos{File: "mysql-bin.000003", Pos: 4}, "mysql-bin.000003:4"},
		{"host_1.example-bin.1000000:157", BinlogPos{File: "host_1.example-bin.1000000", Pos: 157}, "host_1.example-bin.1000000:157"},
		{"b.1:0", BinlogPos{File: "b.1", Pos: 0}, "b.1:0"},
		{"b.1:18446744073709551615", BinlogPos{File: "b.1", Pos: 18446744073709551615}, "b.1:18446744073709551615"},
		{"b.1:007", BinlogPos{File: "b.1", Pos: 7}, "b.1:7"},
		{"B-.9999999999999999999:1", BinlogPos{File: "B-.9999999999999999999", Pos: 1}, "B-.9999999999999999999:1"},
		{strings.Repeat("a", 248) + ".000001:4", BinlogPos{File: strings.Repeat("a", 248) + ".000001", Pos: 4}, strings.Repeat("a", 248) + ".000001:4"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			p, err := ParseBinlogPos(tt.in)
			require.NoError(t, err)
			assert.Equal(t, tt.want, p)
			assert.Equal(t, tt.str, p.String())
			assert.NoError(t, p.Validate())
		})
	}
}

func TestParseBinlogPosInvalid(t *testing.T) {
	tests := []struct {
		name, in, errPart string
	}{
		{"no colon", "binlog.000042", "missing ':'"},
		{"empty file", ":4", "empty file name"},
		{"empty pos", "binlog.000042:", "bad offset"},
		{"negative pos", "binlog.000042:-4", "bad offset"},
		{"pos overflow", "binlog.000042:18446744073709551616", "bad offset"},
		{"hex pos", "binlog.000042:0x10", "bad offset"},
		{"two colons", "binlog.000042:4:5", "outside"},
		{"no extension", "binlog:4", "numeric extension"},
		{"non-numeric extension", "binlog.index:4", "numeric extension"},
		{"empty extension", "binlog.:4", "numeric extension"},
		{"empty base", ".000001:4", "numeric extension"},
		{"long extension", "b.12345678901234567890:4", "numeric extension"},
		{"too long", strings.Repeat("a", 249) + ".000001:4", "longer than 255"},
		{"slash", "../binlog.000001:4", "outside"},
		{"space", "bin log.000001:4", "outside"},
		{"quote", "bin'log.000001:4", "outside"},
		{"semicolon", "binlog;.000001:4", "outside"},
		{"comment", "bin--log.000001:4", `"--"`},
		{"hash", "bin#log.000001:4", "outside"},
		{"backslash", `bin\log.000001:4`, "outside"},
		{"non-ascii", "binlög.000001:4", "outside"},
		{"NUL", "bin\x00log.000001:4", "outside"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ParseBinlogPos(tt.in)
			require.Error(t, err)
			assert.True(t, p.IsZero())
			assert.ErrorIs(t, err, ErrSyntax)
			assert.Contains(t, err.Error(), "binlog position")
			assert.Contains(t, err.Error(), tt.errPart)
		})
	}
}

func TestBinlogPosValidate(t *testing.T) {
	assert.NoError(t, BinlogPos{}.Validate())
	assert.NoError(t, BinlogPos{File: "binlog.000001", Pos: 4}.Validate())
	assert.Error(t, BinlogPos{Pos: 4}.Validate())
	assert.Error(t, BinlogPos{File: "x'; DROP TABLE t; --.1"}.Validate())
}

func TestBinlogPosCompare(t *testing.T) {
	tests := []struct {
		a, b string
		want int
		ok   bool
	}{
		{"binlog.000042:100", "binlog.000042:100", 0, true},
		{"binlog.000042:100", "binlog.000042:200", -1, true},
		{"binlog.000042:200", "binlog.000042:100", 1, true},
		{"binlog.000041:999999", "binlog.000042:4", -1, true},
		{"binlog.000043:4", "binlog.000042:999999", 1, true},
		{"binlog.999999:4", "binlog.1000000:4", -1, true}, // numeric, not textual
		{"binlog.1000000:4", "binlog.999999:4", 1, true},
		{"binlog.000042:4", "mysql-bin.000042:4", 0, false},
		{"a.b.000001:4", "a.c.000001:4", 0, false},
		{"binlog.9:4", "binlog.009:4", 0, false}, // different files
		{"binlog.9:4", "binlog.010:4", -1, true},
		{"", "", 0, true},
		{"", "binlog.000001:4", 0, false},
		{"binlog.000001:4", "", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.a+" vs "+tt.b, func(t *testing.T) {
			a, err := ParseBinlogPos(tt.a)
			require.NoError(t, err)
			b, err := ParseBinlogPos(tt.b)
			require.NoError(t, err)
			c, ok := a.Compare(b)
			assert.Equal(t, tt.ok, ok)
			assert.Equal(t, tt.want, c)
			c2, ok2 := b.Compare(a)
			assert.Equal(t, ok, ok2, "symmetric")
			assert.Equal(t, -c, c2, "antisymmetric")
		})
	}
	// Invalid file names (built by hand) are never comparable.
	c, ok := BinlogPos{File: "binlog", Pos: 1}.Compare(BinlogPos{File: "binlog", Pos: 2})
	assert.False(t, ok)
	assert.Zero(t, c)
}
