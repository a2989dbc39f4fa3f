using System.Text.Json;
using EventBus.Core.Security;
using EventBus.Server.Tests.Support;
using ModelContextProtocol.Client;

namespace EventBus.Server.Tests.Security;

/// <summary>
/// Session takeover under tokens (issue 10, items 1 and 2): every path that finds a session by (machine, client_id)
/// goes through the ownership check, after the identity has been made canonical — whatever form the machine comes in.
/// </summary>
public sealed class IdentityTests : IAsyncLifetime
{
    private BusHost _host = null!;

    public async Task InitializeAsync() => _host = await BusHost.StartAsync();

    public async Task DisposeAsync() => await _host.DisposeAsync();

    /// <summary>The forms a missing machine takes on the wire; null leaves the argument out.</summary>
    private static readonly string?[] Blanks = [null, "", " ", "\t"];

    public static TheoryData<string?> BlankMachines => new(Blanks);

    private static string Arguments(string name, string clientId, string? machine) =>
        JsonSerializer.Serialize(machine is null
            ? new Dictionary<string, string> { ["name"] = name, ["client_id"] = clientId }
            : new Dictionary<string, string> { ["name"] = name, ["client_id"] = clientId, ["machine"] = machine });

    private async Task<string> SessionStateAsync(string sessionId) =>
        (await _host.Service<EventBus.Core.Store.IEventStore>().GetSessionAsync(sessionId, TestTimeouts.Token()))!.DeletedAt is null ? "live" : "deleted";

    [Theory]
    [InlineData(TokenScope.Read, null)]
    [InlineData(TokenScope.Read, "laptop")]
    [InlineData(TokenScope.Publish, "laptop")]
    public async Task UnregisterByClientId_OfAnotherTokensSession_IsRefused_WithAndWithoutAnMcpSession(TokenScope attackerScope, string? machine)
    {
        var alice = await _host.ConnectWithTokenAsync("alice", TokenScope.Publish);
        var victim = (await alice.Client.CallAsync("register_session", new { name = "alice", machine = "laptop", client_id = "alice-1" })).Str("session_id");
        var mallory = await _host.ConnectWithTokenAsync("mallory", attackerScope);
        await mallory.Client.CallAsync("register_session", new { name = "mallory", machine = "laptop", client_id = "mallory-1" });
        var refusal = $"unregister_session: Forbidden: session {victim} belongs to another token; token \"mallory\" (scope {TokenSecrets.ScopeName(attackerScope)}) may act only as its own sessions.";
        var arguments = machine is null ? """{"client_id":"alice-1"}""" : $$"""{"client_id":"alice-1","machine":"{{machine}}"}""";

        // Without an MCP session (a bare tools/call, as the old CLI sends it) ...
        var stateless = await _host.CallStatelessAsync(mallory.Secret, "unregister_session", arguments);
        stateless.IsError.Should().BeTrue(stateless.Text);
        stateless.Text.Should().Be(refusal);
        // ... and from an MCP session bound to the attacker's own session.
        (await mallory.Client.CallFailingAsync("unregister_session", JsonSerializer.Deserialize<Dictionary<string, object?>>(arguments)))
            .Should().Be(refusal);

        (await SessionStateAsync(victim)).Should().Be("live", "a refused unregister leaves the session alone");
        (await alice.Client.CallAsync("unregister_session", new { client_id = "alice-1", machine = "laptop" })).Str("session_id").Should().Be(victim);
    }

    [Fact]
    public async Task UnregisterByClientId_ByAnAdmin_EndsAnyonesSession_AndAnOwnerFindsItsOwnAmongOthers()
    {
        var alice = await _host.ConnectWithTokenAsync("alice", TokenScope.Publish);
        var bob = await _host.ConnectWithTokenAsync("bob", TokenScope.Publish);
        await alice.Client.CallAsync("register_session", new { name = "alice", machine = "m1", client_id = "shared" });
        var bobs = (await bob.Client.CallAsync("register_session", new { name = "bob", machine = "m2", client_id = "shared" })).Str("session_id");

        // Two live sessions share the client_id; Bob's own is the only one he may end, so it is the one found.
        (await bob.Client.CallAsync("unregister_session", new { client_id = "shared" })).Str("session_id").Should().Be(bobs);

        var admin = await _host.ConnectWithTokenAsync("root", TokenScope.Admin);
        (await admin.Client.CallAsync("unregister_session", new { client_id = "shared", machine = "m1" })).GetProperty("success").GetBoolean().Should().BeTrue();
    }

