using EventBus.Cli.Tests.Support;

namespace EventBus.Cli.Tests;

/// <summary><c>eventbus token</c> on a real server's database file: create, use, list, revoke; bad input.</summary>
public sealed class TokenCommandTests : IAsyncLifetime
{
    private BusHost _bus = null!;

    public async Task InitializeAsync() => _bus = await BusHost.StartAsync(manualTime: true);

    public async Task DisposeAsync() => await _bus.DisposeAsync();

    [Fact]
    public async Task Create_ThenTheBusWantsIt_ItWorks_ListShowsNoSecret_RevokeEndsIt()
    {
        var cli = new CliRunner(_bus.McpUri);
        var created = await cli.RunAsync("token", "create", "--name", "ci", "--scope", "publish", "--expires", "30d", "--db", _bus.DatabasePath);
        created.ExitCode.Should().Be(0, created.ToString());
        var secret = created.Out.Trim();
        secret.Should().MatchRegex("^ebt_[A-Za-z0-9_-]{43}$");
        created.Error.Should().Contain("Token \"ci\" (publish, expires ").And.Contain("it is shown only now")
            .And.Contain($"--header \"Authorization: Bearer {secret}\"");

        // The running server notices within a second (it caches what it read of the tokens for that long, on its clock):
        // calls without the token are refused, with it they work.
        _bus.Time!.Advance(TimeSpan.FromSeconds(1));
        var refused = await cli.RunAsync("sessions");
        refused.ExitCode.Should().Be(1, refused.ToString());
        refused.Error.Should().Contain("token");
        var authed = cli.With("EVENTBUS_TOKEN", secret);
        (await authed.RunAsync("publish", "--type", "t", "--payload", "with a token")).ExitCode.Should().Be(0);

        var list = await cli.RunAsync("token", "list", "--db", _bus.DatabasePath);
        list.Out.Should().MatchRegex(@"tok_[0-9a-f]{12}  ci\s+publish\s+expires ").And.NotContain(secret);
        var json = (await cli.RunAsync("token", "list", "--db", _bus.DatabasePath, "--json")).Json().GetProperty("tokens")[0];
        json.GetProperty("usable").GetBoolean().Should().BeTrue();
        json.TryGetProperty("token", out _).Should().BeFalse("a secret is never listed");

        (await cli.RunAsync("token", "revoke", "ci", "--db", _bus.DatabasePath)).Out.Should().Be("Token ci revoked\n");
        _bus.Time!.Advance(TimeSpan.FromSeconds(1));
        var after = await authed.RunAsync("publish", "--type", "t", "--payload", "revoked");
        after.ExitCode.Should().NotBe(0, after.ToString());
        after.Error.Should().Contain("revoked");
    }

    [Fact]
    public async Task BadInput_IsRefusedWithAReason()
    {
        var cli = new CliRunner(_bus.McpUri);
        var db = Path.Combine(_bus.Directory, "other.db");
        var badExpiry = await cli.RunAsync("token", "create", "--name", "x", "--scope", "read", "--expires", "3x", "--db", db);
        badExpiry.ExitCode.Should().Be(2);
        badExpiry.Error.Should().Contain("--expires must be a number and a unit, like 30d, 12h or 90m (got \"3x\")");

        (await cli.RunAsync("token", "create", "--name", "x", "--scope", "root", "--db", db)).ExitCode.Should().Be(2);
        (await cli.RunAsync("token", "create", "--name", "x", "--scope", "read", "--db", db)).ExitCode.Should().Be(0);
        var again = await cli.RunAsync("token", "create", "--name", "x", "--scope", "admin", "--db", db);
        again.ExitCode.Should().Be(1);
        again.Error.Should().Be("Failed: a token named \"x\" already exists (names are unique, revoked ones included).\n");
        var unknown = await cli.RunAsync("token", "revoke", "nobody", "--db", db);
        unknown.ExitCode.Should().Be(1);
        unknown.Error.Should().Be("Failed: no usable token with id or name \"nobody\"\n");
    }
}
