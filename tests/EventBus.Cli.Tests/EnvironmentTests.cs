using System.Net;
using System.Net.Sockets;
using System.Text;
using EventBus.Cli.Client;
using EventBus.Cli.Tests.Support;

namespace EventBus.Cli.Tests;

/// <summary>Where the URL, session id and token come from, and what happens when the bus is down.</summary>
public sealed class EnvironmentTests(BusFixture fixture) : IClassFixture<BusFixture>
{
    private string Live => fixture.McpUri.ToString();

    [Fact]
    public async Task Url_OptionBeatsEventbusUrl_BeatsAgentEventBusUrl_BeatsDefault()
    {
        var dead = BusFixture.DeadUrl();

        var option = await new CliRunner().With("EVENTBUS_URL", dead).With("AGENT_EVENT_BUS_URL", dead).RunAsync("--url", Live, "channels");
        option.ExitCode.Should().Be(0, option.ToString());

        var optionAfterCommand = await new CliRunner().With("EVENTBUS_URL", dead).RunAsync("channels", "--url", Live);
        optionAfterCommand.ExitCode.Should().Be(0, optionAfterCommand.ToString());

        var eventbusUrl = await new CliRunner().With("EVENTBUS_URL", Live).With("AGENT_EVENT_BUS_URL", dead).RunAsync("channels");
        eventbusUrl.ExitCode.Should().Be(0, eventbusUrl.ToString());

        var legacy = await new CliRunner().With("AGENT_EVENT_BUS_URL", Live).RunAsync("channels");
        legacy.ExitCode.Should().Be(0, legacy.ToString());

        var wrongOrder = await new CliRunner().With("EVENTBUS_URL", dead).With("AGENT_EVENT_BUS_URL", Live).RunAsync("channels");
        wrongOrder.ExitCode.Should().Be(1, "EVENTBUS_URL wins over AGENT_EVENT_BUS_URL");
        wrongOrder.Error.Should().Contain(dead);
    }

    [Fact]
    public void Url_DefaultsTo127001Port8080_AndTheRestBaseIsDerived()
    {
        var endpoint = BusEndpoint.Resolve(null, _ => null);
        endpoint.McpUrl.ToString().Should().Be("http://127.0.0.1:8080/mcp");
        endpoint.Source.Should().Be("default");
        endpoint.ApiUrl.ToString().Should().Be("http://127.0.0.1:8080/api/v1/");
        endpoint.HealthUrl.ToString().Should().Be("http://127.0.0.1:8080/health");

        var proxied = new BusEndpoint(new Uri("https://bus.example/eventbus/mcp"));
        proxied.ApiUrl.ToString().Should().Be("https://bus.example/eventbus/api/v1/");
    }

    [Fact]
    public async Task Url_NotHttp_IsAUsageError()
    {
        var result = await new CliRunner().With("EVENTBUS_URL", "ftp://x/mcp").RunAsync("sessions");
        result.ExitCode.Should().Be(2);
        result.Error.Should().Contain("EVENTBUS_URL must be an http:// or https:// URL");
    }

    [Fact]
    public async Task SessionId_OptionBeatsEventbus_BeatsAgentEventBus_BeatsClaudeCode()
    {
        var cli = new CliRunner(fixture.McpUri) { MachineName = BusFixture.Unique("host") };
        async Task<string> Register(string client) =>
            (await cli.RunAsync("register", "--name", "s", "--client-id", client, "--json")).Json().GetProperty("session_id").GetString()!;
        var a = await Register("a");
        var b = await Register("b");
        var c = await Register("c");
        var claudeSessionId = Guid.NewGuid().ToString();
        var d = await Register(claudeSessionId);

        async Task<string?> PublisherWith(params (string Name, string Value)[] environment)
        {
            var run = new CliRunner(fixture.McpUri) { MachineName = cli.MachineName };
            foreach (var (name, value) in environment)
            {
                run.With(name, value);
            }

            var published = await run.RunAsync("publish", "--type", "t", "--payload", "p", "--json");
            published.ExitCode.Should().Be(0, published.ToString());
            var id = published.Json().GetProperty("event_id").GetInt64();
            var read = (await run.RunAsync("events", "--cursor", (id - 1).ToString(), "--limit", "1", "--json")).Json();
            return read.GetProperty("events")[0].GetProperty("session_id").GetString();
        }

        (await PublisherWith(("EVENTBUS_SESSION_ID", a), ("AGENT_EVENT_BUS_SESSION_ID", b), ("CLAUDE_CODE_SESSION_ID", claudeSessionId))).Should().Be(a);
        (await PublisherWith(("AGENT_EVENT_BUS_SESSION_ID", b), ("CLAUDE_CODE_SESSION_ID", claudeSessionId))).Should().Be(b);
        (await PublisherWith(("CLAUDE_CODE_SESSION_ID", claudeSessionId))).Should().Be(d, "Claude Code's session id is the client id its session registered with");

        var explicitOption = await new CliRunner(fixture.McpUri).With("EVENTBUS_SESSION_ID", a).RunAsync("publish", "--type", "t", "--payload", "p", "--session-id", c, "--json");
        explicitOption.ExitCode.Should().Be(0);
        var read = (await cli.RunAsync("events", "--cursor", (explicitOption.Json().GetProperty("event_id").GetInt64() - 1).ToString(), "--limit", "1", "--json")).Json();
        read.GetProperty("events")[0].GetProperty("session_id").GetString().Should().Be(c);
    }

