//go:build ignore

// testsum reads `go test -json` on stdin (stderr merged in is fine) and prints
// a summary a person can follow while the tests run, then trust at the end:
//
//   - one line per package as soon as it finishes:
//     `ok|FAIL|no tests  <package>  <seconds>s  (<n> passed, <f> failed, <s> skipped)`;
//   - a heartbeat every -heartbeat while a package runs, naming the last test
//     started, so that a long integration package is not silent;
//   - at the end, for each failing test, its own output (subtests included,
//     capped at -max-lines lines), the output of packages that failed outside
//     any test (build failure, TestMain, a panic or race outside a test), the
//     skipped tests with their t.Skip message, and the counts.
//
// Counts are of test results, subtests included: one per `--- PASS/FAIL/SKIP`
// line of `go test -v`. A test that started but never reported a result (the
// binary timed out, panicked elsewhere or exited) counts as "did not finish"
// and is a failure.
//
// -log FILE writes the human-readable text (the `go test -v` output) to FILE,
// appending, and the raw JSON to FILE.json (truncated). Exit status: 0 if all
// went well, 1 if a test or package failed (or, with -fail-on-skip, a test
// skipped).
//
// Standard library only; run by scripts/test.sh.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"time"
)

// event is one line of `go test -json` (cmd/test2json).
type event struct {
	Time        time.Time
	Action      string
	Package     string
	Test        string
	Elapsed     float64
	Output      string
	ImportPath  string // build-output, build-fail
	FailedBuild string
}

type test struct {
	name    string
	order   int
	started bool     // a "run" event: it reported === RUN
	result  string   // "", "pass", "fail", "skip"
	output  []string // its own output events, in order (fragments as emitted)
}

type pkg struct {
	name       string
	start      time.Time // when its first event arrived here
	nextBeat   time.Time
	lastRun    string // last test started
	tests      map[string]*test
	order      []*test
	lines      []outLine // every output event, to rebuild a test's output with its subtests
	own        []string  // package-level output (no test)
	pass, fail int
	skip       int
}

type outLine struct {
	test string
	text string
}

type report struct {
	title string
	lines []string
}

type skipped struct{ pkg, test, why string }

var (
	logPath    = flag.String("log", "", "write the text log to `file` (appending) and the raw JSON to file.json")
	heartbeat  = flag.Duration("heartbeat", 60*time.Second, "print a progress line this often while a package runs")
	maxLines   = flag.Int("max-lines", 200, "at most this many output lines per failing test")
	failOnSkip = flag.Bool("fail-on-skip", false, "a skipped test is a failure (CI)")
)

var (
	out     = bufio.NewWriter(os.Stdout)
	textLog = bufio.NewWriter(io.Discard)
	jsonLog = bufio.NewWriter(io.Discard)
	running = map[string]*pkg{}
	builds  = map[string][]string{} // ImportPath -> build output
	// buildShown: ImportPath of a failed build -> the package whose report
	// shows its output.
	buildShown = map[string]string{}
	reports    []report
	skips      []skipped
	stray      []string // lines that were not JSON (go command errors)
	nPass      int
	nFail      int
	nSkip      int
	nUnfin     int
	pkgsOK     int
	pkgsFail   int
	pkgsNone   int
	lastSeen   = time.Now()
	// closeLogs flushes and closes the logs; exit calls it (os.Exit runs no
	// deferred calls).
	closeLogs = func() {}
)

func main() {
	flag.Parse()
	if *logPath != "" {
		t, err := os.OpenFile(*logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			fatal(err)
		}
		j, err := os.Create(*logPath + ".json")
		if err != nil {
			fatal(err)
		}
		textLog, jsonLog = bufio.NewWriter(t), bufio.NewWriter(j)
		closeLogs = func() {
			for _, err := range []error{textLog.Flush(), jsonLog.Flush(), t.Close(), j.Close()} {
				if err != nil {
					fmt.Fprintln(os.Stderr, "testsum: writing the log:", err)
				}
			}
		}
	}

	// An interrupt reaches go test as well: keep reading until it has exited,
	// then summarise. A second interrupt stops at once.
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)

	lines := make(chan []byte, 1024)
	go func() {
		r := bufio.NewReaderSize(os.Stdin, 1<<16)
		for {
			b, err := r.ReadBytes('\n')
			if len(b) > 0 {
				lines <- b
			}
			if err != nil {
				close(lines)
				return
			}
		}
	}()

	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	interrupted := false
