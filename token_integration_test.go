package rwsplit_test

import (
	"bytes"
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rwsplit/rwsplit"
	"github.com/rwsplit/rwsplit/rwsplittest"
)

// TestTokenSafetyReal, on real replication of both flavors: a token is
// small and names its primary; claims beyond what the primary executed (a
// GTID sequence far ahead, a binlog position far ahead) are clamped, so the
// read neither waits its timeout out nor falls back, and still sees the
// write; another primary's position is never waited for; in signed mode an
// altered or made-up token is rejected.
func TestTokenSafetyReal(t *testing.T) {
	forEachFlavor(t, func(t *testing.T, c *rwsplittest.Cluster) {
		createKV(t, c)
		db := openRouter(t, c)
		ctx := context.Background()
		k := time.Now().UnixNano() % 1e12

		sess := rwsplit.NewSession(rwsplit.Token{})
		_, err := db.ExecContext(rwsplit.WithSession(ctx, sess), "INSERT INTO kv (k, v) VALUES (?, ?)", k, k)
		require.NoError(t, err)
		tok, err := sess.TokenContext(ctx)
		require.NoError(t, err)
		s := tok.String()
		t.Logf("%s token: %d bytes: %s", c.Flavor, len(s), s)
		// One uuid; on the shared cluster its GTIDs may carry the tags
		// other tests wrote under (TestTaggedGTIDs: :app:1-20:migration:1-3).
		assert.Less(t, len(s), 160)
		if c.Flavor == rwsplittest.MySQL {
			assert.Equal(t, 1, rwsplit.TokenUUIDs(tok), "only the primary's own uuid")
		}
		fields := strings.Split(s, "~")
		require.Len(t, fields, 5)
		require.NotEmpty(t, fields[2], "the write's GTIDs")
		require.NotEmpty(t, fields[3], "the primary's position")
		pid := rwsplit.PosServerID(tok)
		require.NotZero(t, pid, "the position names its primary")

		read := func(text string, mode rwsplit.Consistency) (found, onReplica bool, took time.Duration, fallbacks uint64, err error) {
			t.Helper()
			parsed, perr := rwsplit.ParseToken(text)
			require.NoError(t, perr, text)
			rctx := rwsplit.WithConsistency(rwsplit.WithSession(ctx, rwsplit.NewSession(parsed)), mode)
			before, reads := db.Stats(), replicaReads(db)
			start := time.Now()
			var v int64
			found, err = scanFound(db.QueryRowContext(rctx, "SELECT v FROM kv WHERE k = ?", k).Scan(&v))
			return found, replicaReads(db) > reads, time.Since(start), db.Stats().Fallbacks - before.Fallbacks, err
		}

		// A GTID claim far ahead of the primary's.
		var huge string
		if c.Flavor == rwsplittest.MySQL {
			huge = fields[2][:36] + ":1-9223372036854775806"
		} else {
			g := strings.Split(strings.Split(fields[2], ".")[0], "-")
			huge = g[0] + "-" + g[1] + "-1000000000000000000"
		}
		clamps := rwsplit.TokenClamps(db)
		found, onReplica, took, fallbacks, err := read("2~"+fields[1]+"~"+huge+"~~", rwsplit.WaitGTID(5*time.Second).OrFail())
		require.NoError(t, err)
		assert.True(t, found, "waited for what the primary has, which holds the write")
		assert.True(t, onReplica)
		assert.Zero(t, fallbacks)
		assert.Less(t, took, 2*time.Second)
		assert.EqualValues(t, 1, rwsplit.TokenClamps(db)-clamps)

		// A position far ahead in the primary's own log.
		file := fields[3][:strings.IndexByte(fields[3], ':')]
		ahead := "2~~~" + file + ":18446744073709551615:" + strconv.FormatUint(uint64(pid), 10) + "~"
		found, onReplica, took, fallbacks, err = read(ahead, rwsplit.WaitPosition(5*time.Second).OrFail())
		require.NoError(t, err)
		assert.True(t, found)
		assert.True(t, onReplica)
		assert.Zero(t, fallbacks)
		assert.Less(t, took, 2*time.Second)

		// Another primary's position: the primary reads.
		other := "2~~~" + file + ":4:" + strconv.FormatUint(uint64(pid)+1000, 10) + "~"
		found, onReplica, _, fallbacks, err = read(other, rwsplit.WaitPosition(5*time.Second))
		require.NoError(t, err)
		assert.True(t, found)
		assert.False(t, onReplica)
		assert.EqualValues(t, 1, fallbacks)

		// Signed mode.
		sdb, err := rwsplit.Open("mysql", c.Primary.DSN(), c.ReplicaDSNs(), rwsplit.WithTokenKey(bytes.Repeat([]byte{7}, 32)))
		require.NoError(t, err)
		defer sdb.Close()
		signed := sdb.FormatToken(tok)
		back, err := sdb.ParseToken(signed)
		require.NoError(t, err)
		assert.Equal(t, s, back.String())
		for _, forged := range []string{
			s, // unsigned
			strings.Replace(signed, fields[2], huge, 1),
			signed[:len(signed)-2] + "AA",
		} {
			_, err := sdb.ParseToken(forged)
			assert.ErrorIs(t, err, rwsplit.ErrBadToken, forged)
		}
	})
}
