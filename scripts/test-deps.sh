#!/usr/bin/env bash
# What the integration tests need from the machine: a real Mosquitto broker and its clients (the MQTT bridge and
# endpoint tests start their own on a free loopback port). Installed from Debian's packages when missing, so that
# `make test` passes on a clean machine; the tests never skip for a missing broker.
set -euo pipefail

say() { printf 'test-deps: %s\n' "$*"; }
die() { printf 'test-deps: FAILED: %s\n' "$*" >&2; exit 1; }

if command -v mosquitto >/dev/null || [[ -x /usr/sbin/mosquitto ]]; then
    if command -v mosquitto_sub >/dev/null && command -v mosquitto_pub >/dev/null; then
        exit 0
    fi
fi

[[ "$(id -u)" == 0 ]] || die "mosquitto and mosquitto-clients are missing; install them: sudo apt-get install -y mosquitto mosquitto-clients"
say "installing mosquitto and mosquitto-clients (apt-get)"
log="$(mktemp)"
if ! { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends mosquitto mosquitto-clients; } >"$log" 2>&1; then
    tail -n 20 "$log" >&2
    rm -f "$log"
    die "apt-get install mosquitto mosquitto-clients failed"
fi
rm -f "$log"
