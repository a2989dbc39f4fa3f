using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using EventBus.Server.Tests.Support;
using Xunit.Abstractions;

namespace EventBus.Server.Tests.Postgres;

/// <summary>
/// Two real server processes on one PostgreSQL database: <c>kill -9</c> of one while clients publish through both,
/// and a start against a database that cannot be reached. Bounded (a few hundred events), loopback only.
/// </summary>
[Trait("Store", "Postgres")]
public sealed class TwoNodeCrashTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "eventbus-tests", "pgcrash-" + Guid.NewGuid().ToString("N"));

    public Task InitializeAsync()
    {
        if (!TestStore.IsPostgres)
        {
            throw new InvalidOperationException("two-node tests run against PostgreSQL: set EVENTBUS_TEST_STORE=postgres (make test does).");
        }

        Directory.CreateDirectory(_directory);
        return Task.CompletedTask;
    }

    public Task DisposeAsync()
    {
        TestStore.Drop(_directory);
        Directory.Delete(_directory, recursive: true);
        return Task.CompletedTask;
    }

    [Fact]
    public async Task KillDashNine_OfOneNode_DuringPublishesThroughBoth_LosesNoAcknowledgedEvent_BothReadTheSameOrder_AndTheSurvivorServes()
    {
        var a = await ServerProcess.StartAsync(_directory);
        await using var b = await ServerProcess.StartAsync(_directory);
        using var httpA = new HttpClient { BaseAddress = a.BaseUri, Timeout = TestTimeouts.Default };
        using var httpB = new HttpClient { BaseAddress = b.BaseUri, Timeout = TestTimeouts.Default };

        var acked = new ConcurrentDictionary<string, long>();
        var countA = 0;
        var countB = 0;
        var killed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var enoughBeforeKill = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var enoughAfterKill = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        async Task<Exception?> PublishLoop(HttpClient http, string node, Func<int> count, Action bump, bool survivor)
        {
            for (var i = 0; ; i++)
            {
                try
                {
                    var payload = $"{node}-{i}";
                    using var response = await http.PostAsJsonAsync("/api/v1/events", new { event_type = "two_nodes", payload, channel = "crash" });
                    response.EnsureSuccessStatusCode();
                    acked[payload] = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("event_id").GetInt64();
                    bump();
                }
                catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !survivor)
                {
                    return killed.Task.IsCompleted ? null : ex;
                }

                if (Volatile.Read(ref countA) >= 100 && Volatile.Read(ref countB) >= 100)
                {
                    enoughBeforeKill.TrySetResult();
                }

                if (survivor && killed.Task.IsCompleted && count() >= 300)
                {
                    enoughAfterKill.TrySetResult();
                    return null;
                }
            }
        }

        var loopA = Task.Run(() => PublishLoop(httpA, "a", () => Volatile.Read(ref countA), () => Interlocked.Increment(ref countA), survivor: false));
        var loopB = Task.Run(() => PublishLoop(httpB, "b", () => Volatile.Read(ref countB), () => Interlocked.Increment(ref countB), survivor: true));
        await enoughBeforeKill.Task.WaitAsync(TestTimeouts.Default);
        killed.SetResult(); // from here on, node A's requests may fail
        var ackedAtKill = acked.Count;
        var bAtKill = Volatile.Read(ref countB);
        var watch = Stopwatch.StartNew();
        await a.KillAsync();
        (await loopA.WaitAsync(TestTimeouts.Default)).Should().BeNull("node A's publisher fails only because A was killed");
        await enoughAfterKill.Task.WaitAsync(TestTimeouts.Default);
        var survivorSeconds = watch.Elapsed.TotalSeconds;
        (await loopB).Should().BeNull("the surviving node keeps serving its clients");

        await using var restarted = await ServerProcess.StartAsync(_directory);
        using var httpC = new HttpClient { BaseAddress = restarted.BaseUri, Timeout = TestTimeouts.Default };
        var fromB = await ReadAllAsync(httpB);
        var fromC = await ReadAllAsync(httpC);

        fromC.Should().Equal(fromB, "every node reads one log in one order");
        fromB.Select(e => e.Id).Should().BeInAscendingOrder().And.OnlyHaveUniqueItems();
        var stored = fromB.ToDictionary(e => e.Payload, e => e.Id);
        foreach (var (payload, id) in acked)
        {
            stored.Should().ContainKey(payload, "it was acknowledged");
            stored[payload].Should().Be(id);
        }

        // Only the publish in flight at the kill may be stored without its acknowledgement.
        (stored.Count - acked.Count).Should().BeInRange(0, 1);
        output.WriteLine(
            $"kill -9 of node A after {ackedAtKill} acknowledged publishes; node A acknowledged {countA} in all, node B " +
            $"{countB - bAtKill} more after the kill ({survivorSeconds:F1} s); acknowledged {acked.Count}, stored {stored.Count}, acknowledged but missing " +
            $"{acked.Keys.Count(k => !stored.ContainsKey(k))}, stored without acknowledgement {stored.Count - acked.Count}; " +
            $"node B and a restarted node read the same {fromB.Count} events in the same order");
    }

    [Fact]
    public async Task AStartAgainstADatabaseThatCannotBeReached_StopsWithExitCode2_NamingHostAndPort()
    {
        int port;
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }

        var dll = Path.Combine(AppContext.BaseDirectory, "EventBus.Server.dll");
        var info = new ProcessStartInfo(Environment.ProcessPath is { } p && Path.GetFileNameWithoutExtension(p) == "dotnet" ? p : "dotnet")
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (var arg in (string[])[dll, "--port", "0", "--db", $"postgres://bus:s3cret@127.0.0.1:{port}/bus"])
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info)!;
        var stderr = process.StandardError.ReadToEndAsync();
        _ = process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync(TestTimeouts.Token());

        process.ExitCode.Should().Be(2);
        var message = await stderr;
        message.Should().Contain($"127.0.0.1:{port}").And.Contain("cannot be reached").And.NotContain("s3cret");
    }

    private sealed record Stored(long Id, string Payload);

    private static async Task<List<Stored>> ReadAllAsync(HttpClient http)
    {
        var events = new List<Stored>();
        var cursor = "0";
        while (true)
        {
            var page = await http.GetFromJsonAsync<JsonElement>($"/api/v1/events?cursor={cursor}&order=asc&limit=1000&channel=crash");
            events.AddRange(page.GetProperty("events").EnumerateArray().Select(e => new Stored(e.GetProperty("id").GetInt64(), e.Str("payload"))));
            if (!page.GetProperty("has_more").GetBoolean())
            {
                return events;
            }

            cursor = page.Str("next_cursor");
        }
    }
}
