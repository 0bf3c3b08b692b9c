package fakedb_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rwsplit/rwsplit/internal/cluster"
	"github.com/rwsplit/rwsplit/internal/dialect"
	"github.com/rwsplit/rwsplit/internal/fakedb"
	"github.com/rwsplit/rwsplit/internal/gtid"
)

// member runs internal/cluster's Identify and Check on s, as rwsplit's
// monitor does: fakedb answers exactly the statements the seam sends.
func member(t *testing.T, s *fakedb.Server) cluster.Member {
	t.Helper()
	db := s.OpenDB(false)
	defer db.Close()
	ctx := context.Background()
	var raw string
	require.NoError(t, db.QueryRowContext(ctx, "SELECT VERSION()").Scan(&raw))
	v := dialect.Parse(raw)
	id, err := cluster.Identify(ctx, db, v, cluster.Unknown, nil, false)
	require.NoError(t, err)
	m, err := cluster.Check(ctx, db, v, id)
	require.NoError(t, err)
	return m
}

func caughtUp(t *testing.T, s *fakedb.Server, k cluster.Kind) bool {
	t.Helper()
	db := s.OpenDB(false)
	defer db.Close()
	var raw string
	require.NoError(t, db.QueryRow("SELECT VERSION()").Scan(&raw))
	ok, err := cluster.CaughtUp(context.Background(), db, dialect.Parse(raw), k)
	require.NoError(t, err)
	return ok
}

func TestSeamAsync(t *testing.T) {
	for _, f := range []dialect.Flavor{fakedb.MySQL, fakedb.MariaDB} {
		c := fakedb.NewCluster(f, 1)
		p, r := member(t, c.Primary()), member(t, c.Replicas()[0])
		assert.Equal(t, cluster.Async, p.Kind, f)
		assert.True(t, p.Writable, f)
		assert.Equal(t, cluster.Async, r.Kind, f)
		assert.True(t, r.Serving && r.Replica && !r.Writable, f)
		assert.True(t, caughtUp(t, c.Replicas()[0], cluster.Async), f)
	}
}

func TestSeamGroupReplication(t *testing.T) {
	c := fakedb.NewCluster(fakedb.MySQL, 2)
	c.SetKind(fakedb.GroupReplication)
	s1 := c.Replicas()[0]
	s1.StopApplier()
	c.Write(1, 1)

	p := member(t, c.Primary())
	assert.Equal(t, cluster.Group, p.Kind)
	assert.Equal(t, c.UUID(), p.Group)
	assert.Equal(t, c.Primary().UUID(), p.UUID)
	assert.Equal(t, c.Primary().UUID(), p.Key)
	assert.True(t, p.Serving && p.Writable && !p.MultiWriter)
	assert.Equal(t, int64(0), p.Queue)
	want, err := gtid.ParseMySQLSet(c.GTIDSet(1))
	require.NoError(t, err)
	assert.True(t, p.AppliedOK && p.Applied.MySQL.Equal(want))

	m := member(t, s1)
	assert.True(t, m.Serving && !m.Writable && !m.Replica)
	assert.Equal(t, "ONLINE", m.State)
	assert.Equal(t, int64(1), m.Queue)
	assert.True(t, m.AppliedOK && m.Applied.MySQL.IsEmpty())
	assert.False(t, caughtUp(t, s1, cluster.Group))
	s1.StartApplier()
	assert.True(t, caughtUp(t, s1, cluster.Group))

	s1.SetMemberState(fakedb.MemberRecovering)
	m = member(t, s1)
	assert.False(t, m.Serving)
	assert.True(t, m.Broken)
	assert.Equal(t, "RECOVERING", m.State)
	assert.False(t, caughtUp(t, s1, cluster.Group))

	c.SetMultiPrimary(true)
	m = member(t, c.Replicas()[1])
	assert.True(t, m.Serving && m.Writable && m.MultiWriter)
}

func TestSeamGalera(t *testing.T) {
	c := fakedb.NewCluster(fakedb.MariaDB, 2)
	c.SetKind(fakedb.Galera)
	n2 := c.Replicas()[1]
	n2.StopApplier()
	c.Write(1, 1)

	for _, s := range c.Servers()[:2] {
		m := member(t, s)
		assert.Equal(t, cluster.Galera, m.Kind)
		assert.True(t, m.Serving && m.Writable && m.MultiWriter && m.GTIDMode)
		assert.Equal(t, "Synced", m.State)
		assert.Equal(t, uint32(0), m.Domain)
		assert.Equal(t, "0-1-1", m.Applied.MariaDB.String())
		assert.True(t, caughtUp(t, s, cluster.Galera))
	}
	m := member(t, n2)
	assert.Equal(t, "node3", m.Key)
	assert.Equal(t, int64(1), m.Queue)
	assert.False(t, caughtUp(t, n2, cluster.Galera))

	pos, err := gtid.ParseMariaDBPos("0-1-1")
	require.NoError(t, err)
	g, ok := cluster.GaleraWait(&m, pos, gtid.MariaDBPos{})
	require.True(t, ok)
	n2.ApplyOnWait(true)
	db := n2.OpenDB(false)
	defer db.Close()
	var one sql.NullInt64
	require.NoError(t, db.QueryRow("SELECT WSREP_SYNC_WAIT_UPTO_GTID(?, ?) = 1", g, 1).Scan(&one))
	assert.Equal(t, int64(1), one.Int64)

	n2.SetGaleraState(fakedb.GaleraDesynced)
	m = member(t, n2)
	assert.True(t, m.Serving)
	assert.True(t, m.Writable, "a desynced node takes writes...")
	assert.Equal(t, 1, m.Rank, "... but is not chosen while a synced one is")
	n2.SetGaleraState(fakedb.GaleraNonPrimary)
	m = member(t, n2)
	assert.False(t, m.Serving)
	assert.True(t, m.Broken)
}
