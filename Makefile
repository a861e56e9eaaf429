# omnichat — the two commands a newcomer needs are `make run` and `make test`.

GO      ?= go
SQLC    ?= $(GO) run github.com/sqlc-dev/sqlc/cmd/sqlc@v1.30.0
WFCHECK ?= $(GO) run go.temporal.io/sdk/contrib/tools/workflowcheck@v0.6.0
BIN     := bin/omnichat
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/omnichat/omnichat/app.Version=$(VERSION)

.PHONY: run build test unit fuzz bench bench-full bench-report faults check generate check-generated lint compose-check browser-deps clean

## run: build and run the whole product on its embedded default (omnichat dev)
run: build
	./$(BIN) dev

## build: compile bin/omnichat
build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/omnichat

## test: every check and every test, and a short fuzz run (what CI runs)
test: check unit fuzz

# Every fuzz target, as package:Target. `make fuzz FUZZTIME=10m` runs each longer.
FUZZ_TARGETS := ./channel/meta:FuzzVerify ./channel/whatsapp:FuzzParse
FUZZTIME ?= 5s

## fuzz: run each fuzz target for FUZZTIME (seeded with ../shared/fixtures/channels)
fuzz:
	@for t in $(FUZZ_TARGETS); do \
	  pkg=$${t%%:*}; fn=$${t##*:}; \
	  echo "fuzz $$pkg $$fn ($(FUZZTIME))"; \
	  $(GO) test $$pkg -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZTIME) >/tmp/omnichat-fuzz.log 2>&1 || { cat /tmp/omnichat-fuzz.log; exit 1; }; \
	done

## unit: the Go tests (they need Postgres on 127.0.0.1:5432 or OMNICHAT_TEST_DATABASE_URL;
## the browser tests run when Chromium and `make browser-deps` are there)
unit:
	$(GO) test -count=1 -timeout 20m ./...

## bench: the short benchmark (under 5 minutes; 100,000 seeded sessions) -> bench/results/short-sqlite.json
## (BENCH_ARGS=-temporal-store=postgres for Temporal on Postgres)
bench:
	$(GO) run ./bench $(BENCH_ARGS)

## bench-full: 1,000,000 sessions and 10,000,000 messages, 10,000 timed sessions
bench-full:
	$(GO) run ./bench -full $(BENCH_ARGS)

## bench-report: the figures of bench/results/*.json as tables in docs/performance.md and README.md
bench-report:
	$(GO) run ./bench report

## faults: kill and restart worker and api, restart Postgres, doubled and
## out-of-order deliveries under load; then count that nothing was lost or doubled
faults:
	$(GO) run ./bench faults $(FAULTS_ARGS)

## check: formatting, vet, the workflow determinism check, generated code in
## step, docker-compose.yml valid
check: lint check-generated compose-check

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(WFCHECK) ./workflows/...
	@$(GO) mod tidy -diff

## generate: regenerate the sqlc code from db/migrations and db/queries
generate:
	$(SQLC) generate

## check-generated: fail when db/dbsqlc is stale
check-generated:
	$(SQLC) diff

## compose-check: validate docker-compose.yml (needs docker compose or docker-compose)
## (the file demands OMNICHAT_SECRET_KEY; a placeholder stands in for validation)
compose-check:
	@export OMNICHAT_SECRET_KEY=compose-config-validation-only; \
	if docker compose version >/dev/null 2>&1; then docker compose config -q; \
	elif command -v docker-compose >/dev/null 2>&1; then docker-compose config -q; \
	else echo "no docker compose here; skipped"; exit 0; fi && echo "docker-compose.yml is valid"

## browser-deps: install playwright-core for the real-browser tests (Chromium comes from the system)
browser-deps:
	cd web/e2e && npm ci --no-audit --no-fund

clean:
	rm -rf bin web/e2e/node_modules
