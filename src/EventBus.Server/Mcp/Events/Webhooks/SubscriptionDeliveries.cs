using System.Buffers;
using System.Collections.Concurrent;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using EventBus.Core.Events;
using EventBus.Core.Security;
using EventBus.Core.Webhooks;
using EventBus.Server.Security;
using EventBus.Server.Webhooks;

namespace EventBus.Server.Mcp.Events.Webhooks;

/// <summary>
/// Send-time rules of <c>events/subscribe</c> deliveries: the event must be one the subscription's arguments want
/// (channel pattern, event types, minimum level) and one its principal may read now, exactly as get_events would show
/// it (a token's scope, and its view of direct messages); a principal whose token was revoked or expired ends the
/// subscription. The body is the draft's <c>EventOccurrence</c> with the cursor after the event, and
/// <c>webhook-id</c> is the event id.
/// </summary>
internal sealed class SubscriptionDeliveries(SessionAccess access, ITokenStore tokens, TimeProvider time) : ISubscriptionDeliveries
{
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    private readonly ConcurrentDictionary<string, BusEventArguments> _arguments = new(StringComparer.Ordinal);

    public async ValueTask<SubscriptionSend> PrepareAsync(string webhookId, EventSubscription subscription, BusEvent e, CancellationToken cancellationToken)
    {
        var messageId = Cursor.Format(e.Id);
        var caller = await CallerAsync(subscription.Principal, cancellationToken);
        if (caller is null)
        {
            // The draft's termination signal: a signed control envelope, then the subscription is gone.
            const string Reason = "Access revoked: the subscription's token was revoked, or expired";
            var terminated = JsonSerializer.SerializeToUtf8Bytes(new JsonObject
            {
                ["type"] = "terminated",
                ["error"] = new JsonObject
                {
                    ["code"] = EventsException.Forbidden,
                    ["message"] = "Forbidden",
                    ["data"] = new JsonObject { ["reason"] = Reason },
                },
            });
            return new SubscriptionSend(terminated, EndpointVerifier.ControlMessageId("terminated"), EndReason: $"{Reason} ({subscription.Principal})");
        }

        var arguments = _arguments.GetOrAdd(subscription.Arguments, static json => BusEventArguments.Parse(JsonNode.Parse(json)));
        if (!arguments.Wants(e))
        {
            return new SubscriptionSend(null, messageId, SkipReason: "not matched by the subscription's arguments");
        }

        if (!await access.MaySeeAsync(caller, e.Channel, e.SessionId, cancellationToken))
        {
            return new SubscriptionSend(null, messageId, SkipReason: "a direct message the subscription's token may not read");
        }

        return new SubscriptionSend(Body(e), messageId);
    }

    /// <summary>The <c>EventOccurrence</c> of <paramref name="e"/>, its cursor the position after it.</summary>
    public static byte[] Body(BusEvent e)
    {
        var buffer = new ArrayBufferWriter<byte>(512 + e.Payload.Length);
        using (var json = new Utf8JsonWriter(buffer, WriterOptions))
        {
            json.WriteStartObject();
            EventOccurrence.WriteMembers(json, e, e.Id);
            json.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>The caller the principal stands for now; null when it may no longer read.</summary>
    private async ValueTask<Caller?> CallerAsync(string principal, CancellationToken cancellationToken)
    {
        if (principal == WebhookSubscriptions.LocalPrincipal)
        {
            return Caller.Open;
        }

        var tokenId = principal[WebhookSubscriptions.TokenPrincipalPrefix.Length..];
        // Read each time (a small table): a revocation counts from the very next delivery.
        var token = (await tokens.ListTokensAsync(cancellationToken)).FirstOrDefault(t => t.TokenId == tokenId);
        return token is not null && token.IsUsable(time.GetUtcNow()) && TokenScopes.Includes(token.Scope, TokenScope.Read) ? new Caller(token) : null;
    }
}
