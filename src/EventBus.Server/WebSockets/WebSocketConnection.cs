using System.Buffers;
using System.Net.WebSockets;
using System.Text.Json;
using EventBus.Core.Bus;
using EventBus.Core.Events;
using EventBus.Core.Security;
using EventBus.Core.Store;
using EventBus.Server.Security;
using Microsoft.Extensions.Options;
using HttpJsonOptions = Microsoft.AspNetCore.Http.Json.JsonOptions;

namespace EventBus.Server.WebSockets;

/// <summary>
/// One client on <c>/api/v1/ws</c>. Text frames only, one JSON object each, every one may carry an <c>id</c> that its
/// answer echoes:
/// <list type="bullet">
/// <item><c>{"subscribe":{"channel":"repo:x","cursor":"42","session_id":"..."}}</c>: answered <c>{"subscribed":...}</c>,
/// then one frame per event after the cursor (the same JSON as <c>/api/v1/events</c>), replay first, then live. No cursor:
/// the session's saved cursor when a session is named, else from now. A new subscribe replaces the previous one.</item>
/// <item><c>{"publish":{...}}</c>: the REST publish body; answered <c>{"published":...}</c> (the publish scope is needed).</item>
/// <item><c>{"ack":"42","session_id":"..."}</c>: saves the session's cursor; answered <c>{"acked":...}</c>.</item>
/// </list>
/// Anything wrong is answered <c>{"error":{"message":...}}</c> and the connection stays open. Events go out from the
/// follower's own loop (<see cref="EventFollower"/>), one send at a time; a send the client takes nothing of for the
/// stall timeout cuts the connection off, as an SSE reader is.
/// </summary>
internal sealed class WebSocketConnection : IDisposable
{
    private readonly HttpContext _context;
    private readonly WebSocket _socket;
    private readonly Limits.StallGuard _guard;
    private readonly SemaphoreSlim _sending = new(1, 1);
    private readonly JsonSerializerOptions _json;
    private readonly Caller _caller;
    private readonly int _maxMessageBytes;
    private readonly IServiceProvider _services;
    private CancellationTokenSource? _subscription;
    private Task _pump = Task.CompletedTask;
    private string? _sessionId;

    public WebSocketConnection(HttpContext context, WebSocket socket, TimeSpan stallTimeout)
    {
        _context = context;
        _socket = socket;
        _services = context.RequestServices;
        _guard = new Limits.StallGuard(_services.GetRequiredService<TimeProvider>(), stallTimeout, context.Abort);
        _json = _services.GetRequiredService<IOptions<HttpJsonOptions>>().Value.SerializerOptions;
        _caller = Caller.Of(context);
        _maxMessageBytes = (int)Math.Min(int.MaxValue, _services.GetRequiredService<IOptions<Hosting.ServerOptions>>().Value.MaxRequestBodyBytes);
    }

    /// <summary>True once a send stalled and the connection was cut off.</summary>
    public bool Stalled => _guard.Stalled;

