package gtid

import (
	"errors"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	uA = "3e11fa47-71ca-11e1-9e33-c80aa9429562"
	uB = "896e7882-18fe-11ef-ab88-22222d34d411"
	uC = "896e7882-18fe-11ef-ab88-22222d34d412"
)

func mustMySQL(t testing.TB, s string) MySQLSet {
	t.Helper()
	set, err := ParseMySQLSet(s)
	require.NoError(t, err, "ParseMySQLSet(%q)", s)
	return set
}

func TestParseMySQLSetValid(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", ""},
		{"blank", " \n\t ", ""},
		{"single number", uA + ":7", uA + ":7"},
		{"range", uA + ":1-5", uA + ":1-5"},
		{"one-element range", uA + ":5-5", uA + ":5"},
		{"upper case uuid", strings.ToUpper(uA) + ":1-5", uA + ":1-5"},
		{"manual sample, duplicate uuid entries merge",
			"3E11FA47-71CA-11E1-9E33-C80AA9429562:1-5:11-18,\n3E11FA47-71CA-11E1-9E33-C80AA9429562:20",
			uA + ":1-5:11-18:20"},
		{"adjacent intervals merge", uA + ":1-5:6-10", uA + ":1-10"},
		{"overlapping unsorted intervals merge", uA + ":11-18:1-5:3-12", uA + ":1-18"},
		{"contained interval", uA + ":1-100:5-6", uA + ":1-100"},
		{"uuids sorted", uB + ":1," + uA + ":2", uA + ":2," + uB + ":1"},
		{"whitespace around commas and ends", "\n " + uA + ":1-3 ,\n\t" + uB + ":5 \r\n", uA + ":1-3," + uB + ":5"},
		{"leading zeros", uA + ":01-005", uA + ":1-5"},
		{"largest number", uA + ":1-9223372036854775806", uA + ":1-9223372036854775806"},
		{"largest single", uA + ":9223372036854775806", uA + ":9223372036854775806"},
		{"tag", uA + ":tag1:1-5", uA + ":tag1:1-5"},
		{"mixed tags", uA + ":1-3:tag1:5-6", uA + ":1-3:tag1:5-6"},
		{"tag case-insensitive", uA + ":TaG_1:5-6," + uA + ":tag_1:7", uA + ":tag_1:5-7"},
		{"tag sort, untagged first", uA + ":zz:1," + uA + ":aa:2:3," + uA + ":9", uA + ":9:aa:2-3:zz:1"},
		{"underscore tag", uA + ":_:1", uA + ":_:1"},
		{"32-char tag", uA + ":" + strings.Repeat("a", 32) + ":1", uA + ":" + strings.Repeat("a", 32) + ":1"},
		{"bug 116789 sample (MySQL 9.1 output)",
			"3E11FA47-71CA-11E1-9E33-C80AA9429562:Domain_1:1-3:15-21, \n3E11FA47-71CA-11E1-9E33-C80AA9429562:Domain_2:8-52",
			uA + ":domain_1:1-3:15-21:domain_2:8-52"},
		{"go-mysql tagged sample",
			uB + ":1-4:aaaa:1:abc:1-3:bbbbb:1:bbbbbb:1:x:1," + uC + ":1-2",
			uB + ":1-4:aaaa:1:abc:1-3:bbbbb:1:bbbbbb:1:x:1," + uC + ":1-2"},
		{"same tsid repeated in one element", uA + ":t:1:t:3", uA + ":t:1:3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set, err := ParseMySQLSet(tt.in)
			require.NoError(t, err)
			assert.Equal(t, tt.want, set.String())
			assert.Equal(t, tt.want == "", set.IsEmpty())
			again, err := ParseMySQLSet(set.String())
			require.NoError(t, err)
			assert.True(t, again.Equal(set))
		})
	}
}

