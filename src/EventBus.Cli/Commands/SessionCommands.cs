using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using EventBus.Cli.Client;

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
            if (Reply.ErrorOf(result) is null && Reply.Read(result, CliJson.Default.RegisterReply) is { SessionId: { } sessionId } registered)
            {
                var displayId = registered.DisplayId ?? sessionId;
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

            var sessions = Reply.Read(result, CliJson.Default.ListSessionReply);
            if (sessions.Count == 0)
            {
                await run.Out.WriteLineAsync("No active sessions");
                return CliApp.Ok;
            }

            await run.Out.WriteLineAsync($"Active sessions ({sessions.Count}):\n");
            foreach (var s in sessions)
            {
                var id = s.SessionId ?? "?";
                var display = s.DisplayId ?? id;
                await run.Out.WriteLineAsync($"  {display}  {s.Name}");
                await run.Out.WriteLineAsync($"    repo: {s.Repo}, machine: {s.Machine}");
                if (s.ClientId is { Length: > 0 } client)
                {
                    await run.Out.WriteLineAsync($"    client_id: {client}");
                }

                var age = (long)s.AgeSeconds;
                await run.Out.WriteLineAsync($"    age: {age.ToString(CultureInfo.InvariantCulture)}s");
                if (id != display)
                {
                    await run.Out.WriteLineAsync($"    session_id: {(id.Length > 16 ? id[..8] + "…" : id)}");
                }

                if (s.SubscribedChannels is { Count: > 0 } channels)
                {
                    await run.Out.WriteLineAsync($"    channels: {string.Join(", ", channels)}");
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

            var channels = Reply.Read(result, CliJson.Default.ListChannelReply);
            if (channels.Count == 0)
            {
                await run.Out.WriteLineAsync("No active channels");
                return CliApp.Ok;
            }

            await run.Out.WriteLineAsync($"Active channels ({channels.Count}):\n");
            foreach (var ch in channels)
            {
                var subscribers = ch.Subscribers;
                await run.Out.WriteLineAsync($"  {ch.Channel ?? "<unknown>"}  ({subscribers} subscriber{(subscribers == 1 ? "" : "s")})");
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

    internal static string? ErrorOf(JsonElement result) => Reply.ErrorOf(result);
}
