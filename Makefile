# The two commands a newcomer runs: `make run` and `make test`. CI runs `make test` (.ci/run).
DOTNET ?= dotnet
CONFIG ?= Release
SERVER := src/EventBus.Server/EventBus.Server.csproj

.PHONY: run test restore build unit test-deps e2e install fmt fmt-check bench clean

## run: restore, build and start the server on 127.0.0.1:8080 with the default SQLite database
run: restore
	$(DOTNET) run --project $(SERVER) -c $(CONFIG) --no-restore -- $(ARGS)

# Every process the tests start carries EVENTBUS_TEST_RUN=<this id> (inherited), so the end of `make test` can check
# that none is left running: servers, brokers, receivers, processes inside network namespaces.
ifndef TEST_RUN
TEST_RUN := $(shell date +%s)-$(shell od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
endif
TEST_ENV := EVENTBUS_TEST_RUN=$(TEST_RUN) MSBUILDDISABLENODEREUSE=1

## test: restore, build, check formatting, run every test (unit, integration, end-to-end), then check that no process
## the tests started is still alive
test: build fmt-check unit e2e
	bash scripts/leftovers.sh --self-test
	bash scripts/leftovers.sh $(TEST_RUN)

restore:
	$(DOTNET) restore EventBus.sln

build: restore
	$(DOTNET) build EventBus.sln -c $(CONFIG) --no-restore

## unit: every test project against SQLite and, side by side, the server suite against a PostgreSQL this starts
unit: build test-deps
	$(TEST_ENV) bash scripts/with-postgres.sh bash scripts/unit-tests.sh $(CONFIG)

## test-deps: what the tests need from the machine (Mosquitto and its clients, promtool, systemd-analyze, PostgreSQL),
## installed when missing
test-deps:
	bash scripts/test-deps.sh

## e2e: real clients (TypeScript SDK, bare fetch like the old CLI, MCP conformance suite, claude mcp list, the dashboard
## in Debian's headless chromium, installed when missing), an MQTT
## bridge through a real Mosquitto broker (installed from Debian's packages when missing), and two hosts (network
## namespaces joined by a veth pair: tokens, scopes, private DMs; skipped with a message where namespaces can't be made)
e2e: build
	$(TEST_ENV) bash scripts/e2e.sh $(CONFIG)
	$(TEST_ENV) bash scripts/mqtt-e2e.sh $(CONFIG)
	$(TEST_ENV) bash scripts/netns-e2e.sh $(CONFIG)

## install: pack the `eventbus` command as a .NET tool and install it for this user (again: replaces it)
install: restore
	$(DOTNET) pack src/EventBus.Cli/EventBus.Cli.csproj -c $(CONFIG) --no-restore -o artifacts/packages
	$(DOTNET) tool uninstall --global EventBus.Cli >/dev/null 2>&1 || true
	$(DOTNET) tool install --global --add-source artifacts/packages EventBus.Cli
	@case ":$$PATH:" in *":$$HOME/.dotnet/tools:"*) ;; *) echo "Add ~/.dotnet/tools to PATH: export PATH=\"\$$PATH:\$$HOME/.dotnet/tools\"";; esac

fmt:
	$(DOTNET) format EventBus.sln --no-restore

fmt-check: restore
	$(DOTNET) format EventBus.sln --no-restore --verify-no-changes

## bench: publish throughput and latency vs the MCP ping ceiling and Redis XADD, push, webhooks, auth, and the
## dashboard in a browser (BENCH_PARTS=dashboard for that part alone; not part of make test)
bench: restore
	bash scripts/bench.sh

clean:
	rm -rf artifacts
