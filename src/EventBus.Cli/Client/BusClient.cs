using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace EventBus.Cli.Client;

/// <summary>
/// Calls the bus's MCP tools over HTTP the way the old CLI did: one session-less JSON-RPC <c>tools/call</c> per
/// call (the server answers it statelessly), returning <c>result.structuredContent.result</c> (else the JSON in
/// <c>content[0].text</c>). Sends <c>Authorization: Bearer $EVENTBUS_TOKEN</c> when a token is set. Thread-safe.
/// </summary>
public sealed class BusClient : IDisposable
{
    /// <summary>How long a call may take unless the caller says otherwise (the old CLI's 10 s).</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);

    private readonly HttpClient _http;
    private readonly bool _ownsHttp;
    private long _nextId;

    public BusClient(BusEndpoint endpoint, HttpClient? http = null)
    {
        Endpoint = endpoint;
        _ownsHttp = http is null;
        _http = http ?? CreateHttpClient();
    }

    public BusEndpoint Endpoint { get; }

    /// <summary>The HTTP client (no overall timeout: each call and stream sets its own).</summary>
    internal HttpClient Http => _http;

    /// <summary>An HTTP client suited to the bus: quick connect timeout, no overall timeout, no proxy for loopback.</summary>
    public static HttpClient CreateHttpClient() =>
        new(new SocketsHttpHandler
        {
            ConnectTimeout = TimeSpan.FromSeconds(5),
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
            AllowAutoRedirect = false,
        })
        {
            Timeout = Timeout.InfiniteTimeSpan,
        };

    /// <summary>Calls a tool and returns its result object.</summary>
    /// <exception cref="BusUnavailableException">The bus cannot be reached.</exception>
    /// <exception cref="BusAuthException">The bus refused the token.</exception>
    /// <exception cref="BusCallException">A tool error, a JSON-RPC error or an unexpected HTTP answer.</exception>
    public async Task<JsonElement> CallToolAsync(
        string tool, JsonObject? arguments = null, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        var message = await SendAsync("tools/call", new JsonObject { ["name"] = tool, ["arguments"] = arguments ?? [] }, timeout, cancellationToken);
        var raw = message.Result ?? throw new BusCallException($"{tool}: the bus sent no result.", tool);
        var result = ReadEnvelope(raw, CliJson.Default.ToolCallResult, tool);
        var value = ResultValue(raw, result);
        if (result.IsError == true)
        {
            var text = value.ValueKind == JsonValueKind.Object && Reply.Read(value, CliJson.Default.SuccessReply).Error is { ValueKind: JsonValueKind.String } e
                ? e.GetString()!
                : FirstText(result) ?? "the tool failed";
            throw new BusCallException(text, tool);
        }

        return value;
    }

    /// <summary>Sends any session-less JSON-RPC request (e.g. <c>tools/list</c>) and returns its <c>result</c>.</summary>
    public async Task<JsonElement> RequestAsync(string method, JsonObject? parameters = null, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        var message = await SendAsync(method, parameters, timeout, cancellationToken);
        return message.Result ?? throw new BusCallException($"{method}: the bus sent no result.");
    }

    /// <summary>Reads <c>GET /health</c>.</summary>
    public async Task<JsonElement> GetHealthAsync(CancellationToken cancellationToken = default)
    {
        using var request = NewRequest(HttpMethod.Get, Endpoint.HealthUrl);
        var (status, body) = await SendRawAsync(request, Endpoint.HealthUrl, DefaultTimeout, cancellationToken);
        try
        {
            return JsonDocument.Parse(body).RootElement.Clone();
        }
        catch (JsonException)
        {
            throw new BusCallException($"GET {Endpoint.HealthUrl} answered HTTP {status} with something that is not JSON: {Excerpt(body)}");
        }
    }

    /// <summary>A request with the bus's headers (bearer token) set.</summary>
    internal HttpRequestMessage NewRequest(HttpMethod method, Uri url)
    {
        var request = new HttpRequestMessage(method, url);
        if (Endpoint.Token is { } token)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return request;
    }

    /// <summary>Maps a transport failure to <see cref="BusUnavailableException"/> when it means "nobody is there".</summary>
    internal static bool IsUnavailable(Exception ex, out string reason)
    {
        for (var inner = ex; inner is not null; inner = inner.InnerException)
        {
            if (inner is SocketException socket)
            {
                reason = socket.SocketErrorCode switch
                {
                    SocketError.ConnectionRefused => "connection refused",
                    SocketError.HostNotFound or SocketError.NoData => "host not found",
                    SocketError.TimedOut => "connect timed out",
                    _ => socket.Message,
                };
                return true;
            }
        }

        if (ex is HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError } http)
        {
            reason = http.Message;
            return true;
        }

