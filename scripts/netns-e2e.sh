#!/usr/bin/env bash
# End-to-end across two hosts: two network namespaces joined by a veth pair, the bus bound to one namespace's address,
# the built `eventbus` CLI and raw MCP/REST clients (curl) in the other. Checks: a network bind refuses to start
# without a token; with tokens, requests without one are refused (401), a read token cannot publish (403), a token
# cannot act as another's session, and a direct message is readable by its recipient but not by a third token.
#
# Needs root and kernel support for network namespaces (`ip netns`). Where they cannot be created it says so and
# skips (exit 0), so the rest of `make test` still runs; the line "netns-e2e: SKIPPED" is in the output.
#
# Usage: scripts/netns-e2e.sh [Configuration]   (default Release; `make e2e` builds first and calls this)
set -euo pipefail

CONFIG="${1:-Release}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
EVENTBUS="$ROOT/artifacts/bin/EventBus.Cli/$(tr '[:upper:]' '[:lower:]' <<<"$CONFIG")/eventbus"
PASSED=0
FAILED=0

say() { printf 'netns-e2e: %s\n' "$*"; }
die() { printf 'netns-e2e: FAILED: %s\n' "$*" >&2; echo "netns-e2e: $PASSED passed, $((FAILED + 1)) failed"; exit 1; }
skip() { say "SKIPPED: $* — the two-host test did not run"; exit 0; }
check() { # check NAME CONDITION-COMMAND...
    local name="$1"; shift
    if "$@"; then PASSED=$((PASSED + 1)); say "ok: $name"; else FAILED=$((FAILED + 1)); say "not ok: $name"; fi
}

[[ -x "$EVENTBUS" ]] || die "$EVENTBUS not found; build first: dotnet build EventBus.sln -c $CONFIG (make e2e does)"
[[ "$(id -u)" == 0 ]] || skip "not root, so no network namespaces can be created"
command -v ip >/dev/null || skip "the ip command (iproute2) is missing"
command -v curl >/dev/null || skip "curl is missing"

# Short, unique names (interface names are at most 15 characters).
TAG="$$"
NS_BUS="eb-bus-$TAG"
NS_CLIENT="eb-cli-$TAG"
VETH_BUS="ebb$TAG"
VETH_CLIENT="ebc$TAG"
BUS_IP=10.231.$((TAG % 250)).1
CLIENT_IP=10.231.$((TAG % 250)).2
PORT=18080

