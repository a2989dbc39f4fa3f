using System.Text.Json;
using System.Text.Json.Nodes;
using EventBus.Cli.Client;
using EventBus.Core.Bus;

namespace EventBus.Cli.Claude;

/// <summary>A session as <c>register_session</c> returned it.</summary>
internal sealed record BusSession(string SessionId, string DisplayId, string Name, string Machine, string Repo, long Cursor, bool Resumed)
{
    /// <summary>
    /// Registers, or resumes the session of the same (machine, client_id): Claude Code's session id as client id makes
    /// the channel and every hook of one Claude Code session act as the same bus session.
    /// </summary>
    /// <exception cref="BusCallException">The bus refused the registration (its error says why).</exception>
    public static async Task<BusSession> RegisterAsync(
        BusClient client, string name, string machine, string cwd, string? clientId, TimeSpan? timeout, CancellationToken cancellationToken)
    {
        var arguments = new JsonObject { ["name"] = name, ["machine"] = machine, ["cwd"] = cwd };
        if (clientId is { Length: > 0 })
        {
            arguments["client_id"] = clientId;
        }

        var result = await client.CallToolAsync("register_session", arguments, timeout, cancellationToken);
        if (EventJson.Error(result) is { } error)
        {
            throw new BusCallException($"register_session: {error}", "register_session");
        }

        var reply = Reply.Read(result, CliJson.Default.RegisterReply);
        _ = long.TryParse(reply.Cursor, out var cursor);
        return new BusSession(reply.SessionId, reply.DisplayId, reply.Name, reply.Machine, reply.Repo, cursor, reply.Resumed);
    }

    /// <summary>What concerns this session now (its subscriptions read from the bus).</summary>
    public async Task<Interest> InterestAsync(BusClient client, TimeSpan? timeout, CancellationToken cancellationToken)
    {
        var result = await client.CallToolAsync("list_subscriptions", new JsonObject { ["session_id"] = SessionId }, timeout, cancellationToken);
        return new Interest(SessionId, Repo, Machine, Interest.ParseSubscriptions(result));
    }

    /// <summary>session_id → display_id of the live sessions (how events name their sender).</summary>
    public static async Task<Dictionary<string, string>> DisplayIdsAsync(BusClient client, TimeSpan? timeout, CancellationToken cancellationToken)
    {
        var names = new Dictionary<string, string>(StringComparer.Ordinal);
        var sessions = await client.CallToolAsync("list_sessions", null, timeout, cancellationToken);
        if (sessions.ValueKind == JsonValueKind.Array)
        {
            foreach (var session in Reply.Read(sessions, CliJson.Default.ListSessionReply))
            {
                names[session.SessionId] = session.DisplayId;
            }
        }

        return names;
    }
}