func TestParseMySQLSetInvalid(t *testing.T) {
	tests := []struct {
		name, in, errPart string
	}{
		{"garbage", "garbage", "bad UUID"},
		{"uuid only", uA, "no intervals"},
		{"trailing colon", uA + ":", "empty part"},
		{"trailing colon after interval", uA + ":1:", "empty part"},
		{"double colon", uA + "::1", "empty part"},
		{"start 0", uA + ":0", "bad interval"},
		{"range from 0", uA + ":0-5", "bad interval"},
		{"start > end", uA + ":5-3", "bad interval"},
		{"open range", uA + ":1-", "bad interval"},
		{"negative", uA + ":-5", "bad tag"},
		{"double dash", uA + ":1--5", "bad interval"},
		{"int64 max", uA + ":9223372036854775807", "bad interval"},
		{"overflow", uA + ":99999999999999999999", "bad interval"},
		{"overflow end", uA + ":1-18446744073709551617", "bad interval"},
		{"trailing comma", uA + ":1,", "empty element"},
		{"leading comma", "," + uA + ":1", "empty element"},
		{"empty element", uA + ":1,," + uB + ":1", "empty element"},
		{"tag without intervals", uA + ":tag", "has no intervals"},
		{"tag without intervals before tag", uA + ":t1:t2:1", "has no intervals"},
		{"tag without intervals at end", uA + ":1:tag", "has no intervals"},
		{"digit-led tag", uA + ":9tag:1", "bad interval"},
		{"dash in tag", uA + ":ta-g:1", "bad tag"},
		{"33-char tag", uA + ":" + strings.Repeat("a", 33) + ":1", "bad tag"},
		{"non-ascii tag", uA + ":tág:1", "bad tag"},
		{"junk after number", uA + ":1a", "bad interval"},
		{"junk after range", uA + ":1-5x", "bad interval"},
		{"space inside element", uA + " :1", "expected ':'"},
		{"space in interval", uA + ":1 -5", "bad interval"},
		{"semicolon", uA + ":1;DROP", "bad interval"},
		{"quote", uA + ":1'", "bad interval"},
		{"NUL", uA + ":1\x00", "bad interval"},
		{"short uuid", uA[:35] + ":1", "bad UUID"},
		{"uuid without dashes", strings.ReplaceAll(uA, "-", "") + "abcd:1", "bad UUID"},
		{"non-hex uuid", "3g11fa47-71ca-11e1-9e33-c80aa9429562:1", "bad UUID"},
		{"dash misplaced", "3e11fa4-771ca-11e1-9e33-c80aa9429562:1", "bad UUID"},
		{"braced uuid", "{" + uA + "}:1", "bad UUID"},
		{"long uuid", uA + "0:1", "expected ':'"},
		{"plus prefix", "+" + uA + ":1", "bad UUID"},
		{"separator in token form", uA + ":1." + uB + ":1", "bad interval"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set, err := ParseMySQLSet(tt.in)
			require.Error(t, err)
			assert.True(t, set.IsEmpty())
			assert.ErrorIs(t, err, ErrSyntax)
			var se *SyntaxError
			require.True(t, errors.As(err, &se))
			assert.Equal(t, "MySQL GTID set", se.What)
			assert.Contains(t, err.Error(), tt.errPart)
		})
	}
}

func TestParseMySQLSetErrorTruncatesInput(t *testing.T) {
	_, err := ParseMySQLSet(strings.Repeat("x", 100000))
	require.Error(t, err)
	assert.Less(t, len(err.Error()), 200)
}

func TestMySQLSetUnionContains(t *testing.T) {
	a := mustMySQL(t, uA+":1-5:10,"+uB+":1-3")
	b := mustMySQL(t, uA+":6-9:20,"+uC+":t:4")
	u := a.Union(b)
	assert.Equal(t, uA+":1-10:20,"+uB+":1-3,"+uC+":t:4", u.String())
	assert.True(t, u.Contains(a))
	assert.True(t, u.Contains(b))
	assert.False(t, a.Contains(b))
	assert.False(t, b.Contains(a))
	assert.True(t, a.Contains(MySQLSet{}))
	assert.True(t, MySQLSet{}.Contains(MySQLSet{}))
	assert.False(t, MySQLSet{}.Contains(a))
	assert.True(t, a.Union(MySQLSet{}).Equal(a))
	assert.True(t, MySQLSet{}.Union(a).Equal(a))

	// Inputs are not modified.
	assert.Equal(t, uA+":1-5:10,"+uB+":1-3", a.String())
	assert.Equal(t, uA+":6-9:20,"+uC+":t:4", b.String())

	// Tags are separate transaction sources.
	tagged := mustMySQL(t, uA+":t:1-5")
	assert.False(t, mustMySQL(t, uA+":1-5").Contains(tagged))
	assert.False(t, tagged.Contains(mustMySQL(t, uA+":1")))
	assert.True(t, mustMySQL(t, uA+":1-5:t:1-9").Contains(tagged))

	// Interval containment edge cases.
	s := mustMySQL(t, uA+":1-5:7-9")
	assert.True(t, s.Contains(mustMySQL(t, uA+":1:5:7-9")))
	assert.False(t, s.Contains(mustMySQL(t, uA+":5-7")))
	assert.False(t, s.Contains(mustMySQL(t, uA+":6")))
	assert.False(t, s.Contains(mustMySQL(t, uA+":9-10")))
	assert.False(t, s.Contains(mustMySQL(t, uB+":1")))
}

