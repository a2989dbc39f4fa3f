using System.Text.Json;
using EventBus.Core.Bus;
using EventBus.Server.Security;
using EventBus.Server.Webhooks;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace EventBus.Server.Api;

/// <summary>
/// Webhooks and their delivery log under <c>/api/v1</c>, admin only (as the webhook tools are): list (never a secret),
/// pause or resume, the log with every attempt, and redelivery.
/// </summary>
internal static class WebhookEndpoints
{
    public static RouteGroupBuilder MapWebhooks(this RouteGroupBuilder api)
    {
        var group = api.MapGroup("").WithTags("Webhooks");
        group.AddEndpointFilter(RequireAdmin);

        group.MapGet("/webhooks", ListAsync)
            .WithName("ListWebhooks")
            .WithSummary("Webhooks (admin)")
            .WithDescription(
                "Every webhook (active_only=true for the active ones), with has_secret but never the secret, failing_since while " +
                "its deliveries fail, and disabled_reason when it was turned off.")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status403Forbidden);
        group.MapPost("/webhooks/{webhookId}/active", SetActiveAsync)
            .WithName("SetWebhookActive")
            .WithSummary("Pause or resume a webhook (admin)")
            .WithDescription("Body {\"active\": true|false}, as set_webhook_active. Resuming clears its failure history.")
            .Accepts<SetActiveRequest>("application/json")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound);
        group.MapGet("/deliveries", ListDeliveriesAsync)
            .WithName("ListDeliveries")
            .WithSummary("The webhook delivery log (admin)")
            .WithDescription("Newest first, each with its attempts; filter by webhook_id and status, limit 1..1000 (default 50).")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status403Forbidden);
        group.MapPost("/deliveries/{deliveryId}/redeliver", RedeliverAsync)
            .WithName("Redeliver")
            .WithSummary("Queue a delivery again (admin)")
            .WithDescription("From the start of the retry schedule, keeping its webhook-id, as the redeliver tool.")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound);
        return group;
    }

    private static async ValueTask<object?> RequireAdmin(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var caller = Caller.Of(context.HttpContext);
        return caller.IsAdmin
            ? await next(context)
            : TypedResults.Problem(
                $"Forbidden: webhooks and their deliveries need a token with the admin scope; {caller.Describe()} may not.",
                statusCode: StatusCodes.Status403Forbidden, title: "Forbidden");
    }

    private static async Task<Ok<WebhooksView>> ListAsync(
        WebhookService webhooks, [FromQuery(Name = "active_only")] string? activeOnly, CancellationToken cancellationToken)
    {
        var list = await webhooks.ListAsync(ParseBool(activeOnly, "active_only") ?? false, cancellationToken);
        return TypedResults.Ok(new WebhooksView(list, list.Count));
    }

    private static async Task<Results<Ok<SetWebhookActiveReply>, ProblemHttpResult>> SetActiveAsync(
        HttpRequest request, string webhookId, WebhookService webhooks, CancellationToken cancellationToken)
    {
        var body = await ApiRequestReader.ReadJsonAsync(request, cancellationToken);
        if (body.Problem is { } problem)
        {
            return problem;
        }

        if (body.Json.ValueKind != JsonValueKind.Object || !body.Json.TryGetProperty("active", out var active) ||
            active.ValueKind is not (JsonValueKind.True or JsonValueKind.False) || body.Json.EnumerateObject().Count() != 1)
        {
            return ApiProblems.BadRequest("The body must be {\"active\": true} or {\"active\": false}.");
        }

        return await webhooks.SetActiveAsync(webhookId, active.GetBoolean(), cancellationToken) switch
        {
            SetWebhookActiveReply reply => TypedResults.Ok(reply),
            _ => NotFound($"No webhook {webhookId} on this bus."),
        };
    }

    private static async Task<Ok<DeliveriesReply>> ListDeliveriesAsync(
        WebhookService webhooks, [FromQuery(Name = "webhook_id")] string? webhookId, [FromQuery] string? status, [FromQuery] string? limit,
        CancellationToken cancellationToken) =>
        TypedResults.Ok(await webhooks.ListDeliveriesAsync(webhookId, status, ApiRequestReader.ParseLimit(limit), cancellationToken));

    private static async Task<Results<Ok<RedeliverReply>, ProblemHttpResult>> RedeliverAsync(
        string deliveryId, WebhookService webhooks, CancellationToken cancellationToken) =>
        await webhooks.RedeliverAsync(deliveryId, cancellationToken) switch
        {
            RedeliverReply reply => TypedResults.Ok(reply),
            _ => NotFound($"No delivery {deliveryId} on this bus."),
        };

    private static bool? ParseBool(string? text, string name) => text switch
    {
        null => null,
        "true" => true,
        "false" => false,
        _ => throw new BusValidationException($"{name} must be true or false (got \"{(text.Length > 40 ? text[..40] + "…" : text)}\")."),
    };

    private static ProblemHttpResult NotFound(string detail) =>
        TypedResults.Problem(detail, statusCode: StatusCodes.Status404NotFound, title: "Not found");
}

/// <summary><c>POST /api/v1/webhooks/{id}/active</c>' body.</summary>
internal sealed record SetActiveRequest(bool Active);

/// <summary><c>GET /api/v1/webhooks</c>' result.</summary>
internal sealed record WebhooksView(IReadOnlyList<WebhookReply> Webhooks, int Count);