loop:
	for {
		select {
		case b, ok := <-lines:
			if !ok {
				break loop
			}
			jsonLog.Write(b)
			handle(b)
		case now := <-tick.C:
			beat(now)
		case <-sig:
			if interrupted {
				exit(130)
			}
			interrupted = true
			say("... interrupted: waiting for go test to stop (interrupt again to quit at once)")
		}
		if len(lines) == 0 { // keep the screen and the log current (tail -f)
			out.Flush()
			textLog.Flush()
			jsonLog.Flush()
		}
	}

	// Packages still running when the stream ended: go test was killed.
	var left []string
	for name := range running {
		left = append(left, name)
	}
	sort.Strings(left)
	for _, name := range left {
		finish(running[name], "fail", -1, "", "go test stopped before this package finished")
	}
	exit(summary())
}

func exit(code int) {
	out.Flush()
	closeLogs()
	os.Exit(code)
}

func handle(b []byte) {
	lastSeen = time.Now()
	var e event
	if len(b) == 0 || b[0] != '{' || json.Unmarshal(b, &e) != nil || e.Action == "" {
		// Not test2json: the go command's own messages (stderr). Show them now.
		s := strings.TrimRight(string(b), "\n")
		io.WriteString(textLog, s+"\n")
		stray = append(stray, s)
		say(s)
		return
	}
	if e.Output != "" {
		io.WriteString(textLog, e.Output)
	}
	switch e.Action {
	case "build-output":
		builds[e.ImportPath] = append(builds[e.ImportPath], e.Output)
		return
	case "build-fail":
		return
	}
	if e.Package == "" {
		return
	}
	p := running[e.Package]
	if p == nil {
		now := time.Now()
		p = &pkg{name: e.Package, start: now, nextBeat: now.Add(*heartbeat), tests: map[string]*test{}}
		running[e.Package] = p
	}
	if e.Test == "" {
		switch e.Action {
		case "output":
			p.own = append(p.own, e.Output)
		case "pass", "fail", "skip":
			finish(p, e.Action, e.Elapsed, e.FailedBuild, "")
		}
		return
	}
	t := p.tests[e.Test]
	if t == nil {
		t = &test{name: e.Test, order: len(p.order)}
		p.tests[e.Test] = t
		p.order = append(p.order, t)
	}
	switch e.Action {
	case "run":
		t.started = true
		p.lastRun = e.Test
	case "output":
		t.output = append(t.output, e.Output)
		p.lines = append(p.lines, outLine{e.Test, e.Output})
	case "pass", "fail", "skip":
		t.result = e.Action
		switch e.Action {
		case "pass":
			p.pass++
		case "fail":
			p.fail++
		case "skip":
			p.skip++
			skips = append(skips, skipped{p.name, t.name, skipReason(t.output)})
		}
	}
}

// beat prints a progress line for each package running for another period,
// and one when nothing at all has happened for a period (building).
func beat(now time.Time) {
	for _, p := range running {
		if now.Before(p.nextBeat) {
			continue
		}
		p.nextBeat = p.nextBeat.Add(*heartbeat)
		last := "none yet (package setup or TestMain)"
		if p.lastRun != "" {
			last = p.lastRun
		}
		say(fmt.Sprintf("... still running %s (%s), last test started: %s",
			p.name, now.Sub(p.start).Round(time.Second), last))
	}
	if len(running) == 0 && now.Sub(lastSeen) >= *heartbeat {
		say(fmt.Sprintf("... go test is still building or starting the next package (%s since its last output)",
			now.Sub(lastSeen).Round(time.Second)))
		lastSeen = now
	}
}

var frame = regexp.MustCompile(`^\s*(=== (RUN|PAUSE|CONT|NAME)|--- (PASS|FAIL|SKIP):)`)
var logLine = regexp.MustCompile(`^\s+\S+:\d+: `)

