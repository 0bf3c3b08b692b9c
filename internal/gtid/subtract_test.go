package gtid

import "testing"

func TestMySQLSetSubtract(t *testing.T) {
	const a, b = "3e11fa47-71ca-11e1-9e33-c80aa9429562", "896e7882-18fe-11ef-ab88-22222d34d411"
	cases := []struct{ s, o, want string }{
		{a + ":1-5", a + ":1-2", a + ":3-5"},
		{a + ":1-5", "", a + ":1-5"},
		{a + ":1-5", a + ":1-5", ""},
		{a + ":1-10", a + ":3-4:7", a + ":1-2:5-6:8-10"},
		{a + ":1-5," + b + ":1-3", b + ":2", a + ":1-5," + b + ":1:3"},
		{a + ":1-5:8-9", a + ":4-8", a + ":1-3:9"},
		{a + ":1-5", b + ":1-5", a + ":1-5"},
		{a + ":1-5:tag:1-2", a + ":1-5", a + ":tag:1-2"},
		{"", a + ":1", ""},
	}
	for _, c := range cases {
		s, err := ParseMySQLSet(c.s)
		if err != nil {
			t.Fatal(err)
		}
		o, err := ParseMySQLSet(c.o)
		if err != nil {
			t.Fatal(err)
		}
		want, err := ParseMySQLSet(c.want)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.Subtract(o); !got.Equal(want) {
			t.Errorf("%s minus %s = %s, want %s", c.s, c.o, got, want)
		}
	}
}
