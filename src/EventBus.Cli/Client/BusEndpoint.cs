namespace EventBus.Cli.Client;

/// <summary>
/// Where the bus is and how to authenticate: the MCP URL (<c>--url</c> &gt; <c>EVENTBUS_URL</c> &gt;
/// <c>AGENT_EVENT_BUS_URL</c> &gt; <see cref="DefaultUrl"/>), the REST base derived from it, and the token from
/// <c>EVENTBUS_TOKEN</c>.
/// </summary>
public sealed record BusEndpoint
{
    /// <summary>The URL used when nothing else says where the bus is.</summary>
    public const string DefaultUrl = "http://127.0.0.1:8080/mcp";

    /// <summary>The environment variables that name the URL, first wins.</summary>
    /// <remarks><c>CLAUDE_PLUGIN_OPTION_URL</c> is the eventbus plugin's user configuration, as Claude Code passes it to the plugin's hooks.</remarks>
    public static readonly IReadOnlyList<string> UrlVariables = ["EVENTBUS_URL", "AGENT_EVENT_BUS_URL", "CLAUDE_PLUGIN_OPTION_URL"];

    /// <summary>The environment variable that holds the bearer token.</summary>
    public const string TokenVariable = "EVENTBUS_TOKEN";

    /// <summary>The eventbus plugin's token option, as Claude Code passes it to the plugin's hooks (used when <see cref="TokenVariable"/> is unset).</summary>
    public const string PluginTokenVariable = "CLAUDE_PLUGIN_OPTION_TOKEN";

    public BusEndpoint(Uri mcpUrl, string? token = null, string source = "default")
    {
        McpUrl = mcpUrl;
        Token = string.IsNullOrEmpty(token) ? null : token;
        Source = source;
        var root = mcpUrl.GetLeftPart(UriPartial.Path).TrimEnd('/');
        if (root.EndsWith("/mcp", StringComparison.OrdinalIgnoreCase))
        {
            root = root[..^"/mcp".Length];
        }

        BaseUrl = new Uri(root + "/");
        ApiUrl = new Uri(BaseUrl, "api/v1/");
        HealthUrl = new Uri(BaseUrl, "health");
    }

    /// <summary>The MCP endpoint (<c>POST /mcp</c>).</summary>
    public Uri McpUrl { get; }

    /// <summary>The server's root (the MCP URL without its trailing <c>/mcp</c>).</summary>
    public Uri BaseUrl { get; }

    /// <summary>The REST and SSE API root, <c>…/api/v1/</c>.</summary>
    public Uri ApiUrl { get; }

    /// <summary><c>GET /health</c>.</summary>
    public Uri HealthUrl { get; }

    /// <summary>The bearer token, or null to send none.</summary>
    public string? Token { get; }

    /// <summary>Where the URL came from: <c>--url</c>, an environment variable's name, or <c>default</c>.</summary>
    public string Source { get; }

    /// <summary>Resolves the endpoint with the documented precedence.</summary>
    /// <exception cref="CliUsageException">The URL given is not an absolute http(s) URL.</exception>
    public static BusEndpoint Resolve(string? urlOption, Func<string, string?> environment)
    {
        string url;
        string source;
        if (!string.IsNullOrWhiteSpace(urlOption))
        {
            (url, source) = (urlOption, "--url");
        }
        else
        {
            var variable = UrlVariables.FirstOrDefault(name => !string.IsNullOrWhiteSpace(environment(name)));
            (url, source) = variable is null ? (DefaultUrl, "default") : (environment(variable)!, variable);
        }

        url = url.Trim();
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            throw new CliUsageException($"the bus URL from {source} must be an http:// or https:// URL like {DefaultUrl} (got \"{url}\").");
        }

        var token = environment(TokenVariable) is { Length: > 0 } t ? t : environment(PluginTokenVariable);
        return new BusEndpoint(uri, token, source);
    }
}
