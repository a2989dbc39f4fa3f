using System.Reflection;
using Microsoft.Extensions.Logging;

namespace EventBus.Cli.Tests.Logging;

/// <summary>
/// Every <c>[LoggerMessage]</c> in the product has its own EventId, inside its feature's range, so a log search by
/// id finds one message. The ranges: 1–99 hosting, 100 MCP, 200 sessions, 300 REST/SSE API, 400 store, 500 webhooks,
/// 600 security, 700 the CLI's stdio channel, 800 push, 900 desktop notifications, 1000 metrics, 1100 the PostgreSQL
/// store, 1200 retention, 1400 WebSocket and MQTT, 1700 the permission relay, 1900 the MCP Events extension.
/// </summary>
public sealed class LogEventIdTests
{
    private static readonly Assembly[] Product =
    [
        typeof(CliApp).Assembly,
        typeof(Server.Hosting.EventBusApp).Assembly,
        typeof(Core.Events.CommitSignal).Assembly,
        typeof(Sqlite.SqliteStoreOptions).Assembly,
        typeof(Postgres.PostgresStoreOptions).Assembly,
    ];

    [Fact]
    public void LoggerMessages_EachHaveTheirOwnEventId()
    {
        var clashes = Messages()
            .GroupBy(m => m.Attribute.EventId)
            .Where(g => g.Count() > 1)
            .Select(g => $"{g.Key}: {string.Join(", ", g.Select(m => m.Name))}");

        clashes.Should().BeEmpty("each [LoggerMessage] needs an EventId of its own (one range per feature)");
    }

    [Fact]
    public void LoggerMessages_OfOneClass_StayInOneHundredRange()
    {
        var spread = Messages()
            .GroupBy(m => m.Type)
            .Where(g => g.Select(m => m.Attribute.EventId / 100).Distinct().Count() > 1)
            .Select(g => g.Key.FullName);

        spread.Should().BeEmpty("a class logs inside its feature's range of 100");
    }

    [Fact]
    public void LoggerMessages_AreFound()
    {
        // Guards the two tests above against finding nothing (the attribute stays on the partial declarations).
        Messages().Should().HaveCountGreaterThan(20);
    }

    private static IEnumerable<(Type Type, string Name, LoggerMessageAttribute Attribute)> Messages() =>
        from assembly in Product
        from type in assembly.GetTypes()
        from method in type.GetMethods(BindingFlags.Static | BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly)
        let attribute = method.GetCustomAttribute<LoggerMessageAttribute>()
        where attribute is not null
        select (type, $"{type.Name}.{method.Name}", attribute);
}