// model is a brute-force GTID set over small numbers, to check the
// interval arithmetic against.
type model map[string]bool // "uuid:tag:n"

func modelOf(s MySQLSet) model {
	m := model{}
	for _, us := range s.sets {
		for _, iv := range us.ivs {
			for n := iv.lo; n <= iv.hi; n++ {
				m[string(appendUUID(nil, us.uuid))+":"+us.tag+":"+strconv.FormatInt(n, 10)] = true
			}
		}
	}
	return m
}

func (m model) contains(o model) bool {
	for k := range o {
		if !m[k] {
			return false
		}
	}
	return true
}

// randomSetText returns a random, non-canonical set text over few UUIDs,
// tags and small numbers, so that merges and overlaps are frequent.
func randomSetText(r *rand.Rand) string {
	uuids := []string{uA, uB, strings.ToUpper(uC)}
	tags := []string{"", "", "t", "Other"}
	var elems []string
	for range r.IntN(5) {
		e := uuids[r.IntN(len(uuids))]
		for range 1 + r.IntN(3) {
			if tag := tags[r.IntN(len(tags))]; tag != "" {
				e += ":" + tag
			}
			for range 1 + r.IntN(3) {
				lo := 1 + r.IntN(30)
				if r.IntN(2) == 0 {
					e += ":" + strconv.Itoa(lo)
				} else {
					e += ":" + strconv.Itoa(lo) + "-" + strconv.Itoa(lo+r.IntN(8))
				}
			}
		}
		elems = append(elems, e)
	}
	return strings.Join(elems, ",\n")
}

func TestMySQLSetProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 3000 {
		at, bt, ct := randomSetText(r), randomSetText(r), randomSetText(r)
		a, b, c := mustMySQL(t, at), mustMySQL(t, bt), mustMySQL(t, ct)
		ma, mb := modelOf(a), modelOf(b)

		require.Equal(t, ma.contains(mb), a.Contains(b), "case %d: %q ⊇ %q", i, at, bt)

		u := a.Union(b)
		mu := modelOf(u)
		want := model{}
		for k := range ma {
			want[k] = true
		}
		for k := range mb {
			want[k] = true
		}
		require.Equal(t, want, mu, "case %d: %q ∪ %q", i, at, bt)

		assert.True(t, u.Contains(a))
		assert.True(t, u.Contains(b))
		assert.True(t, a.Contains(a))
		assert.True(t, a.Union(a).Equal(a))
		assert.True(t, u.Equal(b.Union(a)), "commutative")
		assert.True(t, a.Union(b).Union(c).Equal(a.Union(b.Union(c))), "associative")
		assert.Equal(t, a.Contains(b), a.Union(b).Equal(a))

		// The canonical text is a fixed point.
		again := mustMySQL(t, u.String())
		assert.Equal(t, u.String(), again.String())
		assert.True(t, again.Equal(u))
	}
}

func TestMySQLSetUnionReturnsContainingSet(t *testing.T) {
	a := mustMySQL(t, uA+":1-100")
	b := mustMySQL(t, uA+":5-6")
	assert.Equal(t, 0, int(testing.AllocsPerRun(100, func() { _ = a.Union(b) })))
	assert.Equal(t, 0, int(testing.AllocsPerRun(100, func() { _ = b.Union(a) })))
	assert.Equal(t, 0, int(testing.AllocsPerRun(100, func() { _ = a.Contains(b) })))
}

