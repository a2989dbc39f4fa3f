using System.Net;
using EventBus.Cli.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace EventBus.Cli.Tests.Client;

/// <summary>
/// Replies the CLI cannot read (a server that is not this bus, or a broken one): a clear error naming what was
/// expected and showing what came, exit 1, never a crash or an empty listing. The bus here is a real HTTP server
/// that answers every POST /mcp with one fixed JSON-RPC message.
/// </summary>
public sealed class ReplyShapeTests
{
    [Fact]
    public async Task AToolResultOfTheWrongShape_IsAClearError()
    {
        // list_sessions answers a list; this "bus" answers an object.
        await using var bus = await FakeBus.StartAsync("""{"jsonrpc":"2.0","id":1,"result":{"structuredContent":{"result":{"sessions":"none"}}}}""");
        var result = await new CliRunner(bus.McpUri).RunAsync("sessions");

        result.ExitCode.Should().Be(1, result.ToString());
        result.Out.Should().BeEmpty();
        result.Error.Should().Contain("the bus sent a reply this CLI cannot read as a list of SessionReply").And.Contain("""{"sessions":"none"}""");
    }

    [Fact]
    public async Task AFieldOfTheWrongType_IsAClearError_NamingTheField()
    {
        // subscribers is a number in list_channels' rows.
        await using var bus = await FakeBus.StartAsync(
            """{"jsonrpc":"2.0","id":1,"result":{"structuredContent":{"result":[{"channel":"all","subscribers":{"n":2}}]}}}""");
        var result = await new CliRunner(bus.McpUri).RunAsync("channels");

        result.ExitCode.Should().Be(1, result.ToString());
        result.Out.Should().BeEmpty();
        result.Error.Should().Contain("cannot read as a list of ChannelReply").And.Contain("$[0].subscribers");
    }

    [Fact]
    public async Task AJsonRpcEnvelopeThatIsNotMcp_IsAClearError()
    {
        await using var bus = await FakeBus.StartAsync("""{"jsonrpc":"2.0","id":1,"result":{"content":"not a list","isError":"maybe"}}""");
        var result = await new CliRunner(bus.McpUri).RunAsync("channels");

        result.ExitCode.Should().Be(1, result.ToString());
        result.Error.Should().Contain("list_channels: the bus at ").And.Contain("sent a JSON-RPC message this CLI cannot read")
            .And.Contain("not a list");
    }

    [Fact]
    public async Task AJsonRpcError_IsItsMessage()
    {
        await using var bus = await FakeBus.StartAsync("""{"jsonrpc":"2.0","id":1,"error":{"code":-32601,"message":"Unknown tool: list_channels"}}""");
        var result = await new CliRunner(bus.McpUri).RunAsync("channels");

        result.ExitCode.Should().Be(1, result.ToString());
        result.Error.Should().Be("eventbus: Unknown tool: list_channels\n");
    }

    /// <summary>Kestrel on a free loopback port answering every request with <c>body</c> as JSON.</summary>
    private sealed class FakeBus : IAsyncDisposable
    {
        private readonly WebApplication _app;

        private FakeBus(WebApplication app) => _app = app;

        public Uri McpUri => new(new Uri(_app.Urls.Single()), "/mcp");

        public static async Task<FakeBus> StartAsync(string body)
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
            var app = builder.Build();
            app.Run(context =>
            {
                context.Response.ContentType = "application/json";
                return context.Response.WriteAsync(body);
            });
            await app.StartAsync(TestTimeouts.Token());
            return new FakeBus(app);
        }

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync(TestTimeouts.Token());
            await _app.DisposeAsync();
        }
    }
}