    [Fact]
    public async Task SessionId_ADisplayId_IsLookedUp()
    {
        var cli = new CliRunner(fixture.McpUri);
        var session = (await cli.RunAsync("register", "--name", "s", "--client-id", BusFixture.Unique("c"), "--json")).Json();
        var ack = await cli.RunAsync("ack", session.GetProperty("cursor").GetString()!, "--session-id", session.GetProperty("display_id").GetString()!, "--json");
        ack.ExitCode.Should().Be(0, ack.ToString());
        ack.Json().GetProperty("session_id").GetString().Should().Be(session.GetProperty("session_id").GetString());
    }

    [Theory]
    [InlineData("sessions")]
    [InlineData("channels")]
    [InlineData("register", "--name", "x")]
    [InlineData("publish", "--type", "t", "--payload", "p")]
    [InlineData("events")]
    [InlineData("notify", "--title", "t", "--message", "m")]
    [InlineData("webhook", "list")]
    [InlineData("watch")]
    [InlineData("unregister", "--client-id", "c")]
    public async Task BusDown_OneLine_SaysSoAndHowToStartIt_Exit1(params string[] args)
    {
        var dead = BusFixture.DeadUrl();
        var result = await new CliRunner().With("EVENTBUS_URL", dead).RunAsync(args);
        result.ExitCode.Should().Be(1);
        result.Error.Should().Be($"eventbus: the bus is down at {dead} — start it with `eventbus serve` or `make run`\n");
        result.Out.Should().BeEmpty();
    }

    [Fact]
    public async Task Token_IsSentAsBearer_OnToolCallsAndTheStream()
    {
        using var capture = new RequestCapture();
        var cli = new CliRunner(capture.McpUrl).With("EVENTBUS_TOKEN", "s3cret");
        await cli.RunAsync("sessions");
        capture.Requests.Should().ContainSingle().Which.Should().Contain("Authorization: Bearer s3cret").And.StartWith("POST /mcp ");

        await cli.RunAsync("watch");
        capture.Requests.Should().Contain(r => r.StartsWith("GET /api/v1/stream", StringComparison.Ordinal) && r.Contains("Authorization: Bearer s3cret"));

        await new CliRunner(capture.McpUrl).RunAsync("sessions");
        capture.Requests[^1].Should().NotContain("Authorization:");
    }

    [Fact]
    public async Task Unauthorized_SaysTheTokenWasRefused_Exit1()
    {
        using var capture = new RequestCapture(status: "401 Unauthorized");
        var result = await new CliRunner(capture.McpUrl).With("EVENTBUS_TOKEN", "bad").RunAsync("sessions");
        result.ExitCode.Should().Be(1);
        result.Error.Should().Contain("refused the request (HTTP 401)").And.Contain("EVENTBUS_TOKEN");
    }

    /// <summary>A bare HTTP listener that records each request head and answers with a fixed status.</summary>
    private sealed class RequestCapture : IDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly string _status;
        private readonly CancellationTokenSource _stop = new();

        public RequestCapture(string status = "503 Service Unavailable")
        {
            _status = status;
            _listener.Start();
            McpUrl = new Uri($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/mcp");
            _ = AcceptAsync();
        }

        public Uri McpUrl { get; }

        public List<string> Requests { get; } = [];

        private async Task AcceptAsync()
        {
            try
            {
                while (!_stop.IsCancellationRequested)
                {
                    using var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                    var stream = client.GetStream();
                    var buffer = new byte[16384];
                    var head = new StringBuilder();
                    while (!head.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
                    {
                        var read = await stream.ReadAsync(buffer, _stop.Token);
                        if (read == 0)
                        {
                            break;
                        }

                        head.Append(Encoding.ASCII.GetString(buffer, 0, read));
                    }

                    lock (Requests)
                    {
                        Requests.Add(head.ToString());
                    }

                    var body = "{\"error\":\"nope\"}";
                    await stream.WriteAsync(Encoding.ASCII.GetBytes($"HTTP/1.1 {_status}\r\nContent-Type: application/json\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n{body}"), _stop.Token);
                }
            }
            catch (OperationCanceledException)
            {
            }
            catch (ObjectDisposedException)
            {
            }
        }

        public void Dispose()
        {
            _stop.Cancel();
            _listener.Stop();
        }
    }
}
