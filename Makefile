# The two commands a newcomer runs: `make run` and `make test`. CI runs `make test` (.ci/run).
DOTNET ?= dotnet
CONFIG ?= Release
SERVER := src/EventBus.Server/EventBus.Server.csproj

.PHONY: run test restore build unit e2e install fmt fmt-check bench clean

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

## e2e: real clients (TypeScript SDK, bare fetch like the old CLI, MCP conformance suite, claude mcp list, the dashboard
## in Debian's headless chromium, installed when missing), an MQTT
## bridge through a real Mosquitto broker (installed from Debian's packages when missing), and two hosts (network
## namespaces joined by a veth pair: tokens, scopes, private DMs; skipped with a message where namespaces can't be made)
e2e: build
	bash scripts/e2e.sh $(CONFIG)
	bash scripts/mqtt-e2e.sh $(CONFIG)
	bash scripts/netns-e2e.sh $(CONFIG)

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
