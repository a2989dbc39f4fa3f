using System.Text.Json;
using EventBus.Core.Bus;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace EventBus.Server.Tools;

/// <summary>A tool's reply object, or the message of a tool error.</summary>
internal readonly record struct ToolOutcome(object? Result, string? Error);

/// <summary>What a tool handler gets: its arguments and the MCP session it was called on (null when stateless).</summary>
internal sealed record ToolCall(ToolArguments Args, IToolSession? Session)
{
    /// <summary>Who is calling (open when the bus runs without tokens).</summary>
    public Security.Caller Caller { get; init; } = Security.Caller.Open;

    /// <summary>Session ownership checks (null when called outside the HTTP binding).</summary>
    public Security.SessionAccess? Access { get; init; }

    /// <summary>The POST stream the call is answered on, for a tool that <see cref="BusTool.MayCloseStream"/> (else null).</summary>
    public IPostStream? Stream { get; init; }

    /// <summary>The named argument, else the bus session this MCP session is bound to.</summary>
    public string? SessionOr(string argument) => Args.OptionalString(argument) ?? Session?.BoundSessionId;
}

/// <summary>
/// One bus tool. Results go out twice, as the old agent-event-bus clients read them: as
/// <c>structuredContent.result</c> and as JSON text in <c>content[0].text</c>. Bad input is a tool error
/// (<c>isError: true</c>) whose text says what was wrong.
/// </summary>
internal sealed class BusTool : McpServerTool
{
    private readonly Func<ToolCall, CancellationToken, Task<object>> _handler;
    private readonly IReadOnlyCollection<string> _parameters;

    public BusTool(string name, string title, string description, ToolSchema schema, ToolAnnotations annotations,
        Func<ToolCall, CancellationToken, Task<object>> handler)
    {
        _handler = handler;
        _parameters = schema.Names;
        annotations.Title = title;
        ProtocolTool = new Tool
        {
            Name = name,
            Title = title,
            Description = description,
            InputSchema = schema.Build(),
            Annotations = annotations,
        };
    }

    public override Tool ProtocolTool { get; }

    public override IReadOnlyList<object> Metadata => [];

    public string Name => ProtocolTool.Name;

    /// <summary>
    /// Whether the tool may end its POST stream before answering (<see cref="ToolCall.Stream"/>): the binding then runs
    /// it on a token of its own, since its answer may outlive the request.
    /// </summary>
    public bool MayCloseStream { get; init; }

    /// <summary>The SDK's entry point (used when a call reaches a tool through the SDK pipeline).</summary>
    public override ValueTask<CallToolResult> InvokeAsync(
        RequestContext<CallToolRequestParams> request, CancellationToken cancellationToken) =>
        CallAsync(request.Params?.Arguments, null, cancellationToken);

    /// <summary>Runs the tool: its result, or a tool error saying what was wrong with the input.</summary>
    public async ValueTask<CallToolResult> CallAsync(
        IDictionary<string, JsonElement>? arguments, IToolSession? session, CancellationToken cancellationToken)
    {
        var outcome = await RunAsync(arguments, session, cancellationToken);
        return outcome.Error is { } error ? Error(error) : Success(outcome.Result!);
    }

    /// <summary>Runs the tool and returns the reply object, or the message of a tool error.</summary>
    public ValueTask<ToolOutcome> RunAsync(
        IDictionary<string, JsonElement>? arguments, IToolSession? session, CancellationToken cancellationToken) =>
        RunAsync(arguments, session, Security.Caller.Open, null, cancellationToken);

    /// <summary>
    /// Runs the tool for <paramref name="caller"/>: a tool that acts as a session (its <c>session_id</c>, or the one this
    /// MCP session is bound to) runs only if the caller owns that session or is admin.
    /// </summary>
    public async ValueTask<ToolOutcome> RunAsync(
        IDictionary<string, JsonElement>? arguments, IToolSession? session, Security.Caller caller, Security.SessionAccess? access,
        CancellationToken cancellationToken, IPostStream? stream = null)
    {
        try
        {
            ToolArguments.RejectUnknown(Name, arguments, _parameters);
            var args = new ToolArguments(Name, arguments);
            var call = new ToolCall(args, session) { Caller = caller, Access = access, Stream = stream };
            if (access is not null && !caller.IsAdmin && _parameters.Contains("session_id") &&
                call.SessionOr("session_id") is { } sessionId &&
                await access.CheckAsync(caller, sessionId, cancellationToken) is { } refused)
            {
                return new ToolOutcome(null, refused);
            }

            return new ToolOutcome(await _handler(call, cancellationToken), null);
        }
        catch (ToolArgumentException ex)
        {
            return new ToolOutcome(null, ex.Message);
        }
        catch (BusValidationException ex)
        {
            return new ToolOutcome(null, $"{Name}: {ex.Message}");
        }
    }

    /// <summary>A result carried both ways the old clients read.</summary>
    public static CallToolResult Success(object result)
    {
        var envelope = JsonSerializer.SerializeToElement(new Envelope(result), ToolJson.Options);
        return new CallToolResult
        {
            Content = [new TextContentBlock { Text = envelope.GetProperty("result").GetRawText() }],
            StructuredContent = envelope,
        };
    }

    /// <summary>
    /// A tool error: the text is for the agent; <c>structuredContent.result.error</c> carries the same message for
    /// scripts that read the structured form.
    /// </summary>
    public static CallToolResult Error(string message) => new()
    {
        IsError = true,
        Content = [new TextContentBlock { Text = message }],
        StructuredContent = JsonSerializer.SerializeToElement(new Envelope(new BusError(message)), ToolJson.Options),
    };

    /// <summary><c>{"result": ...}</c>: the shape old clients read from <c>structuredContent</c>.</summary>
    private sealed record Envelope(object Result);
}
