using System.Net;
using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;

namespace EventBus.Cli.Client;

/// <summary>
/// One event from <c>GET /api/v1/stream</c>: its id, its type, and the event object (as <c>get_events</c> returns it),
/// as the bus sent it and read into its record.
/// </summary>
public sealed record StreamEvent(long Id, string EventType, JsonElement Event, Core.Bus.EventReply Reply)
{
    public string Channel => Reply.Channel ?? "";
}

/// <summary>What the follower is doing, for people watching stderr.</summary>
public sealed record StreamStatus(StreamState State, string Message, TimeSpan? RetryIn = null);

public enum StreamState
{
    Connected,
    Disconnected,
}

/// <summary>
/// Follows the bus's SSE stream (<c>GET /api/v1/stream</c>) for as long as the caller wants: parses it with
/// <see cref="SseParser"/>, treats any byte (an event, a <c>: keepalive</c> comment) as a sign of life, and when the connection drops
/// or goes silent reconnects with <c>Last-Event-ID</c> set to the last event it yielded, so nothing is missed and
/// nothing repeats. Shared by <c>eventbus watch</c> and the stdio channel.
/// </summary>
public sealed class EventStreamFollower(BusClient client, TimeProvider? time = null)
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    /// <summary>A connection with no byte (no event, no keep-alive) for this long is treated as dead.</summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>The first wait before reconnecting; doubles per failed try up to <see cref="MaxRetryDelay"/>.</summary>
    public TimeSpan InitialRetryDelay { get; init; } = BusRetry.DefaultInitialDelay;

    public TimeSpan MaxRetryDelay { get; init; } = BusRetry.DefaultMaxDelay;

    /// <summary>
    /// When true (the default), failing to reach the bus on the very first connection throws
    /// <see cref="BusUnavailableException"/>; once connected, the follower always reconnects on its own.
    /// </summary>
    public bool FailIfFirstConnectFails { get; init; } = true;

    /// <summary>Called when the connection opens or drops.</summary>
    public Action<StreamStatus>? OnStatus { get; init; }

    /// <summary>The id of the last event yielded (what a reconnect resumes after).</summary>
    public long? LastEventId { get; private set; }

    /// <summary>
    /// Yields the events after <paramref name="cursor"/> (or, without one, those committed from now on), then live
    /// ones, until cancelled. <paramref name="channel"/> is an exact channel name (the server filters by it).
    /// </summary>
    /// <exception cref="BusCallException">The bus refused the request (a bad cursor or channel): retrying cannot help.</exception>
    /// <exception cref="BusAuthException">The token was refused.</exception>
    public async IAsyncEnumerable<StreamEvent> FollowAsync(
        string? cursor, string? channel, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        if (cursor is not null)
        {
            LastEventId = long.TryParse(cursor, out var c) && c >= 0
                ? c
                : throw new CliUsageException($"the cursor must be the decimal string of an event id, like \"42\" (got \"{cursor}\").");
        }

        // The connection is read by a pump behind a small bounded channel, so that the reconnect loop can be one
        // retry pipeline (an async iterator cannot yield from inside it).
        var events = System.Threading.Channels.Channel.CreateBounded<StreamEvent>(new BoundedChannelOptions(16)
        {
            SingleReader = true,
            SingleWriter = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var pump = PumpAsync(events.Writer, channel, LastEventId, stop.Token);
        try
        {
            await foreach (var next in events.Reader.ReadAllAsync(cancellationToken))
            {
                LastEventId = next.Id;
                yield return next;
            }
        }
        finally
        {
            await stop.CancelAsync();
            await pump;
        }
    }

    /// <summary>
    /// Connects and reads into <paramref name="events"/>, reconnecting through <see cref="BusRetry"/> after each drop
    /// with <c>Last-Event-ID</c> set to the last event read; ends by completing the channel (with the failure that
    /// retrying cannot help, if any). Never throws.
    /// </summary>
    private async Task PumpAsync(ChannelWriter<StreamEvent> events, string? channel, long? after, CancellationToken cancellationToken)
    {
        var everConnected = false;
        var retry = new BusRetry(
            _time,
            ex => ex is StreamBrokenException || (ex is BusUnavailableException && (everConnected || !FailIfFirstConnectFails)),
            (ex, delay) =>
            {
                OnStatus?.Invoke(new StreamStatus(StreamState.Disconnected, ex.Message, delay));
                return ValueTask.CompletedTask;
            },
            InitialRetryDelay,
            MaxRetryDelay);
        try
        {
            await retry.Pipeline.ExecuteAsync(
                async token =>
                {
                    // Without a cursor, start from the tip as it is now, so that a reconnect later resumes from a
                    // position instead of missing whatever was committed while it was away.
                    after ??= await ReadTipAsync(token);
                    await using var connection = await ConnectAsync(channel, after, token);
                    everConnected = true;
                    retry.Reset();
                    OnStatus?.Invoke(new StreamStatus(StreamState.Connected, $"following {client.Endpoint.ApiUrl}stream" + (after is { } id ? $" after event {id}" : "")));
                    while (await connection.NextAsync(token) is { } next)
                    {
                        await events.WriteAsync(next, token);
                        after = next.Id;
                    }

                    throw new StreamBrokenException("the bus closed the stream");
                },
                cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            events.TryComplete();
        }
        catch (Exception ex)
        {
            events.TryComplete(ex);
        }
    }

    private async Task<long?> ReadTipAsync(CancellationToken cancellationToken)
    {
        var health = await client.GetHealthAsync(cancellationToken);
        return Reply.Read(health, CliJson.Default.HealthReply).Store?.LastEventId;
    }

    private async Task<StreamConnection> ConnectAsync(string? channel, long? after, CancellationToken cancellationToken)
    {
        var query = channel is null ? "" : "?channel=" + Uri.EscapeDataString(channel);
        var url = new Uri(client.Endpoint.ApiUrl, "stream" + query);
        var request = client.NewRequest(HttpMethod.Get, url);
        request.Headers.Accept.ParseAdd("text/event-stream");
        if (after is { } last)
        {
            request.Headers.Add("Last-Event-ID", last.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        HttpResponseMessage response;
        using (var connect = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            connect.CancelAfter(IdleTimeout);
            try
            {
                response = await client.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, connect.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                request.Dispose();
                throw new BusUnavailableException(url, "no answer");
            }
            catch (HttpRequestException ex)
            {
                request.Dispose();
                throw new BusUnavailableException(url, BusClient.IsUnavailable(ex, out var reason) ? reason : ex.Message, ex);
            }
        }

        if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
        {
            var status = (int)response.StatusCode;
            response.Dispose();
            request.Dispose();
            throw new BusAuthException(url, status, "");
        }

        if (!response.IsSuccessStatusCode)
        {
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            var status = (int)response.StatusCode;
            response.Dispose();
            request.Dispose();
            if (status >= 500)
            {
                throw new BusUnavailableException(url, $"HTTP {status}");
            }

            throw new BusCallException($"the bus refused the stream (HTTP {status}): {ProblemDetail(body)}");
        }

        var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
        return new StreamConnection(request, response, new IdleTimeoutStream(stream, IdleTimeout, _time));
    }

    private static string ProblemDetail(string body)
    {
        try
        {
            if (body.TrimStart().StartsWith('{') && JsonSerializer.Deserialize(body, CliJson.Default.ProblemBody)?.Detail is { } detail)
            {
                return detail.GetString() ?? body;
            }
        }
        catch (JsonException)
        {
            // Plain text.
        }

        return body.Trim();
    }

    private sealed class StreamBrokenException(string message) : Exception(message);

    /// <summary>One open stream, parsed by <see cref="SseParser"/> over a body that fails when it goes quiet.</summary>
    private sealed class StreamConnection(HttpRequestMessage request, HttpResponseMessage response, Stream body) : IAsyncDisposable
    {
        private IAsyncEnumerator<SseItem<string>>? _items;

        public async Task<StreamEvent?> NextAsync(CancellationToken cancellationToken)
        {
            _items ??= SseParser.Create(body, (_, data) => Encoding.UTF8.GetString(data)).EnumerateAsync(cancellationToken).GetAsyncEnumerator(cancellationToken);
            SseItem<string> item;
            try
            {
                if (!await _items.MoveNextAsync())
                {
                    return null;
                }

                item = _items.Current;
            }
            catch (StreamIdleException ex)
            {
                throw new StreamBrokenException(ex.Message);
            }
            catch (Exception ex) when (ex is IOException or HttpRequestException or ObjectDisposedException)
            {
                throw new StreamBrokenException("the connection dropped: " + ex.Message);
            }

            if (!long.TryParse(item.EventId, out var eventId))
            {
                throw new StreamBrokenException($"an event without a numeric id: {item.EventId}");
            }

            JsonElement value;
            Core.Bus.EventReply reply;
            try
            {
                value = JsonDocument.Parse(item.Data).RootElement.Clone();
                reply = value.Deserialize(CliJson.Default.EventReply) ?? throw new JsonException("it is null");
            }
            catch (JsonException ex)
            {
                throw new StreamBrokenException($"event {eventId} is not an event this CLI can read: {ex.Message}");
            }

            return new StreamEvent(eventId, item.EventType, value, reply);
        }

        public async ValueTask DisposeAsync()
        {
            if (_items is not null)
            {
                await _items.DisposeAsync();
            }

            await body.DisposeAsync();
            response.Dispose();
            request.Dispose();
        }
    }
}
