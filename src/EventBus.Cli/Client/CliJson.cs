using System.Text.Json;
using System.Text.Json.Serialization;
using EventBus.Core.Bus;
using EventBus.Server.Permissions;
using EventBus.Server.Webhooks;
using static EventBus.Server.Health.HealthEndpoints;

namespace EventBus.Cli.Client;

/// <summary>
/// What the CLI reads from the bus, source-generated: the JSON-RPC envelope and the reply records the server writes
/// its tool results with (Core's, and the webhook tools'), so both sides share one definition of each shape.
/// </summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(JsonRpcReply))]
[JsonSerializable(typeof(ToolCallResult))]
[JsonSerializable(typeof(ProblemBody))]
[JsonSerializable(typeof(ToolListing))]
[JsonSerializable(typeof(HealthReply))]
[JsonSerializable(typeof(BusError))]
[JsonSerializable(typeof(RegisterReply))]
[JsonSerializable(typeof(List<SessionReply>))]
[JsonSerializable(typeof(List<ChannelReply>))]
[JsonSerializable(typeof(EventsReply))]
[JsonSerializable(typeof(EventReply))]
[JsonSerializable(typeof(AckReply))]
[JsonSerializable(typeof(PublishReply))]
[JsonSerializable(typeof(SubscriptionReply))]
[JsonSerializable(typeof(UnsubscribeReply))]
[JsonSerializable(typeof(UnregisterReply))]
[JsonSerializable(typeof(SubscriptionsReply))]
[JsonSerializable(typeof(List<WebhookReply>))]
[JsonSerializable(typeof(DeliveriesReply))]
[JsonSerializable(typeof(List<DeliveryReply>))]
[JsonSerializable(typeof(RegisterWebhookReply))]
[JsonSerializable(typeof(SuccessReply))]
[JsonSerializable(typeof(PermissionAnswerReply))]
[JsonSerializable(typeof(string))]
[JsonSerializable(typeof(HookStdin))]
internal sealed partial class CliJson : JsonSerializerContext;

/// <summary>A JSON-RPC response: its <c>result</c>, or its <c>error</c>.</summary>
internal sealed record JsonRpcReply(JsonElement? Result, JsonRpcErrorBody? Error);

/// <summary>A JSON-RPC error object.</summary>
internal sealed record JsonRpcErrorBody(int Code, string? Message);

/// <summary>A <c>tools/call</c> result as MCP writes it (camelCase keys).</summary>
internal sealed record ToolCallResult(
    IReadOnlyList<ToolContent>? Content,
    [property: JsonPropertyName("structuredContent")] StructuredResult? StructuredContent,
    [property: JsonPropertyName("isError")] bool? IsError);

/// <summary>One content block; the bus writes text blocks.</summary>
internal sealed record ToolContent(string? Type, string? Text);

/// <summary>The bus's <c>structuredContent</c>: the tool's result under <c>result</c>.</summary>
internal sealed record StructuredResult(JsonElement? Result);

/// <summary>A <c>tools/list</c> result, as far as the CLI reads it.</summary>
internal sealed record ToolListing(IReadOnlyList<ToolDescription> Tools);

/// <summary>A tool and the arguments its input schema names.</summary>
internal sealed record ToolDescription(string Name, [property: JsonPropertyName("inputSchema")] ToolInputSchema? InputSchema);

/// <summary>A tool's input schema: the names of its properties.</summary>
internal sealed record ToolInputSchema(Dictionary<string, JsonElement>? Properties);

/// <summary>An error body over plain HTTP: a problem details object, or the bus's older <c>error</c>/<c>message</c>.</summary>
internal sealed record ProblemBody(JsonElement? Detail, JsonElement? Error, JsonElement? Message, JsonElement? Title);

/// <summary>The shape every changing tool shares: <c>success</c>, and <c>error</c> when it failed.</summary>
internal sealed record SuccessReply(bool? Success, JsonElement? Error);

/// <summary>What Claude Code writes on a hook's stdin, as far as the hooks read it.</summary>
internal sealed record HookStdin(string? SessionId, string? Cwd, string? HookEventName, string? Source, bool? StopHookActive);

/// <summary>
/// <c>GET /health</c> as far as the CLI reads it. The server's <c>HealthReport</c> keeps feature sections as extension
/// data beside its constructor, which System.Text.Json cannot read back; its <c>store</c> is the server's record.
/// </summary>
internal sealed record HealthReply(string? Status, string? Version, StoreReport? Store);
