package rwsplit_test

// Unit tests of token clamping (position.go) against internal/fakedb: a token
// never makes a read wait for more than the primary has executed, and a
// binlog position is waited for only on its own primary's direct replicas.

import (
	"context"
	"database/sql"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rwsplit/rwsplit"
	"github.com/rwsplit/rwsplit/internal/dialect"
	"github.com/rwsplit/rwsplit/internal/fakedb"
)

// otherUUID is a server uuid no fakedb cluster has.
const otherUUID = "896e7882-18fe-11ef-ab88-22222d34d411"

// TestOversizedClaimIsClamped: a well-formed token that claims GTIDs the
// primary never executed (the uuid:1-9223372036854775807 case, a
// sequence far ahead, a uuid or domain the cluster never had) does not hold
// a replica for the wait's timeout nor fall back to the primary: the read
// waits for what the primary has (one query of the primary, none for a
// claim already known to be covered) and is served by a replica at once.
func TestOversizedClaimIsClamped(t *testing.T) {
	const mysqlUUID = "3e11fa47-71ca-11e1-9e33-c80aa9429562"
	cases := []struct {
		flavor     dialect.Flavor
		name, tok  string
		wantWait   bool // something of the claim is the primary's: wait for it
		wantClamps uint64
	}{
		{fakedb.MySQL, "max gno", "2~my~" + mysqlUUID + ":1-9223372036854775806~~", true, 1},
		{fakedb.MySQL, "gap beyond", "2~my~" + mysqlUUID + ":2:1000-2000~~", true, 1},
		{fakedb.MySQL, "unknown uuid", "2~my~" + otherUUID + ":1-5~~", false, 1},
		{fakedb.MySQL, "within", "2~my~" + mysqlUUID + ":1-3~~", true, 0},
		{fakedb.MariaDB, "max seq", "2~ma~0-1-18446744073709551615~~", true, 1},
		{fakedb.MariaDB, "unknown domain", "2~ma~0-1-2.7-1-5~~", true, 1},
		{fakedb.MariaDB, "only unknown domain", "2~ma~7-1-5~~", false, 1},
		{fakedb.MariaDB, "within", "2~ma~0-9-3~~", true, 0},
	}
	for _, c := range cases {
		t.Run(c.flavor.String()+"/"+c.name, func(t *testing.T) {
			cl := fakedb.NewCluster(c.flavor, 2)
			stalled(cl)
			for k := int64(1); k <= 3; k++ {
				cl.Write(k, k)
			}
			db := fakeDB(t, cl, false)
			found, onReplica, waits, took, err := readWith(t, db, c.tok, rwsplit.WaitGTID(5*time.Second).OrFail(), 2)
			require.NoError(t, err)
			assert.True(t, onReplica)
			assert.Less(t, took, 2*time.Second, "the read waited for a claim the primary never had")
			assert.Zero(t, db.Stats().Fallbacks)
			assert.Equal(t, c.wantClamps, rwsplit.TokenClamps(db))
			if c.wantWait {
				assert.EqualValues(t, 1, waits)
				assert.True(t, found, "waited for what the primary has: sees row 2")
			} else {
				assert.Zero(t, waits, "nothing of the claim is the primary's: no wait")
			}
		})
	}
}

// TestPositionClaimIsClamped: a binlog position beyond the primary's own
// (further in the file, or a later file of its log; also in a format 1
// token, whose position names no server) is waited for as the primary's
// current position, not for the wait's timeout.
func TestPositionClaimIsClamped(t *testing.T) {
	for _, f := range fakeFlavors {
		for _, pos := range []string{"2~~~binlog.000001:999999999:1~", "2~~~binlog.000099:4:1~", "1~~~binlog.000001:999999999~"} {
			t.Run(f.String()+"/"+pos, func(t *testing.T) {
				cl := fakedb.NewCluster(f, 1)
				stalled(cl)
				for k := int64(1); k <= 3; k++ {
					cl.Write(k, k)
				}
				db := fakeDB(t, cl, false)
				found, onReplica, waits, took, err := readWith(t, db, pos, rwsplit.WaitPosition(5*time.Second).OrFail(), 3)
				require.NoError(t, err)
				assert.True(t, onReplica)
				assert.True(t, found, "waited for the primary's position")
				assert.EqualValues(t, 1, waits)
				assert.Less(t, took, 2*time.Second)
				assert.EqualValues(t, 1, rwsplit.TokenClamps(db))
			})
		}
	}
}

