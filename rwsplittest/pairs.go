package rwsplittest

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rwsplit/rwsplit"
	"github.com/rwsplit/rwsplit/internal/cluster"
)

// PairsTable is the table Pairs writes to; CreatePairsTable makes it.
const PairsTable = "rwsplit_pairs"

// CreatePairsTable (re)creates the table Pairs writes to, through db, and
// waits until every replica of c has it.
func CreatePairsTable(ctx context.Context, c *Cluster, db *rwsplit.DB) error {
	for _, q := range []string{
		"DROP TABLE IF EXISTS " + PairsTable,
		"CREATE TABLE " + PairsTable + " (id BIGINT PRIMARY KEY, v BIGINT NOT NULL)",
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	return c.WaitCaughtUp(ctx)
}

// PairsConfig describes a staleness measurement.
type PairsConfig struct {
	// Writer makes the writes; Reader (Writer when nil) reads them back,
	// as another process holding the token would.
	Writer, Reader *rwsplit.DB
	// Mode is the consistency mode of both the writes and the reads.
	Mode rwsplit.Consistency
	// N is the number of write→read pairs; Workers run them concurrently
	// (default 1), each as its own Session.
	N, Workers int
	// ViaQuery reads with QueryContext (where a wait may share the read's
	// round trip) instead of QueryRowContext.
	ViaQuery bool
}

// PairsResult is what Pairs saw.
type PairsResult struct {
	// Stale counts reads that did not find the row just written.
	Stale int
	// NotCaughtUp counts reads that failed with ErrReplicaNotCaughtUp.
	NotCaughtUp int
	// Errors holds every other error.
	Errors []error
	// Latencies are the reads' latencies, sorted.
	Latencies []time.Duration
}

// Percentile returns the p-th (0..1) read latency.
func (r PairsResult) Percentile(p float64) time.Duration {
	if len(r.Latencies) == 0 {
		return 0
	}
	return r.Latencies[min(len(r.Latencies)-1, int(float64(len(r.Latencies))*p))]
}

var pairSeq atomic.Int64

// Pairs measures staleness: each of N pairs writes a new row on the primary,
// carries the writer Session's token as a string (as a cookie or a queue
// message would) into a fresh Session, and reads the row back under the mode.
// A read that does not find the row is stale.
func Pairs(ctx context.Context, cfg PairsConfig) PairsResult {
	if cfg.Reader == nil {
		cfg.Reader = cfg.Writer
	}
	workers := max(cfg.Workers, 1)
	var (
		mu  sync.Mutex
		res PairsResult
		wg  sync.WaitGroup
	)
	record := func(err error, lat time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case errors.Is(err, sql.ErrNoRows):
			res.Stale++
		case errors.Is(err, rwsplit.ErrReplicaNotCaughtUp):
			res.NotCaughtUp++
		case err != nil:
			res.Errors = append(res.Errors, err)
		}
		if lat > 0 {
			res.Latencies = append(res.Latencies, lat)
		}
	}
	for w := range workers {
		n := cfg.N / workers
		if w < cfg.N%workers {
			n++
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sess := rwsplit.NewSession(rwsplit.Token{})
			wctx := rwsplit.WithSession(rwsplit.WithConsistency(ctx, cfg.Mode), sess)
			for range n {
				id := pairSeq.Add(1)
				if _, err := cfg.Writer.ExecContext(wctx, "INSERT INTO "+PairsTable+" (id, v) VALUES (?, ?)", id, id); err != nil {
					record(err, 0)
					continue
				}
				tok, err := rwsplit.ParseToken(sess.Token().String())
				if err != nil {
					record(err, 0)
					continue
				}
				rctx := rwsplit.WithSession(rwsplit.WithConsistency(ctx, cfg.Mode), rwsplit.NewSession(tok))
				start := time.Now()
				err = readRow(rctx, cfg.Reader, id, cfg.ViaQuery)
				record(err, time.Since(start))
			}
		}()
	}
	wg.Wait()
	slices.Sort(res.Latencies)
	return res
}

func readRow(ctx context.Context, db *rwsplit.DB, id int64, viaQuery bool) error {
	const q = "SELECT v FROM " + PairsTable + " WHERE id = ?"
	var v int64
	if !viaQuery {
		return db.QueryRowContext(ctx, q, id).Scan(&v)
	}
	return scanOne(ctx, db, q, []any{id}, &v)
}

// scanOne is cluster.ScanRow with QueryRow's answer for no row:
// sql.ErrNoRows, which Pairs counts as a stale read.
func scanOne(ctx context.Context, q cluster.Querier, query string, args []any, dest ...any) error {
	err := cluster.ScanRow(ctx, q, query, args, dest...)
	if errors.Is(err, sql.ErrNoRows) {
		return sql.ErrNoRows
	}
	return err
}
