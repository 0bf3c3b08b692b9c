# rwsplit: `make demo` runs the demo, `make test` runs every check.
# Both set up what they need first (Docker engine, server images).

# testcontainers settings for this kind of machine (see ../shared/DESIGN.md):
# no Ryuk sidecar, and loopback as the Docker host (inside a container
# testcontainers would otherwise dial the default gateway).
export TESTCONTAINERS_RYUK_DISABLED ?= true
export TESTCONTAINERS_HOST_OVERRIDE ?= 127.0.0.1

GO ?= go

.PHONY: demo test setup images vet unit bench fuzz chaos api

demo: images
	$(GO) run ./examples/demo

# test runs go vet and every test with -race, integration tests included
# (scripts/test.sh: a line per package as it finishes, failing tests' output at
# the end, full log in /tmp/rwsplit-test.log; RWSPLIT_TEST_PKGS picks packages).
test: images
	./scripts/test.sh

# chaos runs the randomized history checker (TestChaos) on MySQL 9.7, MariaDB
# 10.11 and MariaDB 11.8: RWSPLIT_CHAOS_DURATION of load per flavor (default
# 5m here; `make test` runs a 30 s form), faults injected, history checked.
chaos: images
	RWSPLIT_CHAOS_DURATION=$${RWSPLIT_CHAOS_DURATION:-5m} $(GO) test -race -count=1 -v -timeout 60m -run '^TestChaos$$' .

# setup makes sure a Docker engine answers (installing docker.io on Debian as root).
setup:
	./scripts/ensure-docker.sh

# images builds the local server images when absent, in parallel: MySQL 9.7,
# MariaDB 10.11 and MariaDB 11.8 (RWSPLIT_MYSQL_IMAGE / RWSPLIT_MARIADB_IMAGE /
# RWSPLIT_MARIADB118_IMAGE select other images, which are not built unless
# they name one of these local tags).
images: setup
	./scripts/build-images.sh

vet:
	$(GO) vet ./...

# unit runs the tests that need no Docker (integration tests skip outside CI).
unit:
	$(GO) test -race -short ./...

# bench runs the benchmark program (bench/, its own module) and writes
# docs/bench/ (README.md and PNG plots), all from one run: every real-server
# section on MySQL 9.7 and on MariaDB 10.11 (primary + 2 replicas each), then
# read scaling on Group Replication and Galera (3 members each); about 20
# minutes; not part of `make test`. The HAProxy comparison needs haproxy on
# the host (installed from Debian's packages when apt-get is there and we are
# root; skipped with a note otherwise). RWSPLIT_BENCH_FLAGS passes flags
# (cd bench && go run . -h), e.g. -flavors mysql -kinds "" for MySQL alone.
bench: images
	@command -v haproxy >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends haproxy >/dev/null; } || \
		echo "bench: no haproxy; the HAProxy hop will be skipped"
	cd bench && $(GO) run . $(RWSPLIT_BENCH_FLAGS)

# api rewrites api/rwsplit.txt, the checked-in listing of the root package's
# exported API, after a deliberate change to it (TestAPIListing, part of
# `make unit` and `make test`, fails until the listing matches the code).
api:
	RWSPLIT_UPDATE_API=1 $(GO) test -count=1 -run '^TestAPIListing$$' .

fuzz:
	$(GO) test ./internal/sqlclass/ -run '^$$' -fuzz FuzzClassify -fuzztime 2m
	$(GO) test ./internal/gtid/ -run '^$$' -fuzz FuzzDecode -fuzztime 1m
