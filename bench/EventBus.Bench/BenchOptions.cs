using System.Globalization;

namespace EventBus.Bench;

/// <summary>Command-line settings of <c>EventBus.Bench run</c> and <c>EventBus.Bench seed</c>.</summary>
internal sealed class BenchOptions
{
    /// <summary>The <c>/mcp</c> URL of the server the write phases (ping, publish) run against (empty database).</summary>
    public Uri? Mcp { get; private set; }

    /// <summary>The <c>/mcp</c> URL of the server started on the seeded database (read phases).</summary>
    public Uri? ReadMcp { get; private set; }

    /// <summary>nodes: the <c>/mcp</c> URL of a second node on the same PostgreSQL database as <see cref="Mcp"/>.</summary>
    public Uri? McpB { get; private set; }

    /// <summary>nodes: the <c>/mcp</c> URL of a server on a SQLite file (the peer of the PostgreSQL node).</summary>
    public Uri? SqliteMcp { get; private set; }

    /// <summary>nodes: an Npgsql connection string to the same PostgreSQL, for the raw single-row inserts.</summary>
    public string? Postgres { get; private set; }

    /// <summary>Redis as host:port.</summary>
    public string? Redis { get; private set; }

    public int? ServerPid { get; private set; }

    public int? ReadServerPid { get; private set; }

    /// <summary>nodes: node B's process, paused (SIGSTOP) while node A is measured alone.</summary>
    public int? ServerPidB { get; private set; }

    public int? RedisPid { get; private set; }

    /// <summary>A directory for the in-process store diagnostics' database.</summary>
    public string Scratch { get; private set; } = Path.GetTempPath();

    /// <summary>Where the JSON result goes.</summary>
    public string Out { get; private set; } = Path.Combine("bench", "results");

    /// <summary>The seed command's report (read phases).</summary>
    public string? SeedInfo { get; private set; }

    /// <summary>The seeded database, opened read-only in-process for the store-read diagnostic.</summary>
    public string? ReadDb { get; private set; }

    public TimeSpan Duration { get; private set; } = TimeSpan.FromSeconds(3);

    /// <summary>Per phase, before the rounds. Long enough for tiered JIT to settle (about 10 s of load on a busy 2-core machine).</summary>
    public TimeSpan Warmup { get; private set; } = TimeSpan.FromSeconds(5);

    public TimeSpan ReadDuration { get; private set; } = TimeSpan.FromSeconds(2);

    public int Repetitions { get; private set; } = 5;

    /// <summary>The concurrent client count of the "many clients" phases.</summary>
    public int Clients { get; private set; } = 8;

    public int PayloadBytes { get; private set; } = 128;

    /// <summary>Run only the phases whose key starts with one of these (profiling, development); empty: all.</summary>
    public IReadOnlyList<string> Only { get; private set; } = [];

    /// <summary>Also run the diagnostic phases (store alone, tools/call without a write).</summary>
    public bool Diagnostics { get; private set; } = true;

    // push
    /// <summary>Subscriber counts of the push latency rounds.</summary>
    public IReadOnlyList<int> PushSizes { get; private set; } = [1, 10, 100];

    /// <summary>Events per push latency round (measured), after <see cref="PushWarmupEvents"/> unmeasured ones.</summary>
    public int PushEvents { get; private set; } = 1000;

    public int PushWarmupEvents { get; private set; } = 50;

    public int PushRepetitions { get; private set; } = 3;

    /// <summary>Sessions held open (registered, subscribed, GET stream) for the idle-memory measurement.</summary>
    public int IdleSessions { get; private set; } = 1000;

    /// <summary>Events per REST batch request.</summary>
    public int BatchSize { get; private set; } = 1000;

    public int BatchClients { get; private set; } = 4;

    // seed
    public string? Db { get; private set; }

    public int Events { get; private set; } = 1_000_000;

    /// <summary>The payload every publish, XADD and seeded event carries: printable ASCII, safe in JSON and RESP.</summary>
    public string Payload()
    {
        const string Alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        var chars = new char[PayloadBytes];
        for (var i = 0; i < chars.Length; i++)
        {
            chars[i] = Alphabet[(i * 7 + 3) % Alphabet.Length];
        }

        return new string(chars);
    }

    /// <summary>True when <see cref="Only"/> lets the phase with this key run.</summary>
    public bool Selected(string key) => Only.Count == 0 || Only.Any(o => key.StartsWith(o, StringComparison.Ordinal));

    public static BenchOptions Parse(IReadOnlyList<string> args)
    {
        var options = new BenchOptions();
        for (var i = 0; i < args.Count; i++)
        {
            var name = args[i];
            if (name == "--no-diagnostics")
            {
                options.Diagnostics = false;
                continue;
            }

            if (i + 1 >= args.Count)
            {
                throw new BenchException($"{name} needs a value.");
            }

            var value = args[++i];
            switch (name)
            {
                case "--mcp": options.Mcp = new Uri(value); break;
                case "--read-mcp": options.ReadMcp = new Uri(value); break;
                case "--mcp-b": options.McpB = new Uri(value); break;
                case "--sqlite-mcp": options.SqliteMcp = new Uri(value); break;
                case "--postgres": options.Postgres = value; break;
                case "--redis": options.Redis = value; break;
                case "--server-pid": options.ServerPid = Int(name, value, 1); break;
                case "--read-server-pid": options.ReadServerPid = Int(name, value, 1); break;
                case "--server-pid-b": options.ServerPidB = Int(name, value, 1); break;
                case "--redis-pid": options.RedisPid = Int(name, value, 1); break;
                case "--scratch": options.Scratch = value; break;
                case "--out": options.Out = value; break;
                case "--seed-info": options.SeedInfo = value; break;
                case "--read-db": options.ReadDb = value; break;
                case "--duration": options.Duration = Seconds(name, value); break;
                case "--warmup": options.Warmup = Seconds(name, value); break;
                case "--read-duration": options.ReadDuration = Seconds(name, value); break;
                case "--reps": options.Repetitions = Int(name, value, 1); break;
                case "--clients": options.Clients = Int(name, value, 2); break;
                case "--payload-bytes": options.PayloadBytes = Int(name, value, 1); break;
                case "--push-sizes": options.PushSizes = value.Split(',').Select(v => Int(name, v.Trim(), 1)).ToList(); break;
                case "--push-events": options.PushEvents = Int(name, value, 1); break;
                case "--push-warmup-events": options.PushWarmupEvents = Int(name, value, 0); break;
                case "--push-reps": options.PushRepetitions = Int(name, value, 1); break;
                case "--idle-sessions": options.IdleSessions = Int(name, value, 1); break;
                case "--batch-size": options.BatchSize = Int(name, value, 1); break;
                case "--batch-clients": options.BatchClients = Int(name, value, 1); break;
                case "--token": EventBus.Bench.Clients.McpSession.BearerToken = value; break;
                case "--db": options.Db = value; break;
                case "--events": options.Events = Int(name, value, 1); break;
                case "--only": options.Only = value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries); break;
                default: throw new BenchException($"unknown option {name}.");
            }
        }

        return options;
    }

    private static int Int(string name, string value, int min) =>
        int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n >= min
            ? n
            : throw new BenchException($"{name} must be an integer of at least {min} (got \"{value}\").");

    private static TimeSpan Seconds(string name, string value) =>
        double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var s) && s > 0
            ? TimeSpan.FromSeconds(s)
            : throw new BenchException($"{name} must be a positive number of seconds (got \"{value}\").");
}
