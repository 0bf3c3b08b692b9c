package rwsplit

import (
	"testing"

	"github.com/rwsplit/rwsplit/internal/dialect"
	"github.com/rwsplit/rwsplit/internal/gtid"
)

// TestMissingElsewhere: what a token names that the primary lacks counts as
// lost only when another known server wrote it, exactly the GTIDs lacking.
func TestMissingElsewhere(t *testing.T) {
	const own, old, stranger = "3e11fa47-71ca-11e1-9e33-c80aa9429562", "896e7882-18fe-11ef-ab88-22222d34d411", "11111111-2222-3333-4444-555555555555"
	my := func(s string) gtid.Token {
		set, err := gtid.ParseMySQLSet(s)
		if err != nil {
			t.Fatal(err)
		}
		return gtid.Token{Flavor: dialect.MySQL, MySQL: set}
	}
	ma := func(s string) gtid.Token {
		pos, err := gtid.ParseMariaDBPos(s)
		if err != nil {
			t.Fatal(err)
		}
		return gtid.Token{Flavor: dialect.MariaDB, MariaDB: pos}
	}
	self := primaryIdent{serverID: 2, uuid: own}
	others := []primaryIdent{{serverID: 1, uuid: old}}
	cases := []struct {
		name          string
		tok, executed gtid.Token
		want          gtid.Token
	}{
		{"former primary's writes lacking", my(old + ":1-5"), my(old + ":1-2," + own + ":1-3"), my(old + ":3-5")},
		{"all there", my(old + ":1-5"), my(old + ":1-5"), my("")},
		{"own writes lacking: a claim", my(own + ":1-9"), my(own + ":1-3"), my("")},
		{"a server never seen: a claim", my(stranger + ":1-5"), my(own + ":1-3"), my("")},
		{"mixed", my(old + ":1-5," + stranger + ":1-5," + own + ":1-9"), my(old + ":1-4," + own + ":1-3"), my(old + ":5")},
		{"MariaDB: former primary beyond", ma("0-1-5"), ma("0-1-2"), ma("0-1-5")},
		{"MariaDB: covered by sequence", ma("0-1-5"), ma("0-2-7"), ma("")},
		{"MariaDB: own server", ma("0-2-9"), ma("0-2-7"), ma("")},
		{"MariaDB: unknown server", ma("0-7-9"), ma("0-2-7"), ma("")},
		{"MariaDB: other domain", ma("0-2-7,1-1-4"), ma("0-2-7"), ma("1-1-4")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := missingElsewhere(c.tok, c.executed, self, others)
			if !got.MySQL.Equal(c.want.MySQL) || !got.MariaDB.Equal(c.want.MariaDB) {
				t.Errorf("got %s%s, want %s%s", got.MySQL, got.MariaDB, c.want.MySQL, c.want.MariaDB)
			}
		})
	}
}
