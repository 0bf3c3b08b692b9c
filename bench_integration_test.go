package rwsplit_test

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rwsplit/rwsplit"
	"github.com/rwsplit/rwsplit/rwsplittest"
)

// Run: go test -run '^$' -bench 'Routing|Consistency|Capture' -benchtime 2000x .
// Every sub-benchmark of one benchmark runs against the same server in the
// same run, so their ratios are comparable; absolute figures depend on the
// machine's load.

func benchDB(b *testing.B, f rwsplittest.Flavor, opts ...rwsplit.Option) (*rwsplittest.Cluster, *rwsplit.DB) {
	b.Helper()
	c := cluster(b, f)
	db, err := rwsplit.Open("mysql", c.Primary.DSN(), c.ReplicaDSNs("interpolateParams=true", "multiStatements=true"), opts...)
	require.NoError(b, err)
	b.Cleanup(func() { _ = db.Close() })
	require.NoError(b, rwsplittest.CreatePairsTable(context.Background(), c, db))
	_, err = db.Exec("INSERT INTO " + rwsplittest.PairsTable + " (id, v) VALUES (1, 1)")
	require.NoError(b, err)
	require.NoError(b, c.WaitCaughtUp(context.Background()))
	return c, db
}

const benchQuery = "SELECT v FROM " + rwsplittest.PairsTable + " WHERE id = ?"

// BenchmarkRouting compares a routed QueryContext with the same query on a raw
// *sql.DB to the same replica (one replica, so both hit the same server).
func BenchmarkRouting(b *testing.B) {
	for _, f := range rwsplittest.Flavors {
		b.Run(string(f), func(b *testing.B) {
			c := cluster(b, f)
			raw, err := sql.Open("mysql", c.Replicas[0].DSN())
			require.NoError(b, err)
			defer raw.Close()
			routedPools, err := sql.Open("mysql", c.Replicas[0].DSN())
			require.NoError(b, err)
			primary, err := sql.Open("mysql", c.Primary.DSN())
			require.NoError(b, err)
			db, err := rwsplit.New(primary, []*sql.DB{routedPools})
			require.NoError(b, err)
			defer db.Close()
			_, _ = db.Exec("CREATE TABLE IF NOT EXISTS bench (id INT PRIMARY KEY, v INT)")
			_, _ = db.Exec("INSERT IGNORE INTO bench VALUES (1, 1)")
			require.NoError(b, c.WaitCaughtUp(context.Background()))
			q := "SELECT v FROM bench WHERE id = ?"
			ctx := context.Background()
			run := func(b *testing.B, query func() (*sql.Rows, error)) {
				b.ReportAllocs()
				for b.Loop() {
					rows, err := query()
					if err != nil {
						b.Fatal(err)
					}
					for rows.Next() {
					}
					rows.Close()
				}
			}
			// Interleave the two so that load changes hit both alike.
			for i := range 3 {
				b.Run(fmt.Sprintf("raw/%d", i), func(b *testing.B) {
					run(b, func() (*sql.Rows, error) { return raw.QueryContext(ctx, q, 1) })
				})
				b.Run(fmt.Sprintf("routed/%d", i), func(b *testing.B) {
					run(b, func() (*sql.Rows, error) { return db.QueryContext(ctx, q, 1) })
				})
			}
		})
	}
}

