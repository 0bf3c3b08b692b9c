package rwsplit_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rwsplit/rwsplit"
	"github.com/rwsplit/rwsplit/rwsplittest"
)

// TestHostileTokenNeverReachesSQL: a session resumed from a parsed token waits
// with the token as a query parameter; a token that does not parse never gets
// that far. The table survives. A well-formed token for GTIDs the primary
// never executed is clamped: the read neither waits for them nor falls back.
func TestHostileTokenNeverReachesSQL(t *testing.T) {
	forEachFlavor(t, func(t *testing.T, c *rwsplittest.Cluster) {
		db := openRouter(t, c)
		prepareRW(t, c, db)
		for _, s := range hostileTokens {
			_, err := rwsplit.ParseToken(s)
			require.Error(t, err)
		}
		// A well-formed token for GTIDs no server has (a uuid the cluster
		// never had; a sequence far ahead in a domain): clamped to what the
		// primary has, so the read does not wait its timeout out, and a
		// replica serves it.
		s := "2~my~3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5~~"
		if c.Flavor == rwsplittest.MariaDB {
			s = "2~ma~0-99-1000000000~~"
		}
		tok, err := rwsplit.ParseToken(s)
		require.NoError(t, err)
		ctx := rwsplit.WithSession(context.Background(), rwsplit.NewSession(tok))
		ctx = rwsplit.WithConsistency(ctx, rwsplit.WaitGTID(5*time.Second).OrFail())
		before := db.Stats()
		clamps := rwsplit.TokenClamps(db)
		start := time.Now()
		var n int
		require.NoError(t, db.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+rwsplittest.PairsTable).Scan(&n))
		assert.Less(t, time.Since(start), 2*time.Second)
		assert.Zero(t, db.Stats().Fallbacks-before.Fallbacks)
		assert.EqualValues(t, 1, rwsplit.TokenClamps(db)-clamps)
	})
}
