using System.Reflection;
using EventBus.Core.Store;
using EventBus.Server.Mcp;
using Microsoft.AspNetCore.Http.HttpResults;

namespace EventBus.Server.Health;

/// <summary><c>GET /health</c>: liveness plus the store's state, for people, scripts and the old CLI's health check.</summary>
internal static class HealthEndpoints
{
    public static readonly string Version =
        typeof(HealthEndpoints).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]
        ?? "0.0.0";

    public static IEndpointRouteBuilder MapHealth(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/health", GetHealthAsync).WithName("Health");
        return endpoints;
    }

    private static async Task<Results<Ok<HealthReport>, JsonHttpResult<HealthReport>>> GetHealthAsync(
        IEventStore store, McpSessionStore sessions, IEnumerable<IHealthSection> sections, CancellationToken cancellationToken)
    {
        try
        {
            var state = await store.GetStateAsync(cancellationToken);
            var report = new StoreReport(state.Kind, state.Location, state.SchemaVersion, state.Tip, state.LiveSessions, state.Writable)
            {
                Fault = state.Fault is { } f ? Api.StoreFaultHandler.FaultName(f.Fault) : null,
            };
            if (state.Fault is { } fault)
            {
                // Readable but not writable: "degraded", with a status a monitor that only looks at codes sees.
                return TypedResults.Json(
                    new HealthReport("degraded", "eventbus", Version, report, sessions.Count, fault.Message) { Sections = Sections(sections) },
                    statusCode: StatusCodes.Status503ServiceUnavailable);
            }

            return TypedResults.Ok(new HealthReport("ok", "eventbus", Version, report, sessions.Count, null) { Sections = Sections(sections) });
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return TypedResults.Json(
                new HealthReport("error", "eventbus", Version, null, sessions.Count, ex.Message),
                statusCode: StatusCodes.Status503ServiceUnavailable);
        }
    }

    /// <summary>Each feature's part of the health report (the MQTT bridges, say), by its key; null when there is none.</summary>
    internal static Dictionary<string, object>? Sections(IEnumerable<IHealthSection> sections)
    {
        var reports = sections.ToDictionary(s => s.Key, s => s.Report(), StringComparer.Ordinal);
        return reports.Count == 0 ? null : reports;
    }

    internal sealed record HealthReport(string Status, string Service, string Version, StoreReport? Store, int McpSessions, string? Error)
    {
        /// <summary>Features' own keys (<c>mqtt</c>), beside the ones above.</summary>
        [System.Text.Json.Serialization.JsonExtensionData]
        public Dictionary<string, object>? Sections { get; init; }
    }

    internal sealed record StoreReport(string Kind, string Path, int SchemaVersion, long LastEventId, int LiveSessions, bool Writable)
    {
        /// <summary>Why the store is not writable (<c>disk_full</c>, <c>locked</c>, <c>read_only</c>); absent when it is.</summary>
        public string? Fault { get; init; }
    }
}
