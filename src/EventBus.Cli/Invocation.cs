using System.CommandLine;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using EventBus.Cli.Client;

namespace EventBus.Cli;

/// <summary>One run of one command: its parsed options, its context, and the bus client it talks through.</summary>
internal sealed class Invocation(CliContext context, ParseResult parse, CancellationToken cancellationToken) : IDisposable
{
    /// <summary>Compact JSON for <c>--json</c> (one line per value, non-ASCII kept readable).</summary>
    public static readonly JsonSerializerOptions CompactJson = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>The old CLI's <c>json.dumps(result, indent=2)</c>.</summary>
    public static readonly JsonSerializerOptions IndentedJson = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        WriteIndented = true,
        IndentSize = 2,
    };

    private BusEndpoint? _endpoint;
    private BusClient? _client;

    public CliContext Context { get; } = context;

    public ParseResult Parse { get; } = parse;

    public CancellationToken CancellationToken { get; } = cancellationToken;

    public TextWriter Out => Context.Out;

    public TextWriter Error => Context.Error;

    public bool Json => Parse.GetValue(CliOptions.Json);

    public T? Get<T>(Option<T> option) => Parse.GetValue(option);

    public T? Get<T>(Argument<T> argument) => Parse.GetValue(argument);

    /// <summary>Where the bus is, resolved on first use (so commands that never call it never fail on a bad URL).</summary>
    public BusEndpoint Endpoint => _endpoint ??= BusEndpoint.Resolve(Parse.GetValue(CliOptions.Url), Context.Environment);

    public BusClient Client => _client ??= new BusClient(Endpoint);

    public Task<JsonElement> CallAsync(string tool, JsonObject? arguments = null, TimeSpan? timeout = null) =>
        Client.CallToolAsync(tool, arguments, timeout, CancellationToken);

    /// <summary>Resolves the session id: the option, else the environment (see <see cref="SessionIds"/>).</summary>
    public Task<string?> SessionIdAsync(Option<string?> option) =>
        SessionIds.ResolveAsync(Parse.GetValue(option), Context, () => Client, CancellationToken);

    /// <summary>Writes a value as one line of compact JSON.</summary>
    public void WriteJson(JsonElement value) => Out.WriteLine(JsonSerializer.Serialize(value, CompactJson));

    public void WriteJson(JsonNode value) => Out.WriteLine(value.ToJsonString(CompactJson));

    /// <summary>Writes a value as indented JSON (the old CLI's output for register, publish, …).</summary>
    public void WriteIndented(JsonElement value) => Out.WriteLine(JsonSerializer.Serialize(value, IndentedJson));

    /// <summary>Writes a result: compact with <c>--json</c>, indented otherwise.</summary>
    public void WriteResult(JsonElement value)
    {
        if (Json)
        {
            WriteJson(value);
        }
        else
        {
            WriteIndented(value);
        }
    }

    public void Dispose() => _client?.Dispose();
}
