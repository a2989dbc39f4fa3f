#!/usr/bin/env bash
# The unit and integration suites, run twice over the store seam, side by side (make unit):
#   - every test project against SQLite (the Postgres-only two-node tests left out);
#   - the server suite's store-dependent classes again against PostgreSQL (EVENTBUS_TEST_STORE=postgres, each test
#     host on a database of its own), plus the Postgres-only two-node tests and the CLI's Postgres backup tests.
#     Tests that look at SQLite's own files carry [Trait("Store", "SqliteOnly")] and are left out there.
# Runs under scripts/with-postgres.sh, which starts the PostgreSQL and exports EVENTBUS_TEST_POSTGRES; without it the
# Postgres run fails (it never skips).
#
# Usage: scripts/unit-tests.sh [CONFIG]
set -uo pipefail

config="${1:-Release}"
[[ -n "${EVENTBUS_TEST_POSTGRES:-}" ]] || { echo "unit-tests: FAILED: EVENTBUS_TEST_POSTGRES is not set (run under scripts/with-postgres.sh)" >&2; exit 1; }

# The classes whose behaviour depends on the store: the contract, push, long-poll, REST/SSE, webhooks (and MCP Events
# webhook subscriptions), auth, limits, sessions, WebSockets, ingest, crash and retention tests.
postgres_classes=(ContractTests PushTests LongPollTests .Api. .Webhooks. McpEventsSubscribeTests AuthTests LimitsTests BindingAndSubscriptionTests
    SessionExpiryTests .Security. .WebSockets. InboxResourceTests McpHttpBindingTests .Ingest. .Crash. .Postgres. .Retention.)
filter="$(printf 'FullyQualifiedName~%s|' "${postgres_classes[@]}")"
# WebhookThroughputTests measure the HTTP client against a receiver that closes connections (nothing store-specific)
# and need a quiet machine: they run once, on SQLite.
filter="(${filter%|})&Store!=SqliteOnly&FullyQualifiedName!~WebhookThroughputTests"

start=$SECONDS
dotnet test EventBus.sln -c "$config" --no-build --filter "Store!=Postgres" 2>&1 | sed -u 's/^/[sqlite] /' &
sqlite=$!
# The CLI suite's Postgres-only tests (backup/restore/check on a postgres:// database) follow in the same run.
{ EVENTBUS_TEST_STORE=postgres dotnet test tests/EventBus.Server.Tests -c "$config" --no-build --filter "$filter" \
    && EVENTBUS_TEST_STORE=postgres dotnet test tests/EventBus.Cli.Tests -c "$config" --no-build --filter "Store=Postgres"; } 2>&1 \
    | sed -u 's/^/[postgres] /' &
postgres=$!

wait "$sqlite"; sqlite_rc=$?
wait "$postgres"; postgres_rc=$?
echo "unit-tests: sqlite run exit $sqlite_rc, postgres run exit $postgres_rc, $((SECONDS - start)) s"
[[ $sqlite_rc == 0 && $postgres_rc == 0 ]]
