using System.CommandLine;
using System.Text.Json.Nodes;
using EventBus.Sqlite;
using EventBus.Sqlite.Import;

namespace EventBus.Cli.Commands;

/// <summary>
/// <c>eventbus import --from-agent-event-bus [FILE]</c>: the old bus's history (events with their ids, sessions with
/// their client ids and cursors) copied into a new, empty EventBus database, on the bus host, with the server stopped.
/// </summary>
internal static class ImportCommand
{
    public static Command Create(CliContext context)
    {
        var from = new Option<string?>("--from-agent-event-bus")
        {
            Description = "The agent-event-bus database to copy (default ~/.claude/contrib/agent-event-bus/data.db)",
            Arity = ArgumentArity.ZeroOrOne,
            Required = true,
        };
        var db = new Option<string?>("--db") { Description = "The EventBus database to fill; it must be new or empty (default $EVENTBUS_DB, else ~/.local/share/eventbus/bus.db)" };
        var command = new Command("import", "Copy an agent-event-bus database (events, sessions, cursors) into a new EventBus database; run it before the first start") { from, db };
        command.SetAction(context, async run =>
        {
            var source = run.Get(from) ?? AgentEventBusImport.DefaultSourcePath(run.Context.HomeDirectory);
            var target = run.Get(db) ?? run.Context.Environment("EVENTBUS_DB") ?? SqliteStoreOptions.DefaultPath();
            ImportResult result;
            try
            {
                result = await Task.Run(() => AgentEventBusImport.Run(source, target), run.CancellationToken);
            }
            catch (ImportException ex)
            {
                await run.Error.WriteLineAsync($"Failed: {ex.Message}");
                return CliApp.Failed;
            }

            if (run.Json)
            {
                run.WriteJson(new JsonObject
                {
                    ["source"] = source,
                    ["database"] = target,
                    ["source_schema_version"] = result.SourceSchemaVersion,
                    ["events"] = result.Events,
                    ["first_event_id"] = result.FirstEventId,
                    ["last_event_id"] = result.LastEventId,
                    ["sessions"] = result.Sessions,
                    ["sessions_with_cursor"] = result.SessionsWithCursor,
                    ["client_ids_dropped"] = result.ClientIdsDropped,
                });
                return CliApp.Ok;
            }

            await run.Out.WriteLineAsync(
                $"Imported {result.Events} events (ids {result.FirstEventId}–{result.LastEventId}) and {result.Sessions} sessions " +
                $"({result.SessionsWithCursor} with a saved cursor) from {source} (agent-event-bus schema v{result.SourceSchemaVersion}) into {target}.");
            if (result.ClientIdsDropped > 0)
            {
                await run.Out.WriteLineAsync(
                    $"{result.ClientIdsDropped} older sessions shared a (machine, client_id) with a newer one: kept, without the client id (the newer one resumes).");
            }

            await run.Out.WriteLineAsync("Webhooks are not copied: register them again (eventbus webhook register).");
            await run.Out.WriteLineAsync(
                "Retention keeps 90 days by default: to keep older events, start the server with --EventBus:Retention:DefaultMaxAge=0 (forever) or a longer age.");
            return CliApp.Ok;
        });
        return command;
    }
}
