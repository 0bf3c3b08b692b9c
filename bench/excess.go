package main

import (
	"context"
	"database/sql"
	"fmt"
	"log"
	"strings"
	"time"

	"github.com/rwsplit/rwsplit"
	"github.com/rwsplit/rwsplit/rwsplittest"
)

// oneTripDSN is n's DSN with what one-round-trip waits need
// (interpolateParams, multiStatements): the configuration rwsplit's README
// recommends, so that a wait and its read share one round trip.
func oneTripDSN(n *rwsplittest.Node) string {
	return n.DSN("interpolateParams=true", "multiStatements=true")
}

func oneTripDSNs(cl *rwsplittest.Cluster) []string {
	var d []string
	for _, r := range cl.Replicas {
		d = append(d, oneTripDSN(r))
	}
	return d
}

// excess measures WaitGTID's excess wait on MySQL: how long after the
// replica applied a write the read that waited for it ran. The replica
// records when it finished applying each transaction
// (performance_schema.replication_applier_status_by_worker,
// LAST_APPLIED_TRANSACTION_END_APPLY_TIMESTAMP, microseconds); the read
// itself reports NOW(6), the time its statement began on the same server,
// right after the wait in the same round trip returned. Both are the
// replica's own clock, so their difference is the excess wait, measured on
// the server, without the network (the apply timestamp is taken as the
// commit ends, so a wait woken by the commit can show a few microseconds
// below 0).
func excess(ctx context.Context, o *out, cl *rwsplittest.Cluster) string {
	if cl.Flavor != rwsplittest.MySQL {
		o.note("excess wait: measured on MySQL only (MariaDB records no apply timestamps)")
		return ""
	}
	d := *delay
	defer delayReplicas(ctx, cl, d)()
	db, err := rwsplit.Open("mysql", oneTripDSN(cl.Primary), oneTripDSNs(cl))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	primary := open(cl.Primary.DSN())
	defer primary.Close()
	admins := map[int]*sql.DB{}
	for _, r := range cl.Replicas {
		admins[r.ServerID] = r.Admin()
	}
	var uuid string
	if err := primary.QueryRowContext(ctx, "SELECT @@server_uuid").Scan(&uuid); err != nil {
		log.Fatal(err)
	}
	const samples = 20
	const id = 990
	var ex, waited []time.Duration
	skipped := 0
	for i := 0; i < samples; i++ {
		sess := rwsplit.NewSession(rwsplit.Token{})
		c := rwsplit.WithSession(ctx, sess)
		if _, err := db.ExecContext(c, "UPDATE bench SET v = v + 1 WHERE id = ?", id); err != nil {
			log.Fatal(err)
		}
		t := time.Now()
		var v int64
		var readAt time.Time
		var sid int
		err := db.QueryRowContext(rwsplit.WithConsistency(c, rwsplit.WaitGTID(3*d+time.Second)),
			"SELECT v, NOW(6), @@server_id FROM bench WHERE id = ?", id).Scan(&v, &readAt, &sid)
		if err != nil {
			log.Fatal(err)
		}
		w := time.Since(t)
		// The write's GTID: the primary's last of its own (nothing else
		// writes during this section).
		var set string
		if err := primary.QueryRowContext(ctx, "SELECT @@GLOBAL.gtid_executed").Scan(&set); err != nil {
			log.Fatal(err)
		}
		want := lastGTID(set, uuid)
		adm := admins[sid]
		if adm == nil || want == "" {
			skipped++ // served by the primary (a fallback), or no GTID found
			continue
		}
		var last string
		var applied time.Time
		if err := adm.QueryRowContext(ctx, "SELECT LAST_APPLIED_TRANSACTION, LAST_APPLIED_TRANSACTION_END_APPLY_TIMESTAMP "+
			"FROM performance_schema.replication_applier_status_by_worker "+
			"ORDER BY LAST_APPLIED_TRANSACTION_END_APPLY_TIMESTAMP DESC LIMIT 1").Scan(&last, &applied); err != nil {
			log.Fatal(err)
		}
		if last != want {
			skipped++
			continue
		}
		ex = append(ex, readAt.Sub(applied))
		waited = append(waited, w)
	}
	var s strings.Builder
	fmt.Fprintf(&s, "## WaitGTID's excess wait\n\n")
	fmt.Fprintf(&s, "Both replicas delayed by %v; %d times in turn, with nothing else writing: a write under a fresh Session, "+
		"then `SELECT v, NOW(6), @@server_id` of the written row under WaitGTID (one round trip: the wait and the read share it). "+
		"Excess wait = the read's `NOW(6)` (when its statement began, right after the wait returned) − the replica's "+
		"`LAST_APPLIED_TRANSACTION_END_APPLY_TIMESTAMP` for that write's GTID (performance_schema), both on the replica's clock: "+
		"the time waited beyond the moment the replica applied the write (physical limit 0). %d samples kept (%d skipped: "+
		"served by the primary, or another transaction applied last).\n\n", d, samples, len(ex), skipped)
	fmt.Fprintf(&s, "| measure | p50 | p90 | max |\n|---|---|---|---|\n")
	fmt.Fprintf(&s, "| excess wait (server clock) | %s | %s | %s |\n", us(quantile(ex, 0.5)), us(quantile(ex, 0.9)), us(quantile(ex, 1)))
	fmt.Fprintf(&s, "| whole read, write returned → rows (client) | %s | %s | %s |\n", ms(quantile(waited, 0.5)), ms(quantile(waited, 0.9)), ms(quantile(waited, 1)))
	p50 := quantile(ex, 0.5)
	fmt.Fprintf(&s, "\nTarget \"WaitGTID excess wait, p50 < 1 ms\": %s: %s.\n\n", us(p50), met(len(ex) > 0 && p50 < time.Millisecond))
	return s.String()
}

// lastGTID returns uuid:N, N the highest transaction number of uuid in the
// MySQL GTID set set ("" if none).
func lastGTID(set, uuid string) string {
	for _, part := range strings.Split(strings.ReplaceAll(set, "\n", ""), ",") {
		part = strings.TrimSpace(part)
		if !strings.HasPrefix(part, uuid+":") {
			continue
		}
		iv := part[strings.LastIndex(part, ":")+1:]
		if i := strings.LastIndex(iv, "-"); i >= 0 {
			iv = iv[i+1:]
		}
		return uuid + ":" + iv
	}
	return ""
}
