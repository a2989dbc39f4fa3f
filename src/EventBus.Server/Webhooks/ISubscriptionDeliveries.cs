using EventBus.Core.Events;
using EventBus.Core.Webhooks;

namespace EventBus.Server.Webhooks;

/// <summary>
/// What a subscription's lane does with one pending delivery: send <see cref="Body"/> as <see cref="MessageId"/>, skip it,
/// or end the subscription (then <see cref="Body"/>, when set, is a control envelope sent once, best effort, before it ends).
/// </summary>
internal sealed record SubscriptionSend(byte[]? Body, string MessageId, string? SkipReason = null, string? EndReason = null);

/// <summary>
/// The dispatcher's seam to MCP Events subscriptions (<see cref="Webhook.Subscription"/>): at send time, whether the
/// event is one the subscription may and wants to receive (its arguments, its principal's scope and view of direct
/// messages as of now) and the body it gets. Regular webhooks never ask.
/// </summary>
internal interface ISubscriptionDeliveries
{
    ValueTask<SubscriptionSend> PrepareAsync(string webhookId, EventSubscription subscription, BusEvent e, CancellationToken cancellationToken);
}
