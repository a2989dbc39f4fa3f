using System.Text;
using Microsoft.AspNetCore.DataProtection;

namespace EventBus.Server.Webhooks;

/// <summary>
/// Encrypts webhook secrets for the database with ASP.NET Core Data Protection, whose keys live in a folder outside
/// the database (<see cref="WebhookOptions.KeysPath"/>): a copy of the database file alone does not reveal them.
/// </summary>
internal sealed class WebhookSecrets(IDataProtectionProvider provider)
{
    private readonly IDataProtector _protector = provider.CreateProtector("EventBus.Webhooks.Secret.v1");

    public byte[] Protect(string secret) => _protector.Protect(Encoding.UTF8.GetBytes(secret));

    public string Unprotect(byte[] protectedSecret) => Encoding.UTF8.GetString(_protector.Unprotect(protectedSecret));
}
