using EventBus.Core.Events;
using EventBus.Core.Store;

namespace EventBus.Sqlite.Tests;

/// <summary>A real SQLite file in a fresh temp folder, deleted afterwards.</summary>
internal sealed class TempStore : IAsyncDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 22, 2, 14, 0, TimeSpan.Zero);

    private TempStore(string directory, SqliteStore store)
    {
        Directory = directory;
        Store = store;
    }

    public string Directory { get; }

    public string Path => System.IO.Path.Combine(Directory, "bus.db");

    public SqliteStore Store { get; private set; }

    public static async Task<TempStore> CreateAsync(ICommitObserver? observer = null)
    {
        var directory = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "eventbus-tests", Guid.NewGuid().ToString("N"));
        var store = new SqliteStore(new SqliteStoreOptions { Path = System.IO.Path.Combine(directory, "bus.db") }, observer);
        await store.InitializeAsync(CancellationToken.None);
        return new TempStore(directory, store);
    }

    /// <summary>Closes and reopens the same file, as a restart would.</summary>
    public async Task ReopenAsync()
    {
        await Store.DisposeAsync();
        Store = new SqliteStore(new SqliteStoreOptions { Path = Path });
        await Store.InitializeAsync(CancellationToken.None);
    }

    public static NewEvent Event(string type = "note", string channel = "all", string payload = "p", string session = "anonymous",
        string? correlation = null, SignalLevel level = SignalLevel.Info, string? title = null, IReadOnlyList<string>? tags = null) =>
        new(type, payload, session, T0, channel, correlation, level, title, tags);

    public static RegisterRequest Register(string name, string machine = "m1", string? clientId = null, string? id = null) =>
        new(name, machine, "/src/" + name, name, clientId, T0, id ?? Guid.NewGuid().ToString(), () => "calm-raptor",
            Event("session_registered", payload: name + " started", session: id ?? "new", level: SignalLevel.Lifecycle));

    public async ValueTask DisposeAsync()
    {
        await Store.DisposeAsync();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a temp folder left behind is harmless.
        }
    }
}
