#!/usr/bin/env bash
# test.sh: go vet, then every test with the race detector, including the
# integration tests against real MySQL and MariaDB clusters. Under CI=true a
# skipped test is a failure: integration tests must really run there.
set -uo pipefail
cd "$(dirname "$0")/.."

GO=${GO:-go}
log=$(mktemp -t rwsplit-test.XXXXXX)
trap 'rm -f "$log"' EXIT

echo "== go vet ./..."
$GO vet ./... || exit 1

echo "== go test -race ./... (full log: -v, summary below)"
# -p 1: one test binary at a time, so that the packages' clusters do not
# compete for the machine's cores (lag would then come from the load).
$GO test -race -count=1 -p 1 -timeout 40m -v ./... >"$log" 2>&1
rc=$?

# Package results and every failure, with its output.
grep -E '^(ok|FAIL|---|panic:|\?)|^\s+--- FAIL|^\s+\S+_test\.go:[0-9]+:' "$log" | grep -v -- '--- PASS' | grep -v -- '--- SKIP' || true
if [ $rc -ne 0 ]; then
  echo "== failing output (last 150 lines of the log)"
  tail -n 150 "$log"
fi

passed=$(grep -cE '^\s*--- PASS' "$log")
failed=$(grep -cE '^\s*--- FAIL' "$log")
skipped=$(grep -cE '^\s*--- SKIP' "$log")
if [ "$skipped" -gt 0 ]; then
  echo "== skipped tests:"
  grep -A2 -E '^\s*--- SKIP' "$log" | head -40
  if [ "${CI:-}" = true ]; then
    echo "CI=true: a test skipped; integration tests must run in CI"
    rc=1
  fi
fi
echo "tests: $passed passed, $failed failed, $skipped skipped"
exit $rc
