using System.Text.Json;
using System.Text.Json.Nodes;
using EventBus.Core.Bus;
using EventBus.Core.Events;
using EventBus.Core.Security;
using EventBus.Core.Store;
using EventBus.Server.Security;

namespace EventBus.Server.Permissions;

/// <summary>How an answer to a permission request ended.</summary>
internal enum PermissionStatus
{
    Answered,
    NotFound,
    Forbidden,
    AlreadyAnswered,
    Expired,
}

/// <summary>An answer's result: the status, a message saying why when refused, and the response event when answered.</summary>
internal sealed record PermissionOutcome(PermissionStatus Status, string Message, PermissionAnswerReply? Reply = null);

/// <summary>What an accepted answer returns (the <c>permission_response</c> event it published).</summary>
internal sealed record PermissionAnswerReply(string RequestId, string Behavior, long EventId, string Channel, string AnsweredBy, string RequestingSession);

/// <summary>
/// Answers permission requests (<see cref="PermissionEvents"/>): who may answer, once. Only a token with the
/// <c>approve</c> scope (or <c>admin</c>) may; on a bus without tokens, only a caller on this machine; never the
/// requesting session itself, whatever its token. The first valid answer is published as a <c>permission_response</c>
/// on the request's channel; the requesting channel relays it to Claude Code. Both stay in the log.
/// </summary>
internal sealed class PermissionService(IEventStore store, TimeProvider time)
{
    /// <param name="requestId">The request's id (as Claude Code gave it).</param>
    /// <param name="behavior"><c>allow</c> or <c>deny</c>.</param>
    /// <param name="caller">Who answers.</param>
    /// <param name="fromThisMachine">The caller is on loopback (decides for a bus without tokens).</param>
    /// <param name="answeringSession">The session the caller answers as, when it says (never the requesting one).</param>
    public async Task<PermissionOutcome> AnswerAsync(
        string requestId, string behavior, Caller caller, bool fromThisMachine, string? answeringSession, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(requestId) || requestId.Length > BusOptions.MaxNameLength || requestId.Any(char.IsControl))
        {
            throw new BusValidationException($"request_id must be a non-empty line of at most {BusOptions.MaxNameLength} characters.");
        }

        behavior = behavior?.Trim().ToLowerInvariant() ?? "";
        if (behavior is not (PermissionEvents.Allow or PermissionEvents.Deny))
        {
            throw new BusValidationException($"behavior must be \"allow\" or \"deny\" (got \"{behavior}\").");
        }

        if (caller.Token is null && !fromThisMachine)
        {
            return Refused("on a bus without tokens, permission requests may be answered only from this machine.");
        }

        if (caller.Token is not null && !caller.Has(TokenScope.Approve))
        {
            return Refused($"{caller.Describe()} may not answer permission requests: that needs a token with the approve (or admin) scope.");
        }

        var correlation = PermissionEvents.Correlation(requestId);
        var requests = await store.ReadEventsAsync(
            new EventQuery(null, 1, EventTypes: [PermissionEvents.RequestType], CorrelationId: correlation), cancellationToken);
        if (requests.Events is not [var request])
        {
            return new PermissionOutcome(PermissionStatus.NotFound, $"no permission request \"{requestId}\" on the bus.");
        }

        var requesting = request.SessionId;
        if (string.Equals(answeringSession, requesting, StringComparison.Ordinal))
        {
            return Refused("the session that asked for permission may not answer its own request.");
        }

        if (caller.Token is { } token && await store.GetSessionAsync(requesting, cancellationToken) is { OwnerTokenId: { } owner } && owner == token.TokenId)
        {
            return Refused($"{caller.Describe()} is the token of the session that asked; it may not answer its own request.");
        }

        if (ExpiresAt(request) is { } expires && time.GetUtcNow() >= expires)
        {
            return new PermissionOutcome(PermissionStatus.Expired,
                $"permission request \"{requestId}\" expired at {Timestamps.ToWire(expires)}; it was left to Claude Code's own prompt.");
        }

        var answeredBy = caller.Token is { } t ? $"token {t.Name} ({t.TokenId})" : "this machine (no token)";
        var payload = new JsonObject
        {
            ["request_id"] = requestId,
            ["behavior"] = behavior,
            ["answered_by"] = answeredBy,
            ["answering_session"] = answeringSession,
            ["requesting_session"] = requesting,
            ["request_event_id"] = Cursor.Format(request.Id),
        };
        var tool = JsonNode.Parse(request.Payload)?["tool_name"]?.GetValue<string>() ?? "a tool";
        var now = time.GetUtcNow();
        // The answer is stored under an idempotency key of the request: the store checks and inserts in one transaction
        // (on PostgreSQL under the lock every writer of every node takes first), so of two answers racing, on one node
        // or on two, exactly one is stored and the other finds it.
        var outcome = await store.IngestAsync(
            new NewEvent(
                PermissionEvents.ResponseType, payload.ToJsonString(), answeringSession ?? "permissions", now, request.Channel,
                correlation, request.SignalLevel, $"{behavior}: {tool}", null),
            AnswerKey(requestId),
            now + AnswerKeyLifetime,
            cancellationToken);
        if (outcome.Duplicate)
        {
            var earlier = JsonNode.Parse(outcome.Event.Payload);
            return new PermissionOutcome(PermissionStatus.AlreadyAnswered,
                $"permission request \"{requestId}\" was already answered ({earlier?["behavior"]} by {earlier?["answered_by"]}, event {outcome.Event.Id}).");
        }

        return new PermissionOutcome(PermissionStatus.Answered, "answered",
            new PermissionAnswerReply(requestId, behavior, outcome.Event.Id, outcome.Event.Channel, answeredBy, requesting));
    }

    /// <summary>How long the store remembers that a request was answered (far longer than any request waits).</summary>
    private static readonly TimeSpan AnswerKeyLifetime = TimeSpan.FromDays(365);

    private static string AnswerKey(string requestId) => "permission-answer:" + requestId;

    private static PermissionOutcome Refused(string message) => new(PermissionStatus.Forbidden, "Forbidden: " + message);

    /// <summary>The request's <c>expires_at</c> (the channel's timeout), if it carries one.</summary>
    private static DateTimeOffset? ExpiresAt(BusEvent request)
    {
        try
        {
            return JsonNode.Parse(request.Payload)?["expires_at"]?.GetValue<string>() is { } text &&
                   DateTimeOffset.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.RoundtripKind, out var at)
                ? at
                : null;
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            return null;
        }
    }
}
