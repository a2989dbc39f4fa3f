using System.Net.Http.Headers;
using System.Text;
using EventBus.Core.Security;
using EventBus.Server.Security;
using EventBus.Server.Tests.Support;
using ModelContextProtocol.Client;

namespace EventBus.Server.Tests.Security;

/// <summary>Access tokens made straight in the host's store, and clients that carry them.</summary>
internal static class TokenClients
{
    /// <summary>Creates a token and returns its secret; the host counts it at once.</summary>
    public static async Task<string> CreateTokenAsync(
        this BusHost host, string name, TokenScope scope, DateTimeOffset? expires = null, string? pattern = null)
    {
        var secret = TokenSecrets.NewSecret();
        await host.Service<ITokenStore>().CreateTokenAsync(
            new AccessToken(TokenSecrets.NewId(), name, TokenSecrets.Hash(secret), scope, pattern, DateTimeOffset.UtcNow, expires, null),
            TestTimeouts.Token());
        host.Service<TokenAuthenticator>().Invalidate();
        return secret;
    }

    /// <summary>A new token and an MCP client connected with it.</summary>
    public static async Task<(McpClient Client, string Secret)> ConnectWithTokenAsync(this BusHost host, string name, TokenScope scope)
    {
        var secret = await host.CreateTokenAsync(name, scope);
        return (await host.ConnectAsync(token: secret), secret);
    }

    /// <summary>An HTTP client for the REST API that sends the token.</summary>
    public static HttpClient Api(this BusHost host, string secret)
    {
        var http = new HttpClient { BaseAddress = host.BaseUri, Timeout = TestTimeouts.Default };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", secret);
        return http;
    }

    /// <summary>A session-less <c>tools/call</c> (as the old CLI sends it) with the token; returns the tool's result or error text.</summary>
    public static async Task<(bool IsError, System.Text.Json.JsonElement Result, string Text)> CallStatelessAsync(
        this BusHost host, string secret, string tool, string arguments)
    {
        using var response = await host.PostAsync(
            $$$"""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"{{{tool}}}","arguments":{{{arguments}}}}}""",
            adjust: r => r.Headers.Authorization = new AuthenticationHeaderValue("Bearer", secret));
        var data = await BusHost.FirstDataAsync(response);
        var result = data.GetProperty("result");
        var isError = result.TryGetProperty("isError", out var e) && e.GetBoolean();
        return (isError, result.GetProperty("structuredContent").GetProperty("result"), result.GetProperty("content")[0].GetProperty("text").GetString()!);
    }

    public static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");
}
