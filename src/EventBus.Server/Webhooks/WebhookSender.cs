using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using EventBus.Core.Webhooks;
using EventBus.Server.Health;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Timeout;

namespace EventBus.Server.Webhooks;

/// <summary>A webhook as the sender needs it: where, and the secret in clear (kept in memory only).</summary>
internal sealed record WebhookTarget(string WebhookId, Uri Url, string Secret)
{
    public byte[] StandardKey { get; } = WebhookSignatures.StandardKey(Secret);

    /// <summary>
    /// Set for an MCP Events subscription: its deliveries carry <c>X-MCP-Subscription-Id</c> (the webhook id) and only
    /// the Standard Webhooks signature, made with the client's secret.
    /// </summary>
    public EventSubscription? Subscription { get; init; }

    /// <summary>The secret a rotation replaced, still signed with (a second <c>v1,</c> entry) until <see cref="PreviousUntil"/>.</summary>
    public byte[]? PreviousKey { get; init; }

    public DateTimeOffset PreviousUntil { get; init; }
}

/// <summary>How one attempt went.</summary>
internal sealed record SendResult(int? StatusCode, string? Error, TimeSpan? RetryAfter, double DurationMs)
{
    public bool Success => StatusCode is >= 200 and < 300;
}

/// <summary>
/// Sends one attempt: POST the event JSON with the Standard Webhooks headers and the old <c>X-Event-Bus-Signature</c>,
/// no redirects followed, within <see cref="WebhookOptions.Timeout"/> (a Polly timeout on the injected clock), through
/// the SSRF guard's connect callback.
/// </summary>
/// <remarks>
/// Receivers that close the connection after each answer (HTTP/1.0 servers such as Python's <c>http.server</c>) are
/// asked to with <c>Connection: close</c> once they are known: otherwise the connection goes back to the pool and the
/// next delivery, sent before the receiver's close arrives, finds it closed (<c>ResponseEnded</c>). A request that
/// finds its connection closed before a complete answer is sent again at once, on a new connection, within the
/// same attempt: the receiver never answered it, and a duplicate would carry the same <c>webhook-id</c> anyway.
/// </remarks>
internal sealed class WebhookSender : IDisposable
{
    private const int MaxErrorBodyChars = 300;
    private const int MaxAnswerChars = 4096;
    private static readonly ProductInfoHeaderValue UserAgent = new("EventBus-Webhooks", HealthEndpoints.Version);
    private readonly HttpClient _http;
    private readonly ResiliencePipeline _timeout;
    private readonly TimeProvider _time;
    private readonly TimeSpan _timeoutValue;

    // Receivers (scheme://host:port) that close the connection after each answer.
    private readonly ConcurrentDictionary<string, bool> _closingPeers = new(StringComparer.Ordinal);

    public WebhookSender(WebhookAddressGuard guard, IOptions<WebhookOptions> options, TimeProvider time)
    {
        _time = time;
        _timeoutValue = options.Value.Timeout;
        var handler = new SocketsHttpHandler
        {
            // A 3xx is an answer, not an instruction: following it would let a receiver point us anywhere.
            AllowAutoRedirect = false,
            // The guard must see the real destination; a proxy would hide it.
            UseProxy = false,
            ConnectCallback = guard.ConnectAsync,
            ConnectTimeout = options.Value.Timeout,
            // Re-resolve (and re-check) hosts now and then instead of keeping one connection forever.
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            AutomaticDecompression = DecompressionMethods.None,
        };
        _http = new HttpClient(handler) { Timeout = System.Threading.Timeout.InfiniteTimeSpan };
        _timeout = new ResiliencePipelineBuilder { TimeProvider = time }.AddTimeout(options.Value.Timeout).Build();
    }

    public async Task<SendResult> SendAsync(WebhookTarget target, string messageId, byte[] body, CancellationToken cancellationToken) =>
        (await ExchangeAsync(target, messageId, body, readAnswer: false, cancellationToken)).Result;

    /// <summary>
    /// Sends one request like a delivery and, when it is answered 2xx, returns the start of the answer's body (at most
    /// <see cref="MaxAnswerChars"/>): the endpoint verification handshake reads the echoed challenge there.
    /// </summary>
    public Task<(SendResult Result, string? Answer)> ExchangeAsync(WebhookTarget target, string messageId, byte[] body, CancellationToken cancellationToken) =>
        ExchangeAsync(target, messageId, body, readAnswer: true, cancellationToken);

