using System.Text.Json;
using EventBus.Cli.Client;

namespace EventBus.Cli;

/// <summary>
/// The session id a command acts as: <c>--session-id</c> &gt; <c>EVENTBUS_SESSION_ID</c> &gt;
/// <c>AGENT_EVENT_BUS_SESSION_ID</c> &gt; <c>CLAUDE_CODE_SESSION_ID</c>.
/// </summary>
/// <remarks>
/// Bus session ids are UUIDs the bus makes; Claude Code's session id is what a Claude Code session registers as its
/// <c>client_id</c>. So a value from <c>CLAUDE_CODE_SESSION_ID</c> is looked up as a client id on this machine, and
/// any value that is not a session id (a display id like <c>brave-raptor</c>, or a client id) is looked up too;
/// when nothing matches, the value is passed on as given and the bus says what is wrong with it.
/// </remarks>
internal static class SessionIds
{
    public static readonly IReadOnlyList<string> Variables = ["EVENTBUS_SESSION_ID", "AGENT_EVENT_BUS_SESSION_ID", "CLAUDE_CODE_SESSION_ID"];

    /// <summary>The raw value and where it came from, without asking the bus.</summary>
    public static (string? Value, string? Source) Find(string? option, Func<string, string?> environment)
    {
        if (!string.IsNullOrWhiteSpace(option))
        {
            return (option.Trim(), "--session-id");
        }

        foreach (var name in Variables)
        {
            if (environment(name) is { } value && !string.IsNullOrWhiteSpace(value))
            {
                return (value.Trim(), name);
            }
        }

        return (null, null);
    }

    public static async Task<string?> ResolveAsync(string? option, CliContext context, Func<BusClient> client, CancellationToken cancellationToken)
    {
        var (value, source) = Find(option, context.Environment);
        if (value is null)
        {
            return null;
        }

        var isClientId = source == "CLAUDE_CODE_SESSION_ID";
        if (!isClientId && Guid.TryParse(value, out _))
        {
            return value;
        }

        var sessions = await client().CallToolAsync("list_sessions", cancellationToken: cancellationToken);
        if (sessions.ValueKind != JsonValueKind.Array)
        {
            return value;
        }

        string? byDisplay = null, byClientHere = null, byClientElsewhere = null;
        foreach (var s in Reply.Read(sessions, CliJson.Default.ListSessionReply))
        {
            var id = s.SessionId;
            if (!isClientId && id == value)
            {
                return id;
            }

            if (!isClientId && s.DisplayId == value)
            {
                byDisplay ??= id;
            }

            if (s.ClientId == value)
            {
                if (s.Machine == context.MachineName)
                {
                    byClientHere ??= id;
                }
                else
                {
                    byClientElsewhere ??= id;
                }
            }
        }

        return byDisplay ?? byClientHere ?? byClientElsewhere ?? value;
    }
}
