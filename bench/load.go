package main

import (
	"context"
	"database/sql"
	"fmt"
	"log"
	"net"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"gorm.io/driver/mysql"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
	"gorm.io/plugin/dbresolver"

	"github.com/rwsplit/rwsplit"
	"github.com/rwsplit/rwsplit/rwsplittest"
)

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func netDial(addr string) (net.Conn, error) { return net.DialTimeout("tcp", addr, time.Second) }

// ------------------------------------------------------------------ GORM

// Bench is the benchmark table's row for GORM.
type Bench struct {
	ID int `gorm:"primaryKey"`
	V  int64
}

// TableName is the benchmark table.
func (Bench) TableName() string { return "bench" }

func gormBench(ctx context.Context, o *out, cl *rwsplittest.Cluster) string {
	r1 := cl.Replicas[0]
	cfg := &gorm.Config{SkipDefaultTransaction: true, Logger: logger.Discard}
	plain, err := gorm.Open(mysql.Open(r1.DSN()), cfg)
	if err != nil {
		log.Fatal(err)
	}
	resolver, err := gorm.Open(mysql.Open(cl.Primary.DSN()), cfg)
	if err != nil {
		log.Fatal(err)
	}
	if err := resolver.Use(dbresolver.Register(dbresolver.Config{Replicas: []gorm.Dialector{mysql.Open(r1.DSN())}})); err != nil {
		log.Fatal(err)
	}
	db, err := rwsplit.Open("mysql", cl.Primary.DSN(), []string{r1.DSN()})
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	conn := sql.OpenDB(db.Connector())
	defer conn.Close()
	overRW, err := gorm.Open(mysql.New(mysql.Config{Conn: conn}), cfg)
	if err != nil {
		log.Fatal(err)
	}
	first := func(g *gorm.DB) func(ctx context.Context, i int) error {
		return func(ctx context.Context, i int) error {
			var b Bench
			return g.WithContext(ctx).First(&b, i%rows+1).Error
		}
	}
	vs := []variant{
		{"gorm", first(plain)},
		{"dbresolver", first(resolver)},
		{"rwsplit", first(overRW)},
	}
	for _, v := range vs {
		for i := 0; i < 50; i++ {
			if err := v.op(ctx, i); err != nil {
				log.Fatalf("%s: %v", v.name, err)
			}
		}
	}
	res, err := interleave(ctx, *rounds, *perRound, vs)
	if err != nil {
		log.Fatal(err)
	}
	for _, g := range []*gorm.DB{plain, resolver} {
		if s, err := g.DB(); err == nil {
			s.Close()
		}
	}
	var s strings.Builder
	fmt.Fprintf(&s, "## GORM: dbresolver against rwsplit's Connector\n\n")
	fmt.Fprintf(&s, "`First(&row, id)` (a point SELECT by primary key) through GORM v1.31 and gorm.io/driver/mysql, on the same replica: "+
		"GORM over a plain connection to the replica; GORM with `gorm.io/plugin/dbresolver` (primary + that replica); "+
		"GORM over `sql.OpenDB(rwsplitDB.Connector())` (primary + that replica). `SkipDefaultTransaction`, logger off. "+
		"%d rounds × %d calls, interleaved call by call.\n\n", *rounds, *perRound)
	fmt.Fprintf(&s, "| GORM over | latency p50 | added to plain GORM | ratio to plain GORM | middle half of rounds |\n|---|---|---|---|---|\n")
	names := map[string]string{"gorm": "the replica directly", "dbresolver": "dbresolver", "rwsplit": "rwsplit's Connector"}
	for _, v := range vs {
		fmt.Fprintf(&s, "| %s | %s | %s | %.3f× | %s |\n", names[v.name], us(median(res[v.name])), us(diff(res[v.name], res["gorm"])), ratio(res[v.name], res["gorm"]), spread(res[v.name], res["gorm"]))
	}
	fmt.Fprintf(&s, "\nrwsplit's Connector against dbresolver: %.3f× (middle half of rounds %s).\n\n", ratio(res["rwsplit"], res["dbresolver"]), spread(res["rwsplit"], res["dbresolver"]))
	return s.String()
}

