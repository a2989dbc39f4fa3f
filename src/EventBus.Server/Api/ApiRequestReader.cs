using System.Globalization;
using System.Text.Json;
using EventBus.Core.Bus;
using Microsoft.AspNetCore.Http.HttpResults;

namespace EventBus.Server.Api;

/// <summary>
/// Reads request bodies and query values by hand rather than through model binding, so every refusal can say exactly
/// what was wrong (which field, which item, which NDJSON line) as a problem detail.
/// </summary>
internal static class ApiRequestReader
{
    private const string NdjsonMediaType = "application/x-ndjson";

    private static ReadOnlySpan<byte> Utf8Bom => [0xEF, 0xBB, 0xBF];

    /// <summary>A body parsed as one JSON document, or the problem with it.</summary>
    public readonly record struct JsonBody(JsonElement Json, ProblemHttpResult? Problem);

    /// <summary>One item of a batch: a name for error messages ("item 3", "item 3 (line 5)") and its JSON.</summary>
    public readonly record struct BatchItem(string Name, JsonElement Json);

    /// <summary>A batch's items, or the problem with the body.</summary>
    public readonly record struct BatchBody(IReadOnlyList<BatchItem> Items, ProblemHttpResult? Problem);

    public static async Task<JsonBody> ReadJsonAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        var (bytes, problem) = await ReadBodyAsync(request, cancellationToken);
        return problem is null ? ParseJson(bytes) : new JsonBody(default, problem);
    }

    public static async Task<BatchBody> ReadBatchAsync(HttpRequest request, int maxItems, CancellationToken cancellationToken)
    {
        var (bytes, problem) = await ReadBodyAsync(request, cancellationToken);
        if (problem is not null)
        {
            return new BatchBody([], problem);
        }

        var ndjson = request.ContentType?.StartsWith(NdjsonMediaType, StringComparison.OrdinalIgnoreCase) == true;
        return ndjson ? ParseNdjson(bytes, maxItems) : ParseJsonArray(bytes, maxItems);
    }

    /// <summary>Turns one JSON object into a publish request: the tool's parameter names, strict types, no unknown keys.</summary>
    public static PublishRequest ToPublishRequest(JsonElement item)
    {
        if (item.ValueKind != JsonValueKind.Object)
        {
            throw new BusValidationException($"expected a JSON object with event_type and payload (got {Describe(item.ValueKind)}).");
        }

        string? eventType = null, payload = null, sessionId = null, channel = null, title = null, correlationId = null, level = null;
        IReadOnlyList<string>? tags = null;
        foreach (var property in item.EnumerateObject())
        {
            if (!TextRules.TryGetName(property, out var name))
            {
                throw new BusValidationException(TextRules.UnpairedSurrogate("a field name"));
            }

            switch (name)
            {
                case "event_type": eventType = OptionalString(property); break;
                case "payload": payload = OptionalString(property); break;
                case "session_id": sessionId = OptionalString(property); break;
                case "channel": channel = OptionalString(property); break;
                case "title": title = OptionalString(property); break;
                case "correlation_id": correlationId = OptionalString(property); break;
                case "signal_level": level = OptionalString(property); break;
                case "tags": tags = OptionalStringList(property); break;
                default:
                    throw new BusValidationException(
                        $"unknown field \"{name}\" (expected event_type, payload, session_id, channel, title, tags, correlation_id, signal_level).");
            }
        }

        return new PublishRequest(
            eventType ?? throw new BusValidationException("event_type is required."),
            payload ?? throw new BusValidationException("payload is required (a string: plain text or JSON text)."),
            sessionId, channel, title, tags, correlationId, level);
    }

    /// <summary>The <c>limit</c> query value; the range itself is the bus's rule.</summary>
    public static int? ParseLimit(string? text)
    {
        if (text is null)
        {
            return null;
        }

        return int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var limit)
            ? limit
            : throw new BusValidationException($"limit must be an integer between 1 and {BusOptions.MaxLimit} (got \"{Preview(text)}\").");
    }

    /// <summary>
    /// The whole body, or the problem with it: larger than the server's limit, or not UTF-8 (refused, never repaired:
    /// a decoder would put U+FFFD where the bad bytes were, and store that).
    /// </summary>
    private static async Task<(ReadOnlyMemory<byte> Bytes, ProblemHttpResult? Problem)> ReadBodyAsync(
        HttpRequest request, CancellationToken cancellationToken)
    {
        if (await RequestBody.ReadAsync(request, long.MaxValue, cancellationToken) is not { } body)
        {
            return (default, TooLarge(request));
        }

        ReadOnlyMemory<byte> bytes = body;
        if (TextRules.FirstInvalidUtf8Byte(bytes.Span) is var bad and >= 0)
        {
            return (default, ApiProblems.NotUtf8(bad));
        }

        // A byte-order mark is valid UTF-8 but not JSON; skipped, as a stream reader would.
        return (bytes.Span.StartsWith(Utf8Bom) ? bytes[Utf8Bom.Length..] : bytes, null);
    }

    private static JsonBody ParseJson(ReadOnlyMemory<byte> bytes)
    {
        try
        {
            using var document = JsonDocument.Parse(bytes);
            return new JsonBody(document.RootElement.Clone(), null);
        }
        catch (JsonException ex)
        {
            return new JsonBody(default, ApiProblems.BadRequest($"The request body is not valid JSON: {ex.Message}"));
        }
    }

    private static BatchBody ParseJsonArray(ReadOnlyMemory<byte> bytes, int maxItems)
    {
        var body = ParseJson(bytes);
        if (body.Problem is not null)
        {
            return new BatchBody([], body.Problem);
        }

        if (body.Json.ValueKind != JsonValueKind.Array)
        {
            return new BatchBody([], ApiProblems.BadRequest(
                $"A batch is a JSON array of events, or NDJSON with Content-Type: {NdjsonMediaType} (got {Describe(body.Json.ValueKind)})."));
        }

        var count = body.Json.GetArrayLength();
        if (count > maxItems)
        {
            return new BatchBody([], TooMany(maxItems, count));
        }

        return count == 0
            ? new BatchBody([], Empty())
            : new BatchBody(body.Json.EnumerateArray().Select((item, i) => new BatchItem($"item {i}", item)).ToList(), null);
    }

    private static BatchBody ParseNdjson(ReadOnlyMemory<byte> bytes, int maxItems)
    {
        var items = new List<BatchItem>();
        var lineNumber = 0;
        var rest = bytes;
        while (!rest.IsEmpty)
        {
            var end = rest.Span.IndexOf((byte)'\n');
            var line = end < 0 ? rest : rest[..end];
            rest = end < 0 ? ReadOnlyMemory<byte>.Empty : rest[(end + 1)..];
            lineNumber++;
            if (line.Span.Trim(" \t\r"u8).IsEmpty)
            {
                continue;
            }

            if (items.Count == maxItems)
            {
                return new BatchBody([], TooMany(maxItems, null));
            }

            try
            {
                using var document = JsonDocument.Parse(line);
                items.Add(new BatchItem($"item {items.Count} (line {lineNumber})", document.RootElement.Clone()));
            }
            catch (JsonException ex)
            {
                return new BatchBody([], ApiProblems.BadRequest($"NDJSON line {lineNumber} is not valid JSON: {ex.Message}"));
            }
        }

        return items.Count == 0 ? new BatchBody([], Empty()) : new BatchBody(items, null);
    }

    private static ProblemHttpResult TooMany(int maxItems, int? count) =>
        ApiProblems.BadRequest(count is { } c
            ? $"A batch holds at most {maxItems} events (got {c}); split it."
            : $"A batch holds at most {maxItems} events (got more); split it.");

    private static ProblemHttpResult Empty() => ApiProblems.BadRequest("The batch is empty: send at least one event.");

    private static ProblemHttpResult TooLarge(HttpRequest request)
    {
        var limit = request.HttpContext.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpMaxRequestBodySizeFeature>()?.MaxRequestBodySize;
        return ApiProblems.TooLarge($"The request body is larger than {limit} bytes (EventBus:MaxRequestBodyBytes).");
    }

    private static string? OptionalString(JsonProperty property) =>
        property.Value.ValueKind switch
        {
            JsonValueKind.String => Text(property.Name, property.Value),
            JsonValueKind.Null => null,
            var kind => throw new BusValidationException($"{property.Name} must be a string (got {Describe(kind)})."),
        };

    private static List<string>? OptionalStringList(JsonProperty property)
    {
        if (property.Value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (property.Value.ValueKind != JsonValueKind.Array)
        {
            throw new BusValidationException($"{property.Name} must be an array of strings (got {Describe(property.Value.ValueKind)}).");
        }

        return property.Value.EnumerateArray()
            .Select((e, i) => e.ValueKind == JsonValueKind.String
                ? Text($"{property.Name}[{i}]", e)
                : throw new BusValidationException($"{property.Name} must be an array of strings (an entry is {Describe(e.ValueKind)})."))
            .ToList();
    }

    /// <summary>A JSON string field's value; refused, by name, when it is not valid text (an unpaired surrogate).</summary>
    private static string Text(string name, JsonElement value) =>
        TextRules.TryGetString(value, out var text) ? text! : throw new BusValidationException(TextRules.UnpairedSurrogate(name));

    private static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => "nothing",
    };

    private static string Preview(string value) => value.Length > 40 ? value[..40] + "…" : value;
}