    /// <summary>Reads and answers client messages until the client closes (or the connection ends).</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var buffer = new ArrayBufferWriter<byte>(4096);
        try
        {
            while (true)
            {
                buffer.ResetWrittenCount();
                var message = await ReceiveAsync(buffer, cancellationToken);
                if (message is null)
                {
                    return;
                }

                if (message == WebSocketMessageType.Binary)
                {
                    await SendErrorAsync(null, "binary frames are not understood: send JSON text frames.", cancellationToken);
                    continue;
                }

                await HandleAsync(buffer.WrittenMemory, cancellationToken);
            }
        }
        finally
        {
            await StopPumpAsync();
        }
    }

    public void Dispose()
    {
        _subscription?.Dispose();
        _guard.Dispose();
        _sending.Dispose();
    }

    /// <summary>One whole message into <paramref name="buffer"/>; null when the client closed (answered in kind).</summary>
    private async Task<WebSocketMessageType?> ReceiveAsync(ArrayBufferWriter<byte> buffer, CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await _socket.ReceiveAsync(buffer.GetMemory(4096), cancellationToken);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                await SendAsync(static (s, ct) => new ValueTask(s.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bye", ct)), _socket, cancellationToken);
                return null;
            }

            buffer.Advance(result.Count);
            if (buffer.WrittenCount > _maxMessageBytes)
            {
                await SendAsync(
                    static (s, ct) => new ValueTask(s.CloseOutputAsync(WebSocketCloseStatus.MessageTooBig, "message larger than EventBus:MaxRequestBodyBytes", ct)),
                    _socket, cancellationToken);
                return null;
            }

            if (result.EndOfMessage)
            {
                return result.MessageType;
            }
        }
    }

    private async Task HandleAsync(ReadOnlyMemory<byte> text, CancellationToken cancellationToken)
    {
        JsonElement? requestId = null;
        try
        {
            using var document = ParseObject(text);
            var root = document.RootElement;
            requestId = root.TryGetProperty("id", out var id) ? id.Clone() : null;
            if (root.TryGetProperty("subscribe", out var subscribe))
            {
                await SubscribeAsync(WebSocketRequests.ReadSubscribe(subscribe), requestId, cancellationToken);
            }
            else if (root.TryGetProperty("publish", out var publish))
            {
                await PublishAsync(publish, requestId, cancellationToken);
            }
            else if (root.TryGetProperty("ack", out var ack))
            {
                await AckAsync(WebSocketRequests.ReadAck(root, ack), requestId, cancellationToken);
            }
            else
            {
                throw new BusValidationException("expected one of \"subscribe\", \"publish\" or \"ack\".");
            }
        }
        catch (BusValidationException ex)
        {
            await SendErrorAsync(requestId, ex.Message, cancellationToken);
        }
    }

    private static JsonDocument ParseObject(ReadOnlyMemory<byte> text)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(text);
        }
        catch (JsonException ex)
        {
            throw new BusValidationException($"not JSON: {ex.Message}");
        }

        if (document.RootElement.ValueKind != JsonValueKind.Object)
        {
            document.Dispose();
            throw new BusValidationException("expected a JSON object, like {\"subscribe\":{\"channel\":\"all\"}}.");
        }

        return document;
    }

    private async Task SubscribeAsync(WebSocketRequests.Subscribe request, JsonElement? requestId, CancellationToken cancellationToken)
    {
        var store = _services.GetRequiredService<IEventStore>();
        if (request.SessionId is { } sessionId)
        {
            await CheckSessionAsync(sessionId, cancellationToken);
            _sessionId = sessionId;
        }

        var position = request.Cursor;
        if (position is null && request.SessionId is { } named)
        {
            position = (await store.GetSessionAsync(named, cancellationToken))?.Cursor;
        }

        position ??= await store.GetTipAsync(cancellationToken);
        await StopPumpAsync();
        // Truncated (with the first cursor from which nothing is missing) when retention deleted events after the position.
        var first = _services.GetRequiredService<BusService>().Truncation(position.Value);
        var reply = new
        {
            Id = requestId,
            Subscribed = new
            {
                request.Channel,
                Cursor = Cursor.Format(position.Value),
                SessionId = _sessionId,
                Truncated = first is null ? (bool?)null : true,
                FirstAvailableCursor = first,
            },
        };
        await SendJsonAsync(reply, cancellationToken);

        var access = _services.GetRequiredService<SessionAccess>();
        var caller = _caller;
        var filter = new FollowFilter(request.Channel, caller.DirectMessageFilter, (e, ct) => access.MaySeeAsync(caller, e.Channel, e.SessionId, ct));
        _subscription = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        _pump = PumpAsync(position.Value, filter, _subscription.Token);
    }

    private async Task PumpAsync(long position, FollowFilter filter, CancellationToken cancellationToken)
    {
        var follower = _services.GetRequiredService<EventFollower>();
        var keepAlive = _services.GetRequiredService<IOptions<Mcp.McpHttpOptions>>().Value.KeepAliveInterval;
        try
        {
            await follower.FollowAsync(position, filter, async (events, ct) =>
            {
                foreach (var e in events)
                {
                    await SendJsonAsync(BusService.ToReply(e), ct);
                }
            }, keepAlive, null, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Replaced by a new subscribe, or the connection is ending.
        }
        catch (Exception ex) when (ex is WebSocketException or IOException or ObjectDisposedException)
        {
            // The connection broke under a send (or was cut off): end the receive side too.
            _context.Abort();
        }
    }

    private async Task StopPumpAsync()
    {
        if (_subscription is { } running)
        {
            await running.CancelAsync();
            await _pump;
            running.Dispose();
            _subscription = null;
        }
    }

    private async Task PublishAsync(JsonElement body, JsonElement? requestId, CancellationToken cancellationToken)
    {
        if (!_caller.Has(TokenScope.Publish))
        {
            await SendErrorAsync(requestId, $"Forbidden: publishing needs a token with the publish scope; {_caller.Describe()} may only read.", cancellationToken);
            return;
        }

        if (_services.GetRequiredService<Limits.CallerLimits>().TryPublish(_context) is { } refusal)
        {
            await SendErrorAsync(requestId, refusal.Message, cancellationToken);
            return;
        }

        var request = Api.ApiRequestReader.ToPublishRequest(body);
        if (request.SessionId is { Length: > 0 } sessionId && sessionId != "anonymous")
        {
            await CheckSessionAsync(sessionId, cancellationToken);
        }

        var reply = await _services.GetRequiredService<BusService>().PublishAsync(request, cancellationToken);
        await SendJsonAsync(new { Id = requestId, Published = reply }, cancellationToken);
    }

    private async Task AckAsync(WebSocketRequests.Ack request, JsonElement? requestId, CancellationToken cancellationToken)
    {
        var sessionId = request.SessionId ?? _sessionId ??
            throw new BusValidationException("ack needs a session: name it with \"session_id\" here or in the subscribe.");
        await CheckSessionAsync(sessionId, cancellationToken);
        var result = await _services.GetRequiredService<BusService>().AckAsync(sessionId, request.Cursor, false, cancellationToken);
        if (result.Error is { } error)
        {
            await SendErrorAsync(requestId, error.Error, cancellationToken);
            return;
        }

        await SendJsonAsync(new { Id = requestId, Acked = result.Value }, cancellationToken);
    }

    private async Task CheckSessionAsync(string sessionId, CancellationToken cancellationToken)
    {
        if (await _services.GetRequiredService<SessionAccess>().CheckAsync(_caller, sessionId, cancellationToken) is { } refused)
        {
            throw new BusValidationException(refused);
        }
    }

    private Task SendErrorAsync(JsonElement? requestId, string message, CancellationToken cancellationToken) =>
        SendJsonAsync(new { Id = requestId, Error = new { Message = message } }, cancellationToken);

    private Task SendJsonAsync<T>(T value, CancellationToken cancellationToken)
    {
        var bytes = JsonSerializer.SerializeToUtf8Bytes(value, _json);
        return SendAsync(static (s, ct) => s.Socket.SendAsync(s.Bytes.AsMemory(), WebSocketMessageType.Text, true, ct), (Socket: _socket, Bytes: bytes), cancellationToken);
    }

    /// <summary>One send at a time (a WebSocket allows no more), each within the stall timeout.</summary>
    private async Task SendAsync<TState>(Func<TState, CancellationToken, ValueTask> send, TState state, CancellationToken cancellationToken)
    {
        await _sending.WaitAsync(cancellationToken);
        try
        {
            await _guard.RunAsync(send, state, cancellationToken);
        }
        finally
        {
            _sending.Release();
        }
    }
}
