#!/usr/bin/env bash
# make bench: durable publish throughput and latency through MCP tools/call, next to the same server's MCP ping
# ceiling and to Redis XADD (appendfsync everysec), plus get_events latency on a 1,000,000-event database.
# Builds Release, installs redis-server if missing, starts two EventBus servers (one on an empty database for the
# write phases, one on the seeded database for the reads) and Redis, all on loopback, runs bench/EventBus.Bench,
# and always stops what it started. Results: a table on stdout and bench/results/bench-<time>.json (+ latest.json).
#
# Then the push bench (`EventBus.Bench push`) on a third, fresh server: publish → notification-handler latency at
# 1/10/100 subscribers next to Redis Streams (XREAD BLOCK woken by XADD), publisher latency next to a stuck subscriber,
# 1,000 idle sessions' memory, and REST batch publish next to SQLite's own batched insert. Then webhooks (delivery
# rate and latency, publish with webhooks registered), auth (publish with and without a token checked per request) and
# metrics (publish with /metrics off, and on while scraped every second), retention (publish with retention off, and
# on while it deletes a seeded backlog and then the run's own events).
#
# Then nodes: a PostgreSQL of the bench's own (durable settings), two EventBus nodes on one database there and a SQLite
# server beside them: publish x8 on PostgreSQL vs SQLite vs PostgreSQL's own single-row insert ceiling, and publish →
# push latency with the subscriber on the publisher's node and on the other node.
#
# Then transports: MQTT messages/s from a Mosquitto broker into durable events through the bridge, next to the same broker
# delivering to a plain MQTTnet subscriber (QoS 1, 8 publishers), and WebSocket publish → receive next to SSE.
#
# Then the dashboard in Debian's headless chromium (bench/dashboard/bench.mjs): first paint on a 1,000,000-event
# database, and the live stream's frame gaps and timer lateness under 1,000 events/s.
#
# Knobs (environment): BENCH_PARTS (default "run push nodes webhooks auth metrics retention transports dashboard") which parts to run; BENCH_EVENTS (default 1000000) events
# seeded for the read phases; BENCH_QUICK=1 for a short development run (1 s phases, 1 round, 100,000 events); BENCH_ARGS extra options for `EventBus.Bench run`
# (e.g. "--duration 5 --reps 7", "--clients 16", "--payload-bytes 512", "--no-diagnostics"); BENCH_PUSH_ARGS extra
# options for `EventBus.Bench push` (e.g. "--push-sizes 1,10", "--idle-sessions 2000", "--push-events 5000").
set -euo pipefail
cd "$(dirname "$0")/.."

DOTNET=${DOTNET:-dotnet}
EVENTS=${BENCH_EVENTS:-1000000}
PARTS=${BENCH_PARTS:-run push nodes webhooks auth metrics retention transports dashboard}
RUN_ARGS=()
PUSH_ARGS=(--warmup 3 --duration 3 --reps 3)
if [[ "${BENCH_QUICK:-}" == 1 ]]; then
    EVENTS=${BENCH_EVENTS:-100000}
    RUN_ARGS+=(--warmup 1 --duration 1 --read-duration 1 --reps 1)
    PUSH_ARGS=(--warmup 1 --duration 1 --reps 1 --push-reps 1 --push-events 200)
fi
# shellcheck disable=SC2206 # word splitting of BENCH_ARGS is intended
RUN_ARGS+=(${BENCH_ARGS:-})

BIN=artifacts/bin
SERVER_DLL=$BIN/EventBus.Server/release/EventBus.Server.dll
BENCH_DLL=$BIN/EventBus.Bench/release/EventBus.Bench.dll

log() { echo "[bench.sh] $*" >&2; }
# shellcheck source=scripts/postgres-lib.sh
source scripts/postgres-lib.sh

log "building Release"
BUILD_LOG=$(mktemp)
if ! "$DOTNET" build EventBus.sln -c Release --nologo >"$BUILD_LOG" 2>&1; then
    cat "$BUILD_LOG" >&2
    rm -f "$BUILD_LOG"
    exit 1
fi
rm -f "$BUILD_LOG"

if ! command -v redis-server >/dev/null; then
    if [[ $(id -u) -ne 0 ]]; then
        log "redis-server is not installed and this is not root: install it (apt-get install redis-server) and rerun"
        exit 1
    fi
    log "installing redis-server with apt"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/eventbus-bench.XXXXXX")
