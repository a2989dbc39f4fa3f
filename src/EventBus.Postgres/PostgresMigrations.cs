using Dapper;
using Npgsql;

namespace EventBus.Postgres;

/// <summary>
/// Versioned migrations: embedded <c>Migrations/NNN_name.sql</c>, each applied in its own transaction with its row in
/// <c>schema_migrations</c>, all under a session advisory lock so nodes starting together migrate once (the others
/// wait, then find nothing left to do).
/// </summary>
internal static class PostgresMigrations
{
    /// <summary>The advisory lock key migrations run under ("EVBSMIGR").</summary>
    private const long LockKey = 0x45564253_4D494752;

    public static IReadOnlyList<(int Version, string Name, string Sql)> All { get; } = Load();

    public static int Latest => All.Count == 0 ? 0 : All[^1].Version;

    public static async Task<int> ApplyAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        await connection.ExecuteAsync(new CommandDefinition("SELECT pg_advisory_lock(@Key)", new { Key = LockKey }, cancellationToken: cancellationToken));
        try
        {
            await connection.ExecuteAsync(new CommandDefinition(
                """
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version    INTEGER PRIMARY KEY,
                    name       TEXT NOT NULL,
                    applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
                )
                """, cancellationToken: cancellationToken));
            var current = await connection.ExecuteScalarAsync<int>(new CommandDefinition(
                "SELECT COALESCE(MAX(version), 0) FROM schema_migrations", cancellationToken: cancellationToken));
            if (current > Latest)
            {
                throw new InvalidOperationException(
                    $"The database schema is version {current}, newer than this EventBus understands ({Latest}). Upgrade EventBus.");
            }

            foreach (var (version, name, sql) in All.Where(m => m.Version > current))
            {
                await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
                await connection.ExecuteAsync(new CommandDefinition(sql, transaction: transaction, cancellationToken: cancellationToken));
                await connection.ExecuteAsync(new CommandDefinition(
                    "INSERT INTO schema_migrations (version, name) VALUES (@Version, @Name)",
                    new { Version = version, Name = name }, transaction, cancellationToken: cancellationToken));
                await transaction.CommitAsync(cancellationToken);
                current = version;
            }

            return current;
        }
        finally
        {
            await connection.ExecuteAsync("SELECT pg_advisory_unlock(@Key)", new { Key = LockKey });
        }
    }

    private static List<(int, string, string)> Load()
    {
        var assembly = typeof(PostgresMigrations).Assembly;
        var list = new List<(int, string, string)>();
        foreach (var resource in assembly.GetManifestResourceNames().Where(n => n.EndsWith(".sql", StringComparison.Ordinal)))
        {
            var file = resource.Split('.')[^2];
            var version = int.Parse(file[..file.IndexOf('_', StringComparison.Ordinal)], System.Globalization.CultureInfo.InvariantCulture);
            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var reader = new StreamReader(stream);
            list.Add((version, file, reader.ReadToEnd()));
        }

        list.Sort((a, b) => a.Item1.CompareTo(b.Item1));
        return list;
    }
}
