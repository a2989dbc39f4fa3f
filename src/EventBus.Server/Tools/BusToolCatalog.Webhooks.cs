using EventBus.Core.Bus;
using EventBus.Core.Webhooks;
using EventBus.Server.Webhooks;
using ModelContextProtocol.Protocol;

namespace EventBus.Server.Tools;

// The four webhook tools of the contract, and the delivery log (list_deliveries, redeliver).
internal static partial class BusToolCatalog
{
    private static BusTool RegisterWebhook(WebhookService webhooks) => new(
        "register_webhook",
        "Register a webhook",
        """
        Have matching events POSTed to an HTTP(S) URL as they are committed, durably: each becomes a delivery in the
        database, retried on a schedule (5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h) across restarts. channel filters by
        exact name or prefix ("session:" matches every direct message; omit it for every channel); event_types limits
        the types (omit for all). Each request is signed: Standard Webhooks headers (webhook-id, webhook-timestamp,
        webhook-signature) and X-Event-Bus-Signature (sha256=<hex HMAC of the body>). Without a secret one is generated
        (whsec_...) and returned once in "secret": store it, it is never shown again. URLs on loopback, private or
        link-local networks are refused unless the server allows private networks.
        """,
        new ToolSchema()
            .String("url", "Where to POST events: an absolute http:// or https:// URL.", required: true, maxLength: WebhookService.MaxUrlLength)
            .String("channel", "Only events whose channel is this or starts with it (e.g. \"repo:\" or \"alerts:prod\"). Omit for all.", maxLength: BusOptions.MaxNameLength)
            .StringList("event_types", "Only these event types. Omit for all.")
            .String("secret", "The signing secret; omit to have a whsec_ secret generated (returned once).", maxLength: WebhookService.MaxSecretLength),
        new ToolAnnotations { ReadOnlyHint = false, IdempotentHint = false, DestructiveHint = false, OpenWorldHint = true },
        async (c, ct) => await webhooks.RegisterAsync(
            c.Args.RequiredString("url"), c.Args.OptionalString("channel"), c.Args.OptionalStringList("event_types"),
            c.Args.OptionalString("secret"), ct));

    private static BusTool ListWebhooks(WebhookService webhooks) => new(
        "list_webhooks",
        "List webhooks",
        """
        List registered webhooks with their filters, whether they are active, and has_secret (secrets are never shown).
        A webhook disabled automatically (410 Gone, or failing for days) says why in disabled_reason. pending_deliveries
        counts what waits to go out; oldest_pending_at and oldest_pending_age_seconds (when something waits) show an
        endpoint that is stuck on a retry.
        """,
        new ToolSchema().Boolean("active_only", "Only active webhooks (default true).", defaultValue: true),
        new ToolAnnotations { ReadOnlyHint = true, IdempotentHint = true, OpenWorldHint = false },
        async (c, ct) => await webhooks.ListAsync(c.Args.OptionalBool("active_only", true), ct));

    private static BusTool SetWebhookActive(WebhookService webhooks) => new(
        "set_webhook_active",
        "Enable or disable a webhook",
        """
        Pause (active=false) or resume (active=true) a webhook. While paused, new events are not queued for it; deliveries
        already queued wait and go out when it is resumed. Resuming also clears its failure history.
        """,
        new ToolSchema()
            .String("webhook_id", "The webhook's id (from register_webhook or list_webhooks).", required: true, maxLength: BusOptions.MaxNameLength)
            .Boolean("active", "true to resume, false to pause.", required: true),
        new ToolAnnotations { ReadOnlyHint = false, IdempotentHint = true, DestructiveHint = false, OpenWorldHint = false },
        async (c, ct) =>
        {
            var active = c.Args.OptionalBool("active", false);
            if (!c.Args.Has("active"))
            {
                throw new ToolArgumentException("set_webhook_active needs \"active\" (true or false).");
            }

            return await webhooks.SetActiveAsync(c.Args.RequiredString("webhook_id"), active, ct);
        });

    private static BusTool UnregisterWebhook(WebhookService webhooks) => new(
        "unregister_webhook",
        "Unregister a webhook",
        "Remove a webhook. Deliveries still queued for it are cancelled; its delivery log stays readable with list_deliveries.",
        new ToolSchema()
            .String("webhook_id", "The webhook's id.", required: true, maxLength: BusOptions.MaxNameLength),
        new ToolAnnotations { ReadOnlyHint = false, IdempotentHint = true, DestructiveHint = true, OpenWorldHint = false },
        async (c, ct) => await webhooks.UnregisterAsync(c.Args.RequiredString("webhook_id"), ct));

    private static BusTool ListDeliveries(WebhookService webhooks) => new(
        "list_deliveries",
        "Webhook delivery log",
        """
        The webhook delivery log, newest first: each delivery's status (pending, delivered, failed = every retry used up,
        cancelled), its attempts with the response code or error of each, and when the next attempt is due. Use it to see
        why a receiver is not getting events; redeliver re-queues one.
        """,
        new ToolSchema()
            .String("webhook_id", "Only this webhook's deliveries.", maxLength: BusOptions.MaxNameLength)
            .Enum("status", "Only deliveries in this state.", DeliveryStatuses.Names)
            .Integer("limit", "The most deliveries to return.", 1, BusOptions.MaxLimit, 50),
        new ToolAnnotations { ReadOnlyHint = true, IdempotentHint = true, OpenWorldHint = false },
        async (c, ct) => await webhooks.ListDeliveriesAsync(
            c.Args.OptionalString("webhook_id"), c.Args.OptionalString("status"), c.Args.OptionalInt("limit"), ct));

    private static BusTool Redeliver(WebhookService webhooks) => new(
        "redeliver",
        "Send a delivery again",
        """
        Queue a delivery again (a failed one, or a delivered one a receiver lost) from the start of the retry schedule.
        It keeps its webhook-id, so receivers that de-duplicate recognise it.
        """,
        new ToolSchema()
            .String("delivery_id", "The delivery's id, e.g. \"msg_42\" (from list_deliveries).", required: true, maxLength: 64),
        new ToolAnnotations { ReadOnlyHint = false, IdempotentHint = false, DestructiveHint = false, OpenWorldHint = true },
        async (c, ct) => await webhooks.RedeliverAsync(c.Args.RequiredString("delivery_id"), ct));
}
