package gtid

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func mustMaria(t testing.TB, s string) MariaDBPos {
	t.Helper()
	p, err := ParseMariaDBPos(s)
	require.NoError(t, err, "ParseMariaDBPos(%q)", s)
	return p
}

func TestParseMariaDBPosValid(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", ""},
		{"blank", " \n", ""},
		{"one", "0-1-100", "0-1-100"},
		{"last_gtid", "0-1-1", "0-1-1"},
		{"two", "0-1-100,1-2-50", "0-1-100,1-2-50"},
		{"sorted by domain", "10-1-5,2-1-7,0-3-9", "0-3-9,2-1-7,10-1-5"},
		{"whitespace", " 0-1-100, \n1-2-50 ", "0-1-100,1-2-50"},
		{"max values", "4294967295-4294967295-18446744073709551615", "4294967295-4294967295-18446744073709551615"},
		{"zeros", "0-0-0", "0-0-0"},
		{"leading zeros", "00-01-0100", "0-1-100"},
		{"MDEV-4987 domains", "1-1-1,99999-1-2,10-1-3,100-1-4,2147483648-1-5,4294967295-1-6",
			"1-1-1,10-1-3,100-1-4,99999-1-2,2147483648-1-5,4294967295-1-6"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ParseMariaDBPos(tt.in)
			require.NoError(t, err)
			assert.Equal(t, tt.want, p.String())
			assert.Equal(t, tt.want == "", p.IsEmpty())
			again := mustMaria(t, p.String())
			assert.True(t, again.Equal(p))
		})
	}
}

func TestParseMariaDBPosInvalid(t *testing.T) {
	tests := []struct {
		name, in, errPart string
	}{
		{"garbage", "garbage", "bad GTID"},
		{"two parts", "0-1", "bad GTID"},
		{"four parts", "0-1-2-3", "bad GTID"},
		{"duplicate domain", "0-1-100,0-2-200", "domain 0 appears more than once"},
		{"duplicate domain unsorted", "5-1-1,0-1-1,5-2-3", "domain 5 appears more than once"},
		{"domain overflow", "4294967296-1-1", "bad GTID"},
		{"server overflow", "0-4294967296-1", "bad GTID"},
		{"seq overflow", "0-1-18446744073709551616", "bad GTID"},
		{"negative", "-1-1-1", "bad GTID"},
		{"empty seq", "0-1-", "bad GTID"},
		{"trailing comma", "0-1-1,", "empty element"},
		{"empty element", "0-1-1,,1-1-1", "empty element"},
		{"space inside", "0 -1-1", "bad GTID"},
		{"plus", "+0-1-1", "bad GTID"},
		{"hex", "0x1-1-1", "bad GTID"},
		{"quote", "0-1-1'", "bad GTID"},
		{"mysql set", uA + ":1-5", "bad GTID"},
		{"token separator", "0-1-1.1-1-1", "bad GTID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ParseMariaDBPos(tt.in)
			require.Error(t, err)
			assert.True(t, p.IsEmpty())
			assert.ErrorIs(t, err, ErrSyntax)
			assert.Contains(t, err.Error(), "MariaDB GTID position")
			assert.Contains(t, err.Error(), tt.errPart)
		})
	}
}

func TestMariaDBPosMergeContains(t *testing.T) {
	a := mustMaria(t, "0-1-100,1-2-50")
	b := mustMaria(t, "0-3-90,2-2-7")
	m := a.Merge(b)
	assert.Equal(t, "0-1-100,1-2-50,2-2-7", m.String())
	assert.True(t, m.Contains(a))
	assert.True(t, m.Contains(b))
	assert.False(t, a.Contains(b), "a lacks domain 2")
	assert.False(t, b.Contains(a))

	// The higher seq wins, with its server id.
	assert.Equal(t, "0-3-120", mustMaria(t, "0-1-100").Merge(mustMaria(t, "0-3-120")).String())
	// Ties keep the receiver's.
	assert.Equal(t, "0-1-100", mustMaria(t, "0-1-100").Merge(mustMaria(t, "0-3-100")).String())

	// Contains ignores server ids and compares seq per domain.
	assert.True(t, mustMaria(t, "0-1-100").Contains(mustMaria(t, "0-9-100")))
	assert.True(t, mustMaria(t, "0-1-100").Contains(mustMaria(t, "0-9-99")))
	assert.False(t, mustMaria(t, "0-1-100").Contains(mustMaria(t, "0-1-101")))
	assert.True(t, a.Contains(MariaDBPos{}))
	assert.False(t, MariaDBPos{}.Contains(a))
	assert.True(t, a.Merge(MariaDBPos{}).Equal(a))
	assert.True(t, MariaDBPos{}.Merge(a).Equal(a))

	// Inputs are not modified.
	assert.Equal(t, "0-1-100,1-2-50", a.String())
	assert.Equal(t, "0-3-90,2-2-7", b.String())

	// No allocation when one side already contains the other.
	small := mustMaria(t, "0-1-1")
	assert.Equal(t, 0, int(testing.AllocsPerRun(100, func() { _ = a.Merge(small) })))
	assert.Equal(t, 0, int(testing.AllocsPerRun(100, func() { _ = small.Merge(a) })))
}

