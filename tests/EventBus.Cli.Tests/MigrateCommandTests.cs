using EventBus.Cli.Tests.Support;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace EventBus.Cli.Tests;

/// <summary>
/// <c>eventbus migrate</c> end to end through the CLI, on the PostgreSQL <c>make test</c> starts
/// (<c>EVENTBUS_TEST_POSTGRES</c>): the counts it prints, refusing a database that is no longer empty, and clear errors.
/// (What the copied bus answers is tested over the real host in the server suite's SqliteMigrationTests.)
/// </summary>
public sealed class MigrateCommandTests : IDisposable
{
    private readonly string _home = Directory.CreateTempSubdirectory("eventbus-migrate-").FullName;
    private readonly string _database = "eb_cli_migrate_" + Guid.NewGuid().ToString("N")[..12];

    private static string AdminUrl =>
        Environment.GetEnvironmentVariable("EVENTBUS_TEST_POSTGRES") is { Length: > 0 } url
            ? url
            : throw new InvalidOperationException("EVENTBUS_TEST_POSTGRES is not set: run through `make test` or scripts/with-postgres.sh.");

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_home, recursive: true);
        Admin($"DROP DATABASE IF EXISTS \"{_database}\" WITH (FORCE)");
    }

    [Fact]
    public async Task Migrate_PrintsWhatItCopied_ThenRefusesTheSameDatabase_AndExplainsBadInput()
    {
        Admin($"CREATE DATABASE \"{_database}\"");
        var target = new UriBuilder(AdminUrl) { Path = "/" + _database }.Uri.ToString().TrimEnd('/');
        var db = Path.Combine(_home, "bus.db");
        var cli = new CliRunner { HomeDirectory = _home };
        (await cli.RunAsync("token", "create", "--name", "laptop", "--scope", "admin", "--db", db)).ExitCode.Should().Be(0);

        var migrated = await cli.RunAsync("migrate", "--from", db, "--to", target);

        migrated.ExitCode.Should().Be(0, migrated.ToString());
        migrated.Out.Should().Contain($"Migrated {db} into").And.MatchRegex(@"tokens\s+1").And.MatchRegex(@"events\s+0")
            .And.Contain("New events continue after id 0");

        var again = await cli.RunAsync("migrate", "--from", db, "--to", target, "--json");
        again.ExitCode.Should().Be(1);
        again.Error.Should().Contain("is not empty (rows in tokens)").And.Contain("No rows were written");

        var badUrl = await cli.RunAsync("migrate", "--from", db, "--to", "postgres://nohost");
        badUrl.ExitCode.Should().Be(1);
        badUrl.Error.Should().Contain("names no database");

        var missing = await cli.RunAsync("migrate", "--from", Path.Combine(_home, "nope.db"), "--to", target);
        missing.ExitCode.Should().Be(1);
        missing.Error.Should().Contain("does not exist");
    }

    private static void Admin(string sql)
    {
        var builder = EventBus.Postgres.PostgresUrl.Parse(AdminUrl);
        builder.Pooling = false;
        using var connection = new NpgsqlConnection(builder.ConnectionString);
        connection.Open();
        using var command = new NpgsqlCommand(sql, connection);
        command.ExecuteNonQuery();
    }
}
