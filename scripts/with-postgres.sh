#!/usr/bin/env bash
# Runs a command with a real PostgreSQL of its own (scripts/postgres-lib.sh: initdb into a fresh temp folder, pg_ctl on
# a free loopback port as the `postgres` user, no fsync), the URL exported as EVENTBUS_TEST_POSTGRES, and the server
# stopped (and its folder removed) on every exit path. The server inherits EVENTBUS_TEST_RUN, so scripts/leftovers.sh
# would see it if it were ever left behind. The tests make one database per test host (CREATE DATABASE) and drop it
# afterwards.
#
# Usage: scripts/with-postgres.sh COMMAND [ARGS...]   (make unit runs the test suites under it)
set -euo pipefail
# shellcheck source=scripts/postgres-lib.sh
source "$(dirname "$0")/postgres-lib.sh"

stop() {
    local code=$?
    pg_stop
    exit "$code"
}
trap stop EXIT
trap 'exit 130' INT TERM

pg_start
export EVENTBUS_TEST_POSTGRES="$PG_URL"
printf 'with-postgres: PostgreSQL %s on 127.0.0.1:%s (%s)\n' "$("$PG_BIN/postgres" --version | awk '{print $3}')" "$PG_PORT" "$PG_DATA" >&2
"$@"
