# The two commands a newcomer runs: `make run` and `make test`. CI runs `make test` (.ci/run).
DOTNET ?= dotnet
CONFIG ?= Release
SERVER := src/EventBus.Server/EventBus.Server.csproj

.PHONY: run test restore build unit test-deps e2e install fmt fmt-check bench clean

## run: restore, build and start the server on 127.0.0.1:8080 with the default SQLite database
run: restore
	$(DOTNET) run --project $(SERVER) -c $(CONFIG) --no-restore -- $(ARGS)

## test: restore, build, check formatting, run every test (unit, integration, end-to-end)
test: build fmt-check unit e2e

restore:
	$(DOTNET) restore EventBus.sln

build: restore
	$(DOTNET) build EventBus.sln -c $(CONFIG) --no-restore

unit: build test-deps
	$(DOTNET) test EventBus.sln -c $(CONFIG) --no-build

## test-deps: what the unit tests run besides dotnet: systemd-analyze (Debian's systemd package) verifies the unit
## `eventbus service install` writes; installed with apt-get when missing (a clean CI machine has nothing)
test-deps:
	@command -v systemd-analyze >/dev/null 2>&1 || { \
		[ "$$(id -u)" = 0 ] || { echo "systemd-analyze is missing: sudo apt-get install -y systemd" >&2; exit 1; }; \
		echo "installing systemd (apt-get) for systemd-analyze"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends systemd >/dev/null; \
	}

## e2e: real clients (TypeScript SDK, bare fetch like the old CLI, MCP conformance suite, claude mcp list), an MQTT
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

## bench: publish throughput and latency vs the MCP ping ceiling and Redis XADD (not part of make test)
bench: restore
	bash scripts/bench.sh

clean:
	rm -rf artifacts
