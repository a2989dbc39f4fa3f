using System.CommandLine;

namespace EventBus.Cli;

/// <summary>The options every command accepts (before or after the command name).</summary>
internal static class CliOptions
{
    public static readonly Option<string?> Url = new("--url")
    {
        Description = $"The bus's MCP URL (default: $EVENTBUS_URL, else $AGENT_EVENT_BUS_URL, else {Client.BusEndpoint.DefaultUrl})",
        Recursive = true,
    };

    public static readonly Option<bool> Json = new("--json")
    {
        Description = "Print machine-readable JSON instead of text",
        Recursive = true,
    };

    public static readonly Option<bool> Debug = new("--debug")
    {
        Description = "Show full stack traces on errors",
        Recursive = true,
    };

    /// <summary>Added per command (not global): only commands that act as a session take it.</summary>
    public static Option<string?> SessionId(string description = "Your session id (default: $EVENTBUS_SESSION_ID, else $AGENT_EVENT_BUS_SESSION_ID, else the session registered for $CLAUDE_CODE_SESSION_ID)") =>
        new("--session-id") { Description = description };
}
