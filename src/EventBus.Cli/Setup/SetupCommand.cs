using System.CommandLine;
using System.Text.Json.Nodes;
using EventBus.Cli.Client;

namespace EventBus.Cli.Setup;

/// <summary>
/// <c>eventbus setup claude</c>: writes the bus (HTTP) and the channel (stdio) into Claude Code's MCP config and the
/// hooks into its settings, idempotently, keeping everything else in those files; <c>--remove</c> takes them out.
/// </summary>
internal static class SetupCommand
{
    public static Command Create(CliContext context)
    {
        var setup = new Command("setup", "Set up a client to use the bus");
        setup.Subcommands.Add(Claude(context));
        return setup;
    }

    /// <summary>The files a scope writes: (MCP config, settings).</summary>
    internal static (string Mcp, string Settings) Paths(CliContext context, string scope) => scope == "user"
        ? (Path.Combine(context.HomeDirectory, ".claude.json"), Path.Combine(context.HomeDirectory, ".claude", "settings.json"))
        : (Path.Combine(context.CurrentDirectory, ".mcp.json"), Path.Combine(context.CurrentDirectory, ".claude", "settings.json"));

    private static Command Claude(CliContext context)
    {
        var scope = new Option<string>("--scope")
        {
            Description = "project: .mcp.json and .claude/settings.json here; user: ~/.claude.json and ~/.claude/settings.json",
            DefaultValueFactory = _ => "project",
        };
        scope.AcceptOnlyFromAmong("project", "user");
        var token = new Option<string?>("--token")
        {
            Description = "Send this bearer token (written into the config; pass '${EVENTBUS_TOKEN}' to keep it in the environment instead)",
            HelpName = "T",
        };
        var dryRun = new Option<bool>("--dry-run") { Description = "Print the change instead of writing it" };
        var remove = new Option<bool>("--remove") { Description = "Take the eventbus entries and hooks out again" };
        var command = new Command("claude", "Write the eventbus MCP server, the stdio channel and the hooks into Claude Code's config")
        {
            scope, token, dryRun, remove,
        };
        command.SetAction(context, async run =>
        {
            var chosen = run.Get(scope) ?? "project";
            var (mcpPath, settingsPath) = Paths(run.Context, chosen);
            var mcp = JsonFile.Load(mcpPath);
            var settings = JsonFile.Load(settingsPath);
            var endpoint = run.Endpoint;
            var url = endpoint.McpUrl.ToString();
            var urlIsDefault = url == BusEndpoint.DefaultUrl;

            if (run.Get(remove))
            {
                ClaudeConfig.RemoveMcp(mcp.Document);
                ClaudeConfig.RemoveHooks(settings.Document);
            }
            else
            {
                var authorization = run.Get(token) is { Length: > 0 } t ? "Bearer " + t
                    : endpoint.Token is not null ? "Bearer ${" + BusEndpoint.TokenVariable + "}"
                    : null;
                var (server, channel) = ClaudeConfig.McpEntries(url, authorization, urlIsDefault);
                ClaudeConfig.ApplyMcp(mcp.Document, server, channel);
                ClaudeConfig.ApplyHooks(settings.Document, url, urlIsDefault);
            }

            JsonFile[] files = [mcp, settings];
            var dry = run.Get(dryRun);
            if (!dry)
            {
                foreach (var file in files.Where(f => f.Changed))
                {
                    file.Save();
                }
            }

            if (run.Json)
            {
                run.WriteJson(new JsonObject
                {
                    ["scope"] = chosen,
                    ["action"] = run.Get(remove) ? "remove" : "install",
                    ["dry_run"] = dry,
                    ["files"] = new JsonArray([.. files.Select(f => (JsonNode)new JsonObject { ["path"] = f.Path, ["changed"] = f.Changed })]),
                });
                return CliApp.Ok;
            }

            foreach (var file in files)
            {
                if (!file.Changed)
                {
                    await run.Out.WriteLineAsync($"{file.Path}: already {(run.Get(remove) ? "free of eventbus" : "up to date")}");
                }
                else if (dry)
                {
                    await run.Out.WriteAsync(file.Diff());
                }
                else
                {
                    await run.Out.WriteLineAsync($"{file.Path}: {(run.Get(remove) ? "removed the eventbus entries" : "written")}");
                }
            }

            if (!run.Get(remove) && !dry)
            {
                await run.Out.WriteLineAsync(
                    $"""

                    Claude Code now has the bus at {url} ("{ClaudeConfig.ServerName}", HTTP) and its channel ("{ClaudeConfig.ChannelName}", stdio: `eventbus channel`),
                    and hooks on SessionStart, UserPromptSubmit and Stop (`eventbus hook …`). Check with `claude mcp list` and `eventbus doctor`.
                    To have events pushed into the session, start Claude Code with:
                      claude {ClaudeConfig.ChannelFlag}
                    Using plugins? The eventbus plugin sets up the same (plus a monitor that pushes events with no launch flag):
                      claude plugin marketplace add <the EventBus repository: its path or git URL>
                      claude plugin install eventbus@eventbus
                    (use one or the other: with both, Claude Code runs two copies of each server and hook)
                    """);
                if (run.Get(token) is { Length: > 0 } literal && !literal.Contains("${", StringComparison.Ordinal) && chosen == "project")
                {
                    await run.Error.WriteLineAsync($"eventbus: the token is written into {mcpPath}; keep that file out of version control, or use --token '${{{BusEndpoint.TokenVariable}}}'.");
                }
            }

            return CliApp.Ok;
        });
        return command;
    }
}
