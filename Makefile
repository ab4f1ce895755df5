# orch: see README.md. Every target works from a fresh clone on Debian as root.
SHELL := /bin/bash
export PATH := /usr/local/go/bin:$(HOME)/go/bin:$(PATH)
GO ?= go
DATA_DIR ?= /var/lib/orch
# The release this tree becomes; `git describe` adds where it stands.
RELEASE := v0.2.0-dev
VERSION ?= $(RELEASE)+$(shell git describe --always --dirty --exclude "*" 2>/dev/null || echo unknown)
LDFLAGS := -X main.version=$(VERSION)

# Packages whose tests run under the race detector: the pure cores, the
# master and the agent (whose runtime tests start a private containerd);
# the rest run once without it to keep the suite short.
RACE_PKGS := ./scheduler/... ./master/... ./proto/... ./agent/... ./api/... ./pki/... ./internal/...
# Expanded only when a recipe uses it: `go list` runs for make test alone.
OTHER_PKGS = $(filter-out $(shell $(GO) list $(RACE_PKGS)),$(shell $(GO) list ./...))

.PHONY: all build deps images proto lint test fuzz run stop e2e bench bench-scale clean docs

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/orchd ./cmd/orchd
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/orchctl ./cmd/orchctl

# What make test needs from Debian (containerd, runc, iptables, iproute2,
# chromium), installed when missing.
deps:
	@scripts/deps.sh test

images: images/hello.tar

images/hello.tar: $(wildcard images/hello/*.go images/build/*.go)
	$(GO) run ./images/build -o images/hello.tar

proto:
	@command -v protoc >/dev/null || { echo "protoc missing: apt-get install -y protobuf-compiler"; exit 1; }
	@command -v protoc-gen-go >/dev/null || $(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
	protoc --go_out=. --go_opt=module=github.com/orch-io/orch proto/orch.proto

# The references generated from the code: docs/openapi.json from the API's
# route table, docs/cli.md and docs/orchd.md from the commands' own help.
# `make test` fails while a committed copy is stale; this rewrites them.
docs:
	$(GO) test -count=1 -run 'TestAPIReference|TestCLIReference' ./master/ ./cmd/orchctl/ ./cmd/orchd/ -update

STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

lint:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

# The full suite: lint, unit tests (race for the cores), tests against a
# private containerd, and a short run of every fuzz target.
test: deps images lint
	$(GO) test -race -count=1 -timeout 20m $(RACE_PKGS)
	$(GO) test -count=1 -timeout 20m $(OTHER_PKGS)
	$(MAKE) --no-print-directory fuzz
	# The multi-host suite takes about a minute (the upgrade test builds v0.1.0
	# from git history and upgrades a 3-master cluster): part of the full suite too.
	ORCH_E2E=1 $(GO) test -count=1 -timeout 10m ./e2e/...

# Every fuzz target, briefly: the JSON fast paths (manifest decoding, spec
# building, response rendering) are each held to a standard decoder or
# encoder by one of these (docs/json.md). The budget is a count of inputs,
# not a time: Go's fuzz coordinator fails with "context deadline exceeded"
# when a time budget runs out while a worker is busy (CI saw it twice in a
# row on a loaded machine), and a count has no deadline. FUZZTIME=1m or
# FUZZTIME=1000000x for a longer run.
FUZZTIME ?= 20000x
FUZZ_TARGETS := ./master/manifest/:FuzzParse ./master/manifest/:FuzzNameChecks \
	./master/manifest/:FuzzDecimal ./master/manifest/:FuzzBuildSpec \
	./master/manifest/:FuzzDecodeJSON ./api/:FuzzMarshalMatchesOldEncoder \
	./api/:FuzzReadObjectMatchesDecoder ./master/dispatcher/:FuzzDecodeRegistration \
	./master/dispatcher/:FuzzDecodeStatusReport

fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
	  pkg=$${t%%:*}; name=$${t##*:}; \
	  echo "fuzz $$name ($$pkg, $(FUZZTIME))"; \
	  $(GO) test -run='^$$' -fuzz="^$$name\$$" -fuzztime=$(FUZZTIME) $$pkg; \
	done

run:
	DATA_DIR=$(DATA_DIR) ./scripts/run.sh

stop:
	DATA_DIR=$(DATA_DIR) ./scripts/stop.sh

# The multi-host suite: hosts as network namespaces on this machine, real
# orchd masters and agents in them (e2e/harness). Needs root.
e2e: images
	ORCH_E2E=1 $(GO) test -count=1 -timeout 20m -v ./e2e/...

bench: images
	@scripts/deps.sh bench
	./scripts/bench.sh

# Issue 15's scale run (docs/scale.md): 3 orchd masters, 5,000 hollow
# nodes in 5 zones, 1,000 services of 150 replicas. Heavy: on a shared
# machine run it as flock /tmp/orch-heavy.lock make bench-scale.
# ORCH_SCALE_NODES, _SERVICES and _REPLICAS make it smaller. Records
# bench/results/hollow_BenchmarkScale.json.
bench-scale:
	BENCH_SET=scale BENCH_TIMEOUT=90m ./scripts/bench.sh

clean:
	rm -rf bin images/hello.tar
