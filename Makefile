# The two commands a newcomer runs: `make run` and `make test`. CI runs `make test` (.ci/run).
DOTNET ?= dotnet
CONFIG ?= Release
SERVER := src/EventBus.Server/EventBus.Server.csproj

.PHONY: run test restore build unit e2e fmt fmt-check bench clean

## run: restore, build and start the server on 127.0.0.1:8080 with the default SQLite database
run: restore
	$(DOTNET) run --project $(SERVER) -c $(CONFIG) --no-restore -- $(ARGS)

## test: restore, build, check formatting, run every test (unit, integration, end-to-end)
test: build fmt-check unit e2e

restore:
	$(DOTNET) restore EventBus.sln

build: restore
	$(DOTNET) build EventBus.sln -c $(CONFIG) --no-restore

unit: build
	$(DOTNET) test EventBus.sln -c $(CONFIG) --no-build

## e2e: real clients (TypeScript SDK, bare fetch like the old CLI, MCP conformance suite, claude mcp list)
e2e: build
	bash scripts/e2e.sh $(CONFIG)

fmt:
	$(DOTNET) format EventBus.sln --no-restore

fmt-check: restore
	$(DOTNET) format EventBus.sln --no-restore --verify-no-changes

## bench: publish throughput and latency vs the MCP ping ceiling and Redis XADD (not part of make test)
bench: restore
	bash scripts/bench.sh

clean:
	rm -rf artifacts