// TestOtherPrimarysPositionIsNotWaitedFor: a position read on another
// server than the current primary (another server_id, or a log the primary
// does not write) is never waited for: the read waits for the token's GTIDs
// instead, or, with none, reads the primary (or fails under OrFail).
func TestOtherPrimarysPositionIsNotWaitedFor(t *testing.T) {
	for _, f := range fakeFlavors {
		gtids := "my~3e11fa47-71ca-11e1-9e33-c80aa9429562:1-3"
		posWait := "SOURCE_POS_WAIT"
		if f == fakedb.MariaDB {
			gtids, posWait = "ma~0-1-3", "MASTER_POS_WAIT"
		}
		for _, pos := range []string{"binlog.000001:104:7", "other-bin.000001:104:1"} {
			t.Run(f.String()+"/"+pos, func(t *testing.T) {
				cl := fakedb.NewCluster(f, 1)
				stalled(cl)
				for k := int64(1); k <= 3; k++ {
					cl.Write(k, k)
				}
				r := cl.Replicas()[0]
				db := fakeDB(t, cl, false)

				// Only a position: the primary answers.
				found, onReplica, waits, _, err := readWith(t, db, "2~~~"+pos+"~", rwsplit.WaitPosition(5*time.Second), 3)
				require.NoError(t, err)
				assert.False(t, onReplica)
				assert.True(t, found)
				assert.Zero(t, waits)
				assert.EqualValues(t, 1, db.Stats().Fallbacks)
				_, _, _, _, err = readWith(t, db, "2~~~"+pos+"~", rwsplit.WaitPosition(5*time.Second).OrFail(), 3)
				assert.ErrorIs(t, err, rwsplit.ErrReplicaNotCaughtUp)
				assert.Zero(t, r.Count(posWait))

				// With GTIDs: they are waited for instead.
				found, onReplica, waits, _, err = readWith(t, db, "2~"+gtids+"~"+pos+"~", rwsplit.WaitPosition(5*time.Second).OrFail(), 3)
				require.NoError(t, err)
				assert.True(t, onReplica)
				assert.True(t, found)
				assert.EqualValues(t, 1, waits)
				assert.Zero(t, r.Count(posWait), "never a position wait")
			})
		}
	}
}

// TestClampReadShared: concurrent readers whose tokens the DB cannot vouch
// for share the primary's executed-set read: 16 readers with an oversized
// claim arriving while the primary is slow cost it at most two reads, and
// a reader whose claim was already checked costs none.
func TestClampReadShared(t *testing.T) {
	for _, f := range fakeFlavors {
		t.Run(f.String(), func(t *testing.T) {
			cl := fakedb.NewCluster(f, 2)
			cl.Write(1, 1)
			stalled(cl)
			db := fakeDB(t, cl, false)
			p := cl.Primary()
			waitMonitorRound(t, db, cl.Primary())
			tok := "2~my~3e11fa47-71ca-11e1-9e33-c80aa9429562:1-9223372036854775806~~"
			executed := "@@GLOBAL.gtid_executed, @@server_uuid"
			if f == fakedb.MariaDB {
				tok, executed = "2~ma~0-1-18446744073709551615~~", "@@GLOBAL.gtid_binlog_pos"
			}
			// A first read learns the primary's identity and version.
			_, _, _, _, err := readWith(t, db, tok, rwsplit.WaitGTID(5*time.Second), 1)
			require.NoError(t, err)
			base := p.Count(executed)

			p.Hang()
			var wg sync.WaitGroup
			for range 16 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					found, onReplica, _, _, err := readWith(t, db, tok, rwsplit.WaitGTID(5*time.Second).OrFail(), 1)
					assert.NoError(t, err)
					assert.True(t, found && onReplica)
				}()
			}
			time.Sleep(100 * time.Millisecond)
			p.Unhang()
			wg.Wait()
			n := p.Count(executed) - base
			assert.GreaterOrEqual(t, n, 1)
			assert.LessOrEqual(t, n, 2, "16 concurrent clamps")
			assert.EqualValues(t, n+1, rwsplit.TokenChecks(db), "counted")
			t.Logf("16 concurrent readers: %d reads of the primary's executed set", n)

			// A claim the DB knows the primary has (the executed set it
			// read covers 0-1-1 / uuid:1): no read.
			base = p.Count(executed)
			small := "2~my~3e11fa47-71ca-11e1-9e33-c80aa9429562:1~~"
			if f == fakedb.MariaDB {
				small = "2~ma~0-1-1~~"
			}
			_, onReplica, _, _, err := readWith(t, db, small, rwsplit.WaitGTID(5*time.Second).OrFail(), 1)
			require.NoError(t, err)
			assert.True(t, onReplica)
			assert.Equal(t, base, p.Count(executed))
		})
	}
}

