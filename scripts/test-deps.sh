#!/usr/bin/env bash
# Installs the Debian packages the xunit suites need when they are missing (a clean CI machine has none of them):
# promtool (the prometheus package) checks deploy/prometheus's alert rules. As root it uses apt-get; elsewhere it says
# what to install and fails, so a test never passes by skipping what it could not run.
#
# Usage: scripts/test-deps.sh   (make unit calls it)
set -euo pipefail

# command -> Debian package
declare -A NEEDED=([promtool]=prometheus)

missing=()
for cmd in "${!NEEDED[@]}"; do
    command -v "$cmd" >/dev/null || missing+=("${NEEDED[$cmd]}")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

if [[ "$(id -u)" != 0 ]]; then
    echo "test-deps: missing ${missing[*]}; install them: sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 1
fi

echo "test-deps: installing ${missing[*]} (apt-get)"
apt-get update -qq
# policy-rc.d: install the packages' tools without starting their daemons (the prometheus package ships a service).
policy=/usr/sbin/policy-rc.d
had_policy=0
[[ -e "$policy" ]] && had_policy=1
[[ $had_policy == 1 ]] || { printf '#!/bin/sh\nexit 101\n' >"$policy"; chmod +x "$policy"; }
trap '[[ $had_policy == 1 ]] || rm -f "$policy"' EXIT
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
