using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using EventBus.Cli.Client;

namespace EventBus.Cli.Setup;

/// <summary>
/// <c>eventbus doctor</c>: checks, in order, where the bus is, that it answers, that it takes the token, that it has
/// the tools, that its stream delivers, and that Claude Code is configured to use it; each line says what is wrong
/// and what to do. Exit 1 when any check fails.
/// </summary>
internal static class DoctorCommand
{
    /// <summary>The tools the contract and push need; the webhook tools are reported but not required.</summary>
    private static readonly string[] RequiredTools =
    [
        "register_session", "list_sessions", "list_channels", "publish_event", "get_events", "ack_events", "unregister_session", "notify",
        "subscribe", "unsubscribe", "list_subscriptions",
    ];

    private static readonly string[] WebhookTools = ["register_webhook", "list_webhooks", "set_webhook_active", "unregister_webhook"];

    private sealed record Check(string Name, string Status, string Message);

    public static Command Create(CliContext context)
    {
        var streamTimeout = new Option<int>("--stream-timeout") { Description = "Seconds to wait for the test event on the stream", DefaultValueFactory = _ => 10 };
        var command = new Command("doctor", "Check the bus URL, auth, tools, push/stream and the Claude Code config, and say what is wrong") { streamTimeout };
        command.SetAction(context, async run =>
        {
            var checks = new List<Check>();
            void Add(string name, string status, string message)
            {
                checks.Add(new Check(name, status, message));
                if (!run.Json)
                {
                    var mark = status switch { "ok" => "✔", "warn" => "!", _ => "✘" };
                    run.Out.WriteLine($"{mark} {message}");
                }
            }

            var endpoint = run.Endpoint;
            Add("url", "ok", $"bus URL {endpoint.McpUrl} (from {endpoint.Source})");
            if (await CheckServerAsync(run, Add, run.Get(streamTimeout)))
            {
                CheckClaude(run, Add, endpoint);
            }

            CheckOnPath(run, Add);
            var failed = checks.Any(c => c.Status == "fail");
            if (run.Json)
            {
                run.WriteJson(new JsonObject
                {
                    ["ok"] = !failed,
                    ["url"] = endpoint.McpUrl.ToString(),
                    ["checks"] = new JsonArray([.. checks.Select(c => (JsonNode)new JsonObject { ["name"] = c.Name, ["status"] = c.Status, ["message"] = c.Message })]),
                });
            }
            else
            {
                await run.Out.WriteLineAsync(failed ? "\nSome checks failed; see the ✘ lines." : checks.Any(c => c.Status == "warn") ? "\nThe bus works; see the ! lines for what else to set up." : "\nAll good.");
            }

            return failed ? CliApp.Failed : CliApp.Ok;
        });
        return command;
    }

