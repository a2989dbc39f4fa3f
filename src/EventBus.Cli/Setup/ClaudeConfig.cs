using System.Text.Json;
using System.Text.Json.Nodes;

namespace EventBus.Cli.Setup;

/// <summary>
/// What <c>eventbus setup claude</c> writes into Claude Code's files, and how it finds its own entries again
/// (to update or remove them without touching anything else).
/// </summary>
internal static class ClaudeConfig
{
    /// <summary>The HTTP MCP server entry (the bus itself).</summary>
    public const string ServerName = "eventbus";

    /// <summary>The stdio channel entry (<c>eventbus channel</c>); enable it with <see cref="ChannelFlag"/>.</summary>
    public const string ChannelName = "eventbus-channel";

    /// <summary>How a Claude Code launch turns the channel on.</summary>
    public const string ChannelFlag = "--dangerously-load-development-channels server:" + ChannelName;

    /// <summary>Every hook command we write starts with this; anything else in the hooks is the user's.</summary>
    public const string HookPrefix = "eventbus hook ";

    /// <summary>The hooks: (event, matcher, subcommand, extra fields).</summary>
    public static readonly IReadOnlyList<(string Event, string? Matcher, string Command, JsonObject Extra)> Hooks =
    [
        ("SessionStart", "startup|resume|clear|compact", "session-start", new JsonObject { ["timeout"] = 15 }),
        ("UserPromptSubmit", null, "prompt", new JsonObject { ["timeout"] = 15 }),
        ("Stop", null, "stop", new JsonObject { ["timeout"] = 15 }),
        // In the background after each turn: waits for a directed or actionable event and exits 2 to wake the session.
        ("Stop", null, "rewake", new JsonObject { ["asyncRewake"] = true, ["timeout"] = 3600 }),
    ];

    public static readonly JsonSerializerOptions WriteOptions = new()
    {
        WriteIndented = true,
        IndentSize = 2,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>The two <c>mcpServers</c> entries.</summary>
    public static (JsonObject Server, JsonObject Channel) McpEntries(string url, string? authorization, bool urlIsDefault)
    {
        var server = new JsonObject { ["type"] = "http", ["url"] = url };
        if (authorization is not null)
        {
            server["headers"] = new JsonObject { ["Authorization"] = authorization };
        }

        var channel = new JsonObject { ["type"] = "stdio", ["command"] = "eventbus", ["args"] = new JsonArray("channel") };
        var env = new JsonObject();
        if (!urlIsDefault)
        {
            env["EVENTBUS_URL"] = url;
        }

        if (authorization is not null && !authorization.Contains("${", StringComparison.Ordinal))
        {
            env["EVENTBUS_TOKEN"] = authorization["Bearer ".Length..];
        }

        if (env.Count > 0)
        {
            channel["env"] = env;
        }

        return (server, channel);
    }

    /// <summary>The hook command line for one subcommand (with <c>--url</c> when the bus is not at the default).</summary>
    public static string HookCommand(string subcommand, string url, bool urlIsDefault) =>
        HookPrefix + subcommand + (urlIsDefault ? "" : " --url " + ShellQuote(url));

    /// <summary>Adds (or replaces) the eventbus entries in an <c>mcpServers</c> document.</summary>
    public static void ApplyMcp(JsonObject document, JsonObject server, JsonObject channel)
    {
        var servers = document["mcpServers"] as JsonObject;
        if (servers is null)
        {
            servers = [];
            document["mcpServers"] = servers;
        }

        servers[ServerName] = server;
        servers[ChannelName] = channel;
    }

    public static bool RemoveMcp(JsonObject document)
    {
        if (document["mcpServers"] is not JsonObject servers)
        {
            return false;
        }

        var removed = servers.Remove(ServerName);
        removed |= servers.Remove(ChannelName);
        return removed;
    }

    /// <summary>Removes our hook commands (leaving every other hook, and every other setting, as it was).</summary>
    public static bool RemoveHooks(JsonObject settings)
    {
        if (settings["hooks"] is not JsonObject hooks)
        {
            return false;
        }

        var removed = false;
        foreach (var eventName in hooks.Select(p => p.Key).ToList())
        {
            if (hooks[eventName] is not JsonArray groups)
            {
                continue;
            }

            for (var g = groups.Count - 1; g >= 0; g--)
            {
                if (groups[g] is not JsonObject group || group["hooks"] is not JsonArray list)
                {
                    continue;
                }

                for (var h = list.Count - 1; h >= 0; h--)
                {
                    if (IsOurs(list[h]))
                    {
                        list.RemoveAt(h);
                        removed = true;
                    }
                }

                if (list.Count == 0)
                {
                    groups.RemoveAt(g);
                }
            }

            if (groups.Count == 0)
            {
                hooks.Remove(eventName);
            }
        }

        if (hooks.Count == 0)
        {
            settings.Remove("hooks");
        }

        return removed;
    }

    /// <summary>Replaces our hooks with the current set.</summary>
    public static void ApplyHooks(JsonObject settings, string url, bool urlIsDefault)
    {
        RemoveHooks(settings);
        var hooks = settings["hooks"] as JsonObject;
        if (hooks is null)
        {
            hooks = [];
            settings["hooks"] = hooks;
        }

        foreach (var group in Hooks.GroupBy(h => (h.Event, h.Matcher)))
        {
            var entry = new JsonObject();
            if (group.Key.Matcher is { } matcher)
            {
                entry["matcher"] = matcher;
            }

            var list = new JsonArray();
            foreach (var hook in group)
            {
                var command = new JsonObject { ["type"] = "command", ["command"] = HookCommand(hook.Command, url, urlIsDefault) };
                foreach (var (key, value) in hook.Extra)
                {
                    command[key] = value?.DeepClone();
                }

                list.Add(command);
            }

            entry["hooks"] = list;
            if (hooks[group.Key.Event] is not JsonArray groups)
            {
                groups = [];
                hooks[group.Key.Event] = groups;
            }

            groups.Add(entry);
        }
    }

    /// <summary>Our hook commands found in a settings document, by event.</summary>
    public static IEnumerable<(string Event, string Command)> FindHooks(JsonObject settings)
    {
        if (settings["hooks"] is not JsonObject hooks)
        {
            yield break;
        }

        foreach (var (eventName, node) in hooks)
        {
            if (node is not JsonArray groups)
            {
                continue;
            }

            foreach (var group in groups.OfType<JsonObject>())
            {
                if (group["hooks"] is not JsonArray list)
                {
                    continue;
                }

                foreach (var hook in list)
                {
                    if (IsOurs(hook))
                    {
                        yield return (eventName, (string)hook!["command"]!);
                    }
                }
            }
        }
    }

    private static bool IsOurs(JsonNode? hook) =>
        hook is JsonObject o && o["command"] is JsonValue v && v.TryGetValue<string>(out var command) &&
        command.TrimStart().StartsWith(HookPrefix, StringComparison.Ordinal);

    private static string ShellQuote(string value) =>
        value.All(c => char.IsAsciiLetterOrDigit(c) || ":/._-@%+=,".Contains(c, StringComparison.Ordinal))
            ? value
            : "'" + value.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
}
