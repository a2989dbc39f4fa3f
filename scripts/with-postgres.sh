#!/usr/bin/env bash
# Runs a command with a real PostgreSQL of its own: initdb into a fresh temp folder, pg_ctl on a free loopback port
# as the `postgres` user (PostgreSQL refuses to run as root), the URL exported as EVENTBUS_TEST_POSTGRES, and the
# server stopped (and its folder removed) on every exit path. The server inherits EVENTBUS_TEST_RUN, so
# scripts/leftovers.sh would see it if it were ever left behind. The tests make one database per test host
# (CREATE DATABASE) and drop it afterwards.
#
# Usage: scripts/with-postgres.sh COMMAND [ARGS...]   (make unit runs the test suites under it)
set -euo pipefail

say() { printf 'with-postgres: %s\n' "$*" >&2; }
die() { printf 'with-postgres: FAILED: %s\n' "$*" >&2; exit 1; }

bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
[[ -n "$bin" && -x "$bin/initdb" ]] || die "PostgreSQL is not installed (scripts/test-deps.sh installs Debian's postgresql)"

if [[ "$(id -u)" == 0 ]]; then
    as_pg() { runuser -u postgres -- "$@"; }
    id postgres >/dev/null 2>&1 || die "there is no postgres user (Debian's postgresql package creates it)"
else
    as_pg() { "$@"; }
fi

dir="$(mktemp -d /tmp/eventbus-pg.XXXXXX)"
chmod 0755 "$dir"
data="$dir/data"
[[ "$(id -u)" == 0 ]] && chown postgres: "$dir"

stop() {
    local code=$?
    if [[ -f "$data/postmaster.pid" ]]; then
        as_pg "$bin/pg_ctl" -D "$data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
    exit "$code"
}
trap stop EXIT
trap 'exit 130' INT TERM

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
as_pg "$bin/initdb" -D "$data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; die "initdb failed"; }
# Loopback only, its Unix socket in its own folder. No fsync: a throw-away cluster whose only crashes in the tests are
# EventBus processes killed with -9 (PostgreSQL itself keeps running, so every commit stays), and waiting for the
# disk on each commit would only slow the suite on a machine shared with other builds.
as_pg "$bin/pg_ctl" -D "$data" -l "$dir/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$dir -c max_connections=400 -c shared_buffers=128MB -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
    start >/dev/null || { cat "$dir/server.log" >&2; die "pg_ctl start failed"; }
export EVENTBUS_TEST_POSTGRES="postgres://postgres@127.0.0.1:$port/postgres"
say "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port ($data)"
"$@"
