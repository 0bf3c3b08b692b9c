#!/usr/bin/env bash
# test.sh: go vet, then every test with the race detector, including the
# integration tests against real MySQL and MariaDB clusters (`make test`; CI
# runs it through .ci/run with CI=true).
#
# What it prints:
#   - one line per package as soon as it finishes:
#       ok|FAIL|no tests  <package>  <seconds>s  (<n> passed, <f> failed, <s> skipped)
#     and under a FAIL line the names of its failing tests;
#   - "... still running <package> (3m0s), last test started: TestX" every
#     minute while a package runs (integration packages take minutes);
#   - at the end: each failing test's own output (subtests included, at most
#     200 lines a test), the output of a package that failed outside any test
#     (build error, TestMain, panic), the skipped tests with their t.Skip
#     message, the counts (every --- PASS/FAIL/SKIP line, subtests included),
#     the wall time and the log's path.
# Under CI=true a skipped test is a failure: integration tests must really run
# there. The exit status is non-zero on any failure.
#
# Environment:
#   RWSPLIT_TEST_LOG   full log (the `go test -v` text, with go vet's output
#                      first), kept after the run; default /tmp/rwsplit-test.log.
#                      The raw `go test -json` stream is kept next to it, as
#                      $RWSPLIT_TEST_LOG.json.
#   RWSPLIT_TEST_PKGS  the packages to test (space-separated go test patterns),
#                      default ./... ; go vet always checks ./...
#   RWSPLIT_TEST_MODULES  the modules under integration/ and examples/ to vet and test after
#                      the root module's packages (space-separated directories,
#                      each with its own go.mod: one per library, see
#                      integration/README.md); default every integration/*/
#                      and examples/*/ (OpenTelemetry, Prometheus) with a go.mod, or none when RWSPLIT_TEST_PKGS is set.
#                      Their packages appear in the same summary.
#   CI                 true: a skipped test fails the run.
#   GO                 the go command, default go.
#
# The summary is made by scripts/testsum/main.go (standard library only, built
# here first), reading `go test -json`.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

GO=${GO:-go}
log=${RWSPLIT_TEST_LOG:-/tmp/rwsplit-test.log}
read -r -a pkgs <<<"${RWSPLIT_TEST_PKGS:-./...}"
[ ${#pkgs[@]} -gt 0 ] || pkgs=(./...)
# mods: the integration modules; ./... of the root module does not reach
# them (a directory with its own go.mod is another module).
mods=()
if [ -n "${RWSPLIT_TEST_MODULES+set}" ]; then
  read -r -a mods <<<"$RWSPLIT_TEST_MODULES"
elif [ -z "${RWSPLIT_TEST_PKGS:-}" ]; then
  for m in integration/*/go.mod examples/*/go.mod; do
    [ -e "$m" ] && mods+=("${m%/go.mod}")
  done
fi
for m in "${mods[@]}"; do
  if [ ! -e "$m/go.mod" ]; then
    echo "RWSPLIT_TEST_MODULES: $m is not a module directory (no go.mod)" >&2
    exit 1
  fi
done
start=$SECONDS

tmp=$(mktemp -d -t rwsplit-test.XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT

# finish prints the verdict, wall time and log path, then exits with $1.
finish() {
  local rc=$1 t=$((SECONDS - start)) verdict=PASS
  [ "$rc" -eq 0 ] || verdict=FAIL
  printf '== %s  wall time %dm%02ds\n' "$verdict" $((t / 60)) $((t % 60))
  if [ -e "$log.json" ]; then
    echo "== full log: $log (raw go test -json: $log.json)"
  else
    echo "== full log: $log"
  fi
  exit "$rc"
}

echo "== full log: $log"
if ! : >"$log"; then
  echo "cannot write the log $log (set RWSPLIT_TEST_LOG)" >&2
  exit 1
fi
rm -f "$log.json"

echo "== building the summariser (scripts/testsum)"
if ! $GO build -o "$tmp/testsum" scripts/testsum/main.go; then
  echo "scripts/testsum/main.go does not build" >&2
  finish 1
fi

echo "== go vet ./..."
echo "== go vet ./..." >>"$log"
$GO vet ./... 2>&1 | tee -a "$log"
if [ "${PIPESTATUS[0]}" -ne 0 ]; then
  echo "go vet failed (above); no tests run"
  finish 1
fi
for m in "${mods[@]}"; do
  echo "== go vet ./... in $m"
  echo "== go vet ./... in $m" >>"$log"
  (cd "$m" && $GO vet ./...) 2>&1 | tee -a "$log"
  if [ "${PIPESTATUS[0]}" -ne 0 ]; then
    echo "go vet failed in $m (above); no tests run"
    finish 1
  fi
done

echo "== go test -race -count=1 -p 1 -timeout 60m ${pkgs[*]}"
echo "== go test -race -count=1 -p 1 -timeout 60m ${pkgs[*]}" >>"$log"
if [ ${#mods[@]} -gt 0 ]; then
  echo "== then the same in each of ${mods[*]} (their packages with tests)"
  echo "== then the same in each of ${mods[*]} (their packages with tests)" >>"$log"
fi
skipflag=()
[ "${CI:-}" = true ] && skipflag=(-fail-on-skip)
# -p 1: one test binary at a time, so that the packages' clusters do not
# compete for the machine's cores (lag would then come from the load); the
# integration modules run one after the other, after the root module.
# go test's stderr (the go command's own errors) goes through testsum too,
# which shows it as it comes and keeps it in the log. The first non-zero
# status of the go test runs is kept in $tmp/gotest.
echo 0 >"$tmp/gotest"
{
  $GO test -json -race -count=1 -p 1 -timeout 60m "${pkgs[@]}" || echo $? >"$tmp/gotest"
  for m in "${mods[@]}"; do
    rc=0
    (
      cd "$m" || exit 1
      # Only the module's packages that have tests: its generated ones (ent,
      # sqlc) would each add a "no tests" line (go vet checked them). If go
      # list fails, go test ./... says why.
      if list=$($GO list -f '{{if or .TestGoFiles .XTestGoFiles}}{{.ImportPath}}{{end}}' ./... 2>/dev/null); then
        read -r -d "" -a tp <<<"$list"
      else
        tp=(./...)
      fi
      [ ${#tp[@]} -gt 0 ] || exit 0
      $GO test -json -race -count=1 -p 1 -timeout 60m "${tp[@]}"
    ) || rc=$?
    if [ "$rc" -ne 0 ] && [ "$(cat "$tmp/gotest")" = 0 ]; then
      echo "$rc" >"$tmp/gotest"
    fi
  done
} 2>&1 | "$tmp/testsum" -log "$log" "${skipflag[@]}"
sum=${PIPESTATUS[1]}
gotest=$(cat "$tmp/gotest")

rc=0
if [ "$sum" -ne 0 ]; then
  rc=1
fi
if [ "$gotest" -ne 0 ] && [ "$sum" -eq 0 ]; then
  # Nothing failed that testsum could see, yet go test did: say so.
  echo "== go test exited with status $gotest but reported no failing test or package: see its messages above and the log"
  rc=1
fi
if [ "$sum" -gt 1 ]; then
  echo "== the summariser failed (status $sum); the log is complete only up to that point"
fi
finish $rc
