using System.CommandLine;
using System.Text.Json.Nodes;
using EventBus.Postgres;
using EventBus.Postgres.Migration;
using EventBus.Sqlite;

namespace EventBus.Cli.Commands;

/// <summary>
/// <c>eventbus migrate --from bus.db --to postgres://…</c>: a SQLite bus (events with their ids, sessions and cursors,
/// subscriptions, webhooks and their outbox, tokens, and the key ring of the webhook secrets) copied into an empty
/// PostgreSQL database, with the server stopped. The copy is <see cref="SqliteToPostgres"/>.
/// </summary>
internal static class MigrateCommand
{
    public static Command Create(CliContext context)
    {
        var from = new Option<string?>("--from") { Description = "The SQLite database to copy (default $EVENTBUS_DB, else ~/.local/share/eventbus/bus.db)" };
        var to = new Option<string>("--to") { Description = "The empty PostgreSQL database: postgres://user:password@host:port/database", Required = true };
        var keys = new Option<string?>("--keys") { Description = "The webhook-secret keys folder (default: keys/ beside the database, or EventBus__Webhooks__KeysPath)" };
        var command = new Command("migrate", "Copy a SQLite bus into an empty PostgreSQL database (stop the server first)") { from, to, keys };
        command.SetAction(context, async run =>
        {
            var fromPath = run.Get(from) ?? run.Context.Environment("EVENTBUS_DB") ?? SqliteStoreOptions.DefaultPath();
            if (PostgresStoreOptions.IsPostgresUrl(fromPath))
            {
                await run.Error.WriteLineAsync("Failed: --from is a PostgreSQL URL; migrate copies a SQLite file (--from bus.db) into PostgreSQL (--to postgres://…).");
                return CliApp.Failed;
            }

            var database = Path.GetFullPath(fromPath);
            var keysPath = Path.GetFullPath(run.Get(keys) ?? run.Context.Environment("EventBus__Webhooks__KeysPath")
                ?? Path.Combine(Path.GetDirectoryName(database)!, "keys"));
            var url = run.Get(to)!;
            MigrationResult result;
            try
            {
                result = await SqliteToPostgres.RunAsync(new SqliteSource(database, keysPath, SqliteStoreOptions.SchemaVersion), url, run.CancellationToken);
            }
            catch (MigrationException ex)
            {
                await run.Error.WriteLineAsync($"Failed: {ex.Message}");
                return CliApp.Failed;
            }

            var target = PostgresUrl.Redact(url);
            if (run.Json)
            {
                var json = new JsonObject
                {
                    ["from"] = database,
                    ["to"] = target,
                    ["last_event_id"] = result.LastEventId,
                    ["deleted_through"] = result.DeletedThrough,
                    ["keys"] = result.Keys,
                    ["postgres_schema_version"] = result.PostgresSchemaVersion,
                };
                foreach (var (table, count) in result.Rows)
                {
                    json[table] = count;
                }

                run.WriteJson(json);
                return CliApp.Ok;
            }

            await run.Out.WriteLineAsync($"Migrated {database} into {target} (schema v{result.PostgresSchemaVersion}):");
            foreach (var (table, count) in result.Rows)
            {
                await run.Out.WriteLineAsync($"  {table,-20} {count}");
            }

            await run.Out.WriteLineAsync($"  {"webhook keys",-20} {result.Keys}");
            if (result.DeletedThrough > 0)
            {
                await run.Out.WriteLineAsync(
                    $"Retention had deleted events through id {result.DeletedThrough} on SQLite; that mark is not carried over (the PostgreSQL store keeps none).");
            }

            await run.Out.WriteLineAsync($"New events continue after id {Math.Max(result.LastEventId, result.DeletedThrough)}. Start the server with --db {target} (the SQLite file is left as it was).");
            return CliApp.Ok;
        });
        return command;
    }
}
