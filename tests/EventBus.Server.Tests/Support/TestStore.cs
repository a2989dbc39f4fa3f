using Npgsql;

namespace EventBus.Server.Tests.Support;

/// <summary>
/// Which store the server suite runs against. <c>EVENTBUS_TEST_STORE=postgres</c> (as <c>make test</c>'s second run
/// sets it) puts every test host on a database of its own, created on the PostgreSQL that
/// <c>EVENTBUS_TEST_POSTGRES</c> names (scripts/with-postgres.sh starts one) and dropped when the host is done; else
/// each host has a SQLite file in its temp folder. A Postgres run without the URL fails, it never skips.
/// </summary>
internal static class TestStore
{
    /// <summary>True when this run serves from PostgreSQL.</summary>
    public static bool IsPostgres =>
        string.Equals(Environment.GetEnvironmentVariable("EVENTBUS_TEST_STORE"), "postgres", StringComparison.OrdinalIgnoreCase);

    /// <summary>The server's <c>--db</c> for a host whose data lives in <paramref name="directory"/>: the same database on a restart.</summary>
    public static string DatabaseFor(string directory) =>
        IsPostgres ? PostgresDatabaseFor(directory) : Path.Combine(directory, "bus.db");

    /// <summary>A PostgreSQL database for <paramref name="directory"/> (created when missing), as a postgres:// URL.</summary>
    public static string PostgresDatabaseFor(string directory)
    {
        var name = "eb_" + Path.GetFileName(Path.TrimEndingDirectorySeparator(directory)).ToLowerInvariant();
        if (name.Length > 60 || name.Any(c => !(char.IsAsciiLetterOrDigit(c) || c == '_')))
        {
            name = "eb_" + Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(directory)))[..32].ToLowerInvariant();
        }

        using (var admin = new NpgsqlConnection(AdminConnectionString))
        {
            admin.Open();
            using var exists = new NpgsqlCommand("SELECT 1 FROM pg_database WHERE datname = @name", admin);
            exists.Parameters.AddWithValue("name", name);
            if (exists.ExecuteScalar() is null)
            {
                using var create = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", admin);
                create.ExecuteNonQuery();
            }
        }

        var url = new UriBuilder(AdminUrl) { Path = "/" + name };
        return url.Uri.ToString().TrimEnd('/');
    }

    /// <summary>Drops the database of <paramref name="directory"/> (its connections are ended first).</summary>
    public static void Drop(string directory)
    {
        if (!IsPostgres)
        {
            return;
        }

        var name = new Uri(PostgresDatabaseFor(directory)).AbsolutePath.Trim('/');
        using var admin = new NpgsqlConnection(AdminConnectionString);
        admin.Open();
        using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)", admin);
        drop.ExecuteNonQuery();
    }

    /// <summary>The PostgreSQL server the tests may use (its maintenance database); fails when there is none.</summary>
    public static string AdminUrl =>
        Environment.GetEnvironmentVariable("EVENTBUS_TEST_POSTGRES") is { Length: > 0 } url
            ? url
            : throw new InvalidOperationException(
                "EVENTBUS_TEST_POSTGRES is not set: these tests need a PostgreSQL server. Run them through `make test`, or " +
                "`bash scripts/with-postgres.sh dotnet test ...`, which starts one.");

    public static string AdminConnectionString
    {
        get
        {
            var builder = EventBus.Postgres.PostgresUrl.Parse(AdminUrl);
            builder.Pooling = false;
            return builder.ConnectionString;
        }
    }
}
