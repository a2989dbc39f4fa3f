using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace EventBus.Core.Webhooks;

/// <summary>
/// The two signatures a delivery carries, and the verification of the ones senders put on ingested requests.
/// <list type="bullet">
/// <item>Standard Webhooks: <c>webhook-signature: v1,&lt;base64 HMAC-SHA256 over "{id}.{timestamp}.{body}"&gt;</c>, keyed
/// with the base64-decoded part of a <c>whsec_</c> secret (the UTF-8 bytes of any other secret).</item>
/// <item>The old bus's <c>X-Event-Bus-Signature: sha256=&lt;hex HMAC-SHA256 of the body&gt;</c>, keyed with the secret
/// string's UTF-8 bytes; GitHub's <c>X-Hub-Signature-256</c> is the same construction.</item>
/// </list>
/// </summary>
public static class WebhookSignatures
{
    /// <summary>The prefix of a Standard Webhooks secret.</summary>
    public const string SecretPrefix = "whsec_";

    /// <summary>A new secret: <c>whsec_</c> + base64 of 32 random bytes.</summary>
    public static string GenerateSecret() => SecretPrefix + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    /// <summary>The HMAC key of the Standard Webhooks signature for <paramref name="secret"/>.</summary>
    public static byte[] StandardKey(string secret)
    {
        if (secret.StartsWith(SecretPrefix, StringComparison.Ordinal))
        {
            var encoded = secret[SecretPrefix.Length..];
            var buffer = new byte[encoded.Length];
            if (Convert.TryFromBase64String(encoded, buffer, out var written) && written > 0)
            {
                return buffer[..written];
            }
        }

        return Encoding.UTF8.GetBytes(secret);
    }

    /// <summary>The <c>webhook-signature</c> header value: <c>v1,&lt;base64&gt;</c>.</summary>
    public static string Standard(byte[] key, string id, long timestamp, ReadOnlySpan<byte> body)
    {
        var prefix = Encoding.UTF8.GetBytes(id + "." + timestamp.ToString(CultureInfo.InvariantCulture) + ".");
        var content = new byte[prefix.Length + body.Length];
        prefix.CopyTo(content, 0);
        body.CopyTo(content.AsSpan(prefix.Length));
        return "v1," + Convert.ToBase64String(HMACSHA256.HashData(key, content));
    }

    /// <summary>The old <c>X-Event-Bus-Signature</c> (and GitHub <c>X-Hub-Signature-256</c>) value: <c>sha256=&lt;hex&gt;</c>.</summary>
    public static string Sha256Hex(string secret, ReadOnlySpan<byte> body) =>
        "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body));

    /// <summary>
    /// Checks a <c>sha256=&lt;hex&gt;</c> header (GitHub's <c>X-Hub-Signature-256</c>) against the body, in constant time.
    /// </summary>
    public static bool VerifySha256Hex(string secret, string? header, ReadOnlySpan<byte> body)
    {
        if (header is null || !header.StartsWith("sha256=", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        var expected = Encoding.ASCII.GetBytes(Sha256Hex(secret, body));
        var given = Encoding.ASCII.GetBytes("sha256=" + header["sha256=".Length..].Trim().ToLowerInvariant());
        return CryptographicOperations.FixedTimeEquals(expected, given);
    }

    /// <summary>
    /// Checks Standard Webhooks headers: the timestamp within <paramref name="tolerance"/> of <paramref name="now"/>
    /// (replays of old requests fail), and any <c>v1,</c> entry of the space-separated signature list matching.
    /// </summary>
    public static bool VerifyStandard(
        string secret, string? id, string? timestamp, string? signatures, ReadOnlySpan<byte> body, DateTimeOffset now, TimeSpan tolerance)
    {
        if (string.IsNullOrEmpty(id) || string.IsNullOrEmpty(signatures) ||
            !long.TryParse(timestamp, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
        {
            return false;
        }

        var age = now - DateTimeOffset.FromUnixTimeSeconds(Math.Clamp(seconds, 0, 253_402_300_799));
        if (age.Duration() > tolerance)
        {
            return false;
        }

        var expected = Encoding.ASCII.GetBytes(Standard(StandardKey(secret), id, seconds, body));
        var matched = false;
        foreach (var entry in signatures.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            // Compare every entry (no early exit), in constant time each.
            matched |= CryptographicOperations.FixedTimeEquals(expected, Encoding.ASCII.GetBytes(entry));
        }

        return matched;
    }
}
