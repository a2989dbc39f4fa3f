using System.Text.Json;
using System.Threading.Channels;
using EventBus.Server.Tests.Support;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace EventBus.Server.Tests;

/// <summary>The inbox resource: push for generic MCP clients, via resources/subscribe and resources/updated.</summary>
public sealed class InboxResourceTests : IAsyncLifetime
{
    private BusHost _host = null!;

    public async Task InitializeAsync() => _host = await BusHost.StartAsync();

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task ASubscribedInboxIsReportedUpdated_AndReadingItPeeksAtTheUnreadEvents()
    {
        var updates = Channel.CreateUnbounded<string>();
        var client = await _host.ConnectAsync(options => options.Handlers = new McpClientHandlers
        {
            NotificationHandlers =
            [
                new("notifications/resources/updated", (notification, _) =>
                {
                    updates.Writer.TryWrite(JsonSerializer.SerializeToElement(notification.Params).GetProperty("uri").GetString()!);
                    return ValueTask.CompletedTask;
                }),
            ],
        });
        var publisher = await _host.ConnectAsync();

        var templates = await client.ListResourceTemplatesAsync(cancellationToken: TestTimeouts.Token());
        templates.Select(t => t.UriTemplate).Should().Contain("eventbus://sessions/{session_id}/inbox");

        var me = (await client.CallAsync("register_session", new { name = "generic", machine = "m" })).Str("session_id");
        var uri = $"eventbus://sessions/{me}/inbox";
        await client.SubscribeToResourceAsync(uri, cancellationToken: TestTimeouts.Token());

        await publisher.CallAsync("publish_event", new { event_type = "note", payload = "for the inbox", channel = "session:" + me });
        (await updates.Reader.ReadAsync(TestTimeouts.Token())).Should().Be(uri);

        for (var i = 0; i < 2; i++)
        {
            var read = await client.ReadResourceAsync(uri, cancellationToken: TestTimeouts.Token());
            var text = ((TextResourceContents)read.Contents[0]).Text;
            JsonDocument.Parse(text).RootElement.GetProperty("events").EnumerateArray().Select(e => e.Str("payload"))
                .Should().Equal(["for the inbox"], "reading the inbox peeks; it does not consume");
        }

        var unknown = () => client.ReadResourceAsync("eventbus://nothing", cancellationToken: TestTimeouts.Token()).AsTask();
        await unknown.Should().ThrowAsync<ModelContextProtocol.McpException>().WithMessage("*inboxes are eventbus://sessions/{session_id}/inbox*");
    }
}
