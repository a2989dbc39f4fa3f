using System.Text.Json;
using EventBus.Core.Bus;
using EventBus.Server.Tools;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace EventBus.Server.Mcp;

/// <summary>
/// Each session's inbox as an MCP resource, <c>eventbus://sessions/{session_id}/inbox</c>: reading it peeks at the
/// unread events (nothing is consumed); a client subscribed to it gets <c>notifications/resources/updated</c> when
/// something is pushed to that session. This is push for generic MCP clients that do not show channel messages.
/// </summary>
internal static class InboxResource
{
    public const string Template = "eventbus://sessions/{session_id}/inbox";
    private const string Prefix = "eventbus://sessions/";
    private const string Suffix = "/inbox";

    public static string UriFor(string sessionId) => Prefix + sessionId + Suffix;

    public static bool TryParse(string? uri, out string sessionId)
    {
        sessionId = "";
        if (uri is null || !uri.StartsWith(Prefix, StringComparison.Ordinal) || !uri.EndsWith(Suffix, StringComparison.Ordinal) ||
            uri.Length <= Prefix.Length + Suffix.Length)
        {
            return false;
        }

        sessionId = uri[Prefix.Length..^Suffix.Length];
        return !sessionId.Contains('/', StringComparison.Ordinal);
    }

    public static void Configure(McpServerOptions options)
    {
        options.Capabilities!.Resources = new ResourcesCapability { Subscribe = true, ListChanged = false };
        options.Handlers.ListResourceTemplatesHandler = static (_, _) => ValueTask.FromResult(new ListResourceTemplatesResult
        {
            ResourceTemplates =
            [
                new ResourceTemplate
                {
                    Name = "inbox",
                    Title = "Session inbox",
                    UriTemplate = Template,
                    MimeType = "application/json",
                    Description = "A session's unread events (read peeks, it does not consume). Subscribe to be told when it changes.",
                },
            ],
        });
        options.Handlers.ListResourcesHandler = static (request, _) => ValueTask.FromResult(new ListResourcesResult
        {
            Resources = Bound(request) is { } id
                ? [new Resource { Name = "inbox", Title = "Your inbox", Uri = UriFor(id), MimeType = "application/json" }]
                : [],
        });
        options.Handlers.ReadResourceHandler = ReadAsync;
        options.Handlers.SubscribeToResourcesHandler = static (request, _) =>
        {
            Session(request)?.SubscribeResource(Checked(request.Params?.Uri));
            return ValueTask.FromResult(new EmptyResult());
        };
        options.Handlers.UnsubscribeFromResourcesHandler = static (request, _) =>
        {
            Session(request)?.UnsubscribeResource(Checked(request.Params?.Uri));
            return ValueTask.FromResult(new EmptyResult());
        };
    }

    private static async ValueTask<ReadResourceResult> ReadAsync(RequestContext<ReadResourceRequestParams> request, CancellationToken cancellationToken)
    {
        var uri = Checked(request.Params?.Uri);
        TryParse(uri, out var sessionId);
        var services = request.Services!;
        // Only the session's own token (or admin) may read its inbox.
        var caller = Session(request)?.Caller ??
                     (services.GetRequiredService<IHttpContextAccessor>().HttpContext is { } http ? Security.Caller.Of(http) : Security.Caller.Open);
        if (await services.GetRequiredService<Security.SessionAccess>().CheckAsync(caller, sessionId, cancellationToken) is { } refused)
        {
            throw new McpProtocolException(refused, McpErrorCode.InvalidParams);
        }

        var bus = services.GetRequiredService<BusService>();
        var reply = (await bus.GetEventsAsync(
            new GetEventsRequest(SessionId: sessionId, Resume: true, Peek: true, Order: "asc") { VisibleToToken = caller.DirectMessageFilter },
            cancellationToken)).ToWire();
        return new ReadResourceResult
        {
            Contents =
            [
                new TextResourceContents { Uri = uri, MimeType = "application/json", Text = JsonSerializer.Serialize(reply, reply.GetType(), ToolJson.Options) },
            ],
        };
    }

    private static string Checked(string? uri) =>
        TryParse(uri, out _)
            ? uri!
            : throw new McpProtocolException($"Unknown resource \"{uri}\"; inboxes are {Template}.", McpErrorCode.InvalidParams);

    private static McpHttpSession? Session<T>(RequestContext<T> request) =>
        request.Server.SessionId is { } id && request.Services!.GetRequiredService<McpSessionStore>().TryGet(id, out var session) ? session : null;

    private static string? Bound<T>(RequestContext<T> request) => Session(request)?.BoundSessionId;
}
