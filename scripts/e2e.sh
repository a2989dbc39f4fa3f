#!/usr/bin/env bash
# End-to-end tests with real third-party clients: the official TypeScript MCP SDK, bare fetch like the old
# agent-event-bus CLI, the MCP conformance suite and `claude mcp list`, all driven by Node's test runner against a
# freshly started server (free loopback port, temp database).
#
# Usage: scripts/e2e.sh [Configuration]   (default Release; `make e2e` builds first and calls this)
# Installs the pinned npm packages of tests/e2e itself (npm ci, only when node_modules is missing or stale). Install
# scripts are not run: nothing here needs them (Claude Code is started through its own launcher, cli-wrapper.cjs).
set -euo pipefail

CONFIG="${1:-Release}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
E2E_DIR="$ROOT/tests/e2e"
DLL="$ROOT/artifacts/bin/EventBus.Server/$(tr '[:upper:]' '[:lower:]' <<<"$CONFIG")/EventBus.Server.dll"
HEALTH_TIMEOUT_S=30
START=$SECONDS

say() { printf 'e2e: %s\n' "$*"; }
die() { printf 'e2e: FAILED: %s\n' "$*" >&2; exit 1; }

command -v node >/dev/null || die "node is not on PATH (Node.js >= 20 with npm is needed)"
command -v npm >/dev/null || die "npm is not on PATH"
[[ -f "$DLL" ]] || die "$DLL not found; build first: dotnet build EventBus.sln -c $CONFIG (make e2e does)"

# --- npm packages: reinstall only when the lock file changed since the last successful install -------------------
STAMP="$E2E_DIR/node_modules/.e2e-lock-stamp"
lock_sum="$(sha256sum "$E2E_DIR/package-lock.json" | cut -d' ' -f1)"
if [[ ! -f "$STAMP" || "$(cat "$STAMP")" != "$lock_sum" ]]; then
    say "installing npm packages (npm ci in tests/e2e)"
    npm_log="$(mktemp)"
    if ! (cd "$E2E_DIR" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >"$npm_log" 2>&1); then
        cat "$npm_log" >&2
        rm -f "$npm_log"
        die "npm ci failed"
    fi
    rm -f "$npm_log"
    echo "$lock_sum" >"$STAMP"
fi

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

# --- the tests: one Node test run (SDK, old CLI, HTTP edges, conformance scenarios, claude mcp list) -------------
# Files run one at a time: several tests assert on exactly which events a session reads, so no other file may
# publish meanwhile. Spec output for people, TAP to a file for the summary counts.
set +e
(cd "$E2E_DIR" && EVENTBUS_URL="$BASE/mcp" node --test --test-concurrency=1 \
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
say "took $((SECONDS - START))s against EventBus.Server ($CONFIG) on 127.0.0.1:$PORT"
echo "e2e: $passed passed, $failed failed, $skipped skipped"
exit $((status != 0))
