# vigil — see README.md. `make run` starts vigil on this machine; `make test` runs everything.
SHELL := /bin/bash
GO ?= go
# The Helm SDK reaches Go's plugin package through kustomize; linked together with the
# log engine's prebuilt zstd archive that fails ("can not be used when making a PDE
# object"). vigil loads no kustomize plugins, so leave that support out of every build.
export GOFLAGS += -tags=kustomize_disable_go_plugin_support
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X vigil/internal/version.Version=$(VERSION) -X vigil/internal/version.Commit=$(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
WEB_SRC := $(shell find web/src web/index.html web/package.json web/vite.config.ts web/tsconfig.json -type f 2>/dev/null)
CLUSTER_DIR ?= /tmp/vigil-cluster
TEST_TIMEOUT ?= 45m

.PHONY: all build web run test test-unit test-e2e bench fuzz cluster-build cluster-up cluster-down clean

all: build

build: bin/vigil

web/node_modules/.package-lock.json: web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund

web/dist/index.html: web/node_modules/.package-lock.json $(WEB_SRC)
	cd web && npm run build

web: web/dist/index.html

bin/vigil: web/dist/index.html $(shell find cmd internal web -name '*.go' 2>/dev/null) go.mod go.sum
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $@ ./cmd/vigil

# vigil on its embedded defaults, watching this machine: UI on http://localhost:8080
run: bin/vigil
	./bin/vigil up

cluster-build:
	test/cluster/build.sh

cluster-up: cluster-build
	$(GO) run ./test/cluster/cmd/cluster up --dir $(CLUSTER_DIR)

cluster-down:
	$(GO) run ./test/cluster/cmd/cluster down --dir $(CLUSTER_DIR)

# The whole suite: unit tests, fuzz seed corpora, the real test cluster, end-to-end tests in Chromium.
test: web cluster-build bin/vigil
	VIGIL_BIN=$(CURDIR)/bin/vigil $(GO) test -count=1 -timeout $(TEST_TIMEOUT) ./...

test-unit: web
	$(GO) test -count=1 -short ./internal/... ./web/...

test-e2e: web cluster-build bin/vigil
	VIGIL_BIN=$(CURDIR)/bin/vigil $(GO) test -count=1 -timeout $(TEST_TIMEOUT) -v ./test/e2e/...

# Each feature area has its own bench command under bench/cmd/<area>; BENCH_ONLY picks some
# (e.g. BENCH_ONLY="patterns monitors"); BENCH_FLAGS go to the logging/ingest bench ("bench").
BENCH_ONLY ?= $(notdir $(wildcard bench/cmd/*))
bench: bin/vigil
	@set -e; for b in $(BENCH_ONLY); do \
		echo "== bench $$b"; \
		if [ $$b = bench ]; then $(GO) run ./bench/cmd/bench $(BENCH_FLAGS); else $(GO) run ./bench/cmd/$$b; fi; \
	done

FUZZTIME ?= 30s
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzParseCRI -fuzztime $(FUZZTIME) ./internal/agent/podlogs/
	$(GO) test -run '^$$' -fuzz FuzzParseLine -fuzztime $(FUZZTIME) ./internal/agent/hostlogs/
	$(GO) test -run '^$$' -fuzz FuzzOTLPLogs -fuzztime $(FUZZTIME) ./internal/ingest/
	$(GO) test -run '^$$' -fuzz FuzzOTLPMetrics -fuzztime $(FUZZTIME) ./internal/ingest/
	$(GO) test -run '^$$' -fuzz FuzzParseJSONLine -fuzztime $(FUZZTIME) ./internal/ingest/
	$(GO) test -run '^$$' -fuzz FuzzRedact -fuzztime $(FUZZTIME) ./internal/ingest/
	$(GO) test -run '^$$' -fuzz FuzzDetectLevel -fuzztime $(FUZZTIME) ./internal/ingest/
	$(GO) test -run '^$$' -fuzz FuzzJoinTraces -fuzztime $(FUZZTIME) ./internal/agent/podlogs/
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./internal/audit/
	$(GO) test -run '^$$' -fuzz FuzzMiner -fuzztime $(FUZZTIME) ./internal/patterns/
	$(GO) test -run '^$$' -fuzz FuzzParseStreamQuery -fuzztime $(FUZZTIME) ./internal/patterns/index/
	$(GO) test -run '^$$' -fuzz FuzzParseFile -fuzztime $(FUZZTIME) ./internal/monitor/
	$(GO) test -run '^$$' -fuzz FuzzImportPrometheusRules -fuzztime $(FUZZTIME) ./internal/monitor/
	$(GO) test -run '^$$' -fuzz FuzzParse -fuzztime $(FUZZTIME) ./test/smtptest/
	$(GO) test -run '^$$' -fuzz FuzzParse -fuzztime $(FUZZTIME) ./internal/monitor/monitortest/
	$(GO) test -run '^$$' -fuzz 'FuzzParse$$' -fuzztime $(FUZZTIME) ./internal/kubelet/
	$(GO) test -run '^$$' -fuzz FuzzParseCgroupPath -fuzztime $(FUZZTIME) ./internal/agent/processes/
	$(GO) test -run '^$$' -fuzz 'FuzzParse$$' -fuzztime $(FUZZTIME) ./internal/security/osv/
	$(GO) test -run '^$$' -fuzz FuzzCVSS3Score -fuzztime $(FUZZTIME) ./internal/security/osv/
	$(GO) test -run '^$$' -fuzz FuzzReadZip -fuzztime $(FUZZTIME) ./internal/security/vulndb/
	$(GO) test -run '^$$' -fuzz FuzzParseDockerConfig -fuzztime $(FUZZTIME) ./internal/security/imagescan/
	$(GO) test -run '^$$' -fuzz FuzzParseManifests -fuzztime $(FUZZTIME) ./internal/deploy/
	$(GO) test -run '^$$' -fuzz FuzzParseTerraformDrift -fuzztime $(FUZZTIME) ./internal/deploy/
	$(GO) test -run '^$$' -fuzz FuzzManifests -fuzztime $(FUZZTIME) ./internal/security/iac/
	$(GO) test -run '^$$' -fuzz FuzzTerraform -fuzztime $(FUZZTIME) ./internal/security/iac/
	$(GO) test -run '^$$' -fuzz FuzzKubeletConfig -fuzztime $(FUZZTIME) ./internal/agent/nodecheck/

clean:
	rm -rf bin web/dist/assets web/dist/index.html