WORK="$(mktemp -d "${TMPDIR:-/tmp}/eventbus-netns.XXXXXX")"
SERVER_PID=""
# Stops every process inside a namespace (TERM, then KILL after 5 s): `ip netns del` alone leaves them running, and
# a PID taken outside may be a wrapper (a subshell, `ip netns exec`) rather than the server.
stop_namespace() {
    local ns="$1" pids
    for _ in $(seq 1 50); do
        pids="$(ip netns pids "$ns" 2>/dev/null || true)"
        [[ -z "$pids" ]] && return 0
        # shellcheck disable=SC2086 # one PID per word
        kill $pids 2>/dev/null || true
        sleep 0.1
    done
    # shellcheck disable=SC2086
    kill -9 $(ip netns pids "$ns" 2>/dev/null) 2>/dev/null || true
}
cleanup() {
    local status=$?
    for ns in "$NS_BUS" "$NS_CLIENT"; do
        if ip netns pids "$ns" >/dev/null 2>&1; then stop_namespace "$ns"; fi
    done
    if [[ -n "$SERVER_PID" ]]; then wait "$SERVER_PID" 2>/dev/null || true; fi
    ip netns del "$NS_BUS" 2>/dev/null || true
    ip netns del "$NS_CLIENT" 2>/dev/null || true
    rm -rf "$WORK"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if ! ip netns add "$NS_BUS" 2>"$WORK/netns.err"; then
    skip "cannot create a network namespace here ($(tr '\n' ' ' <"$WORK/netns.err"))"
fi
ip netns add "$NS_CLIENT"
ip link add "$VETH_BUS" type veth peer name "$VETH_CLIENT"
ip link set "$VETH_BUS" netns "$NS_BUS"
ip link set "$VETH_CLIENT" netns "$NS_CLIENT"
ip -n "$NS_BUS" addr add "$BUS_IP/24" dev "$VETH_BUS"
ip -n "$NS_CLIENT" addr add "$CLIENT_IP/24" dev "$VETH_CLIENT"
for ns in "$NS_BUS" "$NS_CLIENT"; do ip -n "$ns" link set lo up; done
ip -n "$NS_BUS" link set "$VETH_BUS" up
ip -n "$NS_CLIENT" link set "$VETH_CLIENT" up
say "namespaces $NS_BUS ($BUS_IP) and $NS_CLIENT ($CLIENT_IP) joined by a veth pair"

DB="$WORK/bus.db"
URL="http://$BUS_IP:$PORT/mcp"
in_bus() { ip netns exec "$NS_BUS" "$@"; }
in_client() { ip netns exec "$NS_CLIENT" env EVENTBUS_URL="$URL" "$@"; }

# --- a network bind without a token refuses to start ---------------------------------------------------------------
set +e
in_bus "$EVENTBUS" serve --host "$BUS_IP" --port "$PORT" --db "$DB" >"$WORK/refused.log" 2>&1
status=$?
set -e
check "a network bind without any token refuses to start (exit 2)" test "$status" = 2
check "… and says how to create a token" grep -q "eventbus token create --name laptop --scope admin" "$WORK/refused.log"

# --- tokens (made on the bus host, in its database), then the bus ---------------------------------------------------
ALICE="$("$EVENTBUS" token create --name alice --scope publish --db "$DB" 2>/dev/null)"
BOB="$("$EVENTBUS" token create --name bob --scope publish --db "$DB" 2>/dev/null)"
EVE="$("$EVENTBUS" token create --name eve --scope read --db "$DB" 2>/dev/null)"
# Not through in_bus: a function run with & is a subshell, and its PID is not the server's. `ip netns exec` execs the
# server, so this PID is the server itself (cleanup stops everything in the namespace in any case).
ip netns exec "$NS_BUS" "$EVENTBUS" serve --host "$BUS_IP" --port "$PORT" --db "$DB" >"$WORK/bus.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 150); do
    in_client curl -s -o /dev/null "http://$BUS_IP:$PORT/health" && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/bus.log" >&2; die "the bus exited"; }
    sleep 0.2
done
check "the bus is reachable from the other namespace" in_client curl -sf -o /dev/null "http://$BUS_IP:$PORT/health"
check "the bus logged the claude mcp add line for other machines" grep -q "claude mcp add --transport http eventbus" "$WORK/bus.log"

# --- refused without a token -------------------------------------------------------------------------------------
INIT='{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"netns","version":"1"}}}'
code="$(in_client curl -s -o "$WORK/401.txt" -D "$WORK/401.headers" -w '%{http_code}' -X POST "$URL" \
    -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' -d "$INIT")"
check "MCP initialize without a token: 401" test "$code" = 401
check "… with WWW-Authenticate: Bearer" grep -qi '^www-authenticate: Bearer' "$WORK/401.headers"
set +e
in_client "$EVENTBUS" sessions >"$WORK/cli-401.out" 2>&1
status=$?
set -e
check "the CLI without a token fails (exit 1) saying a token is needed" bash -c "test $status = 1 && grep -qi token '$WORK/cli-401.out'"

# --- served with one ---------------------------------------------------------------------------------------------
code="$(in_client curl -s -o /dev/null -w '%{http_code}' -X POST "$URL" -H "Authorization: Bearer $ALICE" \
    -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' -d "$INIT")"
check "MCP initialize with a token: 200" test "$code" = 200
A="$(in_client env EVENTBUS_TOKEN="$ALICE" "$EVENTBUS" register --name alice --client-id alice-1 --json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["session_id"])')"
B="$(in_client env EVENTBUS_TOKEN="$BOB" "$EVENTBUS" register --name bob --client-id bob-1 --json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["session_id"])')"
check "alice and bob registered from the client namespace" test -n "$A" -a -n "$B"
in_client env EVENTBUS_TOKEN="$ALICE" "$EVENTBUS" publish --type note --payload "the vault code is 1234" \
    --channel "session:$B" --session-id "$A" >/dev/null
in_client env EVENTBUS_TOKEN="$ALICE" "$EVENTBUS" publish --type note --payload "lunch at noon" --session-id "$A" >/dev/null

# --- DMs private, identity checked, scopes enforced ------------------------------------------------------------------
in_client env EVENTBUS_TOKEN="$BOB" "$EVENTBUS" events --cursor 0 --limit 100 --json >"$WORK/bob.json"
in_client env EVENTBUS_TOKEN="$EVE" "$EVENTBUS" events --cursor 0 --limit 100 --json >"$WORK/eve.json"
check "bob reads the DM alice sent him" grep -q "the vault code is 1234" "$WORK/bob.json"
check "eve (another token) does not see the DM" bash -c "! grep -q 'vault code' '$WORK/eve.json'"
check "eve sees the broadcast" grep -q "lunch at noon" "$WORK/eve.json"
code="$(in_client curl -s -o "$WORK/eve-rest.json" -w '%{http_code}' "http://$BUS_IP:$PORT/api/v1/events?cursor=0&channel=session:$B" \
    -H "Authorization: Bearer $EVE")"
check "eve's REST read of bob's DM channel answers 200 with no events" \
    bash -c "test $code = 200 && grep -q '\"events\":\[\]' '$WORK/eve-rest.json'"
set +e
in_client env EVENTBUS_TOKEN="$BOB" "$EVENTBUS" publish --type note --payload "forged" --session-id "$A" >"$WORK/forged.out" 2>&1
forged=$?
in_client env EVENTBUS_TOKEN="$EVE" "$EVENTBUS" publish --type note --payload "read-only" >"$WORK/eve-publish.out" 2>&1
eve_publish=$?
set -e
check "bob cannot publish as alice's session" bash -c "test $forged != 0 && grep -q 'belongs to another token' '$WORK/forged.out'"
check "eve (read scope) cannot publish" bash -c "test $eve_publish != 0 && grep -q 'publish scope' '$WORK/eve-publish.out'"

echo "netns-e2e: $PASSED passed, $FAILED failed"
[[ "$FAILED" == 0 ]]
