using System.Diagnostics;

namespace EventBus.Server.Tests.Support;

/// <summary><c>mosquitto_pub</c> and <c>mosquitto_sub</c>, run as processes and awaited.</summary>
internal static class MosquittoClients
{
    /// <summary>Publishes one message at QoS 1 and waits for mosquitto_pub to finish (it has the PUBACK then).</summary>
    public static Task PublishAsync(int port, string topic, string message, params string[] extra) =>
        RunAsync("mosquitto_pub", ["-h", "127.0.0.1", "-p", Port(port), "-q", "1", "-t", topic, "-m", message, .. extra]);

    /// <summary>Publishes a file's bytes (binary payloads).</summary>
    public static Task PublishFileAsync(int port, string topic, string file) =>
        RunAsync("mosquitto_pub", ["-h", "127.0.0.1", "-p", Port(port), "-q", "1", "-t", topic, "-f", file]);

    /// <summary>
    /// Opens a persistent QoS 1 session for <paramref name="clientId"/> subscribed to <paramref name="filter"/> and
    /// returns once the broker acknowledged the subscription: from then on the broker queues matching messages for it.
    /// </summary>
    public static Task SubscribeSessionAsync(int port, string clientId, string filter, params string[] extra) =>
        RunAsync("mosquitto_sub", ["-h", "127.0.0.1", "-p", Port(port), "-q", "1", "-c", "-i", clientId, "-t", filter, "-E", .. extra]);

    /// <summary>Resumes that session and reads <paramref name="count"/> messages, as "topic payload" lines.</summary>
    public static async Task<IReadOnlyList<string>> ReceiveAsync(int port, string clientId, string filter, int count, params string[] extra)
    {
        var output = await RunAsync("mosquitto_sub", [
            "-h", "127.0.0.1", "-p", Port(port), "-q", "1", "-c", "-i", clientId, "-t", filter, "-v", "-C", Count(count),
            "-W", Count((int)TestTimeouts.Default.TotalSeconds), .. extra]);
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    public static async Task<string> RunAsync(string program, string[] arguments)
    {
        var (code, output) = await TryRunAsync(program, arguments);
        return code == 0 ? output : throw new InvalidOperationException($"{program} {string.Join(' ', arguments)} exited with {code}: {output}");
    }

    /// <summary>Runs a client to its end: its exit code, and what it wrote (stdout, then stderr).</summary>
    public static async Task<(int ExitCode, string Output)> TryRunAsync(string program, string[] arguments)
    {
        var start = new ProcessStartInfo(program, arguments) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{program} did not start");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync(TestTimeouts.Token());
        return (process.ExitCode, await output + await error);
    }

    private static string Port(int port) => port.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static string Count(int count) => count.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