    [Theory]
    [MemberData(nameof(BlankMachines))]
    public async Task ABlankMachine_CannotResumeAnotherTokensMachinelessSession(string? attackerMachine)
    {
        var inbox = System.Threading.Channels.Channel.CreateUnbounded<JsonElement>();
        var aliceSecret = await _host.CreateTokenAsync("alice", TokenScope.Publish);
        var alice = await _host.ConnectAsync(token: aliceSecret);
        var mallorySecret = await _host.CreateTokenAsync("mallory", TokenScope.Read);
        var mallory = await _host.ConnectAsync(options => options.Handlers = new McpClientHandlers
        {
            NotificationHandlers =
            [
                new("notifications/claude/channel", (n, _) =>
                {
                    inbox.Writer.TryWrite(JsonSerializer.SerializeToElement(n.Params));
                    return ValueTask.CompletedTask;
                }),
            ],
        }, mallorySecret);

        foreach (var victimMachine in Blanks)
        {
            var clientId = $"alice-{Guid.NewGuid():N}";
            var victim = (await alice.CallAsync("register_session", JsonSerializer.Deserialize<Dictionary<string, object?>>(Arguments("alice", clientId, victimMachine))))
                .Str("session_id");
            var refusal = $"register_session: Forbidden: client_id \"{clientId}\" on machine \"unknown\" is a session of another token.";

            (await mallory.CallFailingAsync("register_session", JsonSerializer.Deserialize<Dictionary<string, object?>>(Arguments("x", clientId, attackerMachine))))
                .Should().Be(refusal, $"victim machine {JsonSerializer.Serialize(victimMachine)}");
            var stateless = await _host.CallStatelessAsync(mallorySecret, "register_session", Arguments("x", clientId, attackerMachine));
            stateless.Text.Should().Be(refusal);

            var session = (await alice.CallAsync("list_sessions")).EnumerateArray().Single(s => s.Str("session_id") == victim);
            session.Str("name").Should().Be("alice", "the refused registration renamed nothing");
        }

        // Nothing bound Mallory's connection to a victim: a DM to Alice is not pushed to it; one to Mallory is.
        var own = (await mallory.CallAsync("register_session", new { name = "mallory", client_id = "mallory-1" })).Str("session_id");
        var alices = (await alice.CallAsync("register_session", new { name = "alice", client_id = "alice-dm" })).Str("session_id");
        await alice.CallAsync("publish_event", new { event_type = "note", payload = "for alice", channel = "session:" + alices });
        await alice.CallAsync("publish_event", new { event_type = "note", payload = "for mallory", channel = "session:" + own });
        (await inbox.Reader.ReadAsync(TestTimeouts.Token())).GetProperty("content").GetString().Should().EndWith("for mallory");
        var resources = await mallory.ListResourcesAsync(cancellationToken: TestTimeouts.Token());
        resources.Select(r => r.Uri).Should().NotContain(EventBus.Server.Mcp.InboxResource.UriFor(alices));
    }

    [Fact]
    public async Task IdentityIsCanonicalBeforeAnyCheck_SurroundingSpaceIsTrimmed_CaseIsKept()
    {
        var alice = await _host.ConnectWithTokenAsync("alice", TokenScope.Publish);
        var mallory = await _host.ConnectWithTokenAsync("mallory", TokenScope.Publish);
        var victim = (await alice.Client.CallAsync("register_session", new { name = "alice", machine = "laptop", client_id = "alice-2" })).Str("session_id");

        (await mallory.Client.CallFailingAsync("register_session", new { name = "x", machine = " laptop\t", client_id = " alice-2 " }))
            .Should().Contain("is a session of another token");
        (await mallory.Client.CallFailingAsync("unregister_session", new { machine = "laptop ", client_id = "alice-2 " }))
            .Should().Contain($"session {victim} belongs to another token");

        // Case is part of the identity (as the old bus had it): another case is another session, not Alice's.
        var other = await mallory.Client.CallAsync("register_session", new { name = "x", machine = "LAPTOP", client_id = "ALICE-2" });
        other.Str("session_id").Should().NotBe(victim);
        other.GetProperty("resumed").GetBoolean().Should().BeFalse();

        // The owner's own spelling variants resume her session.
        (await alice.Client.CallAsync("register_session", new { name = "alice", machine = " laptop ", client_id = "alice-2" })).Str("session_id").Should().Be(victim);
    }

    [Fact]
    public async Task BlankOrControlCharacterIdentityFields_AreRefusedWithAClearError()
    {
        var client = await _host.ConnectAsync();
        (await client.CallFailingAsync("register_session", new { name = "x", client_id = "  " }))
            .Should().Be("register_session: client_id must not be blank (omit it to register a new session each time).");
        (await client.CallFailingAsync("register_session", new { name = " " })).Should().Be("register_session: name must not be blank.");
        (await client.CallFailingAsync("register_session", new { name = "x", cwd = "/home/a\0b" }))
            .Should().Be("register_session: cwd must not contain control characters (got \"/home/a?b\").");
        (await client.CallFailingAsync("register_session", new { name = "x", machine = "lap\0top" }))
            .Should().Be("register_session: machine must not contain control characters (got \"lap?top\").");
        (await client.CallFailingAsync("publish_event", new { event_type = "t", payload = "p", channel = " " }))
            .Should().Be("publish_event: channel must not be blank.");
        (await client.CallFailingAsync("unregister_session", new { client_id = "\t" }))
            .Should().Be("unregister_session: client_id must not be blank.");
    }

    [Fact]
    public async Task ListSessions_ShowsAClientIdOnlyToItsOwnerAndAdmins()
    {
        var alice = await _host.ConnectWithTokenAsync("alice", TokenScope.Publish);
        var eve = await _host.ConnectWithTokenAsync("eve", TokenScope.Read);
        var admin = await _host.ConnectWithTokenAsync("root", TokenScope.Admin);
        var a = (await alice.Client.CallAsync("register_session", new { name = "alice", machine = "laptop", client_id = "alice-secret-id" })).Str("session_id");

        JsonElement Row(JsonElement list) => list.EnumerateArray().Single(s => s.Str("session_id") == a);
        Row(await alice.Client.CallAsync("list_sessions")).Str("client_id").Should().Be("alice-secret-id");
        Row(await admin.Client.CallAsync("list_sessions")).Str("client_id").Should().Be("alice-secret-id");
        var seenByEve = Row(await eve.Client.CallAsync("list_sessions"));
        seenByEve.GetProperty("client_id").ValueKind.Should().Be(JsonValueKind.Null, "another token's client_id is what a takeover would need");
        seenByEve.Str("machine").Should().Be("laptop", "who is where stays visible, to address messages");
    }
}
