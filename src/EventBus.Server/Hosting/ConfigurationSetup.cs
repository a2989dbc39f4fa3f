namespace EventBus.Server.Hosting;

/// <summary>Where configuration comes from, in rising precedence.</summary>
internal static class ConfigurationSetup
{
    private static readonly Dictionary<string, string> EnvironmentShortcuts = new(StringComparer.Ordinal)
    {
        ["EVENTBUS_HOST"] = "EventBus:Host",
        ["EVENTBUS_PORT"] = "EventBus:Port",
        ["EVENTBUS_DB"] = "EventBus:Store:Path",
        ["EVENTBUS_TLS_CERT"] = "EventBus:Tls:CertificatePath",
        ["EVENTBUS_TLS_KEY"] = "EventBus:Tls:KeyPath",
        ["EVENTBUS_ALLOW_PRIVATE_WEBHOOKS"] = "EventBus:Webhooks:AllowPrivateNetworks",
    };

    private static readonly Dictionary<string, string> SwitchMappings = new(StringComparer.OrdinalIgnoreCase)
    {
        ["--host"] = "EventBus:Host",
        ["--port"] = "EventBus:Port",
        ["--db"] = "EventBus:Store:Path",
        ["--tls-cert"] = "EventBus:Tls:CertificatePath",
        ["--tls-key"] = "EventBus:Tls:KeyPath",
    };

    /// <summary>
    /// appsettings.json &lt; <c>EventBus__*</c> environment variables &lt;
    /// <c>EVENTBUS_HOST/PORT/DB/TLS_CERT/TLS_KEY/ALLOW_PRIVATE_WEBHOOKS</c> &lt; the command line (<c>--host</c>,
    /// <c>--port</c>, <c>--db</c>, <c>--tls-cert</c>, <c>--tls-key</c>, or any <c>--EventBus:Key=value</c>).
    /// </summary>
    /// <summary>Bare flags (no value) become key=value pairs the configuration reader understands.</summary>
    public static string[] NormalizeArguments(string[] args) =>
        [.. args.Select(a => a == "--insecure-no-auth" ? "--EventBus:InsecureNoAuth=true" : a)];

    public static void AddEventBusSources(this ConfigurationManager configuration, string[] args)
    {
        var shortcuts = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var (variable, key) in EnvironmentShortcuts)
        {
            if (Environment.GetEnvironmentVariable(variable) is { Length: > 0 } value)
            {
                shortcuts[key] = value;
            }
        }

        configuration.AddInMemoryCollection(shortcuts);
        configuration.AddCommandLine(NormalizeArguments(args), SwitchMappings);
    }
}
