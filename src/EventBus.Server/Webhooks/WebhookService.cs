using EventBus.Core.Bus;
using EventBus.Core.Events;
using EventBus.Core.Webhooks;

namespace EventBus.Server.Webhooks;

/// <summary>
/// The webhook tools' rules: registration (validated, SSRF-checked, secret generated when not given and stored
/// encrypted), listing (never the secret), enabling, unregistering, the delivery log and redelivery.
/// Malformed input throws <see cref="BusValidationException"/>; unknown ids are ordinary results with an error.
/// </summary>
internal sealed class WebhookService(
    IWebhookStore store, WebhookSecrets secrets, WebhookAddressGuard guard, WebhookDispatcher dispatcher, TimeProvider time)
{
    public const int MaxUrlLength = 2048;
    public const int MaxSecretLength = 1024;
    private const string NotFound = "Webhook not found";

    public async Task<object> RegisterAsync(
        string url, string? channel, IReadOnlyList<string>? eventTypes, string? secret, CancellationToken cancellationToken)
    {
        var uri = await ValidateUrlAsync(url, cancellationToken);
        channel ??= "";
        if (channel.Length > 0)
        {
            CheckName(channel, "channel");
        }

        if (eventTypes is { } types)
        {
            if (types.Count > BusOptions.MaxLimit)
            {
                throw new BusValidationException($"event_types has {types.Count} entries; the limit is {BusOptions.MaxLimit}.");
            }

            foreach (var type in types)
            {
                CheckName(type, "each event type");
            }
        }

        var generated = string.IsNullOrEmpty(secret);
        if (!generated)
        {
            if (secret!.Length > MaxSecretLength || secret.Any(char.IsControl))
            {
                throw new BusValidationException($"secret must be at most {MaxSecretLength} characters without control characters.");
            }
        }

        var actualSecret = generated ? WebhookSignatures.GenerateSecret() : secret!;
        var normalizedTypes = eventTypes is { Count: > 0 } ? eventTypes.Distinct(StringComparer.Ordinal).ToArray() : null;
        var webhook = new Webhook(
            Guid.NewGuid().ToString(), uri.ToString(), channel, normalizedTypes, true,
            Timestamps.ToMillisecond(time.GetUtcNow()), secrets.Protect(actualSecret), null, null);
        await store.AddWebhookAsync(webhook, cancellationToken);
        await dispatcher.RefreshAsync(cancellationToken);
        return new RegisterWebhookReply(webhook.WebhookId, webhook.Url, webhook.Channel, webhook.EventTypes, Timestamps.ToWire(webhook.CreatedAt))
        {
            Secret = generated ? actualSecret : null,
            Hint = generated
                ? "Store this secret now: it is not shown again. Receivers verify webhook-signature (Standard Webhooks) or X-Event-Bus-Signature with it."
                : null,
        };
    }

    public async Task<IReadOnlyList<WebhookReply>> ListAsync(bool activeOnly, CancellationToken cancellationToken)
    {
        var webhooks = await store.ListWebhooksAsync(activeOnly, cancellationToken);
        var pending = await store.PendingSummaryAsync(cancellationToken);
        var now = time.GetUtcNow();
        return webhooks.Select(w =>
        {
            var queue = pending.GetValueOrDefault(w.WebhookId);
            return new WebhookReply(
                w.WebhookId, w.Url, w.Channel, w.EventTypes, w.Active, Timestamps.ToWire(w.CreatedAt), w.ProtectedSecret.Length > 0)
            {
                DisabledReason = w.Active ? null : w.DisabledReason,
                FailingSince = w.FailingSince is { } since ? Timestamps.ToWire(since) : null,
                PendingDeliveries = queue?.Count ?? 0,
                OldestPendingAt = queue is null ? null : Timestamps.ToWire(queue.OldestCreatedAt),
                OldestPendingAgeSeconds = queue is null ? null : Math.Round(Math.Max(0, (now - queue.OldestCreatedAt).TotalSeconds), 3),
                Subscription = w.Subscription is { } sub
                    ? new EventSubscriptionReply(sub.Principal, sub.Name, sub.Arguments, Timestamps.ToWire(sub.ExpiresAt))
                    : null,
            };
        })
            .ToList();
    }

    public async Task<object> SetActiveAsync(string webhookId, bool active, CancellationToken cancellationToken)
    {
        if (!await store.SetWebhookActiveAsync(webhookId, active, active ? null : "disabled with set_webhook_active", cancellationToken))
        {
            return new WebhookNotFound(false, NotFound, webhookId);
        }

        await dispatcher.RefreshAsync(cancellationToken);
        return new SetWebhookActiveReply(true, webhookId, active);
    }

    public async Task<object> UnregisterAsync(string webhookId, CancellationToken cancellationToken)
    {
        if (!await store.RemoveWebhookAsync(webhookId, time.GetUtcNow(), cancellationToken))
        {
            return new WebhookNotFound(false, NotFound, webhookId);
        }

        await dispatcher.RefreshAsync(cancellationToken);
        return new UnregisterWebhookReply(true, webhookId);
    }

    public async Task<DeliveriesReply> ListDeliveriesAsync(string? webhookId, string? status, int? limit, CancellationToken cancellationToken)
    {
        DeliveryStatus? parsed = null;
        if (status is not null)
        {
            if (!DeliveryStatuses.TryParse(status, out var s))
            {
                throw new BusValidationException(
                    $"status must be one of {string.Join(", ", DeliveryStatuses.Names)} (got \"{Preview(status)}\").");
            }

            parsed = s;
        }

        var count = limit ?? 50;
        if (count is < 1 or > BusOptions.MaxLimit)
        {
            throw new BusValidationException($"limit must be between 1 and {BusOptions.MaxLimit} (got {count}).");
        }

        var deliveries = await store.ListDeliveriesAsync(new DeliveryQuery(webhookId, parsed, count), cancellationToken);
        var attempts = (await store.ListAttemptsAsync(deliveries.Select(d => d.DeliveryId).ToList(), cancellationToken))
            .ToLookup(a => a.DeliveryId);
        var replies = deliveries.Select(d => new DeliveryReply(
                d.MessageId, d.WebhookId, d.EventId, d.EventType, d.Channel, d.Status.ToWire(), d.Attempts,
                Timestamps.ToWire(d.CreatedAt),
                d.Status == DeliveryStatus.Pending ? Timestamps.ToWire(d.NextAttemptAt) : null,
                Wire(d.LastAttemptAt), d.LastStatusCode, d.LastError, Wire(d.DeliveredAt),
                attempts[d.DeliveryId].Select(a => new AttemptReply(a.Attempt, Timestamps.ToWire(a.At), a.StatusCode, a.Error, a.DurationMs)).ToList()))
            .ToList();
        return new DeliveriesReply(replies, replies.Count);
    }

    public async Task<object> RedeliverAsync(string deliveryId, CancellationToken cancellationToken)
    {
        if (!Delivery.TryParseId(deliveryId, out var id))
        {
            throw new BusValidationException($"delivery_id must look like \"msg_42\" (got \"{Preview(deliveryId)}\").");
        }

        var delivery = await store.RedeliverAsync(id, time.GetUtcNow(), cancellationToken);
        if (delivery is null)
        {
            return new DeliveryNotFound(false, "Delivery not found", deliveryId);
        }

        var webhook = await store.GetWebhookAsync(delivery.WebhookId, cancellationToken);
        await dispatcher.RefreshAsync(cancellationToken);
        return new RedeliverReply(true, delivery.MessageId, delivery.WebhookId, delivery.EventId, DeliveryStatus.Pending.ToWire(),
            Timestamps.ToWire(delivery.NextAttemptAt))
        {
            Hint = webhook is { Active: true }
                ? null
                : webhook is null
                    ? "Its webhook was unregistered: this delivery will not go out."
                    : "Its webhook is inactive: this delivery goes out when set_webhook_active(webhook_id, true) re-enables it.",
        };
    }

    private async Task<Uri> ValidateUrlAsync(string url, CancellationToken cancellationToken)
    {
        if (url.Length > MaxUrlLength)
        {
            throw new BusValidationException($"url is {url.Length} characters; the limit is {MaxUrlLength}.");
        }

        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            throw new BusValidationException($"url must be an absolute http:// or https:// URL (got \"{Preview(url)}\").");
        }

        if (uri.UserInfo.Length > 0)
        {
            throw new BusValidationException("url must not carry a user name or password; receivers verify the signature instead.");
        }

        if (await guard.CheckAsync(uri, cancellationToken) is { } refusal)
        {
            throw new BusValidationException($"url refused: {refusal}.");
        }

        return uri;
    }

    private static void CheckName(string value, string parameter)
    {
        if (value.Length == 0)
        {
            throw new BusValidationException($"{parameter} must not be empty.");
        }

        if (value.Length > BusOptions.MaxNameLength)
        {
            throw new BusValidationException($"{parameter} is {value.Length} characters; the limit is {BusOptions.MaxNameLength}.");
        }

        if (value.Any(char.IsControl))
        {
            throw new BusValidationException($"{parameter} must not contain control characters (got \"{Preview(value)}\").");
        }
    }

    private static string? Wire(DateTimeOffset? moment) => moment is { } m ? Timestamps.ToWire(m) : null;

    private static string Preview(string value)
    {
        var shown = value.Length > 40 ? value[..40] + "…" : value;
        return new string(shown.Select(c => char.IsControl(c) ? '?' : c).ToArray());
    }
}
