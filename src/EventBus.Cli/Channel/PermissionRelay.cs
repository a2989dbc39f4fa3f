using System.Text.Json;
using System.Text.Json.Nodes;
using EventBus.Cli.Claude;
using EventBus.Cli.Client;
using EventBus.Core.Events;
using EventBus.Server.Permissions;
using Microsoft.Extensions.Logging;

namespace EventBus.Cli.Channel;

/// <summary>
/// The permission relay (<c>eventbus channel --permission-relay</c>): a <c>notifications/claude/channel/permission_request</c>
/// from Claude Code becomes an actionable <c>permission_request</c> event on the approvals channel; the first
/// <c>permission_response</c> the bus publishes for it (only the bus may: it checks who answers) goes back to Claude
/// Code as <c>notifications/claude/channel/permission</c>. A request nobody answers within the timeout is forgotten:
/// Claude Code's own prompt stays, and the relay never answers for anyone.
/// </summary>
internal sealed partial class PermissionRelay(BusClient client, ChannelPump pump, ChannelSettings settings, TimeProvider time, ILogger logger)
{
    public const string RequestMethod = "notifications/claude/channel/permission_request";
    public const string AnswerMethod = "notifications/claude/channel/permission";
    public const string Capability = "claude/channel/permission";

    private readonly Lock _gate = new();
    private readonly Dictionary<string, DateTimeOffset> _pending = new(StringComparer.Ordinal);

    /// <summary>Publishes a request from Claude Code on the approvals channel and remembers it until it is answered or expires.</summary>
    public async Task OnRequestAsync(JsonElement? parameters, CancellationToken cancellationToken)
    {
        if (parameters is not { ValueKind: JsonValueKind.Object } p || Text(p, "request_id") is not { Length: > 0 } requestId)
        {
            LogBadRequest(logger);
            return;
        }

        var session = pump.Session ?? await pump.FirstSession.WaitAsync(settings.CallTimeout, time, cancellationToken);
        var expires = time.GetUtcNow() + settings.PermissionTimeout;
        var channel = settings.ApprovalsChannel ?? "approvals:" + session.Repo;
        var payload = new JsonObject
        {
            ["request_id"] = requestId,
            ["tool_name"] = Text(p, "tool_name") ?? "",
            ["description"] = Text(p, "description") ?? "",
            ["input_preview"] = Text(p, "input_preview") ?? "",
            ["session_id"] = session.SessionId,
            ["session"] = session.DisplayId,
            ["expires_at"] = Timestamps.ToWire(expires),
        };
        lock (_gate)
        {
            _pending[requestId] = expires;
        }

        await client.CallToolAsync(
            "publish_event",
            new JsonObject
            {
                ["session_id"] = session.SessionId,
                ["channel"] = channel,
                ["event_type"] = PermissionEvents.RequestType,
                ["payload"] = payload.ToJsonString(),
                ["correlation_id"] = PermissionEvents.Correlation(requestId),
                ["signal_level"] = "actionable",
                ["title"] = $"{session.DisplayId} asks to use {payload["tool_name"]}: eventbus permission allow|deny {requestId}",
            },
            settings.CallTimeout,
            cancellationToken);
        LogRequested(logger, requestId, channel);
    }

    /// <summary>
    /// When <paramref name="e"/> answers a request of this channel that is still waiting, tells Claude Code (once) and
    /// returns true. Answers to other sessions' requests, second answers and late ones are ignored.
    /// </summary>
    public async Task<bool> TryRelayAsync(IDeliveryTarget server, BusEvent e, CancellationToken cancellationToken)
    {
        if (e.EventType != PermissionEvents.ResponseType)
        {
            return false;
        }

        string? requestId;
        string? behavior;
        try
        {
            var answer = JsonNode.Parse(e.Payload);
            requestId = answer?["request_id"]?.GetValue<string>();
            behavior = answer?["behavior"]?.GetValue<string>();
            if (answer?["requesting_session"]?.GetValue<string>() != pump.Session?.SessionId)
            {
                return false;
            }
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            return false;
        }

        if (requestId is null || behavior is not (PermissionEvents.Allow or PermissionEvents.Deny))
        {
            return false;
        }

        lock (_gate)
        {
            if (!_pending.Remove(requestId, out var expires))
            {
                return false;
            }

            if (time.GetUtcNow() >= expires)
            {
                LogExpired(logger, requestId);
                return false;
            }
        }

        await server.NotifyAsync(AnswerMethod, new JsonObject { ["request_id"] = requestId, ["behavior"] = behavior }, cancellationToken);
        LogRelayed(logger, requestId, behavior, e.Id);
        return true;
    }

    private static string? Text(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    [LoggerMessage(EventId = 1760, Level = LogLevel.Information, Message = "Permission request {RequestId} published on {Channel}")]
    private static partial void LogRequested(ILogger logger, string requestId, string channel);

    [LoggerMessage(EventId = 1761, Level = LogLevel.Information, Message = "Permission request {RequestId}: relayed {Behavior} to Claude Code (event {EventId})")]
    private static partial void LogRelayed(ILogger logger, string requestId, string behavior, long eventId);

    [LoggerMessage(EventId = 1762, Level = LogLevel.Information, Message = "Permission request {RequestId} was answered after its timeout: left to Claude Code's own prompt")]
    private static partial void LogExpired(ILogger logger, string requestId);

    [LoggerMessage(EventId = 1763, Level = LogLevel.Warning, Message = "A permission request without a request_id was ignored")]
    private static partial void LogBadRequest(ILogger logger);
}
