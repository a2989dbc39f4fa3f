#!/usr/bin/env bash
# What the test suites need from the machine, installed from Debian's packages when missing so that `make test` passes
# on a clean machine (the tests never skip for a missing dependency):
#   - a real Mosquitto broker and its clients (the MQTT bridge, endpoint and pipe tests start their own on a free
#     loopback port);
#   - promtool (the prometheus package) to check deploy/prometheus's alert rules;
#   - systemd-analyze (the systemd package) to verify the unit `eventbus service install` writes;
#   - PostgreSQL (Debian's postgresql, 15 on bookworm): scripts/with-postgres.sh starts one of its own per test run.
# As root it uses apt-get, without starting the packages' daemons; elsewhere it says what to install and fails.
#
# Usage: scripts/test-deps.sh   (make test-deps; make unit and scripts/mqtt-e2e.sh call it)
set -euo pipefail

say() { printf 'test-deps: %s\n' "$*"; }
die() { printf 'test-deps: FAILED: %s\n' "$*" >&2; exit 1; }

# command -> Debian package
declare -A NEEDED=([mosquitto]=mosquitto [mosquitto_pub]=mosquitto-clients [mosquitto_sub]=mosquitto-clients [promtool]=prometheus
    [systemd-analyze]=systemd [initdb]=postgresql)

# initdb and pg_ctl live in PostgreSQL's versioned folder, not on PATH.
have() { command -v "$1" >/dev/null || [[ -x "/usr/sbin/$1" ]] || compgen -G "/usr/lib/postgresql/*/bin/$1" >/dev/null; }

missing=()
for cmd in "${!NEEDED[@]}"; do
    have "$cmd" || missing+=("${NEEDED[$cmd]}")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)

[[ "$(id -u)" == 0 ]] || die "missing ${missing[*]}; install them: sudo apt-get install -y --no-install-recommends ${missing[*]}"
say "installing ${missing[*]} (apt-get)"
# policy-rc.d: install the tools without starting the packages' services (mosquitto and prometheus ship daemons).
policy=/usr/sbin/policy-rc.d
had_policy=0
[[ -e "$policy" ]] && had_policy=1
[[ $had_policy == 1 ]] || { printf '#!/bin/sh\nexit 101\n' >"$policy"; chmod +x "$policy"; }
log="$(mktemp)"
cleanup() { [[ $had_policy == 1 ]] || rm -f "$policy"; rm -f "$log"; }
trap cleanup EXIT
if ! { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
    tail -n 20 "$log" >&2
    die "apt-get install ${missing[*]} failed"
fi
