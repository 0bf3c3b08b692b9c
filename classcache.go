package rwsplit

import (
	"sync"
	"sync/atomic"

	"github.com/rwsplit/rwsplit/internal/dialect"
	"github.com/rwsplit/rwsplit/internal/sqlclass"
)

// classCache keeps the classifier's verdicts on one DB's recent statements,
// by text and flavor, so that a statement run again is not read again: a
// hit costs one lock-free map lookup (no allocation), against ~0.2 µs and
// up for reading a short statement.
//
// It is bounded: at most classCacheSize texts of at most classCacheMaxLen
// bytes each (longer ones are classified at every call), so about 1 MiB at
// worst. When full it is emptied and fills again with what runs next: a
// workload of ever new texts (values written into the text rather than
// passed as arguments) pays one store per call, and keeps its hot
// statements cached between clears.
type classCache struct {
	m sync.Map     // query text -> classEntry
	n atomic.Int64 // entries stored since the last clear (about)
}

const (
	classCacheSize   = 1024
	classCacheMaxLen = 1024
)

// classEntry is one verdict and the flavor it was reached for.
type classEntry struct {
	f dialect.Flavor
	r sqlclass.Result
}

// get returns the verdict cached for query under f, if any.
func (cc *classCache) get(query string, f dialect.Flavor) (sqlclass.Result, bool) {
	v, ok := cc.m.Load(query)
	if !ok {
		return sqlclass.Result{}, false
	}
	e := v.(classEntry)
	return e.r, e.f == f
}

// put caches r, the verdict for query under f.
func (cc *classCache) put(query string, f dialect.Flavor, r sqlclass.Result) {
	if len(query) > classCacheMaxLen {
		return
	}
	if cc.n.Add(1) > classCacheSize {
		cc.m.Clear()
		cc.n.Store(1)
	}
	cc.m.Store(query, classEntry{f: f, r: r})
}