// skipReason is the last message the test logged before --- SKIP: the t.Skip
// message, with its continuation lines.
func skipReason(output []string) string {
	var msg []string
	for i := len(output) - 1; i >= 0 && len(msg) < 5; i-- {
		s := strings.TrimRight(output[i], "\n")
		if frame.MatchString(s) || strings.TrimSpace(s) == "" {
			if len(msg) > 0 {
				break
			}
			continue
		}
		msg = append([]string{strings.TrimSpace(s)}, msg...)
		if logLine.MatchString(s) {
			break
		}
	}
	if len(msg) == 0 {
		return "(no message)"
	}
	return strings.Join(msg, " / ")
}

func finish(p *pkg, action string, elapsed float64, failedBuild, why string) {
	delete(running, p.name)
	status := map[string]string{"pass": "ok", "fail": "FAIL", "skip": "no tests"}[action]
	if action == "pass" && p.pass+p.fail+p.skip == 0 {
		status = "no tests"
	}
	// Tests that started and never reported a result: the binary died under
	// them (timeout, panic elsewhere, a signal, os.Exit).
	unfinished := map[string]bool{}
	for _, t := range p.order {
		if t.started && t.result == "" {
			unfinished[t.name] = true
		}
	}
	nUnfin += len(unfinished)
	if len(unfinished) > 0 {
		status = "FAIL"
	}
	nPass += p.pass
	nFail += p.fail
	nSkip += p.skip
	switch status {
	case "ok":
		pkgsOK++
	case "FAIL":
		pkgsFail++
	default:
		pkgsNone++
	}

	secs := "?"
	if elapsed >= 0 {
		secs = fmt.Sprintf("%.1f", elapsed)
	}
	line := fmt.Sprintf("%-8s  %s  %ss  (%d passed, %d failed, %d skipped", status, p.name, secs, p.pass, p.fail, p.skip)
	if len(unfinished) > 0 {
		line += fmt.Sprintf(", %d did not finish", len(unfinished))
	}
	line += ")"
	if failedBuild != "" {
		line += "  build failed"
	}
	if why != "" {
		line += "  " + why
	}
	say(line)
	if status != "FAIL" {
		return
	}

	// The tests to show: failed or unfinished, whose parent is neither
	// (a parent's output includes its subtests').
	bad := func(name string) bool {
		t := p.tests[name]
		return t != nil && (t.result == "fail" || unfinished[name])
	}
	shown := 0
	for _, t := range p.order {
		if !bad(t.name) || badAncestor(t.name, bad) {
			continue
		}
		shown++
		verdict, note := "FAIL", ""
		if unfinished[t.name] {
			verdict, note = "DID NOT FINISH", "  (timeout, panic, signal or exit: its output is at the end)"
		}
		say(fmt.Sprintf("          --- %s: %s%s", verdict, t.name, note))
		var lines []string
		for _, l := range p.lines {
			if l.test == t.name || strings.HasPrefix(l.test, t.name+"/") {
				lines = append(lines, l.text)
			}
		}
		reports = append(reports, report{fmt.Sprintf("%s  %s  %s", verdict, p.name, t.name), lines})
	}
	// Output outside any test: build errors, TestMain, a panic or data race
	// after the tests, os.Exit. Drop go test's own closing line.
	var own []string
	for _, s := range p.own {
		if t := strings.TrimSpace(s); t == "FAIL" || strings.HasPrefix(s, "FAIL\t"+p.name) || strings.HasPrefix(s, "ok  \t") {
			continue
		}
		own = append(own, s)
	}
	if failedBuild != "" {
		// The build that failed may be a dependency that several packages share:
		// show its errors once.
		if by, seen := buildShown[failedBuild]; seen {
			own = append([]string{fmt.Sprintf("(%s does not build: its errors are under %s)\n", failedBuild, by)}, own...)
		} else {
			own = append(append([]string{}, builds[failedBuild]...), own...)
			buildShown[failedBuild] = p.name
		}
	}
	if len(own) > 0 || shown == 0 {
		title := fmt.Sprintf("package %s: output outside any test", p.name)
		if failedBuild != "" {
			title = fmt.Sprintf("package %s: build failed", p.name)
		}
		if len(own) == 0 {
			own = []string{"(no output: the test binary failed without saying why; see the log)\n"}
		}
		reports = append(reports, report{title, own})
	}
}