// waitMonitorRound waits until the monitor's first round has checked every
// replica of db and read the primary p's executed GTIDs.
func waitMonitorRound(t *testing.T, db *rwsplit.DB, p *fakedb.Server) {
	t.Helper()
	require.Eventually(t, func() bool {
		for _, st := range rwsplit.ReplicaStatus(db) {
			if st.LastCheck.IsZero() {
				return false
			}
		}
		return p.Count("@@GLOBAL.gtid_executed")+p.Count("@@GLOBAL.gtid_binlog_pos") > 0
	}, 5*time.Second, time.Millisecond)
	time.Sleep(10 * time.Millisecond) // the round's last steps
}

// TestOwnWritesNeedNoClampRead: a read after the session's own write pays
// the capture only: the capture is what the primary has executed, so the
// target needs no other read of the primary.
func TestOwnWritesNeedNoClampRead(t *testing.T) {
	for _, f := range fakeFlavors {
		t.Run(f.String(), func(t *testing.T) {
			cl := fakedb.NewCluster(f, 1)
			stalled(cl)
			db := fakeDB(t, cl, false)
			waitMonitorRound(t, db, cl.Primary())
			p := cl.Primary()
			before := len(p.Statements())
			ctx := rwsplit.WithConsistency(rwsplit.WithSession(context.Background(), rwsplit.NewSession(rwsplit.Token{})), rwsplit.WaitGTID(5*time.Second))
			_, err := db.ExecContext(ctx, insertKV, 1, 1)
			require.NoError(t, err)
			_, found := readKV(t, ctx, db, 1)
			assert.True(t, found)
			stmts := p.Statements()[before:]
			// The write, the capture, and (before the monitor read it) the
			// primary's identity; nothing else.
			assert.LessOrEqual(t, len(stmts), 3, "%q", stmts)
			assert.Zero(t, rwsplit.TokenClamps(db))
			assert.Zero(t, rwsplit.TokenChecks(db))
		})
	}
}

