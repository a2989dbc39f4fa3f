using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using EventBus.Core.Webhooks;
using EventBus.Server.Webhooks;
using Microsoft.Extensions.Options;

namespace EventBus.Server.Mcp.Events.Webhooks;

/// <summary>
/// <c>events/subscribe</c> and <c>events/unsubscribe</c> (webhook delivery) of the MCP Events draft. A subscription is a
/// webhook of its own kind in the store, so the durable outbox, the per-endpoint lanes, retries, dead letters and the
/// SSRF guard serve it unchanged; it is keyed on <c>(principal, delivery.url, name, arguments)</c> (arguments as
/// canonical JSON), and its id is derived from that key. Refreshing (the same key again) replaces the secret and the
/// expiry; a subscription that is new or had lapsed starts from the client's cursor.
/// </summary>
internal sealed class WebhookSubscriptions(
    IEventSubscriptionStore store,
    IWebhookStore webhooks,
    WebhookSecrets secrets,
    WebhookAddressGuard guard,
    WebhookDispatcher dispatcher,
    EndpointVerifier verifier,
    IOptions<WebhookOptions> options,
    TimeProvider time)
{
    /// <summary>The principal of a caller without a token on a bus without tokens (this machine).</summary>
    public const string LocalPrincipal = "local";

    public const string TokenPrincipalPrefix = "token:";

    /// <summary>The most events a new subscription replays from its cursor; older ones are skipped with <c>truncated</c>.</summary>
    public const int ReplayCeiling = 1000;

    public async Task<JsonObject> SubscribeAsync(HttpContext context, JsonNode? parameters, CancellationToken cancellationToken)
    {
        var subscription = Subscription.Parse(parameters);
        var principal = Principal(context);
        var fields = (JsonObject)parameters!;
        var (url, secret) = ParseDelivery(fields["delivery"], needSecret: true);
        var uri = await CheckUrlAsync(url, cancellationToken);
        var o = options.Value;
        var now = time.GetUtcNow();
        var ttl = Grant(fields);
        var arguments = Canonical(fields["arguments"]);
        var id = DeriveId(principal, url, BusEventType.Name, arguments);
        var write = new SubscriptionWrite(
            id, uri.AbsoluteUri, OutboxPrefix(subscription.Arguments), subscription.Arguments.EventTypes?.Order(StringComparer.Ordinal).ToList(),
            secrets.Protect(secret!), new EventSubscription(principal, BusEventType.Name, arguments, now + ttl), now,
            subscription.Cursor, subscription.MaxAge is { } age ? now - age : null, ReplayCeiling, o.MaxSubscriptionsPerPrincipal, o.MaxSubscriptions);
        if (await webhooks.GetWebhookAsync(id, cancellationToken) is not { Subscription: { } live } || live.ExpiresAt <= now)
        {
            // Not a refresh of a live subscription: the endpoint must agree to receive deliveries first.
            await verifier.VerifyAsync(principal, url, uri, secret!, write.Subscription, id, cancellationToken);
        }

        var result = await store.SubscribeAsync(write, cancellationToken);
        switch (result.Status)
        {
            case SubscribeStatus.PrincipalLimit:
                throw EventsException.Exhausted("subscriptions", o.MaxSubscriptionsPerPrincipal,
                    $"this principal holds {o.MaxSubscriptionsPerPrincipal} live webhook subscriptions; unsubscribe one or let it expire");
            case SubscribeStatus.TotalLimit:
                throw EventsException.Exhausted("subscriptions", o.MaxSubscriptions,
                    $"the bus holds {o.MaxSubscriptions} live webhook subscriptions");
        }

        await dispatcher.RefreshAsync(cancellationToken);
        var reply = new JsonObject
        {
            ["id"] = id,
            ["refreshBefore"] = Core.Events.Timestamps.ToWire(write.Subscription.ExpiresAt),
            ["cursor"] = Core.Events.Cursor.Format(result.Watermark),
            ["truncated"] = result.Truncated,
        };
        if (result.Before is { } before)
        {
            reply["deliveryStatus"] = await DeliveryStatusAsync(before, cancellationToken);
        }

        return reply;
    }

    public async Task<JsonObject> UnsubscribeAsync(HttpContext context, JsonNode? parameters, CancellationToken cancellationToken)
    {
        _ = Subscription.Parse(parameters);
        var principal = Principal(context);
        var fields = (JsonObject)parameters!;
        var (url, _) = ParseDelivery(fields["delivery"], needSecret: false);
        var id = DeriveId(principal, url, BusEventType.Name, Canonical(fields["arguments"]));
        if (!await store.UnsubscribeAsync(id, principal, time.GetUtcNow(), cancellationToken))
        {
            throw EventsException.NoSuchSubscription();
        }

        await dispatcher.RefreshAsync(cancellationToken);
        return [];
    }

    /// <summary>
    /// Who subscribes: the token (its id), or on a bus without tokens this machine. The draft allows webhook delivery
    /// only to an authenticated principal; a caller without a token from elsewhere (a bus run with --insecure-no-auth)
    /// has none.
    /// </summary>
    private static string Principal(HttpContext context)
    {
        var caller = McpEventsHandler.Authorize(context);
        if (caller.TokenId is { } tokenId)
        {
            return TokenPrincipalPrefix + tokenId;
        }

        return Hosting.CallerKey.IsLocalWithoutToken(context)
            ? LocalPrincipal
            : throw EventsException.Refused("webhook subscriptions need an authenticated principal: send a token (Authorization: Bearer ...).");
    }

    /// <summary><c>delivery: {mode?: "webhook", url, secret}</c>; the secret must be a Standard Webhooks <c>whsec_</c> secret of 24 to 64 bytes.</summary>
    private static (string Url, string? Secret) ParseDelivery(JsonNode? node, bool needSecret)
    {
        if (node is not JsonObject delivery)
        {
            throw EventsException.Invalid("Invalid params: delivery must be an object {\"mode\": \"webhook\", \"url\": \"https://...\", \"secret\": \"whsec_...\"}.");
        }

        if (delivery["mode"] is { } modeNode)
        {
            var mode = modeNode is JsonValue m && m.TryGetValue<string>(out var text)
                ? text
                : throw EventsException.Invalid("Invalid params: delivery.mode must be a string (\"webhook\").");
            if (mode != "webhook")
            {
                throw EventsException.UnsupportedMode(mode);
            }
        }

        var url = delivery["url"] is JsonValue u && u.TryGetValue<string>(out var urlText) && urlText.Length > 0
            ? urlText
            : throw EventsException.Invalid("Invalid params: delivery.url (the callback URL, https://...) is required.");
        if (!needSecret)
        {
            return (url, null);
        }

        var secret = delivery["secret"] is JsonValue s && s.TryGetValue<string>(out var secretText) ? secretText : null;
        if (!IsStandardSecret(secret))
        {
            throw EventsException.Invalid(
                "Invalid params: delivery.secret must be a Standard Webhooks secret: \"whsec_\" followed by the base64 of 24 to 64 random bytes " +
                "(the client makes it; the server signs every delivery with it).");
        }

        return (url, secret);
    }

    private static bool IsStandardSecret(string? secret)
    {
        if (secret is null || !secret.StartsWith(WebhookSignatures.SecretPrefix, StringComparison.Ordinal))
        {
            return false;
        }

        var encoded = secret[WebhookSignatures.SecretPrefix.Length..];
        var buffer = new byte[Math.Max(encoded.Length, 1)];
        return Convert.TryFromBase64String(encoded, buffer, out var written) && written is >= 24 and <= 64;
    }

    /// <summary>
    /// The callback URL: absolute, https, no user info, and past the SSRF guard. Plain http is accepted only where the
    /// guard allows private networks (EventBus:Webhooks:AllowPrivateNetworks, for receivers on this machine or network).
    /// </summary>
    private async Task<Uri> CheckUrlAsync(string url, CancellationToken cancellationToken)
    {
        if (url.Length > WebhookService.MaxUrlLength)
        {
            throw EventsException.Invalid($"Invalid params: delivery.url is {url.Length} characters; the limit is {WebhookService.MaxUrlLength}.");
        }

        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp))
        {
            throw EventsException.Invalid("Invalid params: delivery.url must be an absolute https:// URL.");
        }

        if (uri.Scheme == Uri.UriSchemeHttp && !guard.AllowPrivate)
        {
            throw EventsException.Invalid(
                "Invalid params: delivery.url must use https:// (the events and the secret would otherwise travel in clear); plain http:// is " +
                "accepted only on a bus that allows private webhook receivers (EventBus:Webhooks:AllowPrivateNetworks=true).");
        }

        if (uri.UserInfo.Length > 0)
        {
            throw EventsException.Invalid("Invalid params: delivery.url must not carry a user name or password; the receiver verifies the signature instead.");
        }

        if (await guard.CheckAsync(uri, cancellationToken) is { } refusal)
        {
            throw EventsException.Invalid($"Invalid params: delivery.url refused: {refusal}.");
        }

        return uri;
    }

    /// <summary>
    /// The lifetime granted: the suggestion (<c>ttlMs</c>) within [MinSubscriptionTtl, MaxSubscriptionTtl]; the default
    /// when none is given; the maximum for <c>ttlMs: null</c> (no expiry is never granted: <c>refreshBefore</c> is never null).
    /// </summary>
    private TimeSpan Grant(JsonObject fields)
    {
        var o = options.Value;
        if (!fields.TryGetPropertyValue("ttlMs", out var node))
        {
            return o.SubscriptionTtl;
        }

        if (node is null)
        {
            return o.MaxSubscriptionTtl;
        }

        if (node is not JsonValue value || !value.TryGetValue<double>(out var ms) || double.IsNaN(ms) || ms != Math.Floor(ms))
        {
            throw EventsException.Invalid("Invalid params: ttlMs must be a whole number of milliseconds, or null.");
        }

        var suggested = ms >= o.MaxSubscriptionTtl.TotalMilliseconds ? o.MaxSubscriptionTtl : TimeSpan.FromMilliseconds(Math.Max(ms, 0));
        return suggested < o.MinSubscriptionTtl ? o.MinSubscriptionTtl : suggested;
    }

    /// <summary>The channel prefix the outbox matches on: the pattern's literal segments before its first wildcard.</summary>
    private static string OutboxPrefix(BusEventArguments arguments)
    {
        if (arguments.Channel is not { } channel)
        {
            return "";
        }

        var literal = channel.Split(':').TakeWhile(segment => segment is not ("*" or "#"));
        return string.Join(':', literal);
    }

    /// <summary>JSON with object keys sorted (recursively) and no whitespace: equal arguments give equal text.</summary>
    internal static string Canonical(JsonNode? node)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer))
        {
            Write(json, node ?? new JsonObject());
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);

        static void Write(Utf8JsonWriter json, JsonNode? node)
        {
            switch (node)
            {
                case null:
                    json.WriteNullValue();
                    break;
                case JsonObject o:
                    json.WriteStartObject();
                    foreach (var (key, value) in o.OrderBy(p => p.Key, StringComparer.Ordinal))
                    {
                        json.WritePropertyName(key);
                        Write(json, value);
                    }

                    json.WriteEndObject();
                    break;
                case JsonArray a:
                    json.WriteStartArray();
                    foreach (var item in a)
                    {
                        Write(json, item);
                    }

                    json.WriteEndArray();
                    break;
                default:
                    node.WriteTo(json);
                    break;
            }
        }
    }

    /// <summary>The subscription id: <c>sub_</c> and 128 bits of SHA-256 over the key. A routing handle, not a capability.</summary>
    internal static string DeriveId(string principal, string url, string name, string canonicalArguments)
    {
        var key = JsonSerializer.SerializeToUtf8Bytes(new[] { principal, url, name, canonicalArguments });
        return "sub_" + Convert.ToHexStringLower(SHA256.HashData(key))[..32];
    }

    /// <summary>The draft's <c>deliveryStatus</c> of a refreshed subscription: as it stood before this refresh reactivated it.</summary>
    private async Task<JsonObject> DeliveryStatusAsync(Webhook before, CancellationToken cancellationToken)
    {
        var delivered = (await webhooks.ListDeliveriesAsync(new DeliveryQuery(before.WebhookId, DeliveryStatus.Delivered, 1), cancellationToken))
            .FirstOrDefault();
        var status = new JsonObject
        {
            ["active"] = before.Active,
            ["lastDeliveryAt"] = delivered?.DeliveredAt is { } at ? Core.Events.Timestamps.ToWire(at) : null,
            ["lastError"] = null,
        };
        if (before.FailingSince is { } since)
        {
            var failed = (await webhooks.ListDeliveriesAsync(new DeliveryQuery(before.WebhookId, null, 1), cancellationToken)).FirstOrDefault();
            status["lastError"] = EndpointVerifier.Category(failed?.LastStatusCode, failed?.LastError);
            status["failedSince"] = Core.Events.Timestamps.ToWire(since);
        }

        return status;
    }
}
