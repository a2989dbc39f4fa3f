#!/usr/bin/env bash
# A PostgreSQL of one's own, for scripts to source (scripts/with-postgres.sh for the tests, scripts/bench.sh for the
# nodes bench): initdb into a fresh temp folder and pg_ctl on a free loopback port as the `postgres` user (PostgreSQL
# refuses to run as root).
#
#   pg_start [durable]   starts it; sets PG_BIN, PG_DIR, PG_DATA, PG_PORT and PG_URL (postgres://postgres@127.0.0.1:PORT/postgres).
#                        Without `durable`: no fsync and asynchronous commit — a throw-away cluster for tests, whose only
#                        crashes are EventBus processes killed with -9 (PostgreSQL itself keeps running, so every commit
#                        stays) and which should not wait for the disk on a machine shared with other builds. With
#                        `durable`: PostgreSQL's defaults (fsync, synchronous_commit on), as a benchmark must measure.
#   pg_stop              stops it (immediate) and removes its folder; safe to call twice or when it never started.
#   pg_psql ARGS...      psql against it as postgres.

pg_die() { printf 'postgres: FAILED: %s\n' "$*" >&2; exit 1; }

pg_as() {
    if [[ "$(id -u)" == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_start() {
    local settings="-c listen_addresses=127.0.0.1 -c max_connections=400 -c shared_buffers=128MB"
    [[ "${1:-}" == durable ]] || settings+=" -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    PG_BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
    [[ -n "$PG_BIN" && -x "$PG_BIN/initdb" ]] || pg_die "PostgreSQL is not installed (scripts/test-deps.sh installs Debian's postgresql)"
    if [[ "$(id -u)" == 0 ]]; then
        id postgres >/dev/null 2>&1 || pg_die "there is no postgres user (Debian's postgresql package creates it)"
    fi
    PG_DIR="$(mktemp -d /tmp/eventbus-pg.XXXXXX)"
    chmod 0755 "$PG_DIR"
    PG_DATA="$PG_DIR/data"
    [[ "$(id -u)" == 0 ]] && chown postgres: "$PG_DIR"
    PG_PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    pg_as "$PG_BIN/initdb" -D "$PG_DATA" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >"$PG_DIR/initdb.log" 2>&1 \
        || { cat "$PG_DIR/initdb.log" >&2; pg_die "initdb failed"; }
    # shellcheck disable=SC2086 # settings is a list of options
    pg_as "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_DIR/server.log" -w -t 60 \
        -o "-p $PG_PORT -c unix_socket_directories=$PG_DIR $settings" start >/dev/null \
        || { cat "$PG_DIR/server.log" >&2; pg_die "pg_ctl start failed"; }
    PG_URL="postgres://postgres@127.0.0.1:$PG_PORT/postgres"
}

pg_stop() {
    [[ -n "${PG_DIR:-}" ]] || return 0
    if [[ -f "$PG_DATA/postmaster.pid" ]]; then
        pg_as "$PG_BIN/pg_ctl" -D "$PG_DATA" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$PG_DIR"
    PG_DIR=""
}

pg_psql() { "$PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -v ON_ERROR_STOP=1 -q "$@"; }