func TestMySQLSetIntersect(t *testing.T) {
	tests := []struct{ a, b, want string }{
		{"", "", ""},
		{uA + ":1-10", "", ""},
		{uA + ":1-10", uA + ":5-20", uA + ":5-10"},
		{uA + ":1-10:20-30", uA + ":8-22", uA + ":8-10:20-22"},
		{uA + ":1-10", uA + ":11-20", ""},
		{uA + ":1-10," + uB + ":1-5", uB + ":3-9," + uC + ":1", uB + ":3-5"},
		{uA + ":1-9223372036854775806", uA + ":1-100", uA + ":1-100"},
		{uA + ":1-5:t:1-5", uA + ":t:3-9", uA + ":t:3-5"},
		{uA + ":1-5:t:1-5", uA + ":u:3-9", ""},
	}
	for _, tt := range tests {
		a, b := mustMySQL(t, tt.a), mustMySQL(t, tt.b)
		assert.Equal(t, tt.want, a.Intersect(b).String(), "%q ∩ %q", tt.a, tt.b)
		assert.Equal(t, tt.want, b.Intersect(a).String(), "%q ∩ %q", tt.b, tt.a)
	}
	small, big := mustMySQL(t, uA+":5-6"), mustMySQL(t, uA+":1-100")
	assert.Equal(t, 0, int(testing.AllocsPerRun(100, func() { _ = small.Intersect(big) })), "a contained set is returned as is")
}

func TestMySQLSetIntersectProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for i := range 3000 {
		at, bt := randomSetText(r), randomSetText(r)
		a, b := mustMySQL(t, at), mustMySQL(t, bt)
		ma, mb := modelOf(a), modelOf(b)
		want := model{}
		for k := range ma {
			if mb[k] {
				want[k] = true
			}
		}
		x := a.Intersect(b)
		require.Equal(t, want, modelOf(x), "case %d: %q ∩ %q", i, at, bt)
		assert.True(t, a.Contains(x))
		assert.True(t, b.Contains(x))
		assert.True(t, x.Equal(b.Intersect(a)), "commutative")
		assert.Equal(t, b.Contains(a), x.Equal(a))
		again := mustMySQL(t, x.String())
		assert.True(t, again.Equal(x), "canonical")
	}
}

func TestMySQLSetOfUUID(t *testing.T) {
	s := mustMySQL(t, uA+":1-5:billing:1-2,"+uB+":1-9,"+uC+":1:x:3")
	got, err := s.OfUUID(strings.ToUpper(uB))
	require.NoError(t, err)
	assert.Equal(t, uB+":1-9", got.String())
	got, err = s.OfUUID(uA)
	require.NoError(t, err)
	assert.Equal(t, uA+":1-5:billing:1-2", got.String(), "every tag of the uuid")
	got, err = s.OfUUID(uC)
	require.NoError(t, err)
	assert.Equal(t, uC+":1:x:3", got.String())
	got, err = s.OfUUID("00000000-0000-0000-0000-000000000000")
	require.NoError(t, err)
	assert.True(t, got.IsEmpty())
	_, err = s.OfUUID("not-a-uuid")
	assert.ErrorIs(t, err, ErrSyntax)
	assert.Equal(t, 3, s.UUIDs())
	assert.Equal(t, 0, MySQLSet{}.UUIDs())
}

func TestParseMySQLOwned(t *testing.T) {
	const u = "69dc225f-9239-4904-86b2-244e2578498c"
	const v = "3e11fa47-71ca-11e1-9e33-c80aa9429562"
	for in, want := range map[string]string{
		"":                             "",
		u + ":101#12:100#11":           u + ":100-101", // as MySQL 9.7 printed it
		u + ":7#3,\n" + v + ":tag:9#4": v + ":tag:9," + u + ":7",
		u + ":5":                       u + ":5",
		// as MySQL 9.7 printed four owned GTIDs of three uuids: no
		// separator, a thread id running into a uuid that starts with a
		// digit
		"0e11fa47-71ca-11e1-9e33-c80aa9429562:tg:9#14" + v + ":7#13" + u + ":101#12:100#11": "0e11fa47-71ca-11e1-9e33-c80aa9429562:tg:9," +
			v + ":7," + u + ":100-101",
	} {
		got, err := ParseMySQLOwned(in)
		if err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		want, err := ParseMySQLSet(want)
		if err != nil {
			t.Fatal(err)
		}
		if !got.Equal(want) {
			t.Errorf("%q: got %v, want %v", in, got, want)
		}
	}
	for _, bad := range []string{u + ":x#1", "x#1", "#1" + u + ":5#2"} {
		if _, err := ParseMySQLOwned(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}
