using System.Globalization;
using EventBus.Bench.Clients;

namespace EventBus.Bench.Push;

/// <summary>
/// The Redis Streams peer of a subscriber: its own connection blocked in <c>XREAD BLOCK 0</c> on a stream, woken by
/// the publisher's <c>XADD</c>, recording the arrival of each entry's <c>seq</c> field.
/// </summary>
internal sealed class RedisConsumer : IAsyncDisposable
{
    private readonly RespConnection _connection;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _reader;

    private RedisConsumer(RespConnection connection, string key)
    {
        _connection = connection;
        _reader = Task.Run(() => ReadAsync(key, _stop.Token));
    }

    public Arrivals Arrivals { get; } = new();

    public string? Failure { get; private set; }

    public static async Task<RedisConsumer> StartAsync(string host, int port, string key, CancellationToken cancellationToken) =>
        new(await RespConnection.ConnectAsync(host, port, cancellationToken), key);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _connection.DisposeAsync();
        try
        {
            await _reader;
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or ObjectDisposedException)
        {
            // Closing the connection ends the blocked read.
        }

        _stop.Dispose();
    }

    private async Task ReadAsync(string key, CancellationToken cancellationToken)
    {
        var last = "0-0";
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                var reply = await _connection.ExecuteAsync(
                    RespConnection.Encode("XREAD", "BLOCK", "0", "STREAMS", key, last), cancellationToken);
                // [[key, [[id, [field, value, ...]], ...]]]
                if (reply is not List<object?> { Count: > 0 } streams || streams[0] is not List<object?> { Count: 2 } stream ||
                    stream[1] is not List<object?> entries)
                {
                    throw new BenchException($"Redis XREAD: unexpected reply {reply}.");
                }

                foreach (var item in entries)
                {
                    if (item is not List<object?> { Count: 2 } entry || entry[0] is not string id || entry[1] is not List<object?> fields ||
                        fields.Count < 2 || fields[1] is not string seq)
                    {
                        throw new BenchException("Redis XREAD: an entry without a seq field.");
                    }

                    Arrivals.Record(long.Parse(seq, CultureInfo.InvariantCulture));
                    last = id;
                }
            }
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            Failure = $"{ex.GetType().Name}: {ex.Message}";
        }
    }
}