    private async Task<(SendResult Result, string? Answer)> ExchangeAsync(
        WebhookTarget target, string messageId, byte[] body, bool readAnswer, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var now = _time.GetUtcNow();
        var timestamp = now.ToUnixTimeSeconds();
        try
        {
            return await _timeout.ExecuteAsync(async token =>
            {
                var peer = target.Url.GetLeftPart(UriPartial.Authority);
                using var response = await PostAsync(target, peer, messageId, timestamp, body, token);
                if (ClosesAfterEachAnswer(response))
                {
                    _closingPeers[peer] = true;
                }

                var code = (int)response.StatusCode;
                if (code is >= 200 and < 300)
                {
                    var answer = readAnswer ? await ReadSnippetAsync(response, MaxAnswerChars, token) : null;
                    return (new SendResult(code, null, null, Elapsed(started)), answer);
                }

                var retryAfter = code is 429 or 503 ? RetrySchedule.ParseRetryAfter(response.Headers.RetryAfter, _time.GetUtcNow()) : null;
                var detail = await ReadSnippetAsync(response, MaxErrorBodyChars, token);
                var error = $"HTTP {code} {response.ReasonPhrase}".TrimEnd() + (detail.Length > 0 ? ": " + detail : "");
                if (code is >= 300 and < 400 && response.Headers.Location is { } location)
                {
                    error += $" (redirect to {location} not followed)";
                }

                return (new SendResult(code, error, retryAfter, Elapsed(started)), (string?)null);
            }, cancellationToken);
        }
        catch (TimeoutRejectedException)
        {
            return (new SendResult(null, $"timed out after {_timeoutValue.TotalSeconds:0.#} s", null, Elapsed(started)), null);
        }
        catch (HttpRequestException ex)
        {
            return (new SendResult(null, Describe(ex), null, Elapsed(started)), null);
        }
    }

    public void Dispose() => _http.Dispose();

    /// <summary>Sends the request; once more, at once, if its connection turned out closed before any answer.</summary>
    private async Task<HttpResponseMessage> PostAsync(
        WebhookTarget target, string peer, string messageId, long timestamp, byte[] body, CancellationToken cancellationToken)
    {
        try
        {
            using var request = NewRequest(target, peer, messageId, timestamp, body);
            return await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        }
        catch (HttpRequestException ex) when (ClosedBeforeAnswer(ex))
        {
            using var request = NewRequest(target, peer, messageId, timestamp, body);
            return await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        }
    }

    private HttpRequestMessage NewRequest(WebhookTarget target, string peer, string messageId, long timestamp, byte[] body)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, target.Url);
        request.Content = new ByteArrayContent(body);
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.UserAgent.Add(UserAgent);
        request.Headers.TryAddWithoutValidation("webhook-id", messageId);
        request.Headers.TryAddWithoutValidation("webhook-timestamp", timestamp.ToString(CultureInfo.InvariantCulture));
        var signature = WebhookSignatures.Standard(target.StandardKey, messageId, timestamp, body);
        if (target.PreviousKey is { } previous && _time.GetUtcNow() < target.PreviousUntil)
        {
            // A rotated secret: both signatures, so a receiver still on the old one verifies too (Standard Webhooks multi-signature).
            signature += " " + WebhookSignatures.Standard(previous, messageId, timestamp, body);
        }

        request.Headers.TryAddWithoutValidation("webhook-signature", signature);
        if (target.Subscription is null)
        {
            request.Headers.TryAddWithoutValidation("X-Event-Bus-Signature", WebhookSignatures.Sha256Hex(target.Secret, body));
        }
        else
        {
            request.Headers.TryAddWithoutValidation("X-MCP-Subscription-Id", target.WebhookId);
        }
        if (_closingPeers.ContainsKey(peer))
        {
            request.Headers.ConnectionClose = true;
        }

        return request;
    }

    /// <summary>An HTTP/1.0 answer without <c>Connection: keep-alive</c>: the receiver closes the connection after it.</summary>
    private static bool ClosesAfterEachAnswer(HttpResponseMessage response) =>
        response.Headers.ConnectionClose == true
        || (response.Version == HttpVersion.Version10
            && !response.Headers.Connection.Contains("keep-alive", StringComparer.OrdinalIgnoreCase));

    /// <summary>The connection ended (or was reset) before a complete answer: the receiver never answered this request.</summary>
    private static bool ClosedBeforeAnswer(HttpRequestException ex) =>
        ex.HttpRequestError == HttpRequestError.ResponseEnded
        || (ex.InnerException is IOException { InnerException: SocketException { SocketErrorCode: SocketError.ConnectionReset } }
            && ex.HttpRequestError != HttpRequestError.ConnectionError);

    private static string Describe(HttpRequestException ex)
    {
        var message = ex.Message;
        for (var inner = ex.InnerException; inner is not null; inner = inner.InnerException)
        {
            if (!message.Contains(inner.Message, StringComparison.Ordinal))
            {
                message += ": " + inner.Message;
            }
        }

        return message;
    }

    private static async Task<string> ReadSnippetAsync(HttpResponseMessage response, int maxChars, CancellationToken cancellationToken)
    {
        try
        {
            var buffer = new char[maxChars];
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancellationToken));
            var read = await reader.ReadBlockAsync(buffer, cancellationToken);
            return new string(buffer, 0, read).ReplaceLineEndings(" ").Trim();
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException)
        {
            return "";
        }
    }

    private static double Elapsed(long started) => Stopwatch.GetElapsedTime(started).TotalMilliseconds;
}
