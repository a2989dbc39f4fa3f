using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using EventBus.Server.Hosting;
using EventBus.Server.Tests.Support;

namespace EventBus.Server.Tests;

/// <summary>HTTPS from PEM files (<c>EventBus:Tls</c>), for a network bind not behind a TLS proxy.</summary>
public sealed class TlsTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "eventbus-tests", "tls-" + Guid.NewGuid().ToString("N"));

    public TlsTests() => Directory.CreateDirectory(_directory);

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task WithAPemCertificateAndKey_TheServerSpeaksHttpsOnly_ForMcpAndTheApi()
    {
        var (certificatePath, keyPath, thumbprint) = WriteSelfSigned(separateKey: true);
        await using var host = await BusHost.StartAsync(false, "--tls-cert", certificatePath, "--tls-key", keyPath);
        host.BaseUri.Scheme.Should().Be("https");

        using var https = TrustingOnly(thumbprint, host.BaseUri);
        var health = JsonDocument.Parse(await https.GetStringAsync("/health")).RootElement;
        health.GetProperty("status").GetString().Should().Be("ok");

        using var initialize = new HttpRequestMessage(HttpMethod.Post, "/mcp")
        {
            Content = new StringContent(
                """{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"tls","version":"1"}}}""",
                Encoding.UTF8, "application/json"),
        };
        initialize.Headers.Accept.ParseAdd("application/json, text/event-stream");
        using var reply = await https.SendAsync(initialize);
        reply.StatusCode.Should().Be(HttpStatusCode.OK);
        (await BusHost.FirstDataAsync(reply)).GetProperty("result").GetProperty("serverInfo").GetProperty("name").GetString().Should().Be("eventbus");

        // Plain HTTP on the same port gets no answer a client could mistake for the bus.
        using var plain = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{host.BaseUri.Port}"), Timeout = TestTimeouts.Default };
        var act = () => plain.GetStringAsync("/health");
        await act.Should().ThrowAsync<HttpRequestException>();
    }

    [Fact]
    public async Task ACertificateFileHoldingTheKeyToo_IsEnough()
    {
        var (certificatePath, _, thumbprint) = WriteSelfSigned(separateKey: false);
        await using var host = await BusHost.StartAsync(false, "--EventBus:Tls:CertificatePath=" + certificatePath);
        using var https = TrustingOnly(thumbprint, host.BaseUri);
        (await https.GetAsync("/health")).StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public void BadTlsSettings_StopStartupWithAMessageNamingTheSettingAndTheFile()
    {
        var (certificatePath, keyPath, _) = WriteSelfSigned(separateKey: true);
        var missing = Path.Combine(_directory, "missing.pem");
        var garbage = Path.Combine(_directory, "garbage.pem");
        File.WriteAllText(garbage, "-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n");
        var db = Path.Combine(_directory, "unused.db");

        Build("--tls-cert", missing).Should().Throw<ConfigurationException>()
            .WithMessage($"EventBus:Tls:CertificatePath: no such file \"{missing}\".");
        Build("--tls-cert", certificatePath, "--tls-key", missing).Should().Throw<ConfigurationException>()
            .WithMessage($"EventBus:Tls:KeyPath: no such file \"{missing}\".");
        Build("--tls-key", keyPath).Should().Throw<ConfigurationException>()
            .WithMessage("*EventBus:Tls:KeyPath is set but EventBus:Tls:CertificatePath is not*");
        Build("--tls-cert", garbage, "--tls-key", keyPath).Should().Throw<ConfigurationException>()
            .WithMessage($"EventBus:Tls: cannot load the certificate {garbage} with the key {keyPath}: *");
        Build("--tls-cert", certificatePath).Should().Throw<ConfigurationException>()
            .WithMessage($"EventBus:Tls: {certificatePath} has no private key*");

        Func<object> Build(params string[] args) => () => EventBusApp.Build([.. args, "--db", db]);
    }

    /// <summary>A self-signed certificate for 127.0.0.1 and localhost, as PEM: the certificate, and its key.</summary>
    private (string Certificate, string Key, string Thumbprint) WriteSelfSigned(bool separateKey)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=eventbus-test", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        names.AddDnsName("localhost");
        request.CertificateExtensions.Add(names.Build());
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        var certificatePath = Path.Combine(_directory, Guid.NewGuid().ToString("N") + "-cert.pem");
        var keyPath = Path.Combine(_directory, Guid.NewGuid().ToString("N") + "-key.pem");
        File.WriteAllText(certificatePath, certificate.ExportCertificatePem() + "\n" + (separateKey ? "" : key.ExportPkcs8PrivateKeyPem()));
        File.WriteAllText(keyPath, key.ExportPkcs8PrivateKeyPem());
        return (certificatePath, keyPath, certificate.Thumbprint);
    }

    /// <summary>A client that accepts exactly this certificate (as a client configured to trust it would).</summary>
    private static HttpClient TrustingOnly(string thumbprint, Uri baseUri) => new(new HttpClientHandler
    {
        ServerCertificateCustomValidationCallback = (_, certificate, _, _) => certificate?.Thumbprint == thumbprint,
    })
    {
        BaseAddress = baseUri,
        Timeout = TestTimeouts.Default,
    };
}
