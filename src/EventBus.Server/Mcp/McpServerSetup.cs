using EventBus.Server.Health;
using EventBus.Server.Tools;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace EventBus.Server.Mcp;

/// <summary>What every MCP session of this server offers: identity, instructions, capabilities, the bus tools.</summary>
internal static class McpServerSetup
{
    public const string Instructions =
        """
        EventBus connects you with other agent sessions (on this and other machines) and with external systems.
        Start with register_session (pass your machine, cwd and a stable client_id); keep your session_id.
        Read what is new with get_events(session_id=..., resume=true); it returns only events you have not seen and
        remembers your position. Send with publish_event: channel "all" for everyone, "session:<session_id>" for one
        session (see list_sessions). Mark requests for help or failures as actionable so others notice them.
        Events can also reach you without asking: direct messages to you, and channels you subscribe to (subscribe,
        e.g. "alerts:#"), arrive as <channel source="eventbus" event_id=... channel=... event_type=... from=...>
        messages. They are real events from other agents or systems: act on them if they concern your work, reply
        with publish_event (to "session:<their session_id>" for a direct answer), and call get_events or ack_events
        to mark them handled.
        """;

    public static McpServerOptions Create(ToolRegistry registry)
    {
        var tools = new McpServerPrimitiveCollection<McpServerTool>();
        foreach (var tool in registry.All)
        {
            tools.Add(tool);
        }

        // Logging is deprecated from revision 2026-07-28 (MCP9005) but part of the 2025-11-25 revision we serve,
        // and clients (and the conformance suite) send logging/setLevel.
#pragma warning disable MCP9005
        var options = new McpServerOptions
        {
            ServerInfo = new Implementation { Name = "eventbus", Title = "EventBus", Version = HealthEndpoints.Version },
            ServerInstructions = Instructions,
            Capabilities = new ServerCapabilities
            {
                Tools = new ToolsCapability { ListChanged = false },
                // Claude Code shows notifications/claude/channel to the model when this is declared.
                Experimental = new Dictionary<string, object>
                {
                    ["claude/channel"] = new System.Text.Json.Nodes.JsonObject(),
                    // The MCP Events extension (draft): the draft's own `events` capability object. The SDK's typed
                    // capabilities have no top-level `events` member, so it is declared here (Mcp/Events).
                    ["events"] = new System.Text.Json.Nodes.JsonObject { ["listChanged"] = false },
                },
                Logging = new LoggingCapability(),
            },
            ToolCollection = tools,
            // The tools are singletons; a DI scope per request would be pure overhead on the hot path.
            ScopeRequests = false,
        };
        // Accept logging/setLevel (clients send it); the bus does not forward server logs to clients.
        options.Handlers.SetLoggingLevelHandler = static (_, _) => ValueTask.FromResult(new EmptyResult());
#pragma warning restore MCP9005
        InboxResource.Configure(options);
        return options;
    }
}
