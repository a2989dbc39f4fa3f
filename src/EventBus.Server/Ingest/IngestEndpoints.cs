using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using EventBus.Core.Bus;
using EventBus.Core.Channels;
using EventBus.Core.Events;
using EventBus.Core.Store;
using EventBus.Core.Webhooks;
using EventBus.Server.Api;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace EventBus.Server.Ingest;

/// <summary>
/// <c>POST /api/v1/ingest/{channel}</c>: any JSON body becomes an event on that channel. Alertmanager, Grafana and
/// GitHub payloads are recognised (type, title, level, tags); the payload is the body as sent. Authenticated by
/// <see cref="IngestAuthenticator"/>; idempotent on the sender's delivery id (or, for alert notifications, their content).
/// </summary>
internal static class IngestEndpoints
{
    public static IServiceCollection AddIngest(this IServiceCollection services, IConfiguration eventBusSection)
    {
        services.AddOptions<IngestOptions>().Bind(eventBusSection.GetSection("Ingest")).ValidateOnStart();
        services.AddSingleton<IValidateOptions<IngestOptions>, IngestOptionsValidator>();
        services.AddSingleton<IngestAuthenticator>();
        return services;
    }

    public static RouteHandlerBuilder MapIngest(this WebApplication app) =>
        app.MapPost("/api/v1/ingest/{channel}", IngestAsync)
            .AddEndpointFilter(CountAsync)
            .WithTags("Ingest")
            .WithName("Ingest")
            .WithSummary("Turn an incoming webhook into an event")
            .WithDescription(
                "Stores the JSON body as an event on {channel}. Prometheus Alertmanager, Grafana alerting and GitHub webhooks are " +
                "recognised (event_type alert_firing/alert_resolved, github_<event>, ci_failed/ci_passed; a title; the level). " +
                "Query parameters event_type, title and signal_level override what was recognised. Authenticate with a source's " +
                "token (Authorization: Bearer, or ?token=) or its signature (X-Hub-Signature-256, webhook-signature). " +
                "A repeated delivery (same X-GitHub-Delivery, webhook-id or Idempotency-Key; for alerts, the same notification) " +
                "is stored once: 200 with duplicate=true and the first event's id.")
            .Accepts<JsonElement>("application/json")
            .Produces<IngestReply>(StatusCodes.Status201Created)
            .Produces<IngestReply>(StatusCodes.Status200OK)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge);

    private static async Task<Results<Created<IngestReply>, Ok<IngestReply>, ProblemHttpResult>> IngestAsync(
        string channel,
        HttpRequest request,
        BusService bus,
        IngestAuthenticator authenticator,
        IOptions<IngestOptions> options,
        TimeProvider time,
        Limits.CallerLimits limits,
        CancellationToken cancellationToken)
    {
        try
        {
            ChannelName.Validate(channel);
        }
        catch (BusValidationException ex)
        {
            return ApiProblems.BadRequest(ex.Message);
        }

        var limit = bus.Options.MaxPayloadBytes;
        if (await RequestBody.ReadAsync(request, limit, cancellationToken) is not { } body)
        {
            return ApiProblems.TooLarge($"The body is larger than {limit} bytes, the most one event holds (EventBus:MaxPayloadBytes).");
        }

        // Authenticate before parsing: the signature covers the exact bytes received.
        var identity = await authenticator.AuthenticateAsync(request.HttpContext, body, channel, cancellationToken);
        if (identity.Source is not { } source)
        {
            if (identity.Status == StatusCodes.Status401Unauthorized)
            {
                request.HttpContext.Response.Headers.WWWAuthenticate = "Bearer realm=\"eventbus-ingest\"";
                return TypedResults.Problem(identity.Refusal, statusCode: 401, title: "Unauthorized");
            }

            return TypedResults.Problem(identity.Refusal, statusCode: identity.Status, title: "Forbidden");
        }

        request.HttpContext.Items[SourceItem] = source;

        // An ingested alert is a publish: the caller's publish rate applies (after authentication, so a stranger's
        // refused requests use no one's budget).
        if (limits.TryPublish(request.HttpContext) is { } limited)
        {
            return Limits.LimitReplies.Problem(request.HttpContext, limited);
        }

        // Invalid text is refused, never repaired: decoding would store U+FFFD where the bad bytes were.
        if (TextRules.FirstInvalidUtf8Byte(body) is var bad and >= 0)
        {
            return ApiProblems.NotUtf8(bad);
        }

        var text = Encoding.UTF8.GetString(body);
        if (request.HasFormContentType)
        {
            // GitHub's "application/x-www-form-urlencoded" content type: the JSON is the payload field.
            var form = Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(text);
            text = form.TryGetValue("payload", out var payload) ? payload.ToString() : "";
        }

        JsonElement json;
        try
        {
            using var document = JsonDocument.Parse(text);
            json = document.RootElement.Clone();
        }
        catch (JsonException ex)
        {
            return ApiProblems.BadRequest($"The body is not valid JSON: {ex.Message}");
        }

        // The payload is stored as sent, but its readers (and the recognizer) would choke on an unpaired surrogate escape.
        if (text.Contains("\\u", StringComparison.Ordinal) && TextRules.FindInvalidText(json) is { } where)
        {
            return ApiProblems.BadRequest($"Invalid text: {TextRules.UnpairedSurrogate(where.StartsWith('$') ? "the body's JSON at " + where : where + " of the body's JSON")}");
        }

        var recognized = IngestRecognizer.Recognize(json, request.Headers);
        var eventType = NonEmpty(request.Query["event_type"]) ?? recognized.EventType;
        var title = NonEmpty(request.Query["title"]) ?? recognized.Title;
        if (title is { Length: > BusOptions.MaxTitleLength })
        {
            title = title[..(BusOptions.MaxTitleLength - 1)] + "…";
        }

        var level = NonEmpty(request.Query["signal_level"]) ?? recognized.Level?.ToWire();
        var o = options.Value;
        var key = recognized.IdempotencyKey is { } k ? $"{source}:{channel}:{k}" : null;
        var expires = time.GetUtcNow() + (recognized.KeyFromSender ? o.IdempotencyWindow : o.ContentDedupeWindow);
        IngestOutcome outcome;
        try
        {
            outcome = await bus.IngestAsync(
                new PublishRequest(eventType, text, "ingest:" + source, channel, title, recognized.Tags, recognized.CorrelationId, level),
                key, expires, cancellationToken);
        }
        catch (BusValidationException ex)
        {
            return ApiProblems.BadRequest(ex.Message);
        }

        var e = outcome.Event;
        var reply = new IngestReply(e.Id, e.EventType, e.Channel, e.SignalLevel.ToWire(), e.Title, source, recognized.Kind, outcome.Duplicate);
        return outcome.Duplicate
            ? TypedResults.Ok(reply)
            : TypedResults.Created($"/api/v1/events?cursor={e.Id - 1}&limit=1", reply);
    }

    private const string SourceItem = "eventbus.ingest.source";

    /// <summary>Counts each ingest request by its source (once known) and outcome (stored, duplicate, or the refusal).</summary>
    private static async ValueTask<object?> CountAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var result = await next(context);
        var inner = result is INestedHttpResult nested ? nested.Result : result;
        var status = (inner as IStatusCodeHttpResult)?.StatusCode ?? StatusCodes.Status500InternalServerError;
        var outcome = status switch
        {
            StatusCodes.Status201Created => "stored",
            StatusCodes.Status200OK => "duplicate",
            StatusCodes.Status401Unauthorized => "unauthorized",
            StatusCodes.Status403Forbidden => "forbidden",
            StatusCodes.Status413PayloadTooLarge => "too_large",
            StatusCodes.Status429TooManyRequests => "limited",
            _ => "bad_request",
        };
        var source = context.HttpContext.Items[SourceItem] as string ?? "unknown";
        Core.Diagnostics.BusTelemetry.IngestRequests.Add(
            1, new KeyValuePair<string, object?>("source", source), new KeyValuePair<string, object?>("outcome", outcome));
        return result;
    }

    private static string? NonEmpty(Microsoft.Extensions.Primitives.StringValues value) => value.Count == 0 || string.IsNullOrEmpty(value[0]) ? null : value[0];
}

/// <summary>The result of an ingest: the event (stored now, or earlier for a duplicate), who sent it, and what it was recognised as.</summary>
internal sealed record IngestReply(
    long EventId,
    string EventType,
    string Channel,
    string SignalLevel,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Title,
    string Source,
    string Detected,
    bool Duplicate);