// ----------------------------------------------------------- read scaling

// containerID finds the container that publishes the node's port.
func containerID(n *rwsplittest.Node) (string, error) {
	b, err := exec.Command("docker", "ps", "--format", "{{.ID}} {{.Ports}}").Output()
	if err != nil {
		return "", err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, fmt.Sprintf(":%d->", n.Port)) {
			return strings.Fields(l)[0], nil
		}
	}
	return "", fmt.Errorf("no container publishes port %d", n.Port)
}

func setCPUs(nodes []*rwsplittest.Node, cpus string) error {
	for _, n := range nodes {
		id, err := containerID(n)
		if err != nil {
			return err
		}
		if out, err := exec.Command("docker", "update", "--cpus", cpus, id).CombinedOutput(); err != nil {
			return fmt.Errorf("docker update --cpus %s %s: %v: %s", cpus, id, err, out)
		}
	}
	return nil
}

const scaleCPUs = "0.1"

func scale(ctx context.Context, o *out, cl *rwsplittest.Cluster) string {
	nodes := cl.Nodes()
	quota := true
	if err := setCPUs(nodes, scaleCPUs); err != nil {
		o.note("read scaling without a CPU quota: %v", err)
		quota = false
	} else {
		defer func() {
			// --cpus 0 would leave the quota as it is: lift it by
			// granting every CPU.
			if err := setCPUs(nodes, fmt.Sprint(runtime.NumCPU())); err != nil {
				log.Print(err)
			}
		}()
	}
	var dbs []*rwsplit.DB
	for n := 0; n <= 2; n++ {
		db, err := rwsplit.Open("mysql", cl.Primary.DSN(), cl.ReplicaDSNs()[:n])
		if err != nil {
			log.Fatal(err)
		}
		db.SetMaxOpenConns(32)
		defer db.Close()
		dbs = append(dbs, db)
	}
	// The same 2 replicas under RoundRobin, to show what the default
	// (LeastInFlight) avoids.
	rr, err := rwsplit.Open("mysql", cl.Primary.DSN(), cl.ReplicaDSNs(), rwsplit.WithBalancer(rwsplit.RoundRobin()))
	if err != nil {
		log.Fatal(err)
	}
	rr.SetMaxOpenConns(32)
	defer rr.Close()
	raws := []*sql.DB{open(cl.Primary.DSN())}
	for _, dsn := range cl.ReplicaDSNs() {
		raws = append(raws, open(dsn))
	}
	for _, r := range raws {
		r.SetMaxOpenConns(32)
		defer r.Close()
	}
	const workers = 32
	per := 2 * time.Second
	srounds := 10
	// configs 0..2: rwsplit with n replicas; 3..5: raw pools (the primary
	// alone, replica1, replica1+replica2), goroutine w on pool w%len; 6:
	// rwsplit with 2 replicas under RoundRobin.
	const configs = 7
	tput := make([][]float64, configs)
	before, readsBefore := dbs[2].Stats(), replicaReads(dbs[2])
	for r := 0; r < srounds; r++ {
		for k := 0; k < configs; k++ {
			cfg := (k + r) % configs
			var reads []func(ctx context.Context, i int) error
			if cfg == 6 {
				reads = append(reads, pointRead(rr))
			} else if cfg < 3 {
				reads = append(reads, pointRead(dbs[cfg]))
			} else if n := cfg - 3; n == 0 {
				reads = append(reads, pointRead(raws[0]))
			} else {
				for _, p := range raws[1 : 1+n] {
					reads = append(reads, pointRead(p))
				}
			}
			var calls atomic.Uint64
			var wg sync.WaitGroup
			end := time.Now().Add(per)
			t := time.Now()
			for w := 0; w < workers; w++ {
				wg.Add(1)
				go func(w int) {
					defer wg.Done()
					read := reads[w%len(reads)]
					for i := w; time.Now().Before(end); i += workers {
						if err := read(ctx, i); err != nil {
							log.Print(err)
							return
						}
						calls.Add(1)
					}
				}(w)
			}
			wg.Wait()
			tput[cfg] = append(tput[cfg], float64(calls.Load())/time.Since(t).Seconds())
		}
	}
	after, readsAfter := dbs[2].Stats(), replicaReads(dbs[2])
	var s strings.Builder
	// On a cluster kind, the "replicas" are the members besides the
	// writer, which rwsplit reads from once it has detected the kind.
	what := "replicas"
	if cl.Kind != rwsplittest.Async && cl.Kind != "" {
		what = "non-writer members"
	}
	fmt.Fprintf(&s, "## Read throughput with 0, 1 and 2 %s\n\n", what)
	if quota {
		fmt.Fprintf(&s, "Every server container is given the same CPU quota (`docker update --cpus %s`), so that the servers, "+
			"not the shared %d-CPU host, should bound the throughput and each stand in for a separate host. ", scaleCPUs, runtime.NumCPU())
	}
	fmt.Fprintf(&s, "%d goroutines issue point SELECTs for %v per configuration, the %d configurations interleaved, %d rounds: "+
		"through `*rwsplit.DB` (Eventual; with 0 %[5]s the reads go to the primary), and, as a control for what "+
		"this host can give, through raw `*sql.DB` pools (the primary alone, or the goroutines split evenly over the %[5]s' pools). "+
		"rwsplit uses its default balancer, LeastInFlight; the last row is the same 2 %[5]s under RoundRobin.\n\n",
		workers, per, configs, srounds, what)
	fmt.Fprintf(&s, "| %s | rwsplit reads/s | rwsplit ratio to primary-only | raw pools reads/s | raw ratio to primary-only |\n|---|---|---|---|---|\n", what)
	rat := func(a, b []float64) float64 {
		var rs []float64
		for i := range a {
			if i < len(b) && b[i] > 0 {
				rs = append(rs, a[i]/b[i])
			}
		}
		return medianF(rs)
	}
	for n := 0; n <= 2; n++ {
		fmt.Fprintf(&s, "| %d | %.0f | %.2f× | %.0f | %.2f× |\n", n, medianF(tput[n]), rat(tput[n], tput[0]), medianF(tput[3+n]), rat(tput[3+n], tput[3]))
	}
	fmt.Fprintf(&s, "| 2, RoundRobin | %.0f | %.2f× | | |\n", medianF(tput[6]), rat(tput[6], tput[0]))
	var spreadTo []string
	for i := range readsAfter {
		spreadTo = append(spreadTo, fmt.Sprint(readsAfter[i]-readsBefore[i]))
	}
	fmt.Fprintf(&s, "\nWhere the 2-replica rwsplit reads went (`Health().Reads` and `Stats()` deltas over its runs): replicas %s, primary %d "+
		"(no usable replica: %d), hedged %d (won %d), retried %d.\n", strings.Join(spreadTo, " / "), after.PrimaryReads-before.PrimaryReads,
		after.NoReplica-before.NoReplica, after.Hedges-before.Hedges, after.HedgeWins-before.HedgeWins, after.Retries-before.Retries)
	plot := plotFile(cl, "scaling")
	writePlot(o, plot, func(path string) error { return scalingPlot(tput, path) })
	fmt.Fprintf(&s, "\n![read throughput against replicas](%s)\n", plot)
	r2 := rat(tput[2], tput[0])
	fmt.Fprintf(&s, "\nTarget \"read throughput with 2 %s ≥ 1.8× primary-only\": %.2f×: %s (raw pools on this host: %.2f×; "+
		"RoundRobin: %.2f×).\n\n", what, r2, met(r2 >= 1.8), rat(tput[5], tput[3]), rat(tput[6], tput[0]))
	if what == "replicas" {
		s.WriteString("Why RoundRobin falls short: each of the 32 goroutines sends its next read to the next replica in turn, " +
			"whatever that replica is doing. A container under a CPU quota runs in bursts; while one is stalled, half of the " +
			"new reads still go to it, until nearly every goroutine waits there and the other replica idles. LeastInFlight sends " +
			"each read to the replica with fewer calls running, so the stalled one stops getting new reads.\n\n")
	}
	return s.String()
}

