package rwsplit_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rwsplit/rwsplit"
)

func TestWithConsistencyLastWins(t *testing.T) {
	ctx := rwsplit.WithConsistency(context.Background(), rwsplit.Primary)
	ctx = rwsplit.WithConsistency(ctx, rwsplit.WaitGTID(time.Second))
	c, ok := rwsplit.ConsistencyFrom(ctx)
	require.True(t, ok)
	assert.Equal(t, "WaitGTID(1s)", c.String())
	_, ok = rwsplit.ConsistencyFrom(context.Background())
	assert.False(t, ok)
	assert.Equal(t, "Sleep(0s).OrFail()", rwsplit.Sleep(-time.Second).OrFail().String())
}

func ExampleWithConsistency() {
	db, err := rwsplit.Open("mysql", "app:secret@tcp(primary:3306)/app",
		[]string{"app:secret@tcp(replica:3306)/app"})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer db.Close()

	// Read your own write: wait up to 100 ms for a replica to apply the
	// write's GTID, else read from the primary.
	sess := rwsplit.NewSession(rwsplit.Token{})
	ctx := rwsplit.WithSession(context.Background(), sess)
	ctx = rwsplit.WithConsistency(ctx, rwsplit.WaitGTID(100*time.Millisecond))
	_, _ = db.ExecContext(ctx, "UPDATE users SET name = ? WHERE id = ?", "ada", 1)
	var name string
	_ = db.QueryRowContext(ctx, "SELECT name FROM users WHERE id = ?", 1).Scan(&name)

	// Carry the token on (a cookie, a header, a queue message) ...
	s := sess.Token().String()
	// ... and resume it elsewhere.
	tok, err := rwsplit.ParseToken(s)
	if err != nil {
		fmt.Println("bad token:", err)
		return
	}
	ctx = rwsplit.WithSession(context.Background(), rwsplit.NewSession(tok))
	_ = db.QueryRowContext(rwsplit.WithConsistency(ctx, rwsplit.WaitGTID(100*time.Millisecond)),
		"SELECT name FROM users WHERE id = ?", 1).Scan(&name)
}
