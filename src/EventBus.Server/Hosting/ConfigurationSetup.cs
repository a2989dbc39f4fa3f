namespace EventBus.Server.Hosting;

/// <summary>Where configuration comes from, in rising precedence.</summary>
internal static class ConfigurationSetup
{
    private static readonly Dictionary<string, string> EnvironmentShortcuts = new(StringComparer.Ordinal)
    {
        ["EVENTBUS_HOST"] = "EventBus:Host",
        ["EVENTBUS_PORT"] = "EventBus:Port",
        ["EVENTBUS_DB"] = "EventBus:Store:Path",
        ["EVENTBUS_ALLOW_PRIVATE_WEBHOOKS"] = "EventBus:Webhooks:AllowPrivateNetworks",
    };

    private static readonly Dictionary<string, string> SwitchMappings = new(StringComparer.OrdinalIgnoreCase)
    {
        ["--host"] = "EventBus:Host",
        ["--port"] = "EventBus:Port",
        ["--db"] = "EventBus:Store:Path",
    };

    /// <summary>
    /// appsettings.json &lt; <c>EventBus__*</c> environment variables &lt; <c>EVENTBUS_HOST/PORT/DB/ALLOW_PRIVATE_WEBHOOKS</c> &lt; the command line
    /// (<c>--host</c>, <c>--port</c>, <c>--db</c>, or any <c>--EventBus:Key=value</c>).
    /// </summary>
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
        configuration.AddCommandLine(args, SwitchMappings);
    }
}