func TestNewMariaDBPos(t *testing.T) {
	p, err := NewMariaDBPos(MariaDBGTID{Domain: 2, Server: 1, Seq: 5}, MariaDBGTID{Domain: 0, Server: 1, Seq: 100})
	require.NoError(t, err)
	assert.Equal(t, "0-1-100,2-1-5", p.String())
	gs := p.GTIDs()
	require.Len(t, gs, 2)
	gs[0].Seq = 1 // the copy is ours
	assert.Equal(t, "0-1-100,2-1-5", p.String())
	assert.Equal(t, "0-1-100", p.GTIDs()[0].String())

	_, err = NewMariaDBPos(MariaDBGTID{Domain: 2}, MariaDBGTID{Domain: 2, Seq: 1})
	assert.ErrorIs(t, err, ErrSyntax)

	p, err = NewMariaDBPos()
	require.NoError(t, err)
	assert.True(t, p.IsEmpty())
}

func TestMariaDBPosProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	gen := func() MariaDBPos {
		var parts []string
		for d := range 4 {
			if r.IntN(2) == 0 {
				parts = append(parts, strconv.Itoa(d)+"-"+strconv.Itoa(1+r.IntN(3))+"-"+strconv.Itoa(r.IntN(20)))
			}
		}
		r.Shuffle(len(parts), func(i, j int) { parts[i], parts[j] = parts[j], parts[i] })
		return mustMaria(t, strings.Join(parts, ","))
	}
	seqs := func(p MariaDBPos) map[uint32]uint64 {
		m := map[uint32]uint64{}
		for _, g := range p.GTIDs() {
			m[g.Domain] = g.Seq
		}
		return m
	}
	for range 2000 {
		a, b, c := gen(), gen(), gen()
		sa, sb := seqs(a), seqs(b)
		want := true
		for d, s := range sb {
			if sa2, ok := sa[d]; !ok || sa2 < s {
				want = false
			}
		}
		require.Equal(t, want, a.Contains(b), "%s ⊇ %s", a, b)
		m := a.Merge(b)
		assert.True(t, m.Contains(a))
		assert.True(t, m.Contains(b))
		assert.Equal(t, seqs(m), seqs(b.Merge(a)), "commutative up to server ids on ties")
		assert.True(t, a.Merge(b).Merge(c).Contains(a.Merge(b.Merge(c))))
		assert.True(t, a.Merge(a).Equal(a))
		assert.True(t, a.Contains(a))
	}
}

func TestMariaDBPosIntersect(t *testing.T) {
	tests := []struct{ a, b, want string }{
		{"", "", ""},
		{"0-1-100", "", ""},
		{"0-1-100", "0-2-50", "0-2-50"},
		{"0-1-50", "0-2-100", "0-1-50"},
		{"0-1-50", "0-2-50", "0-1-50"}, // a's on a tie
		{"0-1-50,1-1-9,3-3-3", "1-2-7,2-2-2,3-3-4", "1-2-7,3-3-3"},
		{"0-9-18446744073709551615", "0-1-5", "0-1-5"},
	}
	for _, tt := range tests {
		a, b := mustMaria(t, tt.a), mustMaria(t, tt.b)
		assert.Equal(t, tt.want, a.Intersect(b).String(), "%q ∩ %q", tt.a, tt.b)
	}
	r := rand.New(rand.NewPCG(7, 8))
	gen := func() MariaDBPos {
		var parts []string
		for d := range 4 {
			if r.IntN(2) == 0 {
				parts = append(parts, strconv.Itoa(d)+"-"+strconv.Itoa(1+r.IntN(3))+"-"+strconv.Itoa(r.IntN(20)))
			}
		}
		return mustMaria(t, strings.Join(parts, ","))
	}
	for range 2000 {
		a, b := gen(), gen()
		x := a.Intersect(b)
		assert.True(t, a.Contains(x), "%s ∩ %s = %s", a, b, x)
		assert.True(t, b.Contains(x), "%s ∩ %s = %s", a, b, x)
		assert.Equal(t, b.Contains(a), x.Equal(a))
		for _, g := range x.GTIDs() {
			var inA, inB bool
			for _, h := range a.GTIDs() {
				inA = inA || h.Domain == g.Domain
			}
			for _, h := range b.GTIDs() {
				inB = inB || h.Domain == g.Domain
			}
			assert.True(t, inA && inB, "only domains of both")
		}
	}
}
