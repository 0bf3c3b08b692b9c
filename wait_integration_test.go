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

// TestWaitPositionWaitForm: a WaitPosition read right after a write reads
// its write, and on MySQL with gtid_mode ON it waits with
// WAIT_FOR_EXECUTED_GTID_SET, not SOURCE_POS_WAIT (which on the
// multi-threaded applier returns at the applier's next checkpoint, 300 ms
// later by default). The replicas' general logs tell which wait they were
// sent. The control: with the primary's gtid_mode at ON_PERMISSIVE (a write
// may then be anonymous), MySQL waits for the position, and the reads still
// read their writes. MariaDB waits for the position.
func TestWaitPositionWaitForm(t *testing.T) {
	forEachFlavor(t, func(t *testing.T, c *rwsplittest.Cluster) {
		ctx := context.Background()
		db, err := rwsplit.Open("mysql", c.Primary.DSN(), c.ReplicaDSNs("multiStatements=true", "interpolateParams=true"))
		require.NoError(t, err)
		defer db.Close()
		prepareRW(t, c, db)
		generalLog(t, c)
		rwsplit.MonitorRound(db)

		// reads makes n write→read pairs under WaitPosition; it returns the
		// waits the replicas logged meanwhile: by GTID, by position.
		base := int64(0)
		reads := func(name string, n int) (gtids, pos int) {
			t.Helper()
			posFn := "SOURCE_POS_WAIT"
			if c.Flavor == rwsplittest.MariaDB {
				posFn = "MASTER_POS_WAIT"
			}
			for _, r := range c.Replicas {
				gtids -= countLogged(t, r, "WAIT_FOR_EXECUTED_GTID_SET")
				pos -= countLogged(t, r, posFn)
			}
			before := db.Stats().Fallbacks
			for i := 0; i < n; i++ {
				base++
				sctx := rwsplit.WithSession(ctx, rwsplit.NewSession(rwsplit.Token{}))
				sctx = rwsplit.WithConsistency(sctx, rwsplit.WaitPosition(10*time.Second).OrFail())
				_, err := db.ExecContext(sctx, "INSERT INTO "+rwsplittest.PairsTable+" (id, v) VALUES (?, ?)", base, base)
				require.NoError(t, err)
				var v int64
				require.NoError(t, db.QueryRowContext(sctx, "SELECT v FROM "+rwsplittest.PairsTable+" WHERE id = ?", base).Scan(&v),
					"read %d of %s: its own write", i, name)
				require.Equal(t, base, v)
			}
			assert.Zero(t, db.Stats().Fallbacks-before, "%s: fallbacks", name)
			for _, r := range c.Replicas {
				gtids += countLogged(t, r, "WAIT_FOR_EXECUTED_GTID_SET")
				pos += countLogged(t, r, posFn)
			}
			return gtids, pos
		}

		g, p := reads("default", 20)
		t.Logf("%s: %d GTID waits, %d position waits", c.Flavor, g, p)
		if c.Flavor == rwsplittest.MariaDB {
			assert.Zero(t, g)
			assert.Positive(t, p, "MariaDB waits for the position")
			return
		}
		assert.Positive(t, g, "gtid_mode ON: WaitPosition waits for the GTIDs captured with the position")
		assert.Zero(t, p, "gtid_mode ON: no SOURCE_POS_WAIT")

		// The control: the primary at ON_PERMISSIVE (one step down, online;
		// its own writes still carry GTIDs, but nothing proves it).
		setGTIDMode(t, c.Primary, "ON_PERMISSIVE")
		t.Cleanup(func() { setGTIDMode(t, c.Primary, "ON") })
		rwsplit.MonitorRound(db)
		g, p = reads("control", 5)
		t.Logf("control: %d GTID waits, %d position waits", g, p)
		assert.Zero(t, g, "gtid_mode ON_PERMISSIVE: no GTID wait")
		assert.Positive(t, p, "gtid_mode ON_PERMISSIVE: WaitPosition waits for the position")
	})
}

// generalLog turns on the replicas' general logs into mysql.general_log
// for the test, and off when it ends (a replica's super_read_only keeps the
// table from being emptied: counts are taken as differences).
func generalLog(t *testing.T, c *rwsplittest.Cluster) {
	t.Helper()
	ctx := context.Background()
	for _, r := range c.Replicas {
		for _, q := range []string{"SET GLOBAL log_output = 'TABLE'", "SET GLOBAL general_log = ON"} {
			_, err := r.Admin().ExecContext(ctx, q)
			require.NoError(t, err, q)
		}
	}
	t.Cleanup(func() {
		for _, r := range c.Replicas {
			for _, q := range []string{"SET GLOBAL general_log = OFF", "SET GLOBAL log_output = 'FILE'"} {
				_, err := r.Admin().ExecContext(ctx, q)
				assert.NoError(t, err, q)
			}
		}
	})
}

// countLogged counts the statements in r's general log that call fn
// (not the count itself, which the log holds once it has run).
func countLogged(t *testing.T, r *rwsplittest.Node, fn string) int {
	t.Helper()
	var n int
	require.NoError(t, r.Admin().QueryRowContext(context.Background(),
		"SELECT COUNT(*) FROM mysql.general_log WHERE command_type IN ('Query', 'Execute') AND CONVERT(argument USING utf8mb4) LIKE CONCAT('%', ?, '(%') "+
			"AND CONVERT(argument USING utf8mb4) NOT LIKE '%general_log%'", fn).Scan(&n))
	return n
}

// setGTIDMode sets n's gtid_mode (one step at a time, as MySQL requires).
func setGTIDMode(t *testing.T, n *rwsplittest.Node, mode string) {
	t.Helper()
	_, err := n.Admin().ExecContext(context.Background(), "SET GLOBAL gtid_mode = "+mode)
	require.NoError(t, err)
}