// ------------------------------------------------------------------ modes

type modeResult struct {
	name                             string
	lat                              []time.Duration
	reads, stale, fallbacks, primary uint64
	errs                             uint64
	excess                           []time.Duration // write start to read end
	apply                            []time.Duration // write end to visible on a replica (the prober)
}

// delayReplicas delays every replica of cl by d (SOURCE_DELAY /
// MASTER_DELAY) and returns the function that lifts the delay.
func delayReplicas(ctx context.Context, cl *rwsplittest.Cluster, d time.Duration) (restore func()) {
	for _, r := range cl.Replicas {
		if err := r.SetDelay(ctx, d); err != nil {
			log.Fatal(err)
		}
	}
	return func() {
		for _, r := range cl.Replicas {
			if err := r.SetDelay(context.Background(), 0); err != nil {
				log.Print(err)
			}
		}
	}
}

func modes(ctx context.Context, o *out, cl *rwsplittest.Cluster) string {
	d := *delay
	defer delayReplicas(ctx, cl, d)()
	db, err := rwsplit.Open("mysql", oneTripDSN(cl.Primary), oneTripDSNs(cl), rwsplit.WithMonitorInterval(250*time.Millisecond))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	primary := open(cl.Primary.DSN())
	defer primary.Close()
	var replicas []*sql.DB
	for _, dsn := range cl.ReplicaDSNs() {
		r := open(dsn)
		defer r.Close()
		replicas = append(replicas, r)
	}

	// Background write load: ~100 writes/s on the primary, on rows the
	// readers do not use.
	stop := make(chan struct{})
	var bg sync.WaitGroup
	bg.Add(1)
	go func() {
		defer bg.Done()
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-t.C:
			}
			if _, err := primary.ExecContext(ctx, "UPDATE bench SET v = v + 1 WHERE id = ?", 500+i%400); err != nil {
				log.Print(err)
			}
		}
	}()
	defer func() { close(stop); bg.Wait() }()
	time.Sleep(2 * d) // let the delay and the load settle

	timeout := 2*d + time.Second
	ms := []rwsplit.Consistency{
		rwsplit.Eventual,
		rwsplit.Primary,
		rwsplit.Sleep(d + 100*time.Millisecond),
		rwsplit.CaughtUp(timeout),
		rwsplit.WaitPosition(timeout),
		rwsplit.WaitGTID(timeout),
		rwsplit.Fast,
		rwsplit.Latest(timeout),
		rwsplit.Monotonic(timeout),
		rwsplit.MaxStaleness(2 * d),
	}
	const workers = 16
	var modeData []modeResult
	for _, m := range ms {
		log.Printf("mode %v", m)
		before := db.Stats()
		res := modeResult{name: m.String()}
		var mu sync.Mutex
		var wg sync.WaitGroup
		end := time.Now().Add(*modeDur)
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				id := 1 + w
				sess := rwsplit.NewSession(rwsplit.Token{})
				c := rwsplit.WithSession(ctx, sess)
				rc := rwsplit.WithConsistency(c, m)
				var v int64
				// the row's current value, from the primary (not through db,
				// so that its Stats count only the timed reads)
				if err := primary.QueryRowContext(ctx, "SELECT v FROM bench WHERE id = ?", id).Scan(&v); err != nil {
					log.Print(err)
					return
				}
				for time.Now().Before(end) {
					v++
					wt := time.Now()
					if _, err := db.ExecContext(c, "UPDATE bench SET v = ? WHERE id = ?", v, id); err != nil {
						log.Print(err)
						return
					}
					t := time.Now()
					var got int64
					err := db.QueryRowContext(rc, "SELECT v FROM bench WHERE id = ?", id).Scan(&got)
					l := time.Since(t)
					mu.Lock()
					if err != nil {
						res.errs++
					} else {
						res.reads++
						res.lat = append(res.lat, l)
						if got < v {
							res.stale++
						}
						res.excess = append(res.excess, time.Since(wt))
					}
					mu.Unlock()
				}
			}(w)
		}
		// The prober: how long after a write's commit a replica shows it.
		wg.Add(1)
		go func() {
			defer wg.Done()
			const id = 950
			var v int64
			if err := primary.QueryRowContext(ctx, "SELECT v FROM bench WHERE id = ?", id).Scan(&v); err != nil {
				log.Print(err)
				return
			}
			for time.Now().Before(end) {
				v++
				if _, err := primary.ExecContext(ctx, "UPDATE bench SET v = ? WHERE id = ?", v, id); err != nil {
					log.Print(err)
					return
				}
				t := time.Now()
				for _, r := range replicas {
					for time.Since(t) < 10*time.Second {
						var got int64
						if err := r.QueryRowContext(ctx, "SELECT v FROM bench WHERE id = ?", id).Scan(&got); err != nil {
							log.Print(err)
							return
						}
						if got >= v {
							mu.Lock()
							res.apply = append(res.apply, time.Since(t))
							mu.Unlock()
							break
						}
						time.Sleep(5 * time.Millisecond)
					}
				}
			}
		}()
		wg.Wait()
		after := db.Stats()
		res.fallbacks = after.Fallbacks - before.Fallbacks
		res.primary = after.PrimaryReads - before.PrimaryReads
		modeData = append(modeData, res)
	}
	var s strings.Builder
	fmt.Fprintf(&s, "## Consistency modes under a write load with lagging replicas\n\n")
	fmt.Fprintf(&s, "Both replicas delayed by %v (`SOURCE_DELAY`/`MASTER_DELAY`, which take whole seconds), a background load of ~100 writes/s "+
		"on the primary, and %d goroutines, each with its own Session and its own row, looping for %v per mode: write the row "+
		"(`UPDATE ... SET v = <next>`), then read it back under the mode; only the read is timed. A read is stale when it returns an older value "+
		"than the one just written. Fallbacks and primary reads are `Stats()` deltas (the primary-read share counts every read the primary served, "+
		"fallbacks included). `*rwsplit.DB` with 2 replicas (DSNs allowing one-round-trip waits), monitor interval 250 ms; waiting modes' timeout %v.\n\n", d, workers, *modeDur, timeout)
	fmt.Fprintf(&s, "| mode | reads | p50 | p99 | stale | fallback | served by primary | write→read p50 | replica applied after, p50 | excess wait ≈, p50 | errors |\n|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range modeData {
		n := float64(max(r.reads, 1))
		wr, ap := quantile(r.excess, 0.5), quantile(r.apply, 0.5)
		ex := "–"
		// an estimate only for reads that waited and were served by a
		// replica with the write
		if wr > ap/2 && 2*r.fallbacks < r.reads && 2*r.stale < r.reads {
			ex = msf(wr - ap)
		}
		fmt.Fprintf(&s, "| %s | %d | %s | %s | %.1f%% | %.1f%% | %.1f%% | %s | %s | %s | %d |\n", r.name, r.reads,
			msf(quantile(r.lat, 0.5)), msf(quantile(r.lat, 0.99)), 100*float64(r.stale)/n, 100*float64(r.fallbacks)/n,
			100*float64(r.primary)/n, msf(wr), msf(ap), ex, r.errs)
	}
	plot := plotFile(cl, "modes-cdf")
	writePlot(o, plot, func(path string) error { return modesCDF(modeData, path) })
	fmt.Fprintf(&s, "\n![read latency CDF per mode](%s)\n", plot)
	fmt.Fprintf(&s, "\n\"write→read\" is the time from the write's start to the read's end. \"Replica applied after\" is measured at the same "+
		"time by a prober that writes its own row on the primary and polls both replicas every 5 ms until each shows it (the effective lag, "+
		"which with `SOURCE_DELAY` of whole seconds and a loaded host is more than the delay). \"Excess wait ≈\" is the difference of the two "+
		"medians, for modes whose reads waited: an estimate of the time waited beyond the moment the replica applied the write (physical "+
		"limit 0), within about the probe's 5 ms and the noise between medians of different samples.\n\n")
	return s.String()
}

func msf(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/1e6) }

// replicaReads returns the reads each of db's replicas served, in order.
func replicaReads(db *rwsplit.DB) []uint64 {
	var n []uint64
	for _, s := range db.Servers() {
		if s.Index() >= 0 {
			n = append(n, s.Health().Reads)
		}
	}
	return n
}
