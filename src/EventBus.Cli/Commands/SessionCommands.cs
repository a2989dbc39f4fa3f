using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace EventBus.Cli.Commands;

/// <summary><c>register</c>, <c>unregister</c>, <c>sessions</c>, <c>channels</c>: the old CLI's commands and output.</summary>
internal static class SessionCommands
{
    public static Command Register(CliContext context)
    {
        var name = new Option<string?>("--name") { Description = "Session name (default: the current directory's name)" };
        var clientId = new Option<string?>("--client-id") { Description = "A stable client id (e.g. the Claude Code session id): registering again with it resumes the session" };
        var command = new Command("register", "Register a session (prints the result; 'Registered as: <display id>' on stderr)") { name, clientId };
        command.SetAction(context, async run =>
        {
            var cwd = run.Context.CurrentDirectory;
            var arguments = new JsonObject
            {
                ["name"] = run.Get(name) is { Length: > 0 } n ? n : Path.GetFileName(cwd.TrimEnd('/')) is { Length: > 0 } dir ? dir : "/",
                ["machine"] = run.Context.MachineName,
                ["cwd"] = cwd,
            };
            if (run.Get(clientId) is { Length: > 0 } client)
            {
                arguments["client_id"] = client;
            }

            var result = await run.CallAsync("register_session", arguments);
            run.WriteResult(result);
            if (Text(result, "session_id") is { } sessionId)
            {
                var displayId = Text(result, "display_id") ?? sessionId;
                await run.Error.WriteLineAsync($"\nRegistered as: {displayId}");
                if (displayId != sessionId)
                {
                    await run.Error.WriteLineAsync($"Session ID: {sessionId}");
                }
            }

            return CliApp.Ok;
        });
        return command;
    }

    public static Command Unregister(CliContext context)
    {
        var sessionId = CliOptions.SessionId("The session to end (default: $EVENTBUS_SESSION_ID, else $AGENT_EVENT_BUS_SESSION_ID, else $CLAUDE_CODE_SESSION_ID's session)");
        var clientId = new Option<string?>("--client-id") { Description = "End the session registered with this client id on this machine" };
        var command = new Command("unregister", "Unregister a session (by --session-id or --client-id)") { sessionId, clientId };
        command.SetAction(context, async run =>
        {
            var arguments = new JsonObject();
            if (run.Get(clientId) is { Length: > 0 } client)
            {
                arguments["client_id"] = client;
                arguments["machine"] = run.Context.MachineName;
            }
            else if (await run.SessionIdAsync(sessionId) is { } id)
            {
                arguments["session_id"] = id;
            }
            else
            {
                throw new Client.CliUsageException("unregister needs --session-id or --client-id (or $EVENTBUS_SESSION_ID).");
            }

            var result = await run.CallAsync("unregister_session", arguments);
            return ResultOrError(run, result);
        });
        return command;
    }

    public static Command Sessions(CliContext context)
    {
        var command = new Command("sessions", "List active sessions");
        command.SetAction(context, async run =>
        {
            var result = await run.CallAsync("list_sessions");
            if (run.Json)
            {
                run.WriteJson(result);
                return CliApp.Ok;
            }

            var count = result.ValueKind == JsonValueKind.Array ? result.GetArrayLength() : 0;
            if (count == 0)
            {
                await run.Out.WriteLineAsync("No active sessions");
                return CliApp.Ok;
            }

            await run.Out.WriteLineAsync($"Active sessions ({count}):\n");
            foreach (var s in result.EnumerateArray())
            {
                var id = Text(s, "session_id") ?? "?";
                var display = Text(s, "display_id") ?? id;
                await run.Out.WriteLineAsync($"  {display}  {Text(s, "name")}");
                await run.Out.WriteLineAsync($"    repo: {Text(s, "repo")}, machine: {Text(s, "machine")}");
                if (Text(s, "client_id") is { Length: > 0 } client)
                {
                    await run.Out.WriteLineAsync($"    client_id: {client}");
                }

                var age = s.TryGetProperty("age_seconds", out var a) && a.TryGetDouble(out var seconds) ? (long)seconds : 0;
                await run.Out.WriteLineAsync($"    age: {age.ToString(CultureInfo.InvariantCulture)}s");
                if (id != display)
                {
                    await run.Out.WriteLineAsync($"    session_id: {(id.Length > 16 ? id[..8] + "…" : id)}");
                }

                if (s.TryGetProperty("subscribed_channels", out var channels) && channels.ValueKind == JsonValueKind.Array && channels.GetArrayLength() > 0)
                {
                    await run.Out.WriteLineAsync($"    channels: {string.Join(", ", channels.EnumerateArray().Select(c => c.GetString()))}");
                }

                await run.Out.WriteLineAsync();
            }

            return CliApp.Ok;
        });
        return command;
    }

    public static Command Channels(CliContext context)
    {
        var command = new Command("channels", "List active channels and their subscriber counts");
        command.SetAction(context, async run =>
        {
            var result = await run.CallAsync("list_channels");
            if (run.Json)
            {
                run.WriteJson(result);
                return CliApp.Ok;
            }

            var count = result.ValueKind == JsonValueKind.Array ? result.GetArrayLength() : 0;
            if (count == 0)
            {
                await run.Out.WriteLineAsync("No active channels");
                return CliApp.Ok;
            }

            await run.Out.WriteLineAsync($"Active channels ({count}):\n");
            foreach (var ch in result.EnumerateArray())
            {
                var subscribers = ch.TryGetProperty("subscribers", out var n) && n.TryGetInt64(out var v) ? v : 0;
                await run.Out.WriteLineAsync($"  {Text(ch, "channel") ?? "<unknown>"}  ({subscribers} subscriber{(subscribers == 1 ? "" : "s")})");
            }

            await run.Out.WriteLineAsync();
            return CliApp.Ok;
        });
        return command;
    }

    /// <summary>A result with an <c>error</c> key: "Error: …" on stderr (the object on stdout with --json), exit 1.</summary>
    internal static int ResultOrError(Invocation run, JsonElement result)
    {
        if (ErrorOf(result) is { } error)
        {
            if (run.Json)
            {
                run.WriteJson(result);
            }
            else
            {
                run.Error.WriteLine($"Error: {error}");
            }

            return CliApp.Failed;
        }

        run.WriteResult(result);
        return CliApp.Ok;
    }

    internal static string? ErrorOf(JsonElement result) =>
        result.ValueKind == JsonValueKind.Object && result.TryGetProperty("error", out var e) ? (e.ValueKind == JsonValueKind.String ? e.GetString() : e.GetRawText()) : null;

    internal static string? Text(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var v)
            ? v.ValueKind switch
            {
                JsonValueKind.String => v.GetString(),
                JsonValueKind.Null or JsonValueKind.Undefined => null,
                _ => v.GetRawText(),
            }
            : null;
}
