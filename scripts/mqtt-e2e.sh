#!/usr/bin/env bash
# End-to-end: an MQTT broker bridged into the bus with no new code, exactly as the README shows it:
#   mosquitto_sub -v -t 'plant/#' | eventbus publish --stdin --channel-from-topic mqtt:
# A real Mosquitto broker (Debian's package, installed here when missing) on a free loopback port with its own config,
# a real EventBus (`eventbus serve`, temp database), and the built `eventbus` binary.
#
# Usage: scripts/mqtt-e2e.sh [Configuration]   (default Release; `make e2e` builds first and calls this)
set -euo pipefail

CONFIG="${1:-Release}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
EVENTBUS="$ROOT/artifacts/bin/EventBus.Cli/$(tr '[:upper:]' '[:lower:]' <<<"$CONFIG")/eventbus"
TIMEOUT_S=30
PASSED=0
FAILED=0

say() { printf 'mqtt-e2e: %s\n' "$*"; }
die() { printf 'mqtt-e2e: FAILED: %s\n' "$*" >&2; echo "mqtt-e2e: $PASSED passed, $((FAILED + 1)) failed"; exit 1; }
check() { # check NAME CONDITION-COMMAND...
    local name="$1"; shift
    if "$@"; then PASSED=$((PASSED + 1)); say "ok: $name"; else FAILED=$((FAILED + 1)); say "not ok: $name"; fi
}

[[ -x "$EVENTBUS" ]] || die "$EVENTBUS not found; build first: dotnet build EventBus.sln -c $CONFIG (make e2e does)"

# --- Mosquitto from Debian's packages --------------------------------------------------------------------------
bash "$ROOT/scripts/test-deps.sh" || die "mosquitto and mosquitto-clients are needed (scripts/test-deps.sh)"
MOSQUITTO="$(command -v mosquitto || echo /usr/sbin/mosquitto)"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/eventbus-mqtt.XXXXXX")"
chmod 755 "$WORK" # mosquitto drops to its own user after reading the config
PIDS=()
GROUPS_TO_KILL=()
cleanup() {
    for pgid in "${GROUPS_TO_KILL[@]}"; do kill -- "-$pgid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
until_true() { # until_true SECONDS COMMAND...: bounded wait for a condition
    local deadline=$((SECONDS + $1)); shift
    until "$@"; do ((SECONDS < deadline)) || return 1; sleep 0.2; done
}

# --- the bus ------------------------------------------------------------------------------------------------------
BUS_PORT="$(free_port)"
export EVENTBUS_URL="http://127.0.0.1:$BUS_PORT/mcp"
unset AGENT_EVENT_BUS_URL EVENTBUS_SESSION_ID AGENT_EVENT_BUS_SESSION_ID CLAUDE_CODE_SESSION_ID EVENTBUS_TOKEN
"$EVENTBUS" serve --port "$BUS_PORT" --db "$WORK/bus.db" >"$WORK/bus.log" 2>&1 &
PIDS+=($!)
until_true "$TIMEOUT_S" "$EVENTBUS" channels >/dev/null 2>&1 || { cat "$WORK/bus.log" >&2; die "the bus did not start on port $BUS_PORT"; }

# --- the broker: its own config, loopback only, anonymous, no persistence ---------------------------------------
MQTT_PORT="$(free_port)"
cat >"$WORK/mosquitto.conf" <<CONF
listener $MQTT_PORT 127.0.0.1
allow_anonymous true
persistence false
log_dest stderr
CONF
"$MOSQUITTO" -c "$WORK/mosquitto.conf" >"$WORK/mosquitto.log" 2>&1 &
PIDS+=($!)
until_true "$TIMEOUT_S" mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -t probe -m up 2>/dev/null || { cat "$WORK/mosquitto.log" >&2; die "mosquitto did not start on port $MQTT_PORT"; }
say "bus on $BUS_PORT, mosquitto $("$MOSQUITTO" -h 2>/dev/null | head -n1 | awk '{print $3}') on $MQTT_PORT"

# --- the bridge, exactly as documented (in its own process group, so cleanup ends both sides of the pipe) ---------
export MQTT_PORT EVENTBUS WORK
setsid bash -c 'mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -v -t "plant/#" \
    | "$EVENTBUS" publish --stdin --channel-from-topic mqtt: --type mqtt_message --json >"$WORK/bridge.out" 2>"$WORK/bridge.err"' </dev/null &
GROUPS_TO_KILL+=($!)
PIDS+=($!)

# mosquitto_sub says nothing when subscribed: publish a probe until one comes through the bridge.
probe_arrived() {
    mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -t plant/probe -m ready
    grep -q '"channel":"mqtt:plant/probe"' "$WORK/bridge.out"
}
until_true "$TIMEOUT_S" probe_arrived || { cat "$WORK/bridge.err" >&2; die "nothing came through the bridge"; }

mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -t plant/boiler/temp -m 81.5
mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -t plant/pump/state -m '{"rpm":1200,"ok":true}'
mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -t office/coffee -m empty   # not under plant/#
mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -t plant/boiler/temp -m 82.0

events_of() { "$EVENTBUS" events --channel "$1" --order asc --cursor 0 --json; }
payloads_are() { # payloads_are CHANNEL EXPECTED-JSON-ARRAY
    [[ "$(events_of "$1" | python3 -c 'import json,sys; print(json.dumps([e["payload"] for e in json.load(sys.stdin)["events"]]))')" == "$2" ]]
}
until_true "$TIMEOUT_S" payloads_are mqtt:plant/boiler/temp '["81.5", "82.0"]' || true

check "MQTT messages arrive as events on mqtt:<topic>, in order" payloads_are mqtt:plant/boiler/temp '["81.5", "82.0"]'
check "a JSON payload arrives as its text" payloads_are mqtt:plant/pump/state '["{\"rpm\":1200,\"ok\":true}"]'
check "the event type comes from --type" bash -c "\"$EVENTBUS\" events --channel mqtt:plant/pump/state --cursor 0 --json | grep -q '\"event_type\":\"mqtt_message\"'"
check "topics outside the subscription do not arrive" payloads_are mqtt:office/coffee '[]'
check "watch sees the bridged events with a channel pattern" bash -c "\"$EVENTBUS\" watch --channel 'mqtt:#' --cursor 0 --count 3 --json | grep -c 'mqtt:plant/' | grep -qx 3"
check "the bridge reported no errors" test ! -s "$WORK/bridge.err"

if ((FAILED > 0)); then
    echo "--- bridge stderr ---" >&2; cat "$WORK/bridge.err" >&2
    echo "--- bridge stdout ---" >&2; cat "$WORK/bridge.out" >&2
fi
echo "mqtt-e2e: $PASSED passed, $FAILED failed"
exit $((FAILED > 0))
