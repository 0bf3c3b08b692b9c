package rwsplittest_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rwsplit/rwsplit/rwsplittest"
)

// TestMariaDB118Cluster runs a MariaDB cluster on the MariaDB 11.8 image
// (rwsplit/mariadb:11.8 from Debian trixie unless RWSPLIT_MARIADB118_IMAGE
// says otherwise) and checks that a write on the primary reaches every replica.
func TestMariaDB118Cluster(t *testing.T) {
	if testing.Short() && !rwsplittest.InCI() {
		t.Skip("integration test: skipped in -short mode (make unit)")
	}
	c := rwsplittest.Start(t, rwsplittest.MariaDB, rwsplittest.WithImage(rwsplittest.MariaDB118Image()))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	require.Equal(t, rwsplittest.MariaDB118Image(), c.Image)
	if rwsplittest.MariaDB118Image() == rwsplittest.DefaultMariaDB118Image {
		assert.True(t, strings.HasPrefix(c.Version, "11.8."), "primary's VERSION() = %q, want 11.8.x", c.Version)
	}
	require.Len(t, c.Replicas, 2)

	primary := open(t, c.Primary.DSN())
	_, err := primary.Exec("CREATE TABLE kit (id INT PRIMARY KEY, v VARCHAR(20))")
	require.NoError(t, err)
	_, err = primary.Exec("INSERT INTO kit VALUES (1, 'one')")
	require.NoError(t, err)
	require.NoError(t, c.WaitCaughtUp(ctx))
	for _, r := range c.Replicas {
		db := open(t, r.DSN())
		assert.Equal(t, 1, count(t, db, 1), r.Name)
		var v string
		require.NoError(t, db.QueryRow("SELECT VERSION()").Scan(&v), r.Name)
		assert.Equal(t, c.Version, v, "%s runs the primary's version", r.Name)
	}
}