// BenchmarkConsistency measures a read right after the scope's write is
// known applied, per mode, with replicas caught up: the waits/op metric
// counts the replica waits (extra round trips) each read needed.
func BenchmarkConsistency(b *testing.B) {
	for _, f := range rwsplittest.Flavors {
		b.Run(string(f), func(b *testing.B) {
			_, db := benchDB(b, f)
			ctx := context.Background()
			sess := rwsplit.NewSession(rwsplit.Token{})
			wctx := rwsplit.WithSession(rwsplit.WithConsistency(ctx, rwsplit.WaitGTID(time.Second)), sess)
			_, err := db.ExecContext(wctx, "UPDATE "+rwsplittest.PairsTable+" SET v = v + 1 WHERE id = 1")
			require.NoError(b, err)
			for _, tc := range []struct {
				name     string
				mode     rwsplit.Consistency
				viaQuery bool
			}{
				{"Eventual", rwsplit.Eventual, false},
				{"Primary", rwsplit.Primary, false},
				{"CaughtUp", rwsplit.CaughtUp(time.Second), false},
				{"WaitPosition", rwsplit.WaitPosition(time.Second), false},
				{"WaitGTID", rwsplit.WaitGTID(time.Second), false},
			} {
				b.Run(tc.name, func(b *testing.B) {
					rctx := rwsplit.WithSession(rwsplit.WithConsistency(ctx, tc.mode), sess)
					before := db.Stats()
					b.ReportAllocs()
					for b.Loop() {
						var v int
						if err := db.QueryRowContext(rctx, benchQuery, 1).Scan(&v); err != nil {
							b.Fatal(err)
						}
					}
					after := db.Stats()
					b.ReportMetric(float64(after.Waits-before.Waits)/float64(b.N), "waits/op")
					b.ReportMetric(float64(after.Fallbacks-before.Fallbacks)/float64(b.N), "fallbacks/op")
				})
			}
			// A fresh token for every read: nothing is known applied, so
			// each read waits once: a wait and then the read (two round
			// trips), or both in one round trip when the replica DSN
			// allows multiStatements.
			c := cluster(b, f)
			twoTrip, err := rwsplit.Open("mysql", c.Primary.DSN(), c.ReplicaDSNs("interpolateParams=true"))
			require.NoError(b, err)
			defer twoTrip.Close()
			for _, tc := range []struct {
				name string
				db   *rwsplit.DB
			}{{"two-round-trips", twoTrip}, {"one-round-trip", db}} {
				b.Run("WaitGTID-unknown-token/"+tc.name, func(b *testing.B) {
					b.ReportAllocs()
					before := tc.db.Stats()
					for b.Loop() {
						b.StopTimer()
						s := rwsplit.NewSession(rwsplit.Token{})
						w := rwsplit.WithSession(rwsplit.WithConsistency(ctx, rwsplit.WaitGTID(time.Second)), s)
						if _, err := tc.db.ExecContext(w, "UPDATE "+rwsplittest.PairsTable+" SET v = v + 1 WHERE id = 1"); err != nil {
							b.Fatal(err)
						}
						time.Sleep(5 * time.Millisecond) // let the replicas apply it
						b.StartTimer()
						var v int
						if err := tc.db.QueryRowContext(w, benchQuery, 1).Scan(&v); err != nil {
							b.Fatal(err)
						}
					}
					after := tc.db.Stats()
					b.ReportMetric(float64(after.Waits-before.Waits)/float64(b.N), "waits/op")
					b.ReportMetric(float64(after.WaitsSkipped-before.WaitsSkipped)/float64(b.N), "skipped/op")
				})
			}
		})
	}
}

// BenchmarkCapture compares a plain write with one made under a Session:
// the Session records it without a round trip (its position is read only by
// a later waiting read or Session.Token), so the two should match.
func BenchmarkCapture(b *testing.B) {
	for _, f := range rwsplittest.Flavors {
		b.Run(string(f), func(b *testing.B) {
			_, db := benchDB(b, f)
			ctx := context.Background()
			q := "UPDATE " + rwsplittest.PairsTable + " SET v = v + 1 WHERE id = 1"
			for i := range 2 {
				b.Run(fmt.Sprintf("plain/%d", i), func(b *testing.B) {
					for b.Loop() {
						if _, err := db.ExecContext(ctx, q); err != nil {
							b.Fatal(err)
						}
					}
				})
				b.Run(fmt.Sprintf("with-session/%d", i), func(b *testing.B) {
					w := rwsplit.WithSession(ctx, rwsplit.NewSession(rwsplit.Token{}))
					for b.Loop() {
						if _, err := db.ExecContext(w, q); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		})
	}
}
