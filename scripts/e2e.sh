#!/usr/bin/env bash
# End-to-end tests with real third-party clients: the official TypeScript MCP SDK, bare fetch like the old
# agent-event-bus CLI, the MCP conformance suite, `claude mcp list` and the dashboard in Debian's headless chromium
# (playwright-core), all driven by Node's test runner against a freshly started server (free loopback port, temp
# database); the dashboard's tests also start servers of their own (a restart, a token store).
#
# Usage: scripts/e2e.sh [Configuration]   (default Release; `make e2e` builds first and calls this)
# Installs the pinned npm packages of tests/e2e itself (npm ci, only when node_modules is missing or stale) and Debian's
# chromium for the dashboard's browser tests when it is missing (scripts/e2e-deps.sh).
set -euo pipefail

CONFIG="${1:-Release}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CONFIG_DIR="$(tr '[:upper:]' '[:lower:]' <<<"$CONFIG")"
DLL="$ROOT/artifacts/bin/EventBus.Server/$CONFIG_DIR/EventBus.Server.dll"
CLI_DLL="$ROOT/artifacts/bin/EventBus.Cli/$CONFIG_DIR/eventbus.dll"
SCREENSHOTS="$ROOT/artifacts/e2e/screenshots"
HEALTH_TIMEOUT_S=30
START=$SECONDS

say() { printf 'e2e: %s\n' "$*"; }
die() { printf 'e2e: FAILED: %s\n' "$*" >&2; exit 1; }
# shellcheck source=scripts/e2e-deps.sh
source "$ROOT/scripts/e2e-deps.sh"

command -v node >/dev/null || die "node is not on PATH (Node.js >= 20 with npm is needed)"
command -v npm >/dev/null || die "npm is not on PATH"
[[ -f "$DLL" ]] || die "$DLL not found; build first: dotnet build EventBus.sln -c $CONFIG (make e2e does)"
[[ -f "$CLI_DLL" ]] || die "$CLI_DLL not found; build first: dotnet build EventBus.sln -c $CONFIG (make e2e does)"

# --- npm packages (npm ci when the lock file changed) and Debian's chromium, each installed when missing ---------
ensure_npm_packages
ensure_chromium

# --- the server: a free loopback port, a temp database, always stopped ------------------------------------------
WORK="$(mktemp -d "${TMPDIR:-/tmp}/eventbus-e2e.XXXXXX")"
SERVER_PID=""
cleanup() {
    if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

PORT="$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
BASE="http://127.0.0.1:$PORT"
# The GET stream's keep-alive comment every second instead of 15 s, so the keep-alive test is quick.
EventBus__Mcp__KeepAliveInterval=00:00:01 \
    dotnet "$DLL" --port "$PORT" --db "$WORK/bus.db" >"$WORK/server.log" 2>&1 &
SERVER_PID=$!

server_log() { echo "--- server log ($WORK/server.log) ---" >&2; tail -n 40 "$WORK/server.log" >&2; }

# Bounded wait for /health to say ok, from this server: its database is in our (uniquely named) temp folder.
health_ok() {
    node -e '
        const [url, suffix] = process.argv.slice(1);
        fetch(url, { signal: AbortSignal.timeout(2000) }).then(r => r.json()).then(
            h => process.exit(h.status === "ok" && String(h.store?.path).endsWith(suffix) ? 0 : 1),
            () => process.exit(1));
    ' "$BASE/health" "/$(basename "$WORK")/bus.db"
}
deadline=$((SECONDS + HEALTH_TIMEOUT_S))
until health_ok; do
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then server_log; die "the server exited during start-up"; fi
    if ((SECONDS >= deadline)); then server_log; die "no healthy /health at $BASE within ${HEALTH_TIMEOUT_S}s"; fi
    sleep 0.2
done
say "server $(grep -o 'EventBus [^ ]* listening on [^ ]*' "$WORK/server.log" || echo "up at $BASE") ($CONFIG)"

# --- the tests: one Node test run (SDK, old CLI, HTTP edges, conformance scenarios, claude mcp list, the plugin) ---
# Files run one at a time: several tests assert on exactly which events a session reads, so no other file may
# publish meanwhile. Spec output for people, TAP to a file for the summary counts.
set +e
rm -rf "$SCREENSHOTS"
(cd "$E2E_DIR" && EVENTBUS_URL="$BASE/mcp" EVENTBUS_SERVER_DLL="$DLL" EVENTBUS_CLI_DLL="$CLI_DLL" EVENTBUS_CHROMIUM="$CHROMIUM" \
    EVENTBUS_SCREENSHOTS="$SCREENSHOTS" node --test --test-concurrency=1 \
    --test-reporter=spec --test-reporter-destination=stdout \
    --test-reporter=tap --test-reporter-destination="$WORK/results.tap" \
    test/*.test.mjs)
status=$?
set -e

count() { grep -E "^# $1 [0-9]+$" "$WORK/results.tap" 2>/dev/null | tail -n1 | awk '{print $3}'; }
passed="$(count pass)"; failed="$(count fail)"; skipped="$(count skipped)"
passed="${passed:-0}"; failed="${failed:-0}"; skipped="${skipped:-0}"
if ((status != 0)) && ((failed == 0)); then failed=1; fi # the runner itself failed (e.g. a file did not load)

if ((status != 0)); then server_log; fi
if compgen -G "$SCREENSHOTS/*.png" >/dev/null; then say "dashboard screenshots: $SCREENSHOTS"; fi
say "took $((SECONDS - START))s against EventBus.Server ($CONFIG) on 127.0.0.1:$PORT"
echo "e2e: $passed passed, $failed failed, $skipped skipped"
exit $((status != 0))
