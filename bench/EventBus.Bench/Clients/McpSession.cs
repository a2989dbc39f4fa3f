using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace EventBus.Bench.Clients;

/// <summary>
/// One MCP session on one HTTP/1.1 connection (a <see cref="SocketsHttpHandler"/> limited to a single connection),
/// speaking Streamable HTTP the way a real client does: <c>initialize</c>, <c>notifications/initialized</c>, then
/// requests carrying <c>Mcp-Session-Id</c> and <c>MCP-Protocol-Version</c>, each answered by a one-message SSE stream.
/// One request at a time: the load is closed-loop.
/// </summary>
internal sealed class McpSession : IAsyncDisposable
{
    public const string ProtocolVersion = "2025-11-25";

    private static readonly byte[] DataPrefix = "data:"u8.ToArray();
    private readonly HttpClient _http;
    private readonly Uri _endpoint;
    private byte[] _buffer = new byte[64 * 1024];
    private long _nextId;
    private int _connects;

    private McpSession(Uri endpoint)
    {
        _endpoint = endpoint;
        var handler = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = 1,
            UseProxy = false,
            UseCookies = false,
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(30),
            ConnectCallback = ConnectAsync,
        };
        _http = new HttpClient(handler)
        {
            Timeout = TimeSpan.FromSeconds(30),
            DefaultRequestVersion = HttpVersion.Version11,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        if (BearerToken is { Length: > 0 } token)
        {
            _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        _http.DefaultRequestHeaders.Accept.ParseAdd("application/json");
        _http.DefaultRequestHeaders.Accept.ParseAdd("text/event-stream");
    }

    /// <summary>Sent as <c>Authorization: Bearer</c> by every session (<c>--token</c>: a bus that requires tokens).</summary>
    public static string? BearerToken { get; set; }

    /// <summary>The <c>/mcp</c> URL.</summary>
    public Uri Endpoint => _endpoint;

    /// <summary>The <c>Mcp-Session-Id</c> the server gave this session.</summary>
    public string SessionId { get; private set; } = "";

    /// <summary>TCP connections opened so far: stays 1 unless the server closed the connection.</summary>
    public int Connects => Volatile.Read(ref _connects);

    /// <summary>Opens a session: <c>initialize</c> then <c>notifications/initialized</c>.</summary>
    public static async Task<McpSession> OpenAsync(Uri endpoint, string clientName, CancellationToken cancellationToken)
    {
        var session = new McpSession(endpoint);
        try
        {
            var init = await session.RequestJsonAsync(
                "initialize",
                $$$"""{"protocolVersion":"{{{ProtocolVersion}}}","capabilities":{},"clientInfo":{"name":"{{{clientName}}}","version":"1"}}""",
                cancellationToken);
            if (session.SessionId.Length == 0)
            {
                throw new BenchException("initialize: the response had no Mcp-Session-Id header.");
            }

            var version = init.GetProperty("protocolVersion").GetString();
            if (version != ProtocolVersion)
            {
                throw new BenchException($"initialize: the server negotiated protocol {version}, not {ProtocolVersion}.");
            }

            var (status, _) = await session.PostAsync("""{"jsonrpc":"2.0","method":"notifications/initialized"}""", cancellationToken);
            if (status != HttpStatusCode.Accepted)
            {
                throw new BenchException($"notifications/initialized: HTTP {(int)status}, expected 202.");
            }

            return session;
        }
        catch
        {
            await session.DisposeAsync();
            throw;
        }
    }

    /// <summary>A <c>ping</c>; true when the reply is an empty result.</summary>
    public async ValueTask<bool> PingAsync(CancellationToken cancellationToken)
    {
        var (status, length) = await PostAsync(Envelope("ping", null), cancellationToken);
        return status == HttpStatusCode.OK && _buffer.AsSpan(0, length).IndexOf("\"result\":{}"u8) >= 0;
    }

    /// <summary>
    /// A <c>tools/call</c> on the hot path: true when the reply is a successful tool result (structured content, not
    /// <c>isError</c>) that contains <paramref name="expect"/>. <paramref name="argumentsJson"/> is a JSON object.
    /// </summary>
    public async ValueTask<bool> CallToolAsync(string tool, string argumentsJson, byte[] expect, CancellationToken cancellationToken)
    {
        var (status, length) = await PostAsync(Envelope("tools/call", ToolParams(tool, argumentsJson)), cancellationToken);
        var body = _buffer.AsSpan(0, length);
        return status == HttpStatusCode.OK &&
               body.IndexOf("\"structuredContent\""u8) >= 0 &&
               body.IndexOf("\"isError\":true"u8) < 0 &&
               body.IndexOf(expect) >= 0;
    }

    /// <summary>A <c>tools/call</c> fully parsed: returns <c>structuredContent.result</c>, throws on any kind of error.</summary>
    public async Task<JsonElement> CallToolJsonAsync(string tool, string argumentsJson, CancellationToken cancellationToken)
    {
        var result = await RequestJsonAsync("tools/call", ToolParams(tool, argumentsJson), cancellationToken);
        if (result.TryGetProperty("isError", out var isError) && isError.ValueKind == JsonValueKind.True)
        {
            throw new BenchException($"tools/call {tool}: tool error: {result}");
        }

        if (!result.TryGetProperty("structuredContent", out var structured) || !structured.TryGetProperty("result", out var inner))
        {
            throw new BenchException($"tools/call {tool}: no structuredContent.result in {result}");
        }

        if (inner.ValueKind == JsonValueKind.Object && inner.TryGetProperty("error", out var error))
        {
            throw new BenchException($"tools/call {tool}: the bus refused: {error}");
        }

        return inner;
    }

    /// <summary>A request whose reply is parsed: returns its <c>result</c>, throws on a JSON-RPC error.</summary>
    public async Task<JsonElement> RequestJsonAsync(string method, string? paramsJson, CancellationToken cancellationToken)
    {
        var (status, length) = await PostAsync(Envelope(method, paramsJson), cancellationToken);
        var text = Encoding.UTF8.GetString(_buffer, 0, length);
        if (status != HttpStatusCode.OK)
        {
            throw new BenchException($"{method}: HTTP {(int)status}: {text}");
        }

        var json = SseData(_buffer.AsSpan(0, length)) ?? throw new BenchException($"{method}: no SSE data line in: {text}");
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        if (root.TryGetProperty("error", out var error))
        {
            throw new BenchException($"{method}: JSON-RPC error {error}");
        }

        return root.GetProperty("result").Clone();
    }

    public async ValueTask DisposeAsync()
    {
        if (SessionId.Length > 0)
        {
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Delete, _endpoint);
                AddSessionHeaders(request);
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                using var response = await _http.SendAsync(request, cts.Token);
            }
            catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException)
            {
                // Closing is a courtesy; the server prunes idle sessions anyway.
            }
        }

        _http.Dispose();
    }

    private string Envelope(string method, string? paramsJson)
    {
        var id = ++_nextId;
        return paramsJson is null
            ? $$"""{"jsonrpc":"2.0","id":{{id}},"method":"{{method}}"}"""
            : $$$"""{"jsonrpc":"2.0","id":{{{id}}},"method":"{{{method}}}","params":{{{paramsJson}}}}""";
    }

    private static string ToolParams(string tool, string argumentsJson) => $$$"""{"name":"{{{tool}}}","arguments":{{{argumentsJson}}}}""";

    /// <summary>POSTs one JSON-RPC message and reads the whole response body into the buffer.</summary>
    private async ValueTask<(HttpStatusCode Status, int Length)> PostAsync(string body, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, _endpoint)
        {
            Content = new ByteArrayContent(Encoding.UTF8.GetBytes(body)),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        if (SessionId.Length > 0)
        {
            AddSessionHeaders(request);
        }

        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        if (SessionId.Length == 0 && response.Headers.TryGetValues("Mcp-Session-Id", out var ids))
        {
            SessionId = ids.First();
        }

        await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
        var length = 0;
        while (true)
        {
            if (length == _buffer.Length)
            {
                Array.Resize(ref _buffer, _buffer.Length * 2);
            }

            var read = await stream.ReadAsync(_buffer.AsMemory(length), cancellationToken);
            if (read == 0)
            {
                break;
            }

            length += read;
        }

        return (response.StatusCode, length);
    }

    private void AddSessionHeaders(HttpRequestMessage request)
    {
        request.Headers.TryAddWithoutValidation("Mcp-Session-Id", SessionId);
        request.Headers.TryAddWithoutValidation("MCP-Protocol-Version", ProtocolVersion);
    }

    /// <summary>The JSON of the first <c>data:</c> line of an SSE body (or the body itself when it is plain JSON).</summary>
    private static byte[]? SseData(ReadOnlySpan<byte> body)
    {
        var trimmed = body.TrimStart(" \t\r\n"u8);
        if (trimmed.Length > 0 && trimmed[0] == (byte)'{')
        {
            return trimmed.ToArray();
        }

        // The first non-empty data line: a session's POST stream opens with a priming event whose data is empty.
        while (true)
        {
            var start = body.IndexOf(DataPrefix);
            if (start < 0)
            {
                return null;
            }

            var rest = body[(start + DataPrefix.Length)..];
            var end = rest.IndexOf((byte)'\n');
            var line = (end < 0 ? rest : rest[..end]).Trim(" \r"u8);
            if (line.Length > 0)
            {
                return line.ToArray();
            }

            if (end < 0)
            {
                return null;
            }

            body = rest[(end + 1)..];
        }
    }

    private async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _connects);
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
