using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using EventBus.Core.Bus;
using EventBus.Server.Tests.Support;
using ModelContextProtocol.Client;

namespace EventBus.Server.Tests;

/// <summary><c>get_events(wait_seconds=N)</c>: wait on commits, not on a timer; the clock is moved by hand.</summary>
public sealed class LongPollTests : IAsyncLifetime
{
    private BusHost _host = null!;
    private McpClient _reader = null!;
    private McpClient _writer = null!;

    public async Task InitializeAsync()
    {
        _host = await BusHost.StartAsync(manualTime: true);
        _reader = await _host.ConnectAsync();
        _writer = await _host.ConnectAsync();
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task WaitSeconds_ReturnsWithTheFirstMatchingEvent_IgnoringCommitsItDoesNotMatch()
    {
        var me = (await _reader.CallAsync("register_session", new { name = "waiter", machine = "m" })).Str("session_id");

        // The clock never moves in this test, so the call can only return because a matching event was committed.
        var poll = _reader.CallAsync("get_events", new { session_id = me, resume = true, channel = "alerts", wait_seconds = 60 });
        await _writer.CallAsync("publish_event", new { event_type = "note", payload = "chatter", channel = "all" });
        await _writer.CallAsync("publish_event", new { event_type = "ci_failed", payload = "main is red", channel = "alerts" });

        var reply = await poll.WaitAsync(TestTimeouts.Default);
        reply.GetProperty("events").EnumerateArray().Select(e => e.Str("payload")).Should().Equal("main is red");
    }

    [Fact]
    public async Task WaitSeconds_ReturnsEmptyWhenTheTimeIsUp()
    {
        var tip = (await _reader.CallAsync("get_events", new { limit = 1 })).Str("next_cursor");
        var poll = _reader.CallAsync("get_events", new { cursor = tip, wait_seconds = 30 });

        // Once the poll waits (its deadline set by the clock), moving the clock past the deadline ends it.
        var bus = _host.Service<BusService>();
        await Waiting.UntilAsync(bus.LongPollsChanged, () => bus.LongPollsWaiting == 1);
        _host.Time!.Advance(TimeSpan.FromSeconds(31));

        var reply = await Waiting.ForAsync(poll);
        reply.GetProperty("events").GetArrayLength().Should().Be(0);
        reply.Str("next_cursor").Should().Be(tip);
        reply.GetProperty("has_more").GetBoolean().Should().BeFalse();
    }

    [Fact]
    public async Task ALongCall_KeepsItsResponseAliveWithComments_ThenDeliversTheResult()
    {
        var tip = (await _reader.CallAsync("get_events", new { limit = 1 })).Str("next_cursor");
        using var request = new HttpRequestMessage(HttpMethod.Post, _host.McpUri)
        {
            Content = new StringContent(
                """{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"get_events","arguments":{"cursor":"TIP","wait_seconds":300}}}""".Replace("TIP", tip, StringComparison.Ordinal),
                Encoding.UTF8, "application/json"),
        };
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        var sending = _host.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, TestTimeouts.Token());

        // Nothing arrives and the keep-alive interval passes: the response starts streaming with a comment. The clock
        // moves once the call's keep-alive timer is armed, and never as far as the 300 s the call waits (which would
        // end it empty).
        var dispatcher = _host.Service<EventBus.Server.Mcp.McpToolDispatcher>();
        await Waiting.UntilAsync(dispatcher.LongCallsChanged, () => dispatcher.LongCalls == 1);
        _host.Time!.Advance(TimeSpan.FromSeconds(15));

        using var response = await sending.WaitAsync(TestTimeouts.Default);
        var body = new StreamReader(await response.Content.ReadAsStreamAsync());
        (await body.ReadLineAsync()).Should().Be(": keepalive");

        await _writer.CallAsync("publish_event", new { event_type = "note", payload = "worth the wait" });
        string? line;
        while ((line = await body.ReadLineAsync().WaitAsync(TestTimeouts.Default)) is not null && !line.StartsWith("data:", StringComparison.Ordinal))
        {
        }

        var message = JsonDocument.Parse(line!["data:".Length..]).RootElement;
        message.GetProperty("id").GetInt32().Should().Be(5);
        message.GetProperty("result").GetProperty("structuredContent").GetProperty("result").GetProperty("events")[0]
            .Str("payload").Should().Be("worth the wait");
    }

    [Fact]
    public async Task WaitSeconds_OutsideZeroToThreeHundred_IsRefused() =>
        (await _reader.CallFailingAsync("get_events", new { wait_seconds = 301 }))
            .Should().Contain("wait_seconds must be between 0 and 300 (got 301)");
}
