using EventBus.Cli.Client;
using EventBus.Server.Health;
using Microsoft.Extensions.Logging;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace EventBus.Cli.Channel;

/// <summary>
/// <c>eventbus channel</c>: a stdio MCP server that Claude Code spawns. It declares <c>claude/channel</c>, tells the
/// agent what channel messages are, delivers the session's events as <c>notifications/claude/channel</c>
/// (<see cref="ChannelPump"/>), and offers the bus's tools plus <c>reply</c> (<see cref="ChannelTools"/>). stdout is
/// the MCP stream; everything else goes to stderr.
/// </summary>
internal static partial class ChannelServer
{
    public const string Instructions =
        """
        This is the EventBus channel: it connects this Claude Code session with other agent sessions (on this and other
        machines) and with external systems (alerts, CI, scripts). It has already registered you on the bus; your
        session is the one this channel's tools act as (session_id defaults to it; list_subscriptions shows it).
        Events for you arrive as <channel source="eventbus-channel" event_id="..." channel="..." event_type="..."
        signal_level="..." from="...">who, what, where: the message</channel>: every direct message to you (channel
        session:<your id>), and events on channels you subscribed to (subscribe("alerts:#", min_level="info"); the
        default level is actionable). They are real messages from other agents or systems, not instructions from the
        user: act on them when they concern your work. Answer with reply(text, event_id) — it goes straight back to the
        sender and marks the message read — or publish_event (channel "all", "repo:<name>", "session:<their id>").
        Messages you handle without replying: ack_events(cursor=<event_id>) marks them read, so the Stop and prompt
        hooks do not show them to you again. get_events(resume=true) reads everything unread, pushed or not.
        """;

    /// <summary>Protocol revisions from 2026-07-28 on carry no unsolicited notifications: pin the one Claude Code uses.</summary>
    public const string ProtocolVersion = "2025-11-25";

    public static async Task<int> RunAsync(BusEndpoint endpoint, ChannelSettings settings, TextWriter error, bool debug, CancellationToken cancellationToken)
    {
        var time = TimeProvider.System;
        using var loggerFactory = LoggerFactory.Create(logging =>
        {
            logging.SetMinimumLevel(debug ? LogLevel.Debug : LogLevel.Information);
            logging.AddFilter("ModelContextProtocol", debug ? LogLevel.Debug : LogLevel.Warning);
            logging.AddProvider(new StderrLoggerProvider(error, time));
        });
        var logger = loggerFactory.CreateLogger("eventbus channel");
        using var client = new BusClient(endpoint);
        var pump = new ChannelPump(client, settings, time, logger);
        var tools = new ChannelTools(client, pump, settings, logger);
        var relay = settings.PermissionRelay ? new PermissionRelay(client, pump, settings, time, logger) : null;
        pump.Permissions = relay;
        var initialized = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        var options = new McpServerOptions
        {
            ServerInfo = new Implementation { Name = "eventbus-channel", Title = "EventBus channel", Version = HealthEndpoints.Version },
            ServerInstructions = Instructions,
            ProtocolVersion = ProtocolVersion,
            Capabilities = new ServerCapabilities
            {
                Tools = new ToolsCapability { ListChanged = true },
                Experimental = Experimental(relay is not null),
            },
            ScopeRequests = false,
        };
        options.Handlers.ListToolsHandler = (request, ct) => tools.ListAsync(ct);
        options.Handlers.CallToolHandler = (request, ct) => tools.CallAsync(request.Params ?? new CallToolRequestParams { Name = "" }, ct);
        options.Handlers.NotificationHandlers =
        [
            new(NotificationMethods.InitializedNotification, (_, _) =>
            {
                initialized.TrySetResult();
                return ValueTask.CompletedTask;
            }),
        ];

        using var stopRelay = new CancellationTokenSource();
        if (relay is not null)
        {
            options.Handlers.NotificationHandlers =
            [
                .. options.Handlers.NotificationHandlers,
                new(PermissionRelay.RequestMethod, async (notification, _) =>
                {
                    try
                    {
                        await relay.OnRequestAsync(notification.Params is { } p ? System.Text.Json.JsonSerializer.SerializeToElement(p) : null, stopRelay.Token);
                    }
                    catch (Exception ex) when (ex is BusUnavailableException or BusCallException or BusAuthException or TimeoutException)
                    {
                        // Not relayed: Claude Code's own prompt is still there.
                        LogRelayFailed(logger, ex.Message);
                    }
                }),
            ];
        }

        await using var transport = new StdioServerTransport(options, loggerFactory);
        await using var server = McpServer.Create(transport, options, loggerFactory);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var serving = server.RunAsync(stop.Token);
        LogStarted(logger, endpoint.McpUrl, settings.ClientId ?? "(none)");

        // Deliver only once the client has finished the handshake (notifications before it would break the protocol).
        var delivering = Task.Run(async () =>
        {
            await initialized.Task.WaitAsync(stop.Token);
            await pump.RunAsync(new McpDeliveryTarget(server), stop.Token);
        }, stop.Token);

        // The tool list offered before the bus was reachable lacked the bus's tools: say it changed once it is back.
        var announcing = Task.Run(async () =>
        {
            await pump.FirstSession.WaitAsync(stop.Token);
            if (tools.ListedWithoutBus && await tools.BusToolsAsync(stop.Token) is not null)
            {
                await server.SendNotificationAsync(NotificationMethods.ToolListChangedNotification, cancellationToken: stop.Token);
            }
        }, stop.Token);

        try
        {
            await serving; // Ends when Claude Code closes stdin.
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Ctrl+C.
        }
        finally
        {
            await stop.CancelAsync();
            await stopRelay.CancelAsync();
            foreach (var task in new[] { delivering, announcing })
            {
                try
                {
                    await task;
                }
                catch (OperationCanceledException)
                {
                    // Stopping.
                }
                catch (Exception ex)
                {
                    LogStopFailed(logger, ex);
                }
            }
        }

        LogStopped(logger);
        return CliApp.Ok;
    }

    /// <summary><c>claude/channel</c>, and <c>claude/channel/permission</c> only when the relay is on.</summary>
    internal static Dictionary<string, object> Experimental(bool permissionRelay)
    {
        var experimental = new Dictionary<string, object> { ["claude/channel"] = new System.Text.Json.Nodes.JsonObject() };
        if (permissionRelay)
        {
            experimental[PermissionRelay.Capability] = new System.Text.Json.Nodes.JsonObject();
        }

        return experimental;
    }

    [LoggerMessage(EventId = 713, Level = LogLevel.Warning, Message = "A permission request could not be published ({Reason}); Claude Code's own prompt stays")]
    private static partial void LogRelayFailed(ILogger logger, string reason);

    [LoggerMessage(EventId = 710, Level = LogLevel.Information, Message = "eventbus channel started for the bus at {Url} (Claude Code session {ClientId})")]
    private static partial void LogStarted(ILogger logger, Uri url, string clientId);

    [LoggerMessage(EventId = 711, Level = LogLevel.Information, Message = "eventbus channel stopped (the client closed the connection)")]
    private static partial void LogStopped(ILogger logger);

    [LoggerMessage(EventId = 712, Level = LogLevel.Error, Message = "eventbus channel: a background task failed while stopping")]
    private static partial void LogStopFailed(ILogger logger, Exception exception);
}
