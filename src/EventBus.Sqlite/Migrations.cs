using System.Reflection;
using Dapper;
using Microsoft.Data.Sqlite;

namespace EventBus.Sqlite;

/// <summary>
/// Versioned schema migrations: embedded <c>Migrations/NNN_name.sql</c> files applied in order, each in its own
/// transaction together with the bump of <c>PRAGMA user_version</c>, so a crash never leaves a half-applied step.
/// </summary>
internal static class Migrations
{
    /// <summary>All migrations, ordered by version.</summary>
    public static IReadOnlyList<(int Version, string Name, string Sql)> All { get; } = Load();

    /// <summary>The version a fully migrated database has.</summary>
    public static int Latest => All.Count == 0 ? 0 : All[^1].Version;

    /// <summary>Applies what is missing; returns the schema version now in force.</summary>
    public static int Apply(SqliteConnection connection)
    {
        var current = connection.ExecuteScalar<int>("PRAGMA user_version");
        if (current > Latest)
        {
            throw new InvalidOperationException(
                $"The database schema is version {current}, newer than this EventBus understands ({Latest}). Upgrade EventBus.");
        }

        foreach (var (version, _, sql) in All.Where(m => m.Version > current))
        {
            using var transaction = connection.BeginTransaction();
            connection.Execute(sql, transaction: transaction);
            connection.Execute($"PRAGMA user_version = {version}", transaction: transaction);
            transaction.Commit();
            current = version;
        }

        return current;
    }

    private static List<(int, string, string)> Load()
    {
        var assembly = typeof(Migrations).Assembly;
        var list = new List<(int, string, string)>();
        foreach (var resource in assembly.GetManifestResourceNames().Where(n => n.EndsWith(".sql", StringComparison.Ordinal)))
        {
            // Resource names look like EventBus.Sqlite.Migrations.001_initial.sql
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
