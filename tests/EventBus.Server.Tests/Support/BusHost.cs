using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using EventBus.Server.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace EventBus.Server.Tests.Support;

/// <summary>
/// The real server: Kestrel on a free loopback port, a real SQLite file in a temp folder, or (EVENTBUS_TEST_STORE=postgres)
/// a PostgreSQL database of its own (<see cref="TestStore"/>).
/// </summary>
internal sealed class BusHost : IAsyncDisposable
{
    private readonly List<McpClient> _clients = [];

    private BusHost(WebApplication app, string directory, Uri baseUri, FakeTimeProvider? time)
    {
        App = app;
        Directory = directory;
        BaseUri = baseUri;
        Time = time;
        // A request that asks for 100-continue waits for the server's answer however loaded the machine is: by default
        // the client sends the body after one second anyway, racing a refusal against the body (a flaky 413 test).
        Http = new HttpClient(new SocketsHttpHandler { Expect100ContinueTimeout = TestTimeouts.Default })
        {
            BaseAddress = baseUri,
            Timeout = TestTimeouts.Default,
        };
    }

    public WebApplication App { get; }

    public string Directory { get; }

    public Uri BaseUri { get; }

    public Uri McpUri => new(BaseUri, "/mcp");

    public HttpClient Http { get; }

    /// <summary>The manual clock, when the host was started with one.</summary>
    public FakeTimeProvider? Time { get; }

    public string DatabasePath => Path.Combine(Directory, "bus.db");

    public T Service<T>() where T : notnull => App.Services.GetRequiredService<T>();

    /// <summary>Leave the folder (database, keys) behind on dispose, for a restart on the same data.</summary>
    public bool KeepDirectory { get; set; }

    public static Task<BusHost> StartAsync(bool manualTime = false, params string[] extraArgs) =>
        StartInAsync(NewDirectory(), manualTime, null, extraArgs);

    /// <summary>Starts the server with some of its services replaced (registered after the server's own).</summary>
    public static Task<BusHost> StartAsync(Action<IServiceCollection> services, params string[] extraArgs) =>
        StartInAsync(NewDirectory(), false, services, extraArgs);

    /// <summary>Starts with some services replaced, optionally on the manual clock.</summary>
    public static Task<BusHost> StartAsync(bool manualTime, Action<IServiceCollection> services, params string[] extraArgs) =>
        StartInAsync(NewDirectory(), manualTime, services, extraArgs);

    /// <summary>Starts on the data in <paramref name="directory"/> (created if missing): a restart when it exists.</summary>
    public static Task<BusHost> StartInAsync(string directory, bool manualTime = false, params string[] extraArgs) =>
        StartInAsync(directory, manualTime, null, extraArgs);

    /// <summary>Starts on a SQLite file in <paramref name="directory"/> whichever store the run is on (the migration tests' source).</summary>
    public static Task<BusHost> StartOnSqliteAsync(string directory, params string[] extraArgs) =>
        StartInAsync(directory, false, null, extraArgs, Path.Combine(directory, "bus.db"));

    /// <summary>Starts on <paramref name="database"/> (a postgres:// URL, say one through a <see cref="TcpProxy"/>), keeping its folder's other data in <paramref name="directory"/>.</summary>
    public static Task<BusHost> StartOnDatabaseAsync(string directory, string database, params string[] extraArgs) =>
        StartInAsync(directory, false, null, extraArgs, database);

    private static string NewDirectory() => Path.Combine(Path.GetTempPath(), "eventbus-tests", Guid.NewGuid().ToString("N"));

    private static async Task<BusHost> StartInAsync(
        string directory, bool manualTime, Action<IServiceCollection>? services, string[] extraArgs, string? database = null)
    {
        System.IO.Directory.CreateDirectory(directory);
        var time = manualTime ? TestClock.Create() : null;
        string[] args =
        [
            "--port", "0",
            "--db", database ?? TestStore.DatabaseFor(directory),
            "--Logging:LogLevel:Default=Warning",
            .. extraArgs,
        ];
        var app = EventBusApp.Build(args, builder =>
        {
            if (time is not null)
            {
                builder.Services.AddSingleton<TimeProvider>(time);
            }

            services?.Invoke(builder.Services);
        });
        await app.StartEventBusAsync(TestTimeouts.Token());
        var url = EventBusApp.ListeningUrls(app).Single();
        return new BusHost(app, directory, new Uri(url), time);
    }

    /// <summary>A real MCP client (the C# SDK's) over Streamable HTTP.</summary>
    public async Task<McpClient> ConnectAsync(Action<McpClientOptions>? configure = null, string? token = null)
    {
        var transport = new HttpClientTransport(new HttpClientTransportOptions
        {
            Endpoint = McpUri,
            TransportMode = HttpTransportMode.StreamableHttp,
            AdditionalHeaders = token is null ? null : new Dictionary<string, string> { ["Authorization"] = "Bearer " + token },
        });
        var options = new McpClientOptions { ClientInfo = new Implementation { Name = "eventbus-tests", Version = "1" } };
        configure?.Invoke(options);
        var client = await McpClient.CreateAsync(transport, options, cancellationToken: TestTimeouts.Token());
        _clients.Add(client);
        return client;
    }

    /// <summary>A raw JSON-RPC POST to /mcp with the headers a correct client sends.</summary>
    public Task<HttpResponseMessage> PostAsync(string json, string? sessionId = null, Action<HttpRequestMessage>? adjust = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, McpUri) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        if (sessionId is not null)
        {
            request.Headers.Add("Mcp-Session-Id", sessionId);
        }

        adjust?.Invoke(request);
        return Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, TestTimeouts.Token());
    }

    /// <summary>Opens a stateful session by hand and returns its id.</summary>
    public async Task<string> InitializeAsync()
    {
        using var response = await PostAsync(
            """{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}""");
        response.EnsureSuccessStatusCode();
        var id = response.Headers.GetValues("Mcp-Session-Id").Single();
        using var initialized = await PostAsync("""{"jsonrpc":"2.0","method":"notifications/initialized"}""", id);
        initialized.EnsureSuccessStatusCode();
        return id;
    }

    /// <summary>
    /// The JSON of the first SSE <c>data:</c> line that has any, as the old CLI parses it (a session's stream opens with
    /// a priming event whose data is empty; session-less answers have none).
    /// </summary>
    public static async Task<JsonElement> FirstDataAsync(HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsStringAsync(TestTimeouts.Token());
        var line = body.Split('\n').First(l => l.StartsWith("data:", StringComparison.Ordinal) && l["data:".Length..].Trim().Length > 0);
        return JsonDocument.Parse(line["data:".Length..]).RootElement.Clone();
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var client in _clients)
        {
            try
            {
                await client.DisposeAsync();
            }
            catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException or IOException)
            {
                // A test may have stopped the server under the client.
            }
        }

        Http.Dispose();
        await App.StopAsync(TestTimeouts.Token());
        await App.DisposeAsync();
        if (KeepDirectory)
        {
            return;
        }

        TestStore.Drop(Directory);
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // Best effort.
        }
    }
}
