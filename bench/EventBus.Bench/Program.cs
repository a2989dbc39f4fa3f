using System.Text.Json;
using EventBus.Bench;

// EventBus.Bench seed --db <path> [--events N] [--payload-bytes B] [--seed-info <file>]
// EventBus.Bench run  --mcp <url> --redis <host:port> [--read-mcp <url> --read-db <path>] [...]  (scripts/bench.sh)
// EventBus.Bench push --mcp <url> --redis <host:port> --server-pid <pid> [--push-sizes 1,10,100] [...]  (scripts/bench.sh)
// EventBus.Bench transports --bus <url> --mqtt-port <port> [--publishers 8] [--messages 2500] [--reps 3] [--parts mqtt,ws]  (scripts/bench.sh)
// EventBus.Bench nodes --mcp <pg node A> --mcp-b <pg node B> --sqlite-mcp <url> --postgres <npgsql connection string>  (scripts/bench.sh)
// EventBus.Bench webhooks --mcp <url> [--endpoints 100] [--clients 8] [--duration 5] [--reps 3] [--out dir]  (scripts/bench.sh)
if (args.Length > 0 && args[0] == "transports")
{
    using var stop = new CancellationTokenSource();
    Console.CancelKeyPress += (_, e) =>
    {
        e.Cancel = true;
        stop.Cancel();
    };
    try
    {
        return await EventBus.Bench.Transports.TransportBench.RunAsync(args[1..], stop.Token);
    }
    catch (BenchException ex)
    {
        await Console.Error.WriteLineAsync($"bench: {ex.Message}");
        return 2;
    }
}

if (args.Length > 0 && args[0] == "webhooks")
{
    using var stop = new CancellationTokenSource();
    Console.CancelKeyPress += (_, e) =>
    {
        e.Cancel = true;
        stop.Cancel();
    };
    try
    {
        return await EventBus.Bench.Webhooks.WebhookBench.RunAsync(args[1..], stop.Token);
    }
    catch (BenchException ex)
    {
        await Console.Error.WriteLineAsync($"bench: {ex.Message}");
        return 2;
    }
}

if (args.Length == 0 || args[0] is not ("seed" or "run" or "push" or "nodes"))
{
    await Console.Error.WriteLineAsync(
        "usage: EventBus.Bench seed --db <path> [--events N] | run --mcp <url> --redis <host:port> [...] | push --mcp <url> --redis <host:port> [...] | webhooks --mcp <url> [...] | nodes --mcp <url> --mcp-b <url> --sqlite-mcp <url> --postgres <conn> [...]");
    return 2;
}

using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cancel.Cancel();
};

try
{
    var options = BenchOptions.Parse(args[1..]);
    if (args[0] == "seed")
    {
        var db = options.Db ?? throw new BenchException("seed needs --db.");
        var seed = await Seeder.SeedAsync(db, options.Events, options.Payload(), cancel.Token);
        Console.Error.WriteLine($"[bench] seeded {seed.Events:N0} events into {db} in {seed.Seconds:F1} s ({seed.Events / seed.Seconds:N0} events/s, {seed.Bytes / 1024.0 / 1024.0:F0} MiB)");
        if (options.SeedInfo is { } info)
        {
            await File.WriteAllTextAsync(info, JsonSerializer.Serialize(seed, Report.Json), cancel.Token);
        }

        return 0;
    }

    return args[0] switch
    {
        "push" => await new EventBus.Bench.Push.PushBench(options).RunAsync(cancel.Token),
        "nodes" => await new EventBus.Bench.Nodes.NodesBench(options).RunAsync(cancel.Token),
        _ => await new BenchRunner(options).RunAsync(cancel.Token),
    };
}
catch (BenchException ex)
{
    await Console.Error.WriteLineAsync($"bench: {ex.Message}");
    return 2;
}