    private static async Task<bool> CheckServerAsync(Invocation run, Action<string, string, string> add, int streamSeconds)
    {
        var client = run.Client;
        try
        {
            var health = await client.GetHealthAsync(run.CancellationToken);
            var report = Reply.Read(health, CliJson.Default.HealthReply);
            var status = report.Status;
            var version = report.Version ?? "?";
            var database = report.Store?.Path;
            add("reachable", status == "ok" ? "ok" : "fail",
                status == "ok" ? $"the bus answers at {client.Endpoint.BaseUrl} (EventBus {version}, database {database})" : $"the bus answers but reports status \"{status}\": {health.GetRawText()}");
        }
        catch (BusUnavailableException ex)
        {
            add("reachable", "fail", $"nothing answers at {client.Endpoint.BaseUrl} ({ex.Reason}) — start the bus with `eventbus serve` or `make run`, or point --url / EVENTBUS_URL at it");
            return false;
        }
        catch (BusAuthException ex)
        {
            add("reachable", "fail", ex.Message);
            return false;
        }
        catch (BusCallException ex)
        {
            add("reachable", "fail", $"something answers at {client.Endpoint.BaseUrl}, but not like EventBus: {ex.Message}");
            return false;
        }

        try
        {
            await client.CallToolAsync("list_channels", cancellationToken: run.CancellationToken);
            add("auth", "ok", client.Endpoint.Token is null ? "tool calls work without a token (EVENTBUS_TOKEN is not set)" : "the bus accepts the token from EVENTBUS_TOKEN");
        }
        catch (BusAuthException)
        {
            add("auth", "fail", client.Endpoint.Token is null
                ? "the bus wants a token: set EVENTBUS_TOKEN (and rerun `eventbus setup claude`)"
                : "the bus refuses the token in EVENTBUS_TOKEN: check it, or ask the bus's owner for a new one");
            return false;
        }
        catch (BusCallException ex)
        {
            add("auth", "fail", $"a tool call failed: {ex.Message}");
            return false;
        }

        try
        {
            var list = await client.RequestAsync("tools/list", cancellationToken: run.CancellationToken);
            var names = (Reply.Read(list, CliJson.Default.ToolListing).Tools ?? []).Select(t => t.Name).ToHashSet();
            var missing = RequiredTools.Where(t => !names.Contains(t)).ToList();
            add("tools", missing.Count == 0 ? "ok" : "fail", missing.Count == 0
                ? $"{names.Count} tools, including all {RequiredTools.Length} the CLI and hooks use"
                : $"the bus lacks {string.Join(", ", missing)}: it is an older or different server; upgrade it");
            var webhooksMissing = WebhookTools.Where(t => !names.Contains(t)).ToList();
            if (webhooksMissing.Count > 0)
            {
                add("webhook_tools", "warn", "the webhook tools are not served by this bus (`eventbus webhook …` will not work)");
            }
        }
        catch (BusCallException ex)
        {
            add("tools", "fail", $"tools/list failed: {ex.Message}");
        }

        await CheckStreamAsync(run, add, TimeSpan.FromSeconds(Math.Max(1, streamSeconds)));
        return true;
    }

    /// <summary>Publishes one lifecycle event on <c>system:doctor</c> and waits for it on the SSE stream.</summary>
    private static async Task CheckStreamAsync(Invocation run, Action<string, string, string> add, TimeSpan timeout)
    {
        var marker = Guid.NewGuid().ToString("N");
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(run.CancellationToken);
        deadline.CancelAfter(timeout);
        var connected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var follower = new EventStreamFollower(run.Client)
        {
            OnStatus = s =>
            {
                if (s.State == StreamState.Connected)
                {
                    connected.TrySetResult();
                }
            },
        };

        try
        {
            var reader = Task.Run(async () =>
            {
                await foreach (var e in follower.FollowAsync(null, "system:doctor", deadline.Token))
                {
                    if (e.Reply.CorrelationId == marker)
                    {
                        return true;
                    }
                }

                return false;
            }, deadline.Token);
            await Task.WhenAny(connected.Task, reader);
            if (reader.IsCompleted)
            {
                await reader; // Surfaces why the stream did not open.
            }

            await run.Client.CallToolAsync("publish_event", new JsonObject
            {
                ["event_type"] = "doctor_check",
                ["payload"] = "eventbus doctor: stream check",
                ["channel"] = "system:doctor",
                ["signal_level"] = "lifecycle",
                ["correlation_id"] = marker,
            }, cancellationToken: deadline.Token);
            if (await reader)
            {
                add("stream", "ok", "push works: a test event on system:doctor came back on the SSE stream (/api/v1/stream)");
            }
        }
        catch (OperationCanceledException) when (!run.CancellationToken.IsCancellationRequested)
        {
            add("stream", "fail", $"the test event did not come back on the SSE stream within {timeout.TotalSeconds:0} s — a proxy in between may buffer text/event-stream");
        }
        catch (Exception ex) when (ex is BusCallException or BusUnavailableException or BusAuthException)
        {
            add("stream", "fail", $"the SSE stream failed: {ex.Message}");
        }
    }

