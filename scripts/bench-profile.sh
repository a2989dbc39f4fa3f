#!/usr/bin/env bash
# Where does the EventBus server's CPU go in one bench phase? Starts a server (perf map on, W^X off so perf can
# name JIT-compiled .NET methods), drives it with `EventBus.Bench run --only PHASE`, records it with perf during the
# measured repetition (after a warm-up long enough for tiered JIT to settle), and prints server CPU microseconds per
# operation split by component (bench/profile/breakdown.py). Percentages are the solid part; the absolute us/op
# assumes the phase's mean rate held while perf recorded. Needs perf and python3; run `make build` (or
# scripts/bench.sh) first.
#
#   bash scripts/bench-profile.sh "publish x8"      # also: "ping x8", "list_channels x8", "publish x1", ...
#   bash scripts/bench-profile.sh "get_events cursor"   # read phases run on a seeded database (PROFILE_EVENTS, 1000000)
#   PROFILE_DB=postgres://… bash scripts/bench-profile.sh "publish x8"   # another database (a PostgreSQL URL) for write phases
set -euo pipefail
cd "$(dirname "$0")/.."
PHASE=${1:?usage: bench-profile.sh PHASE (e.g. \"publish x8\")}
WARMUP=${PROFILE_WARMUP:-15}
SECONDS_RECORDED=${PROFILE_SECONDS:-6}
HZ=1999
command -v perf >/dev/null || { echo "perf is not installed (apt-get install linux-perf)" >&2; exit 1; }
command -v python3 >/dev/null || { echo "python3 is needed for the breakdown" >&2; exit 1; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/eventbus-profile.XXXXXX")
SERVER_PID=""
cleanup() {
    [[ -n "$SERVER_PID" ]] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
    rm -rf "$WORK" "/tmp/perf-$SERVER_PID.map"
}
trap cleanup EXIT

READ_ARGS=()
if [[ "$PHASE" == get_events* ]]; then
    dotnet artifacts/bin/EventBus.Bench/release/EventBus.Bench.dll seed --db "$WORK/bus.db" --events "${PROFILE_EVENTS:-1000000}"
fi

DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0 \
    dotnet artifacts/bin/EventBus.Server/release/EventBus.Server.dll --port 0 --db "${PROFILE_DB:-$WORK/bus.db}" >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 300); do
    URL=$(grep -o 'listening on http://127\.0\.0\.1:[0-9]*' "$WORK/server.log" | sed 's/^listening on //') || true
    [[ -n "$URL" ]] && break
    sleep 0.1
done
[[ -n "$URL" ]] || { cat "$WORK/server.log" >&2; exit 1; }
if [[ "$PHASE" == get_events* ]]; then
    READ_ARGS=(--read-mcp "$URL/mcp" --read-server-pid "$SERVER_PID" --read-duration "$((SECONDS_RECORDED + 4))")
fi

DURATION=$((SECONDS_RECORDED + 4))
dotnet artifacts/bin/EventBus.Bench/release/EventBus.Bench.dll run --mcp "$URL/mcp" --server-pid "$SERVER_PID" \
    --only "$PHASE" --warmup "$WARMUP" --duration "$DURATION" --reps 1 --scratch "$WORK" --out "$WORK/results" "${READ_ARGS[@]}" \
    >"$WORK/bench.out" 2>&1 &
BENCH_PID=$!
sleep $((WARMUP + 5)) # setup + warm-up, then 2 s into the measured repetition
perf record -F "$HZ" -g -p "$SERVER_PID" -o "$WORK/perf.data" -- sleep "$SECONDS_RECORDED" 2>/dev/null
wait "$BENCH_PID" || true
ROW=$(grep -E "^  $PHASE " "$WORK/bench.out" || true)
[[ -n "$ROW" ]] || { cat "$WORK/bench.out" >&2; exit 1; }
echo "$ROW"
# The ops/s column: the first integer followed by the p50 column (a number with three decimals).
OPS_PER_S=$(grep -oE '[0-9]+ +[0-9]+\.[0-9]{3} ' <<<"$ROW" | head -n 1 | awk '{print $1}')
perf script -i "$WORK/perf.data" 2>/dev/null |
    python3 bench/profile/breakdown.py --hz "$HZ" --ops "$((OPS_PER_S * SECONDS_RECORDED))" --label "$PHASE (server)"
