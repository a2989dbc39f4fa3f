using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Text.Json;
using System.Text.RegularExpressions;
using EventBus.Core.Diagnostics;
using EventBus.Server.Tests.Support;

namespace EventBus.Server.Tests.Metrics;

/// <summary>
/// The Grafana dashboard and the Prometheus alert rules under deploy/: the rules pass <c>promtool check rules</c>
/// (Debian's prometheus package, which <c>make test</c> installs), and every metric either file names is one the bus
/// really exports, under the name OpenTelemetry's Prometheus exporter gives it.
/// </summary>
public sealed partial class DeployFilesTests
{
    private static readonly string Repo = FindRepo();

    [Fact]
    public void AlertRules_PassPromtool()
    {
        var rules = Path.Combine(Repo, "deploy", "prometheus", "eventbus-alerts.yml");
        var start = new ProcessStartInfo("promtool", ["check", "rules", rules]) { RedirectStandardOutput = true, RedirectStandardError = true };
        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new InvalidOperationException(
                "promtool is not installed: `make test` installs it (Debian's prometheus package); or apt-get install prometheus.", ex);
        }

        using (process)
        {
            var output = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
            process.WaitForExit();
            process.ExitCode.Should().Be(0, output);
            output.Should().Contain("SUCCESS");
        }
    }

    [Fact]
    public async Task DashboardAndRules_NameOnlyMetricsTheBusExports()
    {
        await using var host = await BusHost.StartAsync();
        var exported = ExportedNames();
        exported.Should().Contain(["eventbus_events_published_total", "eventbus_push_lag_seconds", "eventbus_store_size_bytes"]);

        var dashboard = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(Repo, "deploy", "grafana", "eventbus-dashboard.json")));
        var exprs = dashboard.RootElement.GetProperty("panels").EnumerateArray()
            .SelectMany(p => p.GetProperty("targets").EnumerateArray()).Select(t => t.GetProperty("expr").GetString()!).ToList();
        exprs.Should().NotBeEmpty();
        var rules = await File.ReadAllTextAsync(Path.Combine(Repo, "deploy", "prometheus", "eventbus-alerts.yml"));

        foreach (var name in exprs.Append(rules).SelectMany(text => MetricName().Matches(text).Select(m => m.Value)).Distinct())
        {
            var series = Regex.Replace(name, "_(bucket|sum|count)$", "");
            exported.Should().Contain(series, $"{name} is used in deploy/ but the bus exports no such metric");
        }
    }

    /// <summary>Every instrument on the bus's meter, named as the Prometheus exporter names it.</summary>
    private static HashSet<string> ExportedNames()
    {
        // The static instruments exist once the type is initialized (a const read does not do that).
        System.Runtime.CompilerServices.RuntimeHelpers.RunClassConstructor(typeof(BusTelemetry).TypeHandle);
        var names = new HashSet<string>(StringComparer.Ordinal);
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, _) =>
            {
                if (instrument.Meter.Name == BusTelemetry.Name)
                {
                    names.Add(PrometheusName(instrument));
                }
            },
        };
        listener.Start();
        return names;
    }

    private static string PrometheusName(Instrument instrument)
    {
        var name = instrument.Name.Replace('.', '_');
        name += instrument.Unit switch
        {
            "s" => "_seconds",
            "By" => "_bytes",
            _ => "",
        };
        var type = instrument.GetType().GetGenericTypeDefinition();
        return type == typeof(Counter<>) || type == typeof(ObservableCounter<>) ? name + "_total" : name;
    }

    private static string FindRepo()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "EventBus.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("cannot find the repository (EventBus.sln) above " + AppContext.BaseDirectory);
    }

    [GeneratedRegex("eventbus_[a-z_]+")]
    private static partial Regex MetricName();
}
