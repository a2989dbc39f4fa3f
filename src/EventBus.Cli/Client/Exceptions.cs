namespace EventBus.Cli.Client;

/// <summary>The bus cannot be reached at all (connection refused, DNS failure, timeout).</summary>
public sealed class BusUnavailableException(Uri url, string reason, Exception? inner = null)
    : Exception($"the bus is down at {url} ({reason})", inner)
{
    public Uri Url { get; } = url;

    public string Reason { get; } = reason;
}

/// <summary>The bus answered 401/403: the token is missing or not accepted.</summary>
public sealed class BusAuthException(Uri url, int status, string detail)
    : Exception($"the bus at {url} refused the request (HTTP {status}){(detail.Length > 0 ? ": " + detail : "")}. Set EVENTBUS_TOKEN to a token it accepts.")
{
    public int Status { get; } = status;
}

/// <summary>
/// The bus answered, but not with a result: a tool error (<c>isError</c>), a JSON-RPC error, or an HTTP error. The
/// message is the server's own text, which says what was wrong.
/// </summary>
public sealed class BusCallException(string message, string? tool = null) : Exception(message)
{
    public string? Tool { get; } = tool;
}

/// <summary>The command line was wrong in a way the parser cannot see; exit code 2.</summary>
public sealed class CliUsageException(string message) : Exception(message);
