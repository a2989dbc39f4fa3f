using EventBus.Core.Webhooks;

namespace EventBus.Server.Webhooks;

/// <summary>
/// The dispatcher's part for MCP Events subscriptions (<see cref="Webhook.Subscription"/>): their lanes re-read the
/// subscription before each pass (a refresh here or on another node changes its secret and expiry), stop at the expiry,
/// and ask <see cref="ISubscriptionDeliveries"/> about each delivery before sending it.
/// </summary>
internal sealed partial class WebhookDispatcher
{
    /// <summary>How long deliveries are also signed with a subscription's previous secret after a refresh replaced it.</summary>
    private static readonly TimeSpan RotationGrace = TimeSpan.FromMinutes(5);

    /// <summary>Ends the MCP Events subscriptions whose lifetime is over (their pending deliveries are cancelled) and stops their lanes.</summary>
    public async Task ExpireSubscriptionsAsync(CancellationToken cancellationToken)
    {
        var expired = await Subscriptions.RemoveExpiredAsync(Time.GetUtcNow(), cancellationToken);
        if (expired.Count > 0)
        {
            LogSubscriptionsExpired(Logger, expired.Count);
            await RefreshAsync(cancellationToken);
        }
    }

    /// <summary>What a subscription's lane does with a pending delivery.</summary>
    private enum SubscriptionStep
    {
        Send,
        Skipped,
        Stop,
    }

    private sealed partial class Lane
    {
        /// <summary>Send (with the body to send), skipped (recorded; go on to the next), or stop the pass (expired or ended).</summary>
        private async Task<(SubscriptionStep Step, SubscriptionSend? Send)> PrepareSubscriptionAsync(
            EventSubscription subscription, PendingDelivery pending, CancellationToken ct)
        {
            if (subscription.ExpiresAt <= owner.Time.GetUtcNow())
            {
                // Its lifetime is over: nothing more goes out (the sweep ends it and this lane).
                await owner.ExpireSubscriptionsAsync(ct);
                return (SubscriptionStep.Stop, null);
            }

            var send = await owner.SubscriptionDeliveries.PrepareAsync(target.WebhookId, subscription, pending.Event, ct);
            if (send.EndReason is { } end)
            {
                LogSubscriptionEnded(owner.Logger, target.WebhookId, end);
                if (send.Body is { } envelope)
                {
                    await owner.Sender.SendAsync(target, send.MessageId, envelope, ct);
                }

                await owner.Store.RemoveWebhookAsync(target.WebhookId, owner.Time.GetUtcNow(), CancellationToken.None);
                owner.Changed.Notify();
                Stop();
                return (SubscriptionStep.Stop, null);
            }

            if (send.SkipReason is { } reason)
            {
                await owner.Subscriptions.SkipDeliveryAsync(pending.Delivery.DeliveryId, reason, CancellationToken.None);
                owner.Changed.Notify();
                return (SubscriptionStep.Skipped, null);
            }

            return (SubscriptionStep.Send, send);
        }

        /// <summary>
        /// Re-reads the subscription (another call or node may have refreshed it: a new secret, a new expiry); false
        /// when the lane has nothing to do: the subscription is gone, inactive or expired.
        /// </summary>
        private async Task<bool> ReloadSubscriptionAsync(CancellationToken ct)
        {
            var current = await owner.Store.GetWebhookAsync(target.WebhookId, ct);
            if (current is not { Active: true, Subscription: { } subscription })
            {
                Stop();
                return false;
            }

            if (subscription.ExpiresAt <= owner.Time.GetUtcNow())
            {
                await owner.ExpireSubscriptionsAsync(ct);
                return false;
            }

            var secret = owner.Secrets.Unprotect(current.ProtectedSecret);
            if (secret != target.Secret)
            {
                // A rotation: sign with both secrets for a while, so a receiver still on the old one verifies too.
                target = new WebhookTarget(target.WebhookId, new Uri(current.Url), secret)
                {
                    Subscription = subscription,
                    PreviousKey = target.StandardKey,
                    PreviousUntil = owner.Time.GetUtcNow() + RotationGrace,
                };
            }
            else if (subscription != target.Subscription)
            {
                target = target with { Subscription = subscription };
            }

            return true;
        }
    }

    [LoggerMessage(EventId = 507, Level = LogLevel.Information, Message = "{Count} MCP Events webhook subscription(s) expired (not refreshed in time)")]
    private static partial void LogSubscriptionsExpired(ILogger logger, int count);

    [LoggerMessage(EventId = 508, Level = LogLevel.Warning, Message = "MCP Events webhook subscription {SubscriptionId} ended: {Reason}")]
    private static partial void LogSubscriptionEnded(ILogger logger, string subscriptionId, string reason);
}
