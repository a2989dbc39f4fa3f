using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using EventBus.Core.Store;
using EventBus.Server.Tools;
using Microsoft.Extensions.Options;
using ModelContextProtocol.Protocol;

namespace EventBus.Server.Mcp;

/// <summary>
/// Answers <c>tools/call</c> directly: parse the params, run the bus tool, write one SSE message with an exact
/// Content-Length (one TCP send). The SDK's generic request pipeline cost more CPU per call than the whole durable
/// publish (docs/benchmarks.md); everything else (initialize, ping, tools/list, notifications) still goes through it.
/// Bad params get a precise -32602 where the SDK said only "An error occurred."
/// </summary>
internal sealed partial class McpToolDispatcher(
    ToolRegistry tools,
    Security.SessionAccess access,
    Limits.CallerLimits limits,
    IOptions<McpHttpOptions> options,
    TimeProvider time,
    ILogger<McpToolDispatcher> logger)
{
    private static readonly Task Never = new TaskCompletionSource().Task;

    private static readonly JsonTypeInfo<CallToolRequestParams> ParamsInfo = TypeInfo<CallToolRequestParams>();
    private static readonly JsonTypeInfo<RequestId> IdInfo = TypeInfo<RequestId>();
    private static readonly JsonTypeInfo<ListToolsResult> ListInfo = TypeInfo<ListToolsResult>();

    private int _longCalls;

    /// <summary>Calls running past their first moment, each with its keep-alive timer armed.</summary>
    public int LongCalls => Volatile.Read(ref _longCalls);

    /// <summary>Raised after a long call's keep-alive timer is armed and after a long call ends.</summary>
    public Core.Events.ChangeSignal LongCallsChanged { get; } = new();

    /// <summary>Answers one <c>tools/call</c>; <paramref name="body"/> is the POST it came in.</summary>
    public async Task HandleAsync(HttpContext context, JsonRpcRequest request, ReadOnlyMemory<byte> body, McpHttpSession? session)
    {
        CallToolRequestParams? parameters;
        try
        {
            parameters = ReadParams(request, body);
        }
        catch (JsonException ex)
        {
            await WriteErrorAsync(context, request.Id, $"Invalid params for tools/call: {JsonRpcChecks.Reason(ex)}");
            return;
        }

        if (parameters?.Name is not { Length: > 0 } name)
        {
            await WriteErrorAsync(context, request.Id, "Invalid params: tools/call needs params.name, the tool to call.");
            return;
        }

        if (!tools.TryGet(name, out var tool))
        {
            await WriteErrorAsync(context, request.Id, $"Unknown tool: '{name}'. tools/list names the tools this server has.");
            return;
        }

        var caller = Security.Caller.Of(context);
        var needs = Security.ToolScopes.For(name);
        if (!Security.ToolScopes.Allows(caller, name))
        {
            await JsonRpcReplies.WriteErrorAsync(context, StatusCodes.Status403Forbidden, JsonRpcReplies.ServerError,
                $"Forbidden: {name} needs a token with the {Core.Security.TokenSecrets.ScopeName(needs)} scope; {caller.Describe()} does not have it.",
                request.Id);
            return;
        }

        // /mcp is one endpoint for every tool: the per-caller rates are asked here, where the tool's name is known
        // (after the scope check, so a refused call does not use up the caller's budget).
        var refusal = name switch
        {
            "publish_event" => limits.TryPublish(context),
            "register_session" => limits.TryRegister(context),
            _ => null,
        };
        if (refusal is not null)
        {
            await Limits.LimitReplies.WriteJsonRpcAsync(context, refusal, request.Id);
            return;
        }

        // A tool that may end its POST stream early (SEP-1699 polling) runs on a token of its own: its answer may
        // outlive this request (Mcp/Resume).
        var closable = tool.MayCloseStream && session is not null ? new Resume.ClosablePostCall(context, session) : null;
        var handedOver = false;
        try
        {
            ToolOutcome outcome;
            try
            {
                var run = tool.RunAsync(parameters.Arguments, session, caller, access, closable?.Token ?? context.RequestAborted, closable).AsTask();
                if (await RunWithKeepAliveAsync(context, run, closable) is not { } done)
                {
                    // The stream was ended before the answer, which goes to the GET that resumes the stream. This request
                    // ends now (freeing its connection); the call goes on under the session, bounded by its limit of
                    // pending answers and their expiry, which cancels it.
                    handedOver = true;
                    _ = AnswerLaterAsync(session!, closable!, name, request.Id, run);
                    return;
                }

                outcome = done;
            }
            catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
            {
                return; // The client went away; nobody is left to answer.
            }
            catch (Exception ex)
            {
                outcome = Failed(name, ex);
            }

            await WriteAsync(context, request.Id, json => WriteResult(json, outcome), closable?.StreamId);
        }
        finally
        {
            if (!handedOver)
            {
                closable?.Dispose();
            }
        }
    }

    /// <summary>
    /// The answer of a call whose POST stream was ended early, handed to the session once the call ends, so a GET that
    /// resumes the stream delivers it. Runs after the request has ended (the call's token is its own); never throws.
    /// </summary>
    private async Task AnswerLaterAsync(McpHttpSession session, Resume.ClosablePostCall call, string name, RequestId id, Task<ToolOutcome> run)
    {
        using var owned = call;
        var pending = call.Pending!;
        ToolOutcome outcome;
        try
        {
            outcome = await run;
        }
        catch (OperationCanceledException)
        {
            // Dropped (expired, session closed): nobody will ask for the answer.
            session.Pending.Forget(pending);
            return;
        }
        catch (Exception ex)
        {
            outcome = Failed(name, ex);
        }

        session.Pending.Answer(pending, SseMessage.Build(json => WriteMessage(json, id, j => WriteResult(j, outcome)), capacity: 1024).WrittenMemory);
    }

    private ToolOutcome Failed(string name, Exception exception)
    {
        if (exception is StoreUnavailableException unavailable)
        {
            // A full disk or a lock: the reason, as a tool error the agent can read, and no stack trace per call.
            LogStoreUnavailable(logger, name, unavailable.Fault, unavailable.Message);
        }
        else
        {
            LogToolFailed(logger, exception, name);
        }

        return new ToolOutcome(null, $"{name} failed: {exception.Message}");
    }

    /// <summary>
    /// The <c>result</c> member of a tool's answer. The reply is serialized once and written twice, as the contract
    /// wants it: raw under structuredContent.result and as a JSON string in content[0].text.
    /// </summary>
    private static void WriteResult(Utf8JsonWriter json, ToolOutcome outcome)
    {
        var error = outcome.Error;
        var reply = error is null
            ? JsonSerializer.SerializeToUtf8Bytes(outcome.Result!, outcome.Result!.GetType(), ToolJson.Options)
            : JsonSerializer.SerializeToUtf8Bytes(new EventBus.Core.Bus.BusError(error), ToolJson.Options);
        json.WriteStartObject("result");
        json.WriteStartArray("content");
        json.WriteStartObject();
        json.WriteString("type", "text");
        if (error is null)
        {
            json.WriteString("text", reply);
        }
        else
        {
            json.WriteString("text", error);
        }

        json.WriteEndObject();
        json.WriteEndArray();
        json.WriteStartObject("structuredContent");
        json.WritePropertyName("result");
        json.WriteRawValue(reply, skipInputValidation: true);
        json.WriteEndObject();
        if (error is not null)
        {
            json.WriteBoolean("isError", true);
        }

        json.WriteEndObject();
    }

    /// <summary>
    /// Answers <c>tools/list</c> with the tools this caller's token may call: the same <see cref="Security.ToolScopes.Allows"/>
    /// that refuses a <c>tools/call</c>, so the list never offers a tool the call would refuse (and a read token's agent
    /// does not pay context for publish and webhook tools). One page: the list is small.
    /// </summary>
    public Task ListAsync(HttpContext context, JsonRpcRequest request)
    {
        var caller = Security.Caller.Of(context);
        var result = new ListToolsResult { Tools = Visible(caller).Select(t => t.ProtocolTool).ToList() };
        var json = JsonSerializer.SerializeToUtf8Bytes(result, ListInfo);
        return WriteAsync(context, request.Id, writer =>
        {
            writer.WritePropertyName("result");
            writer.WriteRawValue(json, skipInputValidation: true);
        });
    }

    /// <summary>The tools <paramref name="caller"/> may call, in registry order.</summary>
    public IEnumerable<BusTool> Visible(Security.Caller caller) => tools.All.Where(t => Security.ToolScopes.Allows(caller, t.Name));

    private static CallToolRequestParams? ReadParams(JsonRpcRequest request, ReadOnlyMemory<byte> body)
    {
        try
        {
            return request.Params?.Deserialize(ParamsInfo);
        }
        catch (InvalidOperationException) when (!body.IsEmpty)
        {
            // Re-reading the params node decodes every string, and System.Text.Json refuses an argument with an unpaired
            // surrogate escape. From the body the arguments come out as they were sent, so the tool can refuse the
            // argument by name (McpRequestBody has checked everything else).
            using var document = JsonDocument.Parse(body);
            return document.RootElement.GetProperty("params").Deserialize(ParamsInfo);
        }
    }

    /// <summary>
    /// Most calls finish in well under a millisecond and are answered with one sized write. A call still running
    /// after the keep-alive interval (a long-poll) switches the response to streaming and sends <c>: keepalive</c>
    /// comments until it ends, because clients (Node's fetch) cut a response body that stays idle too long. A tool that
    /// may end its stream early (<paramref name="closable"/>) asks for it here, where the response is written: null
    /// means the stream was ended and the answer goes to the session.
    /// </summary>
    private async Task<ToolOutcome?> RunWithKeepAliveAsync(HttpContext context, Task<ToolOutcome> run, Resume.ClosablePostCall? closable)
    {
        if (run.IsCompleted)
        {
            return await run;
        }

        using var timer = new PeriodicTimer(options.Value.KeepAliveInterval, time);
        var tick = timer.WaitForNextTickAsync(context.RequestAborted).AsTask();
        var close = closable?.CloseRequested ?? Never;
        Interlocked.Increment(ref _longCalls);
        LongCallsChanged.Notify();
        try
        {
            while (true)
            {
                var first = await Task.WhenAny(run, tick, close);
                if (first == run)
                {
                    return await run;
                }

                if (first == close)
                {
                    if (await closable!.TryCloseAsync(context, Priming(context, closable.StreamId)))
                    {
                        return null;
                    }

                    close = Never; // No room to keep the answer: it stays on this stream.
                    continue;
                }

                if (!await tick)
                {
                    return await run;
                }

                if (!context.Response.HasStarted)
                {
                    StartEventStream(context.Response);
                    await context.Response.Body.WriteAsync(Priming(context, closable?.StreamId), context.RequestAborted);
                }

                await context.Response.Body.WriteAsync(McpSse.KeepAlive, context.RequestAborted);
                await context.Response.Body.FlushAsync(context.RequestAborted);
                tick = timer.WaitForNextTickAsync(context.RequestAborted).AsTask();
            }
        }
        finally
        {
            Interlocked.Decrement(ref _longCalls);
            LongCallsChanged.Notify();
        }
    }

    /// <summary>The priming event of a session's POST stream (none for a session-less one): its own id, the retry interval.</summary>
    private ReadOnlyMemory<byte> Priming(HttpContext context, string? streamId) =>
        McpSse.Primes(context)
            ? McpSse.Priming(streamId ?? McpSse.NextPostStreamId(), options.Value.RetryInterval)
            : ReadOnlyMemory<byte>.Empty;

    private static void StartEventStream(HttpResponse response)
    {
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache, no-store";
    }

    private Task WriteErrorAsync(HttpContext context, RequestId id, string message) =>
        WriteAsync(context, id, json =>
        {
            json.WriteStartObject("error");
            json.WriteNumber("code", JsonRpcReplies.InvalidParams);
            json.WriteString("message", message);
            json.WriteEndObject();
        });

    private async Task WriteAsync(HttpContext context, RequestId id, Action<Utf8JsonWriter> body, string? streamId = null)
    {
        var response = context.Response;
        // A stream that starts here opens with the priming event, in the same sized write as the answer.
        var priming = response.HasStarted ? ReadOnlyMemory<byte>.Empty : Priming(context, streamId);
        var buffer = SseMessage.Build(json => WriteMessage(json, id, body), capacity: 1024, prefix: priming.Span);
        if (!response.HasStarted)
        {
            StartEventStream(response);
            response.ContentLength = buffer.WrittenCount;
        }

        await response.Body.WriteAsync(buffer.WrittenMemory, context.RequestAborted);
    }

    /// <summary>A JSON-RPC response's members: <paramref name="body"/> (its result or error), the id, the version.</summary>
    private static void WriteMessage(Utf8JsonWriter json, RequestId id, Action<Utf8JsonWriter> body)
    {
        body(json);
        json.WritePropertyName("id");
        JsonSerializer.Serialize(json, id, IdInfo);
        json.WriteString("jsonrpc", "2.0");
    }

    private static JsonTypeInfo<T> TypeInfo<T>() => (JsonTypeInfo<T>)McpJson.Options.GetTypeInfo(typeof(T));

    [LoggerMessage(EventId = 120, Level = LogLevel.Error, Message = "Tool {Tool} failed")]
    private static partial void LogToolFailed(ILogger logger, Exception exception, string tool);

    [LoggerMessage(EventId = 121, Level = LogLevel.Warning, Message = "Tool {Tool}: store unavailable ({Fault}): {Reason}")]
    private static partial void LogStoreUnavailable(ILogger logger, string tool, StoreFault fault, string reason);
}