// TestPositionAcrossPrimaries: after a failover (the primary replaced by a
// promoted replica) a token's position from the old primary is not compared
// with the new primary's, though the file names match: a WaitPosition read
// waits for the token's GTIDs, or goes to the primary; and what a replica
// was known to have applied of the old primary's log does not let a read
// skip its wait. A token captured on the new primary names it.
func TestPositionAcrossPrimaries(t *testing.T) {
	for _, f := range fakeFlavors {
		t.Run(f.String(), func(t *testing.T) {
			cl := fakedb.NewCluster(f, 2)
			stalled(cl)
			oldP, newP, other := cl.Primary(), cl.Replicas()[0], cl.Replicas()[1]
			pools := []*sql.DB{newP.OpenDB(false), other.OpenDB(false)}
			db, err := rwsplit.New(oldP.OpenDB(false), pools, rwsplit.WithMonitorInterval(time.Hour))
			require.NoError(t, err)
			t.Cleanup(func() { _ = db.Close() })

			sess := rwsplit.NewSession(rwsplit.Token{})
			ctx := rwsplit.WithSession(context.Background(), sess)
			for k := int64(1); k <= 3; k++ {
				_, err := db.ExecContext(ctx, insertKV, k, k)
				require.NoError(t, err)
			}
			tok, err := sess.TokenContext(context.Background())
			require.NoError(t, err)
			assert.EqualValues(t, oldP.ID(), rwsplit.PosServerID(tok), "the position names its primary")

			newP.ApplyAll()
			cl.Promote(newP)
			old, err := db.ReplacePrimary(pools[0])
			require.NoError(t, err)
			defer old.Close()
			for k := int64(4); k <= 6; k++ {
				cl.Write(k, k) // the new primary's log reaches the old position's offset
			}
			other.StopApplier()

			posOnly, err := rwsplit.ParseToken("2~~~" + tokPos(t, tok) + "~")
			require.NoError(t, err)
			mode := rwsplit.WaitPosition(5 * time.Second)
			ctx2 := rwsplit.WithConsistency(rwsplit.WithSession(context.Background(), rwsplit.NewSession(posOnly)), mode)
			before := db.Stats()
			_, found := readKV(t, ctx2, db, 3)
			assert.True(t, found)
			assert.EqualValues(t, 1, db.Stats().Fallbacks-before.Fallbacks, "another primary's position: the primary reads")

			ctx3 := rwsplit.WithConsistency(rwsplit.WithSession(context.Background(), rwsplit.NewSession(tok)), mode)
			before = db.Stats()
			_, found = readKV(t, ctx3, db, 3)
			assert.True(t, found)
			assert.Zero(t, db.Stats().Fallbacks-before.Fallbacks, "its GTIDs are waited for instead")

			// A capture on the new primary names the new primary.
			_, err = db.ExecContext(ctx, insertKV, 7, 7)
			require.NoError(t, err)
			tok, err = sess.TokenContext(context.Background())
			require.NoError(t, err)
			assert.EqualValues(t, newP.ID(), rwsplit.PosServerID(tok))
			assert.EqualValues(t, newP.ID(), rwsplit.ServerIDOf(rwsplit.PrimaryServer(db)))
		})
	}
}

// tokPos is the position field of tok's text.
func tokPos(t *testing.T, tok rwsplit.Token) string {
	t.Helper()
	fields := strings.Split(tok.String(), "~")
	require.Len(t, fields, 5, tok.String())
	require.NotEmpty(t, fields[3], tok.String())
	return fields[3]
}

// TestWaitPositionSkipsCascadedReplica: a replica whose source is not the
// primary (a replica of a replica, as the monitor saw it) never answers a
// WaitPosition read, neither by a wait nor by what it was known to have
// applied: another replica does, or the primary when none is left. GTID
// waits still use it.
func TestWaitPositionSkipsCascadedReplica(t *testing.T) {
	for _, f := range fakeFlavors {
		t.Run(f.String(), func(t *testing.T) {
			cl := fakedb.NewCluster(f, 2)
			stalled(cl)
			db := fakeDB(t, cl, false)
			waitMonitorRound(t, db, cl.Primary())
			rs := rwsplit.ReplicaServers(db)
			sess := rwsplit.NewSession(rwsplit.Token{})
			wctx := rwsplit.WithSession(context.Background(), sess)
			_, err := db.ExecContext(wctx, insertKV, 1, 1)
			require.NoError(t, err)
			byPos := rwsplit.WithConsistency(wctx, rwsplit.WaitPosition(5*time.Second))
			// Both replicas learn they applied the position.
			for range 4 {
				_, found := readKV(t, byPos, db, 1)
				require.True(t, found)
			}
			rwsplit.SetSourceID(rs[0], 99) // a replica of server 99, not of the primary
			before := rwsplit.ReplicaReads(db)
			for range 6 {
				_, found := readKV(t, byPos, db, 1)
				assert.True(t, found)
			}
			after := rwsplit.ReplicaReads(db)
			assert.Equal(t, before[0], after[0], "the cascaded replica answered a WaitPosition read")
			assert.EqualValues(t, 6, after[1]-before[1])

			rwsplit.SetSourceID(rs[1], 98)
			fallbacks := db.Stats().Fallbacks
			_, found := readKV(t, byPos, db, 1)
			assert.True(t, found)
			assert.EqualValues(t, 1, db.Stats().Fallbacks-fallbacks, "no direct replica: the primary")

			byGTID := rwsplit.WithConsistency(wctx, rwsplit.WaitGTID(5*time.Second))
			before = rwsplit.ReplicaReads(db)
			for range 4 {
				_, found := readKV(t, byGTID, db, 1)
				assert.True(t, found)
			}
			assert.Greater(t, rwsplit.ReplicaReads(db)[0], before[0], "GTID waits use a cascaded replica")
		})
	}
}
