using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.ServerSentEvents;
using System.Text;
using System.Text.Json;
using EventBus.Core.Events;
using EventBus.Server.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace EventBus.Server.Tests.Api;

/// <summary>GET /api/v1/stream over the real host, read with the runtime's own SSE parser.</summary>
public sealed class EventStreamTests : IAsyncLifetime
{
    private BusHost _host = null!;

    public async Task InitializeAsync() => _host = await BusHost.StartAsync();

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task Stream_ReplaysFromTheCursor_ThenALiveEventArrivesOnTheOpenStream()
    {
        var a = await _host.PublishAsync("first");
        var b = await _host.PublishAsync("second");
        var c = await _host.PublishAsync("third");

        using var response = await OpenAsync(_host, $"/api/v1/stream?cursor={a}");
        response.StatusCode.Should().Be(HttpStatusCode.OK);
        response.Content.Headers.ContentType!.MediaType.Should().Be("text/event-stream");
        response.Headers.CacheControl!.NoCache.Should().BeTrue();
        await using var events = await ItemsAsync(response);

        var replayed = await NextAsync(events);
        replayed.EventId.Should().Be(Id(b));
        replayed.EventType.Should().Be("second");
        var data = JsonDocument.Parse(replayed.Data).RootElement;
        data.GetProperty("id").GetInt64().Should().Be(b);
        data.GetProperty("event_type").GetString().Should().Be("second");
        data.GetProperty("payload").GetString().Should().Be("second payload");
        data.GetProperty("channel").GetString().Should().Be("all");
        data.GetProperty("signal_level").GetString().Should().Be("info");
        data.TryGetProperty("timestamp", out _).Should().BeTrue();
        (await NextAsync(events)).EventId.Should().Be(Id(c));

        // The stream is now waiting on the commit signal; this publish must reach it without any polling.
        var next = NextAsync(events);
        var live = await _host.PublishAsync("live");
        var item = await next;
        item.EventId.Should().Be(Id(live));
        item.EventType.Should().Be("live");
    }

    [Fact]
    public async Task Stream_WithoutACursor_StartsAtTheTip_LiveOnly()
    {
        await _host.PublishAsync("old");

        using var response = await OpenAsync(_host, "/api/v1/stream");
        await using var events = await ItemsAsync(response);
        var next = NextAsync(events);
        var live = await _host.PublishAsync("new");

        (await next).EventId.Should().Be(Id(live));
    }

    [Fact]
    public async Task Stream_WithLastEventId_ResumesExactlyAfterThatEvent_AndTheHeaderWinsOverTheCursor()
    {
        var ids = new List<long>();
        for (var i = 0; i < 5; i++)
        {
            ids.Add(await _host.PublishAsync($"e{i}"));
        }

        using var response = await OpenAsync(_host, "/api/v1/stream?cursor=0", Id(ids[2]));
        await using var events = await ItemsAsync(response);

        (await NextAsync(events)).EventId.Should().Be(Id(ids[3]));
        (await NextAsync(events)).EventId.Should().Be(Id(ids[4]));
        var next = NextAsync(events);
        var live = await _host.PublishAsync("after");
        (await next).EventId.Should().Be(Id(live));
    }

    [Fact]
    public async Task Stream_WithAChannel_SendsOnlyThatChannel_InReplayAndLive()
    {
        var a = await _host.PublishAsync("a", "repo:x");
        await _host.PublishAsync("b", "all");
        var c = await _host.PublishAsync("c", "repo:x");

        using var response = await OpenAsync(_host, "/api/v1/stream?cursor=0&channel=repo:x");
        await using var events = await ItemsAsync(response);
        (await NextAsync(events)).EventId.Should().Be(Id(a));
        (await NextAsync(events)).EventId.Should().Be(Id(c));

        var next = NextAsync(events);
        await _host.PublishAsync("elsewhere", "repo:y");
        var wanted = await _host.PublishAsync("here", "repo:x");
        var item = await next;
        item.EventId.Should().Be(Id(wanted));
        JsonDocument.Parse(item.Data).RootElement.GetProperty("channel").GetString().Should().Be("repo:x");
    }

    [Fact]
    public async Task Stream_ReadsWhatIsOlderThanTheInMemoryWindowFromTheStore_ThenTheWindow_WithTheChannelFilterOnBoth()
    {
        // A window of 4 events: of 10 published, the first 6 are only in the store.
        await using var host = await BusHost.StartAsync(services => services.AddSingleton(new RecentEvents(4)));
        var ids = new List<(long Id, string Channel)>();
        for (var i = 0; i < 10; i++)
        {
            var channel = i % 2 == 0 ? "repo:x" : "all";
            ids.Add((await host.PublishAsync("e" + i, channel), channel));
        }

        using var filtered = await OpenAsync(host, "/api/v1/stream?cursor=0&channel=repo:x");
        await using var onlyX = await ItemsAsync(filtered);
        using var everything = await OpenAsync(host, "/api/v1/stream?cursor=0");
        await using var all = await ItemsAsync(everything);
        foreach (var (id, channel) in ids)
        {
            (await NextAsync(all)).EventId.Should().Be(Id(id));
            if (channel == "repo:x")
            {
                (await NextAsync(onlyX)).EventId.Should().Be(Id(id));
            }
        }

        var live = await host.PublishAsync("live", "repo:x");
        (await NextAsync(all)).EventId.Should().Be(Id(live));
        (await NextAsync(onlyX)).EventId.Should().Be(Id(live));
    }