    private static void CheckClaude(Invocation run, Action<string, string, string> add, BusEndpoint endpoint)
    {
        var found = false;
        foreach (var scope in (string[])["project", "user"])
        {
            var (mcpPath, settingsPath) = SetupCommand.Paths(run.Context, scope);
            JsonFile mcp, settings;
            try
            {
                mcp = JsonFile.Load(mcpPath);
                settings = JsonFile.Load(settingsPath);
            }
            catch (BusCallException ex)
            {
                add("claude_" + scope, "fail", ex.Message);
                continue;
            }

            var servers = mcp.Document["mcpServers"] as JsonObject;
            var server = servers?[ClaudeConfig.ServerName] as JsonObject;
            var channel = servers?[ClaudeConfig.ChannelName] as JsonObject;
            var hooks = ClaudeConfig.FindHooks(settings.Document).Select(h => h.Event).Distinct().ToList();
            if (server is null && channel is null && hooks.Count == 0)
            {
                continue;
            }

            found = true;
            if (server is null)
            {
                add("claude_" + scope, "warn", $"{mcpPath} has no \"{ClaudeConfig.ServerName}\" server — run `eventbus setup claude{(scope == "user" ? " --scope user" : "")}`");
            }
            else
            {
                var url = (server["url"] as JsonValue)?.ToString();
                add("claude_" + scope, SameUrl(url, endpoint.McpUrl) ? "ok" : "fail", SameUrl(url, endpoint.McpUrl)
                    ? $"Claude Code ({scope} scope, {mcpPath}) uses the bus at {url}"
                    : $"Claude Code ({scope} scope, {mcpPath}) points at {url}, but the bus is at {endpoint.McpUrl} — run `eventbus setup claude --url {endpoint.McpUrl}{(scope == "user" ? " --scope user" : "")}`");
            }

            add("claude_channel_" + scope, channel is null ? "warn" : "ok", channel is null
                ? $"no \"{ClaudeConfig.ChannelName}\" stdio channel in {mcpPath}: events will not be pushed into sessions"
                : $"the channel \"{ClaudeConfig.ChannelName}\" is configured; start Claude Code with `claude {ClaudeConfig.ChannelFlag}` to receive pushes");
            add("claude_hooks_" + scope, hooks.Count >= 3 ? "ok" : "warn", hooks.Count >= 3
                ? $"hooks in {settingsPath}: {string.Join(", ", hooks)}"
                : $"hooks missing in {settingsPath} (found: {(hooks.Count == 0 ? "none" : string.Join(", ", hooks))}) — run `eventbus setup claude`");
        }

        if (!found)
        {
            add("claude", "warn", $"Claude Code is not set up for the bus here ({run.Context.CurrentDirectory}) or for your user — run `eventbus setup claude`");
        }
    }

    private static void CheckOnPath(Invocation run, Action<string, string, string> add)
    {
        var path = run.Context.Environment("PATH") ?? "";
        var hit = path.Split(':', StringSplitOptions.RemoveEmptyEntries).Select(d => Path.Combine(d, "eventbus")).FirstOrDefault(File.Exists);
        add("path", hit is null ? "warn" : "ok", hit is null
            ? "`eventbus` is not on PATH, so Claude Code cannot run the hooks or the channel — run `make install` (and add ~/.dotnet/tools to PATH)"
            : $"`eventbus` on PATH: {hit}");
    }

    private static bool SameUrl(string? configured, Uri actual) =>
        configured is not null && Uri.TryCreate(configured, UriKind.Absolute, out var uri) &&
        Uri.Compare(uri, actual, UriComponents.SchemeAndServer | UriComponents.Path, UriFormat.Unescaped, StringComparison.OrdinalIgnoreCase) == 0;
}
