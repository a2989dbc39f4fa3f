using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using EventBus.Core.Store;
using EventBus.Server.Health;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;
using ILogger = Microsoft.Extensions.Logging.ILogger;

namespace EventBus.Server.Hosting;

/// <summary>Builds and runs the EventBus host; tests use the same path with their own arguments.</summary>
public static partial class EventBusApp
{
    /// <summary>Builds the host. Throws <see cref="ConfigurationException"/> for bad configuration.</summary>
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        args = ConfigurationSetup.NormalizeArguments(args);
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = args,
            // appsettings.json ships beside the binary, wherever it is started from.
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Configuration.AddEventBusSources(args);
        var options = ReadServerOptions(builder.Configuration);

        builder.AddEventBusLogging(options);
        builder.Services.AddEventBus(builder.Configuration);
        var certificate = options.Tls.Enabled ? LoadCertificate(options.Tls) : null;
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = options.MaxRequestBodyBytes;
            Limits.KestrelLimits.Apply(kestrel.Limits, options.Limits);
            void Endpoint(Microsoft.AspNetCore.Server.Kestrel.Core.ListenOptions listen)
            {
                if (certificate is not null)
                {
                    listen.UseHttps(certificate);
                }
            }

            if (options.Host.Equals("localhost", StringComparison.OrdinalIgnoreCase))
            {
                kestrel.ListenLocalhost(options.Port, Endpoint);
            }
            else
            {
                kestrel.Listen(IPAddress.Parse(options.Host), options.Port, Endpoint);
            }
        });
        configure?.Invoke(builder);

        var app = builder.Build();
        try
        {
            // Every option registered with ValidateOnStart (the store's too) is checked now, so a bad value stops the
            // build with a message naming the setting, as the server's own options do.
            app.Services.GetService<IStartupValidator>()?.Validate();
        }
        catch (Exception ex) when (ex is OptionsValidationException or InvalidOperationException)
        {
            throw new ConfigurationException(Describe(ex), ex);
        }

        app.UseEventBusRequestLog(options);
        app.MapEventBus();
        return app;
    }

    /// <summary>Opens the store (migrating it), starts listening, and logs where.</summary>
    public static async Task StartEventBusAsync(this WebApplication app, CancellationToken cancellationToken = default)
    {
        var store = app.Services.GetRequiredService<IEventStore>();
        var storeDescriptor = app.Services.GetRequiredService<StoreDescriptor>();
        try
        {
            await store.InitializeAsync(cancellationToken);
            app.Services.GetRequiredService<Core.Events.CommitSignal>().Notify(await store.GetTipAsync(cancellationToken));
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            throw new ConfigurationException($"cannot open the database {storeDescriptor.Location}: {ex.Message}", ex);
        }

        var options = app.Services.GetRequiredService<IOptions<ServerOptions>>().Value;
        var usableTokens = await app.Services.GetRequiredService<Core.Security.ITokenStore>()
            .CountUsableTokensAsync(app.Services.GetRequiredService<TimeProvider>().GetUtcNow(), cancellationToken);
        if (!options.IsLoopback && usableTokens == 0 && !options.InsecureNoAuth)
        {
            throw new ConfigurationException(
                $"EventBus:Host is {options.Host}, a network address, and {storeDescriptor.Location} holds no usable access token: anyone " +
                "who can reach the port could read every message and act as any session. Create a token on this machine first " +
                $"(`eventbus token create --name laptop --scope admin --db {storeDescriptor.Location}`), then start again; or pass " +
                "--insecure-no-auth to serve without authentication anyway.");
        }

        try
        {
            await app.StartAsync(cancellationToken);
        }
        catch (IOException ex)
        {
            throw new ConfigurationException(
                $"cannot listen on {options.Host}:{options.Port}: {ex.Message} Is another EventBus running? Pick another port with --port or EVENTBUS_PORT.", ex);
        }

        var state = await store.GetStateAsync(cancellationToken);
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("EventBus");
        LogStarted(logger, HealthEndpoints.Version, string.Join(", ", ListeningUrls(app)), state.Location, state.SchemaVersion, state.Tip);
        if (!options.IsLoopback && usableTokens > 0)
        {
            var url = ListeningUrls(app).FirstOrDefault() ?? $"http://{options.Host}:{options.Port}";
            LogNetwork(logger, usableTokens, url.Replace("0.0.0.0", "<this-host>", StringComparison.Ordinal).Replace("[::]", "<this-host>", StringComparison.Ordinal));
        }
    }

    /// <summary>The base URLs the server listens on for HTTP (with the real port when 0 was asked for); not the MQTT port.</summary>
    public static IReadOnlyList<string> ListeningUrls(WebApplication app)
    {
        var mqttPort = app.Services.GetService<Mqtt.Endpoint.MqttEndpointState>()?.TcpPort;
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
        return addresses.Where(a => mqttPort is not { } port || !a.EndsWith($":{port}", StringComparison.Ordinal)).ToList();
    }

    /// <summary>The process entry point: returns 0 on a clean stop, 2 for bad configuration.</summary>
    public static async Task<int> RunAsync(string[] args)
    {
        WebApplication app;
        try
        {
            app = Build(args);
        }
        catch (ConfigurationException ex)
        {
            await Console.Error.WriteLineAsync($"eventbus: configuration error: {ex.Message}");
            return 2;
        }

        await using (app)
        {
            try
            {
                await app.StartEventBusAsync();
            }
            catch (Exception ex) when (ex is ConfigurationException or OptionsValidationException)
            {
                await Console.Error.WriteLineAsync($"eventbus: {Describe(ex)}");
                return 2;
            }

            await app.WaitForShutdownAsync();
            return 0;
        }
    }

    private static ServerOptions ReadServerOptions(IConfiguration configuration)
    {
        try
        {
            var options = configuration.GetSection("EventBus").Get<ServerOptions>() ?? new ServerOptions();
            var bus = configuration.GetSection("EventBus").Get<Core.Bus.BusOptions>() ?? new Core.Bus.BusOptions();
            var mcp = configuration.GetSection("EventBus:Mcp").Get<Mcp.McpHttpOptions>() ?? new Mcp.McpHttpOptions();
            var result = new ServerOptionsValidator(Options.Create(bus), Options.Create(mcp)).Validate(null, options);
            if (result.Failed)
            {
                throw new ConfigurationException(string.Join(" ", result.Failures));
            }

            return options;
        }
        catch (InvalidOperationException ex)
        {
            // Binding failures: "Failed to convert configuration value 'abc' at 'EventBus:Port' to type 'System.Int32'."
            throw new ConfigurationException(ex.Message, ex);
        }
    }

    /// <summary>The PEM certificate and key, checked now so that a bad file stops the start with a clear message.</summary>
    private static X509Certificate2 LoadCertificate(TlsOptions tls)
    {
        var certificatePath = tls.CertificatePath!;
        if (!File.Exists(certificatePath))
        {
            throw new ConfigurationException($"EventBus:Tls:CertificatePath: no such file \"{certificatePath}\".");
        }

        if (tls.KeyPath is { Length: > 0 } keyPath && !File.Exists(keyPath))
        {
            throw new ConfigurationException($"EventBus:Tls:KeyPath: no such file \"{keyPath}\".");
        }

        if (string.IsNullOrEmpty(tls.KeyPath) && !File.ReadAllText(certificatePath).Contains("PRIVATE KEY", StringComparison.Ordinal))
        {
            throw new ConfigurationException(
                $"EventBus:Tls: {certificatePath} has no private key: set EventBus:Tls:KeyPath to the key's PEM file.");
        }

        try
        {
            var certificate = X509Certificate2.CreateFromPemFile(certificatePath, string.IsNullOrEmpty(tls.KeyPath) ? null : tls.KeyPath);

            if (certificate.NotAfter.ToUniversalTime() < TimeProvider.System.GetUtcNow().UtcDateTime)
            {
                throw new ConfigurationException($"EventBus:Tls: the certificate in {certificatePath} expired on {certificate.NotAfter:u}.");
            }

            return certificate;
        }
        catch (Exception ex) when (ex is CryptographicException or ArgumentException)
        {
            throw new ConfigurationException(
                $"EventBus:Tls: cannot load the certificate {certificatePath}{(tls.KeyPath is { Length: > 0 } k ? $" with the key {k}" : "")}: {ex.Message}", ex);
        }
    }

    private static string Describe(Exception ex) => ex is OptionsValidationException v ? string.Join(" ", v.Failures) : ex.Message;

    [LoggerMessage(EventId = 2, Level = LogLevel.Information,
        Message = "Tokens required ({Count} usable). On another machine: claude mcp add --transport http eventbus {Url}/mcp --header \"Authorization: Bearer <token>\" (new token: eventbus token create --name <name> --scope publish)")]
    private static partial void LogNetwork(ILogger logger, int count, string url);

    [LoggerMessage(EventId = 1, Level = LogLevel.Information,
        Message = "EventBus {Version} listening on {Urls} (MCP at /mcp); database {Database} (schema v{Schema}, last event id {Tip})")]
    private static partial void LogStarted(ILogger logger, string version, string urls, string database, int schema, long tip);
}

/// <summary>A setting or resource the server cannot start with; the message names it.</summary>
public sealed class ConfigurationException(string message, Exception? inner = null) : Exception(message, inner);
