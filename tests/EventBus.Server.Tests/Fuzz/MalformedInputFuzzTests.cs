using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using EventBus.Core.Bus;
using EventBus.Server.Tests.Support;
using EventBus.Server.Tools;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace EventBus.Server.Tests.Fuzz;

/// <summary>
/// A seeded property test over everything a client can send: random tool arguments (unpaired surrogates, NUL and other
/// control characters, emoji, very long strings, huge, negative and fractional numbers, wrong types, nested objects),
/// random JSON-RPC params, REST publish and batch bodies, ingest bodies and raw bytes. Whatever comes in, the answer is
/// below 500 and has a body saying something. The seed is printed; set EVENTBUS_FUZZ_SEED to replay one (and
/// EVENTBUS_FUZZ_COUNT for a longer run).
/// </summary>
public sealed class MalformedInputFuzzTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string SeedVariable = "EVENTBUS_FUZZ_SEED";
    private const string CountVariable = "EVENTBUS_FUZZ_COUNT";
    private const int DefaultSeed = 20261202;
    private const int DefaultCount = 400;

    private static readonly string[] SdkMethods =
        ["initialize", "ping", "tools/list", "resources/list", "resources/read", "resources/templates/list", "logging/setLevel", "nope/nope"];

    private static readonly string[] PublishFields =
        ["event_type", "payload", "session_id", "channel", "title", "tags", "correlation_id", "signal_level"];

    /// <summary>Values that would make a call wait (a long-poll) or reach out (a webhook URL) are never valid ones.</summary>
    private static readonly Dictionary<string, string[]> Harmless = new()
    {
        ["wait_seconds"] = ["-1", "1e400", "1.5", "\"soon\"", "[]", "{}", "99999999", "\"\\ud800\""],
        ["url"] = ["\"\"", "\"not a url\"", "\"ftp://x\"", "\"\\ud800\"", "5", "[]", "\"http://\\u0000\""],
    };

    private BusHost _host = null!;

    public async Task InitializeAsync() =>
        // notify would show real desktop notifications on the machine running the tests.
        _host = await BusHost.StartAsync(services => services.AddSingleton<IDesktopNotifier, SilentNotifier>());

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task RandomToolArgumentsAndRequestBodies_AreNeverAnswered5xx_AndAlwaysGetABody()
    {
        var seed = FromEnvironment(SeedVariable, DefaultSeed);
        var count = FromEnvironment(CountVariable, DefaultCount);
        output.WriteLine($"Fuzz seed {seed}, {count} requests (replay with {SeedVariable}={seed}).");
        var input = new FuzzInput(new Random(seed));
        var tools = _host.Service<ToolRegistry>().All
            .Select(t => (t.Name, Parameters: t.ProtocolTool.InputSchema.TryGetProperty("properties", out var properties)
                ? properties.EnumerateObject().Select(p => p.Name).ToList()
                : []))
            .ToList();

        var failures = new List<string>();
        var statuses = new SortedDictionary<int, int>();
        for (var i = 0; i < count; i++)
        {
            var (description, request) = Next(input, tools, i);
            using (request)
            using (var response = await _host.Http.SendAsync(request, TestTimeouts.Token()))
            {
                var body = await response.Content.ReadAsByteArrayAsync(TestTimeouts.Token());
                statuses[(int)response.StatusCode] = statuses.GetValueOrDefault((int)response.StatusCode) + 1;
                if ((int)response.StatusCode >= 500 || body.Length == 0)
                {
                    failures.Add($"#{i} {(int)response.StatusCode} with {body.Length} bytes for {description}: {Preview(Encoding.UTF8.GetString(body))}");
                }
            }
        }

        output.WriteLine("Answers by status: " + string.Join(", ", statuses.Select(s => $"{s.Key} x{s.Value}")));
        failures.Should().BeEmpty($"every answer must be < 500 with a body (seed {seed}; replay with {SeedVariable}={seed})");
    }

    private static (string Description, HttpRequestMessage Request) Next(FuzzInput input, List<(string Name, List<string> Parameters)> tools, int id)
    {
        switch (input.Next(20))
        {
            case < 9:
                var (name, parameters) = input.Pick(tools);
                var arguments = input.Chance(0.05)
                    ? input.Value()
                    : input.ObjectWith(parameters, p => Harmless.TryGetValue(p, out var values) ? input.Pick(values) : input.Value());
                return Mcp($$$"""{"jsonrpc":"2.0","id":{{{id}}},"method":"tools/call","params":{"name":"{{{name}}}","arguments":{{{arguments}}}}}""");
            case < 11:
                var method = input.Pick(SdkMethods);
                var parameters2 = input.Chance(0.7)
                    ? input.ObjectWith(["protocolVersion", "capabilities", "clientInfo", "cursor", "uri", "level", "_meta"])
                    : input.Value();
                return Mcp($$"""{"jsonrpc":"2.0","id":{{(input.Chance(0.9) ? id.ToString(CultureInfo.InvariantCulture) : input.Value(0))}},"method":"{{method}}","params":{{parameters2}}}""");
            case < 14:
                return Post("/api/v1/events", input.Chance(0.9) ? input.ObjectWith(PublishFields) : input.Value(), "application/json");
            case < 16:
                var items = Enumerable.Range(0, 1 + input.Next(4)).Select(_ => input.Chance(0.9) ? input.ObjectWith(PublishFields) : input.Value(1)).ToList();
                return input.Chance(0.5)
                    ? Post("/api/v1/events:batch", "[" + string.Join(",", items) + "]", "application/json")
                    : Post("/api/v1/events:batch", string.Join("\n", items), "application/x-ndjson");
            case < 17:
                var channel = Uri.EscapeDataString(input.Pick(["alerts:x", "all", " ", "a%00b", "x/y", "\u00e9"]));
                return Post($"/api/v1/ingest/{channel}", input.Value(), "application/json");
            default:
                var bytes = input.Bytes();
                var (path, type) = input.Pick<(string, string)>(
                [
                    ("/mcp", "application/json"), ("/api/v1/events", "application/json"), ("/api/v1/events:batch", "application/json"),
                    ("/api/v1/events:batch", "application/x-ndjson"), ("/api/v1/ingest/alerts:x", "application/json"),
                ]);
                var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new ByteArrayContent(bytes) };
                request.Content.Headers.ContentType = new MediaTypeHeaderValue(type);
                AcceptMcp(request);
                return ($"{bytes.Length} random bytes to {path} ({Convert.ToHexString(bytes.AsSpan(0, Math.Min(bytes.Length, 64)))}…)", request);
        }
    }

    private static (string, HttpRequestMessage) Mcp(string json)
    {
        var (description, request) = Post("/mcp", json, "application/json");
        AcceptMcp(request);
        return (description, request);
    }

    private static (string, HttpRequestMessage) Post(string path, string body, string contentType)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        return ($"POST {path} {Preview(body)}", request);
    }

    private static void AcceptMcp(HttpRequestMessage request)
    {
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
    }

    private static int FromEnvironment(string variable, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(variable), NumberStyles.Integer, CultureInfo.InvariantCulture, out var value)
            ? value
            : fallback;

    private static string Preview(string text) => text.Length > 400 ? text[..400] + $"… ({text.Length} characters)" : text;

    private sealed class SilentNotifier : IDesktopNotifier
    {
        public Task<bool> NotifyAsync(string title, string message, bool sound, CancellationToken cancellationToken) => Task.FromResult(false);
    }
}
