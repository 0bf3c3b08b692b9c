package rwsplit_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rwsplit/rwsplit"
	"github.com/rwsplit/rwsplit/internal/fakedb"
)

// BenchmarkOverhead measures what routing adds to a call, against the
// in-memory driver (no network, so the difference is rwsplit's own): each
// call through a raw *sql.DB and through rwsplit over the same pools, side by
// side in one run. Reads go to the replica (Eventual), writes to the primary.
//
//	go test -run '^$' -bench Overhead -benchmem -count 6 . | benchstat -col /via -
func BenchmarkOverhead(b *testing.B) {
	cl := fakedb.NewCluster(fakedb.MySQL, 1)
	primary, replica := cl.Primary().OpenDB(false), cl.Replicas()[0].OpenDB(false)
	defer primary.Close()
	defer replica.Close()
	// rwsplit's pools as Open makes them: wrapped by PrefetchConnector.
	wrap := func(s *fakedb.Server) *sql.DB { return sql.OpenDB(rwsplit.PrefetchConnector(s.Connector(false))) }
	db, err := rwsplit.New(wrap(cl.Primary()), []*sql.DB{wrap(cl.Replicas()[0])}, rwsplit.WithMonitorInterval(time.Hour))
	require.NoError(b, err)
	defer db.Close()
	ctx := context.Background()
	cl.Write(1, 1)
	type target struct {
		name     string
		query    func(ctx context.Context, q string, args ...any) (*sql.Rows, error)
		queryRow func(ctx context.Context, q string, args ...any) *sql.Row
		exec     func(ctx context.Context, q string, args ...any) (sql.Result, error)
	}
	raw := target{"raw", replica.QueryContext, replica.QueryRowContext, primary.ExecContext}
	routed := target{"rwsplit", db.QueryContext, db.QueryRowContext, db.ExecContext}
	for _, op := range []string{"Query", "QueryRow", "Exec"} {
		for _, t := range []target{raw, routed} {
			b.Run(op+"/via="+t.name, func(b *testing.B) {
				b.ReportAllocs()
				var v int64
				for b.Loop() {
					switch op {
					case "Query":
						rows, err := t.query(ctx, selectKV, 1)
						if err != nil {
							b.Fatal(err)
						}
						for rows.Next() {
							_ = rows.Scan(&v)
						}
						rows.Close()
					case "QueryRow":
						if err := t.queryRow(ctx, selectKV, 1).Scan(&v); err != nil {
							b.Fatal(err)
						}
					case "Exec":
						if _, err := t.exec(ctx, "DO 1"); err != nil {
							b.Fatal(err)
						}
					}
				}
			})
		}
	}
}
