using EventBus.Cli.Tests.Support;

namespace EventBus.Cli.Tests;

/// <summary>The webhook commands against the contract's tools, on a server that allows loopback receivers.</summary>
public sealed class WebhookCommandTests(PrivateWebhooksBusFixture fixture) : IClassFixture<PrivateWebhooksBusFixture>
{
    private CliRunner Cli() => new(fixture.McpUri);

    [Fact]
    public async Task Register_List_Disable_Enable_Unregister_WithTheOldOutput()
    {
        var cli = Cli();
        var register = await cli.RunAsync("webhook", "register", "--url", "http://127.0.0.1:9/hook", "--channel", "session:", "--event-types", "a,b", "--secret", "s");
        register.ExitCode.Should().Be(0, register.ToString());
        var id = register.Json().GetProperty("webhook_id").ToString();
        register.Error.Should().Contain($"Webhook registered: #{id}");

        var list = await cli.RunAsync("webhook", "list");
        list.Out.Should().StartWith("Webhooks (").And.Contain($"  [✓] #{id} 🔐\n      URL: http://127.0.0.1:9/hook\n      Channel: session:\n      Events: a, b\n");

        (await cli.RunAsync("webhook", "disable", id)).Out.Should().Be($"Webhook #{id} disabled\n");
        (await cli.RunAsync("webhook", "list")).Out.Should().NotContain($"#{id}");
        (await cli.RunAsync("webhook", "list", "--all")).Out.Should().Contain($"  [✗] #{id}");
        (await cli.RunAsync("webhook", "enable", id)).Out.Should().Be($"Webhook #{id} enabled\n");
        (await cli.RunAsync("webhook", "unregister", id)).Out.Should().Be($"Webhook #{id} removed\n");

        var again = await cli.RunAsync("webhook", "unregister", id);
        again.ExitCode.Should().Be(1);
        again.Error.Should().Be("Failed: Webhook not found\n");
    }

    [Fact]
    public async Task Deliveries_AndRedeliver_Run()
    {
        var cli = Cli();
        var id = (await cli.RunAsync("webhook", "register", "--url", "http://127.0.0.1:9/hook", "--json")).Json().GetProperty("webhook_id").ToString();
        (await cli.RunAsync("publish", "--type", "t", "--payload", "p")).ExitCode.Should().Be(0);
        var deliveries = await cli.RunAsync("webhook", "deliveries", "--webhook", id, "--json");
        deliveries.ExitCode.Should().Be(0, deliveries.ToString());
        (await cli.RunAsync("webhook", "deliveries", "--webhook", id)).Out.Should().Contain("webhook #" + id);

        // Nothing listens on port 9: the first attempt fails at once, and the log shows it with its error.
        var text = "";
        await Waiting.UntilAsync(fixture.Bus.Service<EventBus.Server.Webhooks.WebhookDispatcher>().Changed, async () =>
            (text = (await cli.RunAsync("webhook", "deliveries", "--webhook", id)).Out).Contains("attempt 1 at ", StringComparison.Ordinal));

        text.Should().MatchRegex(@"attempt 1 at \S+: no response \(.+\)");

        // Its retry waits: the list says how many deliveries wait and for how long the oldest has.
        (await cli.RunAsync("webhook", "list")).Out.Should().MatchRegex($@"#{id}.*\n(.+\n)*?      Pending: 1 \(the oldest waiting [0-9]+ s\)\n");
    }

    [Fact]
    public async Task WebhookRegister_TheUrlOption_IsTheTarget_NotTheBus()
    {
        // `--url` after `webhook register` names the webhook's target; the bus URL comes from the environment or
        // from --url before the command (as in the old CLI).
        var target = $"http://127.0.0.1:9/{BusFixture.Unique("target")}";
        var result = await Cli().RunAsync("webhook", "register", "--url", target, "--json");
        result.ExitCode.Should().Be(0, result.ToString());
        result.Json().GetProperty("url").GetString().Should().Be(target);
        (await Cli().RunAsync("webhook", "list")).Out.Should().Contain("URL: " + target);
    }
}
