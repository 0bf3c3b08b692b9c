package rwsplittest

import (
	"context"
	"database/sql"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rwsplit/rwsplit/internal/fakedb"
)

// scanOne keeps QueryRow's sql.ErrNoRows for a missing row (Pairs counts it
// as a stale read), though it scans through cluster.ScanRow.
func TestScanOneNoRow(t *testing.T) {
	ctx := context.Background()
	cl := fakedb.NewCluster(fakedb.MySQL, 1)
	db := cl.Primary().OpenDB(false)
	defer db.Close()
	const q = "SELECT v FROM kv WHERE k = ?"
	var v int64
	assert.ErrorIs(t, scanOne(ctx, db, q, []any{7}, &v), sql.ErrNoRows)
	cl.Write(7, 42)
	require.NoError(t, scanOne(ctx, db, q, []any{7}, &v))
	assert.Equal(t, int64(42), v)
}

// replicaStatus reads the row by column name and says so when there is none.
func TestReplicaStatusRow(t *testing.T) {
	ctx := context.Background()
	cl := fakedb.NewCluster(fakedb.MySQL, 1)
	primary := cl.Primary().OpenDB(false)
	defer primary.Close()
	_, err := replicaStatus(ctx, primary, "p")
	assert.EqualError(t, err, "rwsplittest: p: SHOW REPLICA STATUS: no row (not a replica?)")
	replica := cl.Replicas()[0].OpenDB(false)
	defer replica.Close()
	st, err := replicaStatus(ctx, replica, "r")
	require.NoError(t, err)
	io, applier := threads(st)
	assert.True(t, io && applier, "%v", st)
}
