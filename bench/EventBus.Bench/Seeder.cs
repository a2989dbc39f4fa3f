using System.Diagnostics;
using EventBus.Core.Events;
using EventBus.Sqlite;

namespace EventBus.Bench;

/// <summary>Fills a fresh database with events straight through the store (no server), in large batches.</summary>
internal static class Seeder
{
    private static readonly string[] Types = ["task_completed", "status_update", "bench", "ci_passed", "note"];

    public static async Task<SeedResult> SeedAsync(string path, int count, string payload, CancellationToken cancellationToken)
    {
        if (File.Exists(path))
        {
            throw new BenchException($"seed: {path} already exists; seed a fresh file.");
        }

        var watch = Stopwatch.StartNew();
        var store = new SqliteStore(new SqliteStoreOptions { Path = path });
        await using (store)
        {
            await store.InitializeAsync(cancellationToken);
            const int Batch = 10_000;
            var origin = DateTimeOffset.UtcNow.AddMilliseconds(-count);
            for (var done = 0; done < count;)
            {
                var n = Math.Min(Batch, count - done);
                var events = new NewEvent[n];
                for (var i = 0; i < n; i++)
                {
                    var k = done + i;
                    events[i] = new NewEvent(
                        Types[k % Types.Length], payload, $"seed-{k % 16}", origin.AddMilliseconds(k),
                        k % 10 == 0 ? "repo:eventbus" : "all", null, SignalLevel.Info, null, null);
                }

                await store.Events.AppendAsync(events, cancellationToken);
                done += n;
            }
        }

        var seconds = watch.Elapsed.TotalSeconds;
        return new SeedResult(count, seconds, new FileInfo(path).Length);
    }
}

/// <summary>How the seed went.</summary>
internal sealed record SeedResult(int Events, double Seconds, long Bytes);
