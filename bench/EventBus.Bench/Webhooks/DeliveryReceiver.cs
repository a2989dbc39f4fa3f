using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace EventBus.Bench.Webhooks;

/// <summary>
/// The webhook receiver the bench delivers to: Kestrel on a free loopback port, answering 204 to every POST on any
/// path, and noting for each delivered event id the moment its request reached the handler (its first byte, for
/// practical purposes: Kestrel calls the handler once the headers are parsed).
/// </summary>
internal sealed class DeliveryReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<long, long> _arrivals = new();
    private long _requests;

    private DeliveryReceiver(WebApplication app) => _app = app;

    public Uri BaseUri { get; private set; } = null!;

    public long Requests => Interlocked.Read(ref _requests);

    /// <summary>Arrival timestamps (<see cref="Stopwatch"/> ticks) by event id; a redelivery keeps the first.</summary>
    public IReadOnlyDictionary<long, long> Arrivals => _arrivals;

    public static async Task<DeliveryReceiver> StartAsync(CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(IPAddress.Loopback, 0);
            k.AddServerHeader = false;
        });
        var app = builder.Build();
        var receiver = new DeliveryReceiver(app);
        app.Run(receiver.HandleAsync);
        await app.StartAsync(cancellationToken);
        receiver.BaseUri = new Uri(app.Urls.Single());
        return receiver;
    }

    public void Reset()
    {
        _arrivals.Clear();
        Interlocked.Exchange(ref _requests, 0);
    }

    private async Task HandleAsync(HttpContext context)
    {
        var arrived = Stopwatch.GetTimestamp();
        var result = await context.Request.BodyReader.ReadAsync(context.RequestAborted);
        while (!result.IsCompleted)
        {
            context.Request.BodyReader.AdvanceTo(result.Buffer.Start, result.Buffer.End);
            result = await context.Request.BodyReader.ReadAsync(context.RequestAborted);
        }

        var id = EventId(result.Buffer);
        context.Request.BodyReader.AdvanceTo(result.Buffer.End);
        if (id > 0)
        {
            _arrivals.TryAdd(id, arrived);
        }

        Interlocked.Increment(ref _requests);
        context.Response.StatusCode = StatusCodes.Status204NoContent;
    }

    private static long EventId(ReadOnlySequence<byte> body)
    {
        var reader = new Utf8JsonReader(body);
        // The body starts {"event_id":N, ...: the first number is the id.
        while (reader.Read())
        {
            if (reader.TokenType == JsonTokenType.Number)
            {
                return reader.GetInt64();
            }
        }

        return 0;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
