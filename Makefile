# backlog-webhook: every command a developer or CI needs. `make help` lists them.

GO        ?= go
# The toolchain every target builds and tests with. Go 1.26.8 has known standard-library vulnerabilities
# (fixed in 1.26.9 and 1.26.10); the go command fetches this release from the module proxy on first use.
# Override with GOTOOLCHAIN=local to use the Go on PATH.
GOTOOLCHAIN ?= go1.27.3
export GOTOOLCHAIN
DATA      ?= .data
BIN       := bin
PKGS      := ./...
FUZZTIME  ?= 20s
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
GOVULNCHECK := golang.org/x/vuln/cmd/govulncheck@v1.9.0
VULNDB_VERSION := v0.0.0-20261105234957-e22db6528018
VULNDB_MOD  := golang.org/x/vulndb@$(VULNDB_VERSION)
VULNDB      ?= $(HOME)/.cache/backlog-webhook/vulndb-$(VULNDB_VERSION)
LAMBDA_FLAGS := -tags lambda.norpc -trimpath -buildvcs=false -ldflags "-s -w -buildid="

.PHONY: help run demo test test-race e2e-local e2e lint vulndb fmt build lambda bench fuzz soak tools clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

run: tools ## run the local server; unconfigured it serves a self-contained demo
	$(GO) run ./handler serve --data $(DATA)

demo: tools ## run the demo flow once, unattended; prints the archive's path last
	$(GO) run ./handler demo --data $(DATA)

test: tools ## run every test (the stack's and the Lambda emulator's included)
	npm ci --prefix stack/vtl --no-audit --no-fund --loglevel=error
	$(GO) vet $(PKGS)
	$(GO) test -count=1 $(PKGS)

test-race: tools ## run the handler's tests with the race detector
	$(GO) test -count=1 -race ./handler/...

e2e-local: tools ## run the built bootstrap under the Lambda runtime emulator against loopback peers
	$(GO) test -count=1 -run Emulator -v ./e2e/

e2e: ## deploy an ephemeral stack and test it end to end (needs the pulumi CLI and AWS credentials)
	$(GO) test -count=1 -run Stack -v -timeout 60m ./e2e/

lint: vulndb ## go vet, gofmt, staticcheck and govulncheck (against the offline vulnerability database)
	$(GO) vet $(PKGS)
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo 'gofmt needed'; exit 1; }
	$(GO) run $(STATICCHECK) $(PKGS)
	$(GO) run $(GOVULNCHECK) -db file://$(VULNDB) $(PKGS)

# govulncheck's default database is online; lint reads a copy built from a pinned golang.org/x/vulndb
# module (its data/osv reports, indexed by the module's own cmd/indexdb) and cached per version.
vulndb: $(VULNDB)/index/db.json ## build the offline Go vulnerability database that lint reads

$(VULNDB)/index/db.json:
	@rm -rf $(VULNDB).tmp && mkdir -p $(dir $(VULNDB))
	@src=$$(cd $(dir $(VULNDB)) && GOFLAGS=-mod=mod $(GO) mod download -json $(VULNDB_MOD) | \
	  sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$$/\1/p'); test -d "$$src/data/osv" || { echo "no $(VULNDB_MOD)"; exit 1; }; \
	  echo "indexing $$src/data/osv into $(VULNDB)"; \
	  $(GO) run golang.org/x/vulndb/cmd/indexdb@$(VULNDB_VERSION) -vulns "$$src/data/osv" -out $(VULNDB).tmp
	@mv $(VULNDB).tmp $(VULNDB)

fmt: ## format the code
	gofmt -w $$(git ls-files '*.go')

build: ## build the local program into bin/handler
	$(GO) build -o $(BIN)/handler ./handler

lambda: ## build the Lambda package bin/bootstrap (linux/arm64)
	GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build $(LAMBDA_FLAGS) -o $(BIN)/bootstrap ./handler

bench: tools ## pipeline vs C git on generated repositories, Lambda size and init (about 15 minutes)
	BENCH_TABLE=1 $(GO) test -count=1 -run '^TestBenchTable$$' -v -timeout 60m ./handler/internal/bench/

fuzz: ## fuzz each parser and mapper for FUZZTIME
	$(GO) test -run '^$$' -fuzz FuzzParse -fuzztime $(FUZZTIME) ./handler/webhook/
	$(GO) test -run '^$$' -fuzz FuzzValidateBranch -fuzztime $(FUZZTIME) ./handler/webhook/
	$(GO) test -run '^$$' -fuzz FuzzKey -fuzztime $(FUZZTIME) ./handler/layout/

soak: tools ## 1,000 webhooks over 50 repositories through the local server (loopback only)
	$(GO) test -count=1 -run Soak -v -timeout 20m -tags soak ./handler/server/

tools: ## install what the tests need from Debian when missing: git (test and demo repositories), node (VTL tests)
	@command -v git-upload-pack >/dev/null 2>&1 || { \
	  echo 'installing git (git-upload-pack serves the test and demo repositories)'; \
	  apt-get update -qq && apt-get install -y -qq git >/dev/null; }
	@command -v npm >/dev/null 2>&1 || { \
	  echo 'installing node and npm (the API Gateway template is rendered with velocityjs)'; \
	  apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null; }

clean: ## remove build output and the local data directory
	rm -rf $(BIN) $(DATA)