        reason = "";
        return false;
    }

    private async Task<JsonRpcReply> SendAsync(string method, JsonObject? parameters, TimeSpan? timeout, CancellationToken cancellationToken)
    {
        var id = Interlocked.Increment(ref _nextId);
        var body = new JsonObject { ["jsonrpc"] = "2.0", ["id"] = id, ["method"] = method };
        if (parameters is not null)
        {
            body["params"] = parameters;
        }

        using var request = NewRequest(HttpMethod.Post, Endpoint.McpUrl);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        request.Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
        var (status, text) = await SendRawAsync(request, Endpoint.McpUrl, timeout ?? DefaultTimeout, cancellationToken);
        if (status is < 200 or > 299)
        {
            throw new BusCallException($"{method}: the bus at {Endpoint.McpUrl} answered HTTP {status}: {Excerpt(ErrorText(text))}");
        }

        var element = ParseMessage(text) ?? throw new BusCallException($"{method}: the bus at {Endpoint.McpUrl} sent no JSON-RPC message: {Excerpt(text)}");
        var message = ReadEnvelope(element, CliJson.Default.JsonRpcReply, method);
        if (message.Error is { } error)
        {
            throw new BusCallException(error.Message ?? "JSON-RPC error");
        }

        return message;
    }

    private async Task<(int Status, string Body)> SendRawAsync(HttpRequestMessage request, Uri url, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, deadline.Token);
            var text = await response.Content.ReadAsStringAsync(deadline.Token);
            var status = (int)response.StatusCode;
            if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
            {
                throw new BusAuthException(url, status, Excerpt(ErrorText(text)));
            }

            return (status, text);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new BusUnavailableException(url, $"no answer within {timeout.TotalSeconds:0.#} s");
        }
        catch (HttpRequestException ex) when (IsUnavailable(ex, out var reason))
        {
            throw new BusUnavailableException(url, reason, ex);
        }
        catch (HttpRequestException ex)
        {
            throw new BusCallException($"the request to {url} failed: {ex.Message}");
        }
    }

    /// <summary>The first JSON-RPC message of an SSE body (the first <c>data:</c> line), or a plain JSON body.</summary>
    internal static JsonElement? ParseMessage(string body)
    {
        var trimmed = body.TrimStart();
        if (trimmed.StartsWith('{'))
        {
            return JsonDocument.Parse(trimmed).RootElement.Clone();
        }

        var data = new StringBuilder();
        foreach (var raw in body.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (line.Length == 0 && data.Length > 0)
            {
                break;
            }

            if (line.StartsWith("data:", StringComparison.Ordinal))
            {
                data.Append(line.AsSpan(line.StartsWith("data: ", StringComparison.Ordinal) ? 6 : 5));
            }
        }

        return data.Length == 0 ? null : JsonDocument.Parse(data.ToString()).RootElement.Clone();
    }

    /// <summary>The tool's result: <c>structuredContent.result</c>, else the JSON in the first text block.</summary>
    private static JsonElement ResultValue(JsonElement raw, ToolCallResult result)
    {
        if (result.StructuredContent?.Result is { } value)
        {
            return value.Clone();
        }

        if (FirstText(result) is { } text)
        {
            try
            {
                return JsonDocument.Parse(text).RootElement.Clone();
            }
            catch (JsonException)
            {
                return JsonSerializer.SerializeToElement(text, CliJson.Default.String);
            }
        }

        return raw.Clone();
    }

    private static string? FirstText(ToolCallResult result) => result.Content is [{ Text: { } text }, ..] ? text : null;

    /// <summary>Reads the JSON-RPC envelope; one that is not what MCP sends is a clear error, not a crash.</summary>
    private T ReadEnvelope<T>(JsonElement element, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type, string method)
    {
        try
        {
            return element.Deserialize(type) ?? throw new JsonException("it is null");
        }
        catch (JsonException ex)
        {
            throw new BusCallException($"{method}: the bus at {Endpoint.McpUrl} sent a JSON-RPC message this CLI cannot read ({ex.Message}): {Excerpt(element.GetRawText())}");
        }
    }

    /// <summary>The <c>detail</c> of a problem-details body, else the body.</summary>
    private static string ErrorText(string body)
    {
        try
        {
            if (body.TrimStart().StartsWith('{') && JsonSerializer.Deserialize(body, CliJson.Default.ProblemBody) is { } problem &&
                (problem.Detail ?? problem.Error ?? problem.Message ?? problem.Title) is { } v)
            {
                return v.ValueKind == JsonValueKind.String ? v.GetString()!
                    : v.ValueKind == JsonValueKind.Object && JsonSerializer.Deserialize(v, CliJson.Default.ProblemBody)?.Message is { } m ? m.ToString()
                    : v.GetRawText();
            }
        }
        catch (JsonException)
        {
            // Not JSON: the body itself says it.
        }

        return body;
    }

    private static string Excerpt(string text) => Reply.Excerpt(text);

    public void Dispose()
    {
        if (_ownsHttp)
        {
            _http.Dispose();
        }
    }
}
