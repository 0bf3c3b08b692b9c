package rwsplit

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rwsplit/rwsplit/internal/dialect"
	"github.com/rwsplit/rwsplit/internal/sqlclass"
)

// TestClassCache checks the classification cache: a verdict is reused only
// for its flavor, long texts are not kept, and it never holds more than its
// bound, under concurrent use.
func TestClassCache(t *testing.T) {
	var cc classCache
	r := sqlclass.Result{Replica: true}
	cc.put("SELECT 1", dialect.MySQL, r)
	got, ok := cc.get("SELECT 1", dialect.MySQL)
	require.True(t, ok)
	assert.Equal(t, r, got)
	_, ok = cc.get("SELECT 1", dialect.MariaDB)
	assert.False(t, ok, "a verdict is for its flavor only")
	_, ok = cc.get("SELECT 2", dialect.MySQL)
	assert.False(t, ok)

	long := "SELECT " + strings.Repeat("1", classCacheMaxLen)
	cc.put(long, dialect.MySQL, r)
	_, ok = cc.get(long, dialect.MySQL)
	assert.False(t, ok, "a text over the length bound is not kept")

	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 3 * classCacheSize {
				q := fmt.Sprintf("SELECT %d, %d", g, i)
				cc.put(q, dialect.MySQL, r)
				cc.get(q, dialect.MySQL)
			}
		})
	}
	wg.Wait()
	n := 0
	cc.m.Range(func(any, any) bool { n++; return true })
	assert.LessOrEqual(t, n, classCacheSize+4, "bounded (give or take one store per goroutine)")
}

// TestClassifyCached checks that DB.classify gives the classifier's verdict,
// cached or not, and reclassifies once the flavor is known.
func TestClassifyCached(t *testing.T) {
	db := &DB{classifier: sqlclass.New()}
	db.topo.Store(&topology{})
	for _, q := range []string{"SELECT v FROM kv WHERE k = ?", "UPDATE kv SET v = 1", "SELECT f(1)", "SET @x = 1"} {
		want := db.classifier.ClassifyFlavor(q, dialect.Unknown)
		assert.Equal(t, want, db.classify(q), q)
		assert.Equal(t, want, db.classify(q), q+" (cached)")
	}
}