func badAncestor(name string, bad func(string) bool) bool {
	for i := strings.LastIndex(name, "/"); i > 0; i = strings.LastIndex(name[:i], "/") {
		if bad(name[:i]) {
			return true
		}
	}
	return false
}

func summary() int {
	failed := pkgsFail > 0 || nFail > 0 || nUnfin > 0
	// Build failures of packages that never reported (e.g. a dependency).
	var orphans []string
	for ip := range builds {
		if _, seen := buildShown[ip]; !seen {
			orphans = append(orphans, ip)
		}
	}
	sort.Strings(orphans)
	for _, ip := range orphans {
		reports = append(reports, report{"build of " + ip, builds[ip]})
		failed = true
	}
	if len(reports) > 0 {
		say("")
		say(fmt.Sprintf("== failures: each failing test's own output, subtests included (at most %d lines each)", *maxLines))
		for _, r := range reports {
			say("")
			say("---- " + r.title)
			for _, l := range capLines(r.lines) {
				say(strings.TrimRight(l, "\n"))
			}
		}
	}
	if len(stray) > 0 && (failed || len(running) > 0) {
		say("")
		say("== messages from the go command (not from a test):")
		for _, s := range stray {
			say("  " + s)
		}
	}
	if len(skips) > 0 {
		say("")
		say(fmt.Sprintf("== skipped tests (%d): test: t.Skip message", len(skips)))
		for i, s := range skips {
			if i == 200 {
				say(fmt.Sprintf("  ... and %d more (see the log)", len(skips)-i))
				break
			}
			say(fmt.Sprintf("  %s  %s: %s", s.pkg, s.test, s.why))
		}
	}
	say("")
	line := fmt.Sprintf("== tests: %d passed, %d failed, %d skipped", nPass, nFail, nSkip)
	if nUnfin > 0 {
		line += fmt.Sprintf(", %d did not finish", nUnfin)
	}
	say(line + fmt.Sprintf(" (subtests included); packages: %d ok, %d FAIL, %d with no tests", pkgsOK, pkgsFail, pkgsNone))
	if *failOnSkip && nSkip > 0 {
		say(fmt.Sprintf("== CI=true: %d tests skipped (listed above); integration tests must run in CI", nSkip))
		failed = true
	}
	out.Flush()
	if failed {
		return 1
	}
	return 0
}

// capLines keeps at most maxLines lines. If there are more, it keeps the
// start, and either the end (where a test says why it failed) or, when the
// test panicked, the lines around the first panic.
func capLines(lines []string) []string {
	lines = joinFragments(lines)
	n := *maxLines
	if len(lines) <= n {
		return lines
	}
	head := n / 4
	tailFrom := len(lines) - (n - head)
	for i, l := range lines {
		if strings.HasPrefix(l, "panic: ") || strings.HasPrefix(l, "fatal error: ") || strings.HasPrefix(l, "WARNING: DATA RACE") {
			if i >= head && i < tailFrom {
				tailFrom = i - 10
				if tailFrom < head {
					tailFrom = head
				}
			}
			break
		}
	}
	tailTo := tailFrom + (n - head)
	var res []string
	res = append(res, lines[:head]...)
	if tailFrom > head {
		res = append(res, fmt.Sprintf("    [... %d lines omitted: see the log ...]\n", tailFrom-head))
	}
	res = append(res, lines[tailFrom:tailTo]...)
	if tailTo < len(lines) {
		res = append(res, fmt.Sprintf("    [... %d more lines: see the log ...]\n", len(lines)-tailTo))
	}
	return res
}

// joinFragments rejoins output events that test2json split inside a line.
func joinFragments(in []string) []string {
	var res []string
	var cur strings.Builder
	for _, s := range in {
		cur.WriteString(s)
		if strings.HasSuffix(s, "\n") {
			res = append(res, cur.String())
			cur.Reset()
		}
	}
	if cur.Len() > 0 {
		res = append(res, cur.String())
	}
	return res
}

func say(s string) {
	out.WriteString(s + "\n")
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "testsum:", err)
	os.Exit(2)
}