PIDS=()
cleanup() {
    local status=$?
    for pid in "${PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        for _ in $(seq 1 100); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    if [[ $status -ne 0 ]]; then
        for f in "$WORK"/*.log; do
            [[ -f "$f" ]] || continue
            log "--- last lines of $(basename "$f")"
            tail -n 20 "$f" >&2 || true
        done
    fi
    pg_stop
    rm -rf "$WORK"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start_eventbus NAME DB: starts a server on a free port (port 0) and sets EB_URL and EB_PID once it listens.
start_eventbus() {
    local name=$1 db=$2 logfile="$WORK/$1.log"
    "$DOTNET" "$SERVER_DLL" --port 0 --db "$db" >"$logfile" 2>&1 &
    EB_PID=$!
    PIDS+=("$EB_PID")
    for _ in $(seq 1 300); do
        EB_URL=$(grep -o 'listening on http://127\.0\.0\.1:[0-9]*' "$logfile" | head -n 1 | sed 's/^listening on //') || true
        if [[ -n "$EB_URL" ]]; then
            log "EventBus ($name) pid $EB_PID at $EB_URL, database $db"
            return 0
        fi
        kill -0 "$EB_PID" 2>/dev/null || { log "EventBus ($name) exited:"; cat "$logfile" >&2; return 1; }
        sleep 0.1
    done
    log "EventBus ($name) did not start listening in 30 s"
    return 1
}

# start_redis: Redis on a free loopback port with the AOF fsynced every second and no RDB snapshots.
start_redis() {
    mkdir -p "$WORK/redis"
    for _ in $(seq 1 20); do
        local port=$((20000 + RANDOM % 40000))
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            continue # taken
        fi
        redis-server --bind 127.0.0.1 --port "$port" --appendonly yes --appendfsync everysec --save '' \
            --dir "$WORK/redis" --daemonize no --logfile "$WORK/redis.log" &
        REDIS_PID=$!
        for _ in $(seq 1 100); do
            if [[ "$(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null)" == PONG ]]; then
                REDIS_PORT=$port
                PIDS+=("$REDIS_PID")
                log "Redis pid $REDIS_PID at 127.0.0.1:$port"
                return 0
            fi
            kill -0 "$REDIS_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill "$REDIS_PID" 2>/dev/null || true
        wait "$REDIS_PID" 2>/dev/null || true
    done
    log "could not start redis-server"
    return 1
}

start_redis

if [[ " $PARTS " == *" run "* ]]; then
    log "seeding $EVENTS events for the read phases"
    "$DOTNET" "$BENCH_DLL" seed --db "$WORK/read.db" --events "$EVENTS" --seed-info "$WORK/seed.json"

    start_eventbus write "$WORK/write.db"
    WRITE_URL=$EB_URL WRITE_PID=$EB_PID
    start_eventbus read "$WORK/read.db"
    READ_URL=$EB_URL READ_PID=$EB_PID

    "$DOTNET" "$BENCH_DLL" run \
        --mcp "$WRITE_URL/mcp" --server-pid "$WRITE_PID" \
        --read-mcp "$READ_URL/mcp" --read-server-pid "$READ_PID" --read-db "$WORK/read.db" --seed-info "$WORK/seed.json" \
        --redis "127.0.0.1:$REDIS_PORT" --redis-pid "$REDIS_PID" \
        --scratch "$WORK" --out bench/results \
        "${RUN_ARGS[@]}"
    # The write and read servers are done: stop them so the push server has the machine.
    kill -TERM "$WRITE_PID" "$READ_PID" 2>/dev/null || true
    wait "$WRITE_PID" "$READ_PID" 2>/dev/null || true
fi

if [[ " $PARTS " == *" push "* ]]; then
    start_eventbus push "$WORK/push.db"
    "$DOTNET" "$BENCH_DLL" push \
        --mcp "$EB_URL/mcp" --server-pid "$EB_PID" \
        --redis "127.0.0.1:$REDIS_PORT" --redis-pid "$REDIS_PID" \
        --scratch "$WORK" --out bench/results \
        "${PUSH_ARGS[@]}" ${BENCH_PUSH_ARGS:-}
fi

# --- Nodes (PostgreSQL) -----------------------------------------------------------------------------------------------
# A PostgreSQL with its default durability (fsync, synchronous commit) on a free loopback port, installed when missing
# like `make test` does; nodes A and B on one database there (started together: the migration runs once, under its
# advisory lock) and a SQLite server, rate limits off on all three; then `EventBus.Bench nodes`. Extra options in
# BENCH_NODES_ARGS (e.g. "--duration 5 --reps 7", "--push-events 2000"). Results: a table and bench/results/nodes-*.json.
if [[ " $PARTS " == *" nodes "* ]]; then
    bash scripts/test-deps.sh
    pg_start durable
    log "PostgreSQL (durable) at 127.0.0.1:$PG_PORT"
    pg_psql -c "CREATE DATABASE eventbus_bench" -c "CREATE DATABASE eventbus_bench_raw"
    PG_DB="postgres://postgres@127.0.0.1:$PG_PORT/eventbus_bench"
    EventBus__Limits__PublishPerSecond=0 start_eventbus node-a "$PG_DB"
    NODE_A_URL=$EB_URL NODE_A_PID=$EB_PID
    EventBus__Limits__PublishPerSecond=0 start_eventbus node-b "$PG_DB"
    NODE_B_URL=$EB_URL NODE_B_PID=$EB_PID
    EventBus__Limits__PublishPerSecond=0 start_eventbus nodes-sqlite "$WORK/nodes-sqlite.db"
    NODES_SQLITE_URL=$EB_URL NODES_SQLITE_PID=$EB_PID
    NODES_ARGS=()
    [[ "${BENCH_QUICK:-}" == 1 ]] && NODES_ARGS+=(--warmup 1 --duration 1 --reps 1 --push-reps 1 --push-events 200)
    # shellcheck disable=SC2206 # word splitting of BENCH_NODES_ARGS is intended
    NODES_ARGS+=(${BENCH_NODES_ARGS:-})
    "$DOTNET" "$BENCH_DLL" nodes --mcp "$NODE_A_URL/mcp" --mcp-b "$NODE_B_URL/mcp" --sqlite-mcp "$NODES_SQLITE_URL/mcp" \
        --postgres "Host=127.0.0.1;Port=$PG_PORT;Username=postgres;Database=eventbus_bench_raw" \
        --server-pid "$NODE_A_PID" --server-pid-b "$NODE_B_PID" --out bench/results "${NODES_ARGS[@]}"
    kill -TERM "$NODE_A_PID" "$NODE_B_PID" "$NODES_SQLITE_PID" 2>/dev/null || true
    wait "$NODE_A_PID" "$NODE_B_PID" "$NODES_SQLITE_PID" 2>/dev/null || true
    pg_stop
fi

# --- Webhooks ---------------------------------------------------------------------------------------------------------
# A fourth server (fresh database, private webhooks allowed so it may deliver to the bench's loopback receiver), and
# `EventBus.Bench webhooks`: publish throughput with no webhooks vs 100 registered (matching and idle), deliveries per
# second to 100 local endpoints, and publish → receiver first-byte latency. Extra options in BENCH_WEBHOOK_ARGS (e.g.
# "--duration 10 --reps 5"). Results: a table on stdout and bench/results/webhooks-<time>.json.
if [[ " $PARTS " == *" webhooks "* ]]; then
    WEBHOOK_ARGS=()
    if [[ "${BENCH_QUICK:-}" == 1 ]]; then
        WEBHOOK_ARGS+=(--duration 2 --warmup 1 --reps 1 --drain-events 5000)
    fi
    # shellcheck disable=SC2206 # word splitting of BENCH_WEBHOOK_ARGS is intended
    WEBHOOK_ARGS+=(${BENCH_WEBHOOK_ARGS:-})
    EVENTBUS_ALLOW_PRIVATE_WEBHOOKS=true start_eventbus webhooks "$WORK/webhooks.db"
    "$DOTNET" "$BENCH_DLL" webhooks --mcp "$EB_URL/mcp" --out bench/results "${WEBHOOK_ARGS[@]}"
fi

# publish x8 through MCP against two servers in turn, 5 interleaved rounds after one unreported warm-up round (tiered
# JIT needs ~10 s of load), printing each round's publish x8 line. Usage:
# interleaved_rounds PART SIDE_A URL_A PID_A "EXTRA_A" SIDE_B URL_B PID_B "EXTRA_B"   (EXTRA: more bench options)
interleaved_rounds() {
    local part=$1 rounds=5 round side url pid extra line
    [[ "${BENCH_QUICK:-}" == 1 ]] && rounds=1
    for round in $(seq 0 "$rounds"); do
        for side in a b; do
            if [[ $side == a ]]; then side=$2 url=$3 pid=$4 extra=$5; else side=$6 url=$7 pid=$8 extra=$9; fi
            # shellcheck disable=SC2086 # EXTRA is a list of options
            line=$("$DOTNET" "$BENCH_DLL" run --mcp "$url/mcp" --server-pid "$pid" --only "publish x8" --no-diagnostics \
                --warmup 3 --duration 3 --reps 1 --scratch "$WORK" --out "bench/results/$part-$side" $extra 2>/dev/null |
                grep '^  publish x8' || true)
            [[ $round == 0 ]] || echo "$part round $round $side: ${line:-(no result)}"
        done
    done
}

# --- Auth -------------------------------------------------------------------------------------------------------------
# What tokens cost the hot path: publish x8 through MCP against a bus without tokens and one where every request
# carries and is checked for a token, in interleaved rounds (rate limits off on both, so only authentication differs).
# Results: the rounds' publish x8 lines, and each run's JSON under bench/results/auth-*.
if [[ " $PARTS " == *" auth "* ]]; then
    CLI_BIN=$BIN/EventBus.Cli/release/eventbus
    AUTH_TOKEN=$("$CLI_BIN" token create --name bench --scope publish --db "$WORK/auth.db" 2>/dev/null)
    EventBus__Limits__PublishPerSecond=0 start_eventbus open "$WORK/open.db"
    OPEN_URL=$EB_URL OPEN_PID=$EB_PID
    EventBus__Limits__PublishPerSecond=0 start_eventbus auth "$WORK/auth.db"
    AUTH_URL=$EB_URL AUTH_PID=$EB_PID
    interleaved_rounds auth open "$OPEN_URL" "$OPEN_PID" "" auth "$AUTH_URL" "$AUTH_PID" "--token $AUTH_TOKEN"
fi

# --- Metrics ----------------------------------------------------------------------------------------------------------
# What metrics cost the hot path: publish x8 against a server with /metrics off and one with it on and scraped every
# second (a busy Prometheus; 15 s is usual), in interleaved rounds. Results: the rounds' lines, JSON under bench/results/metrics-*.
if [[ " $PARTS " == *" metrics "* ]]; then
    EventBus__Limits__PublishPerSecond=0 EventBus__Metrics__Enabled=false start_eventbus metrics-off "$WORK/metrics-off.db"
    OFF_URL=$EB_URL OFF_PID=$EB_PID
    EventBus__Limits__PublishPerSecond=0 start_eventbus metrics-on "$WORK/metrics-on.db"
    ON_URL=$EB_URL ON_PID=$EB_PID
    (while kill -0 "$ON_PID" 2>/dev/null; do curl -s -o /dev/null "$ON_URL/metrics"; sleep 1; done) &
    SCRAPER_PID=$!
    interleaved_rounds metrics off "$OFF_URL" "$OFF_PID" "" on "$ON_URL" "$ON_PID" ""
    kill "$SCRAPER_PID" 2>/dev/null || true
fi

# --- Retention --------------------------------------------------------------------------------------------------------
# What retention costs the hot path: publish x8 against a server with retention off and one deleting while it runs, in
# interleaved rounds. Both start on a copy of the same seeded database (BENCH_EVENTS events, all older than the rule);
# the retention server keeps 5 s (DefaultMaxAge) and passes every second, so it first works through the seeded backlog
# in batches and then deletes the rounds' own events 5 s after they were published, for the whole run. Its /health
# retention section is printed after the rounds. Results: the rounds' lines, JSON under bench/results/retention-*.
if [[ " $PARTS " == *" retention "* ]]; then
    log "seeding $EVENTS events for the retention part"
    "$DOTNET" "$BENCH_DLL" seed --db "$WORK/retention-off.db" --events "$EVENTS"
    cp "$WORK/retention-off.db" "$WORK/retention-on.db"
    EventBus__Limits__PublishPerSecond=0 EventBus__Retention__Enabled=false start_eventbus retention-off "$WORK/retention-off.db"
    ROFF_URL=$EB_URL ROFF_PID=$EB_PID
    EventBus__Limits__PublishPerSecond=0 EventBus__Retention__DefaultMaxAge=00:00:05 EventBus__Retention__Interval=00:00:01 \
        start_eventbus retention-on "$WORK/retention-on.db"
    RON_URL=$EB_URL RON_PID=$EB_PID
    interleaved_rounds retention off "$ROFF_URL" "$ROFF_PID" "" on "$RON_URL" "$RON_PID" ""
    echo "retention on, /health after the rounds: $(curl -s "$RON_URL/health" | python3 -c 'import json,sys; r=json.load(sys.stdin)["retention"]; print({k: r.get(k) for k in ("deleted_total","deleted_through","events","used_bytes","free_bytes","last_pass_deleted")})')"
    kill -TERM "$ROFF_PID" "$RON_PID" 2>/dev/null || true
    wait "$ROFF_PID" "$RON_PID" 2>/dev/null || true
fi

# --- Transports -------------------------------------------------------------------------------------------------------
# A Mosquitto broker (installed when missing, like `make test` does) on a free loopback port, a fresh server with a
# bridge taking bench/# in, and `EventBus.Bench transports`. Extra options in BENCH_TRANSPORT_ARGS (e.g.
# "--messages 5000 --reps 5"). Results: a table on stdout and bench/results/transports-<time>.json.
if [[ " $PARTS " == *" transports "* ]]; then
    bash scripts/test-deps.sh
    MQTT_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
    mkdir -p "$WORK/mosquitto"
    chmod 755 "$WORK"
    printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\nmax_inflight_messages 100\nmax_queued_messages 100000\nlog_dest none\n' "$MQTT_PORT" >"$WORK/mosquitto/mosquitto.conf"
    "$(command -v mosquitto || echo /usr/sbin/mosquitto)" -c "$WORK/mosquitto/mosquitto.conf" >"$WORK/mosquitto.log" 2>&1 &
    PIDS+=($!)
    for _ in $(seq 1 100); do
        mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -t probe -m up 2>/dev/null && break
        sleep 0.1
    done
    TRANSPORT_ARGS=()
    [[ "${BENCH_QUICK:-}" == 1 ]] && TRANSPORT_ARGS+=(--messages 500 --reps 1 --ws-events 300)
    # shellcheck disable=SC2206 # word splitting of BENCH_TRANSPORT_ARGS is intended
    TRANSPORT_ARGS+=(${BENCH_TRANSPORT_ARGS:-})
    EventBus__Limits__PublishPerSecond=0 \
    EventBus__Mqtt__Bridges__bench__Url="mqtt://127.0.0.1:$MQTT_PORT" \
    EventBus__Mqtt__Bridges__bench__In__0__Topic='bench/#' \
        start_eventbus transports "$WORK/transports.db"
    "$DOTNET" "$BENCH_DLL" transports --bus "$EB_URL" --mqtt-port "$MQTT_PORT" --out bench/results "${TRANSPORT_ARGS[@]}"
fi

# --- Dashboard --------------------------------------------------------------------------------------------------------
# A server on a database seeded with BENCH_EVENTS events (rate limits off: the bench publishes 1,000 events/s from one
# caller), and bench/dashboard/bench.mjs driving Debian's headless chromium through playwright-core: first paint of a
# fresh tab (median of 7) and the live stream under a 1,000 events/s firehose (3 runs of 10 s). Results: JSON on stdout
# and bench/results/dashboard-<time>.json. BENCH_DASHBOARD_ARGS adds options (e.g. "--runs=15 --rate=2000").
if [[ " $PARTS " == *" dashboard "* ]]; then
    ROOT=$PWD
    die() { log "$*"; exit 1; }
    # shellcheck source=scripts/e2e-deps.sh
    source scripts/e2e-deps.sh
    ensure_npm_packages
    ensure_chromium
    log "seeding $EVENTS events for the dashboard"
    "$DOTNET" "$BENCH_DLL" seed --db "$WORK/dashboard.db" --events "$EVENTS"
    EventBus__Limits__PublishPerSecond=0 start_eventbus dashboard "$WORK/dashboard.db"
    mkdir -p bench/results
    # shellcheck disable=SC2086 # word splitting of BENCH_DASHBOARD_ARGS is intended
    node bench/dashboard/bench.mjs --url="$EB_URL" --chromium="$CHROMIUM" ${BENCH_DASHBOARD_ARGS:-} |
        tee "bench/results/dashboard-$(date -u +%Y%m%dT%H%M%SZ).json"
fi
