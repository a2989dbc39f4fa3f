using System.Text.Json;
using System.Text.Json.Nodes;
using EventBus.Cli.Client;

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

        string Str(string key) => result.TryGetProperty(key, out var v) ? v.GetString() ?? "" : "";
        _ = long.TryParse(Str("cursor"), out var cursor);
        return new BusSession(
            Str("session_id"), Str("display_id"), Str("name"), Str("machine"), Str("repo"), cursor,
            result.TryGetProperty("resumed", out var resumed) && resumed.ValueKind == JsonValueKind.True);
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
            foreach (var s in sessions.EnumerateArray())
            {
                if (s.TryGetProperty("session_id", out var id) && s.TryGetProperty("display_id", out var display) &&
                    id.GetString() is { } key && display.GetString() is { } value)
                {
                    names[key] = value;
                }
            }
        }

        return names;
    }
}
