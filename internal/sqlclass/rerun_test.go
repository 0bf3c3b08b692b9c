package sqlclass

import "testing"

// TestRerunnable: only one plain statement (not CALL, not a compound
// statement), read with certainty by the lexer, may run again after a
// server refused it as read-only: anything else may have run in part.
func TestRerunnable(t *testing.T) {
	c := New()
	for _, tc := range []struct {
		q    string
		want bool
	}{
		{"INSERT INTO kv (k, v) VALUES (?, ?)", true},
		{"UPDATE kv SET v = ? WHERE k = ?", true},
		{"DELETE FROM kv WHERE k = ?", true},
		{"REPLACE INTO kv (k, v) VALUES (?, ?)", true},
		{"insert into kv (k, v) values (1, 1)", true},
		{"INSERT INTO kv (k, v) VALUES (1, 1);", true},
		{"  INSERT INTO kv (k, v) VALUES (1, 1) ;  ", true},
		{"/* c */ UPDATE kv SET v = 1 WHERE k = 1", true},
		{"INSERT INTO kv (k, v) VALUES (1, 'a;b')", true},
		{"INSERT INTO kv (k, v) VALUES (1, 1); INSERT INTO kv (k, v) VALUES (2, 2)", false},
		{"UPDATE kv SET v = 1 WHERE k = 1;DELETE FROM kv WHERE k = 2;", false},
		{"CALL p()", false},
		{"call p()", false},
		{"CALL kv_put(?, ?)", false},
		{"  /* c */ call p()", false},
		{"-- c\nCALL p()", false},
		{"# c\ncall p()", false},
		{"BEGIN NOT ATOMIC INSERT INTO kv (k, v) VALUES (1, 1); INSERT INTO kv (k, v) VALUES (2, 2); END", false},
		{"begin not atomic update kv set v = 1 where k = 1; end", false},
		{"/*!50000 INSERT INTO kv (k, v) VALUES (1, 1) */", false},
		{"INSERT /*!50000 IGNORE */ INTO kv (k, v) VALUES (1, 1)", false},
		{"INSERT INTO kv (k, v) VALUES (1, 'unterminated)", false},
		{"UPDATE kv SET v = \"open WHERE k = 1", false},
	} {
		if got := c.Rerunnable(tc.q); got != tc.want {
			t.Errorf("Rerunnable(%q) = %v, want %v", tc.q, got, tc.want)
		}
	}
}

// TestRerunnableNeverAllocates: it runs on the error path of writes, but
// costs nothing there either.
func TestRerunnableNeverAllocates(t *testing.T) {
	c := New()
	q := "  /* c */ INSERT INTO kv (k, v) VALUES (?, ?); "
	if n := testing.AllocsPerRun(100, func() { c.Rerunnable(q) }); n != 0 {
		t.Errorf("Rerunnable allocates %v times", n)
	}
}
