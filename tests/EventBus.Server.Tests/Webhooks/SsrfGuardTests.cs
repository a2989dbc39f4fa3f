using EventBus.Server.Tests.Support;
using EventBus.Server.Webhooks;
using Microsoft.Extensions.Options;

namespace EventBus.Server.Tests.Webhooks;

/// <summary>The SSRF guard: private destinations refused at registration and, after DNS resolution, at send time.</summary>
public sealed class SsrfGuardTests
{
    [Theory]
    [InlineData("http://169.254.169.254/latest/meta-data/", "metadata")]
    [InlineData("http://127.0.0.1:9/hook", "loopback")]
    [InlineData("http://localhost:9/hook", "loopback")]
    [InlineData("http://[::1]:9/hook", "loopback")]
    [InlineData("http://10.0.0.7/hook", "private")]
    [InlineData("http://192.168.1.20/hook", "private")]
    [InlineData("http://100.100.100.100/hook", "CGNAT")]
    [InlineData("http://[fd00:ec2::254]/", "unique-local")]
    public async Task Registration_RefusesPrivateDestinations_ByDefault(string url, string reason)
    {
        await using var host = await BusHost.StartAsync();
        var client = await host.ConnectAsync();
        var error = await client.CallFailingAsync("register_webhook", new { url });
        error.Should().Contain("url refused").And.Contain(reason).And.Contain("AllowPrivateNetworks");
        (await client.CallAsync("list_webhooks", new { active_only = false })).GetArrayLength().Should().Be(0);
    }

    [Fact]
    public async Task Registration_AcceptsPrivateDestinations_WhenAllowed()
    {
        await using var host = await BusHost.StartAsync(false, "--EventBus:Webhooks:AllowPrivateNetworks=true");
        var client = await host.ConnectAsync();
        var reply = await client.CallAsync("register_webhook", new { url = "http://169.254.169.254/latest/" });
        reply.Str("url").Should().Be("http://169.254.169.254/latest/");
    }

    [Fact]
    public void TheEnvironmentShortcut_AllowsPrivateWebhooks()
    {
        Environment.SetEnvironmentVariable("EVENTBUS_ALLOW_PRIVATE_WEBHOOKS", "true");
        try
        {
            var configuration = new Microsoft.Extensions.Configuration.ConfigurationManager();
            EventBus.Server.Hosting.ConfigurationSetup.AddEventBusSources(configuration, []);
            configuration["EventBus:Webhooks:AllowPrivateNetworks"].Should().Be("true");
        }
        finally
        {
            Environment.SetEnvironmentVariable("EVENTBUS_ALLOW_PRIVATE_WEBHOOKS", null);
        }
    }

    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("localhost")]
    public async Task AtSendTime_TheConnectCallbackRefusesAPrivateAddress_AfterResolvingIt(string host)
    {
        // Registration happened while allowed (or DNS answered differently then): the sender checks again itself.
        await using var receiver = await WebhookReceiver.StartAsync();
        var options = Options.Create(new WebhookOptions { AllowPrivateNetworks = false });
        using var sender = new WebhookSender(new WebhookAddressGuard(options), options, TimeProvider.System);
        var url = new UriBuilder(receiver.BaseUri) { Host = host, Path = "/hook" }.Uri;

        var result = await sender.SendAsync(new WebhookTarget("w1", url, "whsec_" + Convert.ToBase64String(new byte[32])), "msg_1", "{}"u8.ToArray(), TestTimeouts.Token());

        result.Success.Should().BeFalse();
        result.StatusCode.Should().BeNull();
        result.Error.Should().Contain("SSRF guard").And.Contain("loopback");
        receiver.Requests.Should().BeEmpty();
    }

    [Fact]
    public async Task AtSendTime_AllowedPrivateAddresses_AreReached_AndRedirectsAreNotFollowed()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.Respond = (r, _) => r.Path == "/moved"
            ? new ReceiverAnswer(307, new Dictionary<string, string> { ["Location"] = "http://169.254.169.254/latest/" })
            : new ReceiverAnswer(204);
        var options = Options.Create(new WebhookOptions { AllowPrivateNetworks = true });
        using var sender = new WebhookSender(new WebhookAddressGuard(options), options, TimeProvider.System);
        var target = new WebhookTarget("w1", new Uri(receiver.Url("/ok")), "s3cret");

        (await sender.SendAsync(target, "msg_1", "{}"u8.ToArray(), TestTimeouts.Token())).StatusCode.Should().Be(204);
        var moved = await sender.SendAsync(target with { Url = new Uri(receiver.Url("/moved")) }, "msg_2", "{}"u8.ToArray(), TestTimeouts.Token());
        moved.Success.Should().BeFalse();
        moved.StatusCode.Should().Be(307);
        moved.Error.Should().Contain("not followed");
        receiver.Requests.Select(r => r.Path).Should().Equal("/ok", "/moved");
    }
}
