using System.Xml.Linq;
using Dapper;
using Microsoft.AspNetCore.DataProtection.Repositories;

namespace EventBus.Postgres;

/// <summary>
/// The Data Protection key ring that encrypts webhook secrets, kept in the database (<c>dataprotection_keys</c>) so
/// every node decrypts what any node encrypted. Its protection is the database's: whoever can read the database
/// can read the keys, as with the SQLite store's key folder beside the file.
/// </summary>
internal sealed class PostgresKeyRepository(PostgresDatabase database) : IXmlRepository
{
    public IReadOnlyCollection<XElement> GetAllElements()
    {
        // Data Protection asks synchronously, once per key-ring refresh (about daily), not per request.
        var rows = database.ReadAsync(c => c.QueryAsync<string>("SELECT xml FROM dataprotection_keys ORDER BY friendly_name"))
            .GetAwaiter().GetResult();
        return rows.Select(XElement.Parse).ToList();
    }

    public void StoreElement(XElement element, string friendlyName) =>
        database.ReadAsync(c => c.ExecuteAsync(
                "INSERT INTO dataprotection_keys (friendly_name, xml) VALUES (@Name, @Xml) ON CONFLICT (friendly_name) DO NOTHING",
                new { Name = friendlyName, Xml = element.ToString(SaveOptions.DisableFormatting) }))
            .GetAwaiter().GetResult();
}