    [Fact]
    public async Task Stream_WhoseReaderStopsReading_IsCutOffAfterTheStallTimeout_AndGivesBackItsStreamSlot()
    {
        await using var host = await BusHost.StartAsync(false, "--EventBus:Mcp:StreamStallTimeout=00:00:01", "--EventBus:Limits:ExemptLoopback=false");
        var limits = host.Service<Limits.CallerLimits>();
        using var wedged = await RawStreamClient.OpenAsync(host, "/api/v1/stream");
        await Waiting.UntilAsync(limits.StreamsChanged, () => limits.Held("ip:127.0.0.1").Streams == 1);

        // 16 MB of events, far more than the server's socket send buffer (4 MiB at most here) and Kestrel's response
        // buffer hold: the server's writes to a client that reads nothing block, and must be cut after 1 s.
        var payload = new string('x', 60_000);
        for (var batch = 0; batch < 18; batch++)
        {
            var body = "[" + string.Join(',', Enumerable.Range(0, 15).Select(i =>
                $$"""{"event_type":"bulk","payload":"{{payload}}","channel":"all"}""")) + "]";
            using var response = await host.PostApiAsync("/api/v1/events:batch", body);
            response.StatusCode.Should().Be(HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        }

        await Waiting.UntilAsync(limits.StreamsChanged, () => limits.Held("ip:127.0.0.1").Streams == 0);
        await wedged.ReadUntilClosedAsync();
    }

    [Theory]
    [InlineData("cursor=abc", "cursor must be the decimal string of an event id")]
    [InlineData("channel=", "channel must not be empty")]
    public async Task Stream_WithABadQuery_IsAProblemBeforeAnyStreamStarts(string query, string expected)
    {
        using var response = await OpenAsync(_host, $"/api/v1/stream?{query}");

        (await ApiCalls.ProblemDetailAsync(response, HttpStatusCode.BadRequest)).Should().Contain(expected);
    }

    [Fact]
    public async Task Stream_SendsAKeepAliveCommentWhenIdle_OnTheInjectedClock()
    {
        await using var host = await BusHost.StartAsync(manualTime: true);
        using var response = await OpenAsync(host, "/api/v1/stream");
        var body = await response.Content.ReadAsStreamAsync();

        var text = new StringBuilder();
        var buffer = new byte[256];
        using var deadline = new CancellationTokenSource(TestTimeouts.Default);
        while (!text.ToString().Contains(": keepalive\n\n", StringComparison.Ordinal))
        {
            var read = body.ReadAsync(buffer, deadline.Token).AsTask();
            while (!read.IsCompleted)
            {
                // Move the server's clock until its keep-alive falls due; the read completes when the comment arrives.
                host.Time!.Advance(TimeSpan.FromSeconds(15));
                await Task.WhenAny(read, Task.Run(() => read.Wait(100, deadline.Token), deadline.Token));
            }

            var count = await read;
            count.Should().BePositive("the stream ended before a keep-alive arrived");
            text.Append(Encoding.UTF8.GetString(buffer, 0, count));
        }

        text.ToString().Should().StartWith(": keepalive\n\n");
    }

    [Fact]
    public async Task Shutdown_ClosesOpenStreamsPromptly()
    {
        using var response = await OpenAsync(_host, "/api/v1/stream");
        var body = await response.Content.ReadAsStreamAsync();
        var read = body.ReadAsync(new byte[64]).AsTask();

        await _host.App.StopAsync(TestTimeouts.Token()).WaitAsync(TestTimeouts.Default);
        var ended = await read.ContinueWith(t => t.IsFaulted || t.Result == 0, TaskScheduler.Default).WaitAsync(TestTimeouts.Default);
        ended.Should().BeTrue();
    }

    private static async Task<HttpResponseMessage> OpenAsync(BusHost host, string path, string? lastEventId = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        if (lastEventId is not null)
        {
            request.Headers.Add("Last-Event-ID", lastEventId);
        }

        return await host.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, TestTimeouts.Token());
    }

    private static async Task<IAsyncEnumerator<SseItem<string>>> ItemsAsync(HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsStreamAsync();
        return SseParser.Create(body).EnumerateAsync().GetAsyncEnumerator(TestTimeouts.Token());
    }

    private static async Task<SseItem<string>> NextAsync(IAsyncEnumerator<SseItem<string>> events)
    {
        (await events.MoveNextAsync().AsTask().WaitAsync(TestTimeouts.Default)).Should().BeTrue("the stream should stay open");
        return events.Current;
    }

    private static string Id(long id) => id.ToString(CultureInfo.InvariantCulture);
}
