using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Threading.Channels;
using EventBus.Server.Mcp;
using EventBus.Server.Tests.Api;
using EventBus.Server.Tests.Support;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace EventBus.Server.Tests;

/// <summary>Events pushed into running sessions as <c>notifications/claude/channel</c>, from the durable push cursor.</summary>
public sealed class PushTests : IAsyncLifetime
{
    private BusHost _host = null!;
    private McpClient _publisher = null!;

    public async Task InitializeAsync()
    {
        _host = await BusHost.StartAsync(
            false, "--EventBus:Mcp:StreamQueueCapacity=16", "--EventBus:Mcp:StreamStallTimeout=00:00:01");
        _publisher = await _host.ConnectAsync();
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task TheServerDeclaresClaudeChannels_AndExplainsThemInItsInstructions()
    {
        _publisher.ServerCapabilities.Experimental.Should().ContainKey("claude/channel");
        _publisher.ServerInstructions.Should().Contain("<channel source=\"eventbus\"");
    }

    [Fact]
    public async Task ADirectMessageReachesTheRecipientWithoutPolling_ChatterDoesNot()
    {
        var (client, inbox) = await ConnectListenerAsync();
        var me = (await client.CallAsync("register_session", new { name = "recipient", machine = "m" })).Str("session_id");
        var sender = (await _publisher.CallAsync("register_session", new { name = "sender", machine = "m" })).Str("display_id");

        await Publish("task_completed", "just chatter", "all");
        await _publisher.CallAsync("publish_event", new
        {
            event_type = "help_needed",
            payload = "can you review PR 12?",
            channel = "session:" + me,
            title = "Review",
        });

        var pushed = await NextAsync(inbox);
        var meta = pushed.GetProperty("meta");
        meta.Str("event_type").Should().Be("help_needed");
        meta.Str("channel").Should().Be("session:" + me);
        meta.Str("signal_level").Should().Be("actionable");
        meta.Str("from").Should().Be(sender);
        meta.Str("event_id").Should().MatchRegex("^[0-9]+$");
        meta.EnumerateObject().Select(p => p.Name).Should().OnlyContain(k => System.Text.RegularExpressions.Regex.IsMatch(k, "^[A-Za-z0-9_]+$"));
        pushed.Str("content").Should().Be($"help_needed from {sender} on session:{me}: Review: can you review PR 12?");

        // Nothing else was pushed in between: the next one is the next direct message.
        await Publish("note", "second", "session:" + me);
        (await NextAsync(inbox)).GetProperty("meta").Str("event_type").Should().Be("note");
    }

    [Fact]
    public async Task ASubscriptionPatternReceivesWhatItShould_AndNothingElse()
    {
        var (client, inbox) = await ConnectListenerAsync();
        var me = (await client.CallAsync("register_session", new { name = "ops", machine = "m" })).Str("session_id");
        await client.CallAsync("subscribe", new { channel = "alerts:#", min_level = "info" });
        await client.CallAsync("subscribe", new { channel = "repo:*" }); // actionable by default

        await Publish("disk_full", "sda at 97%", "alerts:disk:sda");            // pushed
        await Publish("disk_full", "lookalike", "alertsx");                      // other channel
        await Publish("task_started", "lifecycle noise", "alerts");              // below info
        await Publish("task_completed", "repo chatter", "repo:eventbus");        // below actionable
        await Publish("ci_failed", "main is red", "repo:eventbus");              // pushed
        await Publish("ci_failed", "deeper", "repo:eventbus:main");              // * is one segment
        await Publish("marker", "end", "session:" + me);

        // The C# SDK client may run notification handlers concurrently, so arrival order at the handler is not the
        // stream's order under load: compare in event-id order (what was pushed, not how the client dispatched it).
        var pushed = new List<JsonElement>();
        for (var i = 0; i < 3; i++)
        {
            pushed.Add(await NextAsync(inbox));
        }

        var payloads = pushed
            .OrderBy(p => long.Parse(p.GetProperty("meta").Str("event_id"), System.Globalization.CultureInfo.InvariantCulture))
            .Select(p => p.Str("content"))
            .ToList();
        payloads.Should().Equal(
            "disk_full from anonymous on alerts:disk:sda: sda at 97%",
            "ci_failed from anonymous on repo:eventbus: main is red",
            $"marker from anonymous on session:{me}: end");
    }

    [Fact]
    public async Task AStreamThatDropsAndReconnects_ReceivesExactlyWhatItMissed_Once()
    {
        var session = await _host.InitializeAsync();
        var me = await RegisterRawAsync(session, "flaky");

        var first = await OpenStreamAsync(session);
        var one = (await Publish("note", "one", "session:" + me)).GetProperty("event_id").GetInt64();
        (await ReadPushesAsync(first, 1)).Should().Equal("note from anonymous on session:" + me + ": one");
        first.Dispose();

        await Publish("note", "two", "session:" + me);
        await Publish("note", "three", "session:" + me);

        // The server notices the dropped stream and detaches it; only then may the session open another.
        await StreamAttachedAsync(session, false);
        // As MCP clients do on reconnect: Last-Event-ID is the id of the last event the client received.
        using var second = await OpenStreamAsync(session, lastEventId: one);
        second.StatusCode.Should().Be(HttpStatusCode.OK);
        await Publish("note", "four", "session:" + me);

        (await ReadPushesAsync(second, 3)).Should().Equal(
            "note from anonymous on session:" + me + ": two",
            "note from anonymous on session:" + me + ": three",
            "note from anonymous on session:" + me + ": four");
    }

    [Fact]
    public async Task ASubscriberThatNeverReads_IsCutOff_WithoutHoldingBackPublishersOrOtherSubscribers_AndKeepsItsCursor()
    {
        // The stuck one: a bound session whose GET stream is open on a socket that never reads. A small fixed receive
        // buffer turns off the kernel's autotuning (up to 32 MiB on loopback), as on a slow or wedged client.
        var stuckSession = await _host.InitializeAsync();
        var stuck = await RegisterRawAsync(stuckSession, "stuck");
        using var stuckSocket = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp)
        {
            ReceiveBufferSize = 4096,
        };
        await stuckSocket.ConnectAsync(_host.BaseUri.Host, _host.BaseUri.Port);
        await stuckSocket.SendAsync(System.Text.Encoding.ASCII.GetBytes(
            $"GET /mcp HTTP/1.1\r\nHost: {_host.BaseUri.Authority}\r\nAccept: text/event-stream\r\nMcp-Session-Id: {stuckSession}\r\n\r\n"));
        var stuckStream = await StreamAttachedAsync(stuckSession, true);

        var (client, inbox) = await ConnectListenerAsync();
        var healthy = (await client.CallAsync("register_session", new { name = "healthy", machine = "m" })).Str("session_id");

        // Pushes carry at most ~1 KB of content each. 8 MB of DMs (batches of 500) fill the server's socket send buffer
        // (up to 4 MiB here), then its writes to the stuck reader block and it is cut off after StreamStallTimeout (1 s
        // here); the healthy session gets a note after every batch meanwhile.
        var line = new string('x', 1000);
        long last = 0;
        for (var batch = 0; batch < 16; batch++)
        {
            var body = "[" + string.Join(',', Enumerable.Range(0, 500).Select(i =>
                $$"""{"event_type":"bulk","payload":"{{i}} {{line}}","channel":"session:{{stuck}}"}""")) + "]";
            using var response = await _host.PostApiAsync("/api/v1/events:batch", body);
            response.StatusCode.Should().Be(HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
            last = (await Publish("note", "batch " + batch, "session:" + healthy)).GetProperty("event_id").GetInt64();
            (await NextAsync(inbox)).Str("content").Should().Be($"note from anonymous on session:{healthy}: batch {batch}");
        }

        await StreamAttachedAsync(stuckSession, false);

        // The stuck stream is gone; its push cursor kept how far it was really sent (not past what it never got). The
        // delivery loop saves it as it ends, which may be just after the stream is detached: wait for the loop's end.
        await Waiting.UntilAsync(stuckStream!.Changed, () => !stuckStream.Delivering);
        var store = _host.Service<EventBus.Core.Store.IEventStore>();
        var cursor = (await store.GetSessionAsync(stuck, TestTimeouts.Token()))!.PushCursor ?? 0;
        cursor.Should().BeGreaterThan(0).And.BeLessThan(last);

        // Reopened with a reader that reads, the session receives the rest, from its cursor, up to the last DM: a
        // backlog far bigger than the stream's queue, which waits for the reader instead of cutting it off.
        using var reopened = await OpenStreamAsync(stuckSession);
        reopened.StatusCode.Should().Be(HttpStatusCode.OK);
        var reader = new StreamReader(await reopened.Content.ReadAsStreamAsync());
        long? first = null;
        long seen = 0;
        while (seen < last - 1)
        {
            var read = await reader.ReadLineAsync().WaitAsync(TestTimeouts.Default);
            read.Should().NotBeNull("the reopened stream ended early");
            if (read!.StartsWith("id:", StringComparison.Ordinal))
            {
                seen = long.Parse(read[3..].Trim(), System.Globalization.CultureInfo.InvariantCulture);
                first ??= seen;
            }
        }

        first!.Value.Should().BeGreaterThan(cursor).And.BeLessThanOrEqualTo(cursor + 2, "delivery resumes right after the push cursor");
    }

    [Fact]
    public async Task AStreamCutOffForStalling_ReconnectingWithoutLastEventId_ReceivesEverythingAfterWhatItParsed()
    {
        // The defect: a client parsed up to some event, stopped reading, was cut off, reconnected without
        // Last-Event-ID, and was never pushed what came after. Here the client parses three pushes, then stops.
        var session = await _host.InitializeAsync();
        var me = await RegisterRawAsync(session, "wedged");
        using var wedged = await RawStreamClient.OpenAsync(_host, "/mcp", "Mcp-Session-Id: " + session);
        var stream = await StreamAttachedAsync(session, true);
        long parsed = 0;
        for (var i = 0; i < 3; i++)
        {
            var id = (await Publish("note", "read " + i, "session:" + me)).GetProperty("event_id").GetInt64();
            while (parsed < id)
            {
                parsed = await wedged.NextIdAsync();
            }
        }

        // Far more than the server's socket send buffer (4 MiB at most here) and Kestrel's response buffer hold, in
        // pushes of ~1.2 KB: the server writes some of it into buffers the client never reads, then its writes block.
        var line = new string('x', 1000);
        var published = new List<long>();
        for (var batch = 0; batch < 32; batch++)
        {
            var body = "[" + string.Join(',', Enumerable.Range(0, 500).Select(i =>
                $$"""{"event_type":"bulk","payload":"{{batch}}.{{i}} {{line}}","channel":"session:{{me}}"}""")) + "]";
            using var response = await _host.PostApiAsync("/api/v1/events:batch", body);
            response.StatusCode.Should().Be(HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
            published.AddRange((await ApiCalls.JsonAsync(response)).GetProperty("events").EnumerateArray()
                .Select(e => e.GetProperty("event_id").GetInt64()));
        }

        await StreamAttachedAsync(session, false);
        stream!.WasCutOff.Should().BeTrue("the reader stopped reading");

        // A new stream without Last-Event-ID resumes from the push cursor: every event after the last one the client
        // parsed arrives (a few before it may come again: at least once across a cut-off), up to the last one.
        var reopened = await OpenStreamAsync(session);
        reopened.StatusCode.Should().Be(HttpStatusCode.OK);
        using var reader = new StreamReader(await reopened.Content.ReadAsStreamAsync());
        var received = new HashSet<long>();
        long? first = null;
        while (!received.Contains(published[^1]))
        {
            var read = await reader.ReadLineAsync().WaitAsync(TestTimeouts.Default);
            read.Should().NotBeNull("the reopened stream ended early");
            if (read!.StartsWith("id:", StringComparison.Ordinal))
            {
                var id = long.Parse(read[3..].Trim(), System.Globalization.CultureInfo.InvariantCulture);
                first ??= id;
                received.Add(id);
            }
        }

        reopened.Dispose();
        first!.Value.Should().BeLessThanOrEqualTo(parsed + 1, "nothing after the last event the client parsed may be skipped");
        published.Where(id => !received.Contains(id)).Should().BeEmpty("no gaps: every event after what the client parsed is pushed");
    }

    [Fact]
    public async Task AStreamWhoseReaderStopsIsCutOff_OnceItsQueueIsFull_WithoutBlockingTheWriter()
    {
        var cutOff = 0;
        var stream = new SessionEventStream(16, () => Interlocked.Increment(ref cutOff));
        var body = new GatedStream(taking: false);
        using var stop = new CancellationTokenSource();
        var pump = stream.PumpAsync(body, TimeProvider.System, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(1), stop.Token);
        stream.TryEnqueue(new byte[] { 1 }, 1).Should().BeTrue();
        await Waiting.ForAsync(body.Blocked);

        // The pump is stuck in a write; 16 more fit in the queue, the next one cuts the stream off.
        for (var i = 0; i < 16; i++)
        {
            stream.TryEnqueue(new byte[] { 1 }, i + 2).Should().BeTrue();
        }

        stream.TryEnqueue(new byte[] { 1 }, 99).Should().BeFalse();
        stream.WasCutOff.Should().BeTrue();
        cutOff.Should().Be(1);
        stream.Ended.IsCancellationRequested.Should().BeTrue();
        stream.DeliveredThrough.Should().Be(0, "nothing was flushed to the client");
        await stop.CancelAsync();
        await FluentActions.Awaiting(() => pump).Should().ThrowAsync<OperationCanceledException>();
    }

    [Fact]
    public async Task TheDeliveryLoopWaitsForAReaderThatReads_AndCutsOffOneThatTakesNothingForTheStallTimeout()
    {
        var time = TestClock.Create();
        var stream = new SessionEventStream(16, () => { });
        var stall = TimeSpan.FromSeconds(30);
        for (var i = 1; i <= 16; i++)
        {
            (await stream.EnqueueAsync(new byte[] { 1 }, i, stall, time, CancellationToken.None)).Should().BeTrue();
        }

        // Full: the 17th waits, and goes in as soon as the reader takes one frame, however late (but within the timeout).
        var waiting = stream.EnqueueAsync(new byte[] { 1 }, 17, stall, time, CancellationToken.None).AsTask();
        time.Advance(TimeSpan.FromSeconds(29));
        waiting.IsCompleted.Should().BeFalse();
        var body = new MemoryStream();
        using var stop = new CancellationTokenSource();
        var pump = stream.PumpAsync(body, time, TimeSpan.FromMinutes(1), stall, stop.Token);
        (await waiting.WaitAsync(TestTimeouts.Default)).Should().BeTrue();
        await Waiting.UntilAsync(stream.Changed, () => stream.DeliveredThrough == 17);
        stream.WasCutOff.Should().BeFalse();
        await stop.CancelAsync();
        await FluentActions.Awaiting(() => pump).Should().ThrowAsync<OperationCanceledException>();

        // A reader that takes nothing: after the stall timeout the stream is cut off.
        var stuck = new SessionEventStream(16, () => { });
        for (var i = 1; i <= 16; i++)
        {
            await stuck.EnqueueAsync(new byte[] { 1 }, i, stall, time, CancellationToken.None);
        }

        var blocked = stuck.EnqueueAsync(new byte[] { 1 }, 17, stall, time, CancellationToken.None).AsTask();
        time.Advance(stall);
        (await blocked.WaitAsync(TestTimeouts.Default)).Should().BeFalse();
        stuck.WasCutOff.Should().BeTrue();
        stuck.Ended.IsCancellationRequested.Should().BeTrue();
    }

    [Fact]
    public async Task AStreamVouchesOnlyForFlushedFrames_AndAcrossACutOffOnlyForThoseFollowedByResendBytesMore()
    {
        var time = TestClock.Create();
        var stall = TimeSpan.FromSeconds(30);
        using var stop = new CancellationTokenSource();
        var body = new GatedStream();
        var stream = new SessionEventStream(16, stop.Cancel) { ResendBytes = 100 };
        var pump = stream.PumpAsync(body, time, TimeSpan.FromMinutes(10), stall, stop.Token);
        for (var id = 1; id <= 5; id++)
        {
            (await stream.EnqueueAsync(new byte[40], id, stall, time, CancellationToken.None)).Should().BeTrue();
            await Waiting.UntilAsync(stream.Changed, () => stream.DeliveredThrough == id);
        }

        // 200 bytes flushed: frames 1 and 2 are followed by 100 more; 3 to 5 may still sit unread in socket buffers.
        stream.SentThrough(scanned: 9).Should().Be(2);

        // The reader stops: a queued frame is not delivered, and a write it takes nothing of cuts the stream off.
        body.StopTaking();
        (await stream.EnqueueAsync(new byte[40], 6, stall, time, CancellationToken.None)).Should().BeTrue();
        await Waiting.ForAsync(body.Blocked);
        time.Advance(stall);
        await FluentActions.Awaiting(() => pump).Should().ThrowAsync<OperationCanceledException>();
        stream.WasCutOff.Should().BeTrue();
        stream.DeliveredThrough.Should().Be(5);
        stream.SentThrough(scanned: 9).Should().Be(2, "across a cut-off only frames followed by ResendBytes more count as received");

        // A stream that ends cleanly (the client left while nothing was being written) vouches for all it flushed, and
        // for everything scanned when no event frame was left unwritten.
        using var leave = new CancellationTokenSource();
        var clean = new SessionEventStream(16, () => { }) { ResendBytes = 100 };
        var cleanPump = clean.PumpAsync(new GatedStream(), time, TimeSpan.FromMinutes(10), stall, leave.Token);
        (await clean.EnqueueAsync(new byte[40], 1, stall, time, CancellationToken.None)).Should().BeTrue();
        await Waiting.UntilAsync(clean.Changed, () => clean.DeliveredThrough == 1);
        clean.SentThrough(scanned: 9).Should().Be(0, "a live stream may still be cut");
        await leave.CancelAsync();
        await FluentActions.Awaiting(() => cleanPump).Should().ThrowAsync<OperationCanceledException>();
        clean.Complete();
        clean.SentThrough(scanned: 9).Should().Be(9);
    }

    /// <summary>
    /// A client body that takes every write until it stops taking (or from the start, with <c>taking: false</c>); then
    /// its writes never complete until cancelled: a reader that stopped reading.
    /// </summary>
    private sealed class GatedStream(bool taking = true) : Stream
    {
        private readonly TaskCompletionSource _blocked = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private volatile bool _closed = !taking;

        /// <summary>Completes once a write is waiting on the stopped reader.</summary>
        public Task Blocked => _blocked.Task;

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => 0; set => throw new NotSupportedException(); }

        public void StopTaking() => _closed = true;

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (_closed)
            {
                _blocked.TrySetResult();
                await new TaskCompletionSource().Task.WaitAsync(cancellationToken);
            }
        }

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    private Task<JsonElement> Publish(string type, string payload, string channel, string? title = null) =>
        _publisher.CallAsync("publish_event", new { event_type = type, payload, channel, title, session_id = "anonymous" });

    private async Task<(McpClient Client, Channel<JsonElement> Inbox)> ConnectListenerAsync()
    {
        var inbox = Channel.CreateUnbounded<JsonElement>();
        var client = await _host.ConnectAsync(options => options.Handlers = new McpClientHandlers
        {
            NotificationHandlers =
            [
                new("notifications/claude/channel", (notification, _) =>
                {
                    inbox.Writer.TryWrite(JsonSerializer.SerializeToElement(notification.Params));
                    return ValueTask.CompletedTask;
                }),
            ],
        });
        return (client, inbox);
    }

    private static async Task<JsonElement> NextAsync(Channel<JsonElement> inbox) =>
        await inbox.Reader.ReadAsync(TestTimeouts.Token());

    private async Task<string> RegisterRawAsync(string session, string name)
    {
        using var response = await _host.PostAsync(
            """{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"register_session","arguments":{"name":"NAME","machine":"m"}}}"""
                .Replace("NAME", name, StringComparison.Ordinal),
            session);
        var result = (await BusHost.FirstDataAsync(response)).GetProperty("result").GetProperty("structuredContent").GetProperty("result");
        return result.Str("session_id");
    }

    /// <summary>Waits until the MCP session has a GET stream attached (or none), and returns it.</summary>
    private async Task<SessionEventStream?> StreamAttachedAsync(string session, bool attached)
    {
        _host.Service<McpSessionStore>().TryGet(session, out var open).Should().BeTrue();
        await Waiting.UntilAsync(open.StreamChanged, () => open.Stream is not null == attached);
        return open.Stream;
    }

    private async Task<HttpResponseMessage> OpenStreamAsync(string session, long? lastEventId = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, _host.McpUri);
        request.Headers.Add("Mcp-Session-Id", session);
        if (lastEventId is { } id)
        {
            request.Headers.Add("Last-Event-ID", id.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        return await _host.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, TestTimeouts.Token());
    }

    /// <summary>Reads <paramref name="count"/> channel notifications' content from a raw GET stream.</summary>
    private static async Task<List<string>> ReadPushesAsync(HttpResponseMessage stream, int count)
    {
        var reader = new StreamReader(await stream.Content.ReadAsStreamAsync());
        var contents = new List<string>();
        while (contents.Count < count)
        {
            var line = await reader.ReadLineAsync().WaitAsync(TestTimeouts.Default);
            line.Should().NotBeNull("the stream ended early");
            if (line!.StartsWith("data:", StringComparison.Ordinal))
            {
                var message = JsonDocument.Parse(line["data:".Length..]).RootElement;
                message.GetProperty("method").GetString().Should().Be("notifications/claude/channel");
                contents.Add(message.GetProperty("params").Str("content"));
            }
        }

        return contents;
    }
}
