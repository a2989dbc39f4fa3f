using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using EventBus.Server.Tests.Support;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace EventBus.Server.Tests.Crash;

/// <summary>
/// <c>kill -9</c> of the real server process in the middle of work, then a restart on the same database. Bounded
/// (a few hundred events), loopback only; every wait is on the thing itself.
/// </summary>
public sealed class CrashTests : IAsyncLifetime
{
    private const string Channel = "crash";
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "eventbus-tests", "crash-" + Guid.NewGuid().ToString("N"));

    public Task InitializeAsync()
    {
        Directory.CreateDirectory(_directory);
        return Task.CompletedTask;
    }

    public Task DisposeAsync()
    {
        TestStore.Drop(_directory);
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // Best effort.
        }

        return Task.CompletedTask;
    }

    /// <summary>One publish the server acknowledged: what it said it stored.</summary>
    private sealed record Acked(long Id, string Type, string Payload, string Channel, string SignalLevel);

    [Fact]
    public async Task KillDashNine_DuringConcurrentMcpAndRestPublishes_KeepsEveryAcknowledgedEvent_WithoutDuplicates_AndNoSavedCursorGoesBack()
    {
        await using var server = await ServerProcess.StartAsync(_directory);
        var mcp = await ConnectAsync(server);
        var session = (await mcp.CallAsync("register_session", new { name = "crash", machine = "m1", client_id = "crash-1" })).Str("session_id");

        var acked = new ConcurrentQueue<(string Source, Acked Event)>();
        long savedCursor = 0;
        var enough = new[] { Signal(), Signal(), Signal(), Signal() };
        using var http = new HttpClient { BaseAddress = server.BaseUri, Timeout = TestTimeouts.Default };

        var publishers = new[]
        {
            Until(async i =>
            {
                var reply = await mcp.CallAsync("publish_event", new { event_type = "from_mcp", payload = $"mcp-{i}", channel = Channel });
                acked.Enqueue(("mcp", Read(reply)));
                return Reached(i >= 150, enough[0]);
            }),
            Until(async i =>
            {
                using var response = await http.PostAsJsonAsync("/api/v1/events", new { event_type = "from_rest", payload = $"rest-{i}", channel = Channel });
                response.EnsureSuccessStatusCode();
                acked.Enqueue(("rest", Read(await response.Content.ReadFromJsonAsync<JsonElement>())));
                return Reached(i >= 150, enough[1]);
            }),
            Until(async i =>
            {
                var batch = Enumerable.Range(0, 10).Select(k => new { event_type = "from_batch", payload = $"batch-{i}-{k}", channel = Channel });
                using var response = await http.PostAsJsonAsync("/api/v1/events:batch", batch);
                response.EnsureSuccessStatusCode();
                foreach (var item in (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("events").EnumerateArray())
                {
                    acked.Enqueue(($"batch-{i}", Read(item)));
                }

                return Reached(i >= 15, enough[2]);
            }),
            Until(async i =>
            {
                // A read with the session and no narrowing saves its cursor; once answered, it must never go back.
                var page = await mcp.CallAsync("get_events", new { session_id = session, resume = true, order = "asc", limit = 20 });
                var next = long.Parse(page.Str("next_cursor"), CultureInfo.InvariantCulture);
                next.Should().BeGreaterThanOrEqualTo(Interlocked.Read(ref savedCursor));
                Interlocked.Exchange(ref savedCursor, next);
                return Reached(i >= 10 && next > 0, enough[3]);
            }),
        };

        await UntilAllAsync(enough, publishers, server, () => acked.Count + Interlocked.Read(ref savedCursor));
        await server.KillAsync();
        await Task.WhenAll(publishers).WaitAsync(TestTimeouts.Default);
        await DisposeQuietlyAsync(mcp);

        await using var restarted = await ServerProcess.StartAsync(_directory);
        using var after = new HttpClient { BaseAddress = restarted.BaseUri, Timeout = TestTimeouts.Default };
        var stored = await ReadAllAsync(after);

        stored.Select(e => e.Id).Should().BeInAscendingOrder().And.OnlyHaveUniqueItems("ids only grow");
        var ours = stored.Where(e => e.Channel == Channel).ToList();
        ours.GroupBy(e => e.Payload).Where(g => g.Count() > 1).Should().BeEmpty("no publish is stored twice");
        var byPayload = ours.ToDictionary(e => e.Payload);
        var all = acked.ToList();
        all.Count.Should().BeGreaterThan(300);
        foreach (var (_, sent) in all)
        {
            byPayload.Should().ContainKey(sent.Payload, $"event {sent.Id} was acknowledged before the kill");
            byPayload[sent.Payload].Should().Be(sent, "an acknowledged event comes back identical");
        }

        foreach (var source in all.GroupBy(a => a.Source.StartsWith("batch", StringComparison.Ordinal) ? "batch" : a.Source))
        {
            source.Select(a => a.Event.Id).Should().BeInAscendingOrder($"one {source.Key} publisher's events got growing ids");
        }

        // At most the publishes in flight at the kill (one per publisher, a batch of 10) were stored unacknowledged.
        (ours.Count - all.Count).Should().BeInRange(0, 12);

        var mcpAfter = await ConnectAsync(restarted);
        var resumed = await mcpAfter.CallAsync("register_session", new { name = "crash", machine = "m1", client_id = "crash-1" });
        resumed.GetProperty("resumed").GetBoolean().Should().BeTrue();
        resumed.Str("session_id").Should().Be(session);
        long.Parse(resumed.Str("cursor"), CultureInfo.InvariantCulture).Should().BeGreaterThanOrEqualTo(
            Interlocked.Read(ref savedCursor), "a cursor saved before the kill is never behind after it");
        await DisposeQuietlyAsync(mcpAfter);
    }

    [Fact]
    public async Task KillDashNine_DuringWebhookDispatch_EveryEventIsDeliveredAtLeastOnce_DuplicatesOnlyWithTheSameWebhookId()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        const string AllowPrivate = "--EventBus:Webhooks:AllowPrivateNetworks=true";
        await using var server = await ServerProcess.StartAsync(_directory, AllowPrivate);
        var mcp = await ConnectAsync(server);
        await mcp.CallAsync("register_webhook", new { url = receiver.Url(), channel = Channel });
        await DisposeQuietlyAsync(mcp);

        var acked = new ConcurrentQueue<long>();
        using var http = new HttpClient { BaseAddress = server.BaseUri, Timeout = TestTimeouts.Default };
        var published = Signal();
        var publisher = Until(async i =>
        {
            if (i >= 40)
            {
                published.TrySetResult();
                return true;
            }

            var batch = Enumerable.Range(0, 10).Select(k => new { event_type = "tick", payload = $"{i}-{k}", channel = Channel });
            using var response = await http.PostAsJsonAsync("/api/v1/events:batch", batch);
            response.EnsureSuccessStatusCode();
            foreach (var item in (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("events").EnumerateArray())
            {
                acked.Enqueue(item.GetProperty("event_id").GetInt64());
            }

            return false;
        });

        // Kill while deliveries are going out (and, most likely, while events are still being published).
        await receiver.WaitForAsync(60);
        if (publisher.IsCompleted)
        {
            (await publisher).Should().BeNull("the publisher must not fail before the kill");
        }
        await server.KillAsync();
        await publisher.WaitAsync(TestTimeouts.Default);
        var before = receiver.Requests.Count;

        await using var restarted = await ServerProcess.StartAsync(_directory, AllowPrivate);
        var expected = acked.ToHashSet();
        expected.Count.Should().BeGreaterThanOrEqualTo(60);
        var requests = receiver.Requests;
        while (!expected.IsSubsetOf(requests.Select(r => r.Json.GetProperty("event_id").GetInt64())))
        {
            requests = await receiver.WaitForAsync(requests.Count + 1);
        }

        requests.Count.Should().BeGreaterThan(before, "the restarted server went on delivering");
        foreach (var copies in requests.GroupBy(r => r.Json.GetProperty("event_id").GetInt64()))
        {
            copies.Select(r => r.Header("webhook-id")).Distinct().Should().ContainSingle($"every copy of event {copies.Key} has the same webhook-id");
            copies.Select(r => Convert.ToBase64String(r.Body)).Distinct().Should().ContainSingle("and the same body");
        }

        requests.GroupBy(r => r.Header("webhook-id")).Should().OnlyContain(g => g.Select(r => r.Json.GetProperty("event_id").GetInt64()).Distinct().Count() == 1);
    }

    private static TaskCompletionSource Signal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Signals <paramref name="signal"/> once <paramref name="reached"/>; the loop goes on (until the kill).</summary>
    private static bool Reached(bool reached, TaskCompletionSource signal)
    {
        if (reached)
        {
            signal.TrySetResult();
        }

        return false;
    }

    /// <summary>
    /// Runs <paramref name="step"/> (0, 1, 2, …) until it returns true, or fails: after the kill every call fails, and
    /// the loop ends with what it failed with. Assertions inside a step are not caught.
    /// </summary>
    private static Task<Exception?> Until(Func<int, Task<bool>> step) => Task.Run(async () =>
    {
        try
        {
            for (var i = 0; !await step(i); i++)
            {
            }

            return null;
        }
        catch (Exception ex) when (ex is not Xunit.Sdk.XunitException)
        {
            return ex;
        }
    });

    /// <summary>
    /// Waits until every signal is set; a loop that ends first (the server failed it before the kill) fails the test,
    /// and so does a stall: no progress (<paramref name="progress"/> unchanged) for a whole default timeout. A slow
    /// machine that keeps acknowledging publishes is given the time it needs.
    /// </summary>
    private static async Task UntilAllAsync(TaskCompletionSource[] signals, Task<Exception?>[] loops, ServerProcess server, Func<long> progress)
    {
        var all = Task.WhenAll(signals.Select(s => s.Task));
        var anyLoopEnded = Task.WhenAny(loops);
        var seen = progress();
        while (true)
        {
            var first = await Task.WhenAny(all, anyLoopEnded, Task.Delay(TestTimeouts.Default));
            if (first == all)
            {
                return;
            }

            if (first == anyLoopEnded)
            {
                var ended = loops.First(l => l.IsCompleted);
                throw new InvalidOperationException($"a publisher stopped before the kill: {await ended}\n{server.Output}");
            }

            var now = progress();
            if (now == seen)
            {
                throw new TimeoutException($"no publish or read was acknowledged for {TestTimeouts.Default}\n{server.Output}");
            }

            seen = now;
        }
    }

    private static Acked Read(JsonElement reply) => new(
        reply.GetProperty("event_id").GetInt64(), reply.Str("event_type"), reply.Str("payload"), reply.Str("channel"), reply.Str("signal_level"));

    private static async Task<List<Acked>> ReadAllAsync(HttpClient http)
    {
        var events = new List<Acked>();
        var cursor = "0";
        while (true)
        {
            var page = await http.GetFromJsonAsync<JsonElement>($"/api/v1/events?cursor={cursor}&order=asc&limit=1000");
            foreach (var e in page.GetProperty("events").EnumerateArray())
            {
                events.Add(new Acked(e.GetProperty("id").GetInt64(), e.Str("event_type"), e.Str("payload"), e.Str("channel"), e.Str("signal_level")));
            }

            if (!page.GetProperty("has_more").GetBoolean())
            {
                return events;
            }

            cursor = page.Str("next_cursor");
        }
    }

    private static async Task<McpClient> ConnectAsync(ServerProcess server)
    {
        var transport = new HttpClientTransport(new HttpClientTransportOptions { Endpoint = server.McpUri, TransportMode = HttpTransportMode.StreamableHttp });
        var options = new McpClientOptions { ClientInfo = new Implementation { Name = "eventbus-crash-tests", Version = "1" } };
        return await McpClient.CreateAsync(transport, options, cancellationToken: TestTimeouts.Token());
    }

    private static async Task DisposeQuietlyAsync(McpClient client)
    {
        try
        {
            await client.DisposeAsync();
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException or IOException)
        {
            // The server was killed under it.
        }
    }
}
