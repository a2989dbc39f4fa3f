using EventBus.Core.Bus;
using EventBus.Core.Events;
using EventBus.Core.Store;
using Microsoft.AspNetCore.Http.HttpResults;

namespace EventBus.Server.Api;

/// <summary><c>GET /api/v1/channels</c>: channels with their subscriber counts and how busy each was lately.</summary>
internal static class ChannelEndpoints
{
    /// <summary>The period the recent rate is measured over.</summary>
    public static readonly TimeSpan RecentWindow = TimeSpan.FromMinutes(5);

    /// <summary>The newest events scanned for it (a bound on the work, whatever the rate).</summary>
    public const int RecentScan = 20_000;

    public static RouteGroupBuilder MapChannels(this RouteGroupBuilder api)
    {
        api.MapGet("/channels", ListAsync)
            .WithTags("Channels")
            .WithName("ListChannels")
            .WithSummary("Channels, subscribers and recent rate")
            .WithDescription(
                "Every channel live sessions are implicitly subscribed to (as list_channels counts them) and every channel " +
                $"that had events in the last {RecentWindow.TotalMinutes:0} minutes, sorted by name. recent_events counts those " +
                $"events among the newest {RecentScan} (a lower bound on a busier bus); per_minute is their average rate.");
        return api;
    }

    private static async Task<Ok<ChannelsView>> ListAsync(BusService bus, IBusOverview overview, TimeProvider time, CancellationToken cancellationToken)
    {
        var subscribed = await bus.ListChannelsAsync(cancellationToken);
        var recent = await overview.CountRecentByChannelAsync(time.GetUtcNow() - RecentWindow, RecentScan, cancellationToken);
        var byName = recent.ToDictionary(r => r.Channel, StringComparer.Ordinal);
        var names = subscribed.Select(c => c.Channel).Concat(recent.Select(r => r.Channel)).Distinct(StringComparer.Ordinal)
            .Order(StringComparer.Ordinal);
        var counts = subscribed.ToDictionary(c => c.Channel, c => c.Subscribers, StringComparer.Ordinal);
        var views = names.Select(name =>
        {
            var activity = byName.GetValueOrDefault(name);
            var events = activity?.Events ?? 0;
            return new ChannelView(
                name, counts.GetValueOrDefault(name), events, Math.Round(events / RecentWindow.TotalMinutes, 2),
                activity is null ? null : Timestamps.ToWire(activity.LastEventAt));
        }).ToList();
        return TypedResults.Ok(new ChannelsView(views, (int)RecentWindow.TotalSeconds));
    }
}

/// <summary>One channel: its subscribers, its events in the recent window, their rate, and the last one's time.</summary>
internal sealed record ChannelView(string Channel, int Subscribers, int RecentEvents, double PerMinute, string? LastEventAt);

/// <summary><c>GET /api/v1/channels</c>' result.</summary>
internal sealed record ChannelsView(IReadOnlyList<ChannelView> Channels, int WindowSeconds);
