using Npgsql;

namespace EventBus.Postgres;

/// <summary>
/// A <c>postgres://user:password@host:port/database</c> URL as an Npgsql connection string; extra Npgsql settings ride
/// in the query string (<c>?Timeout=5&amp;SSL+Mode=Require</c>).
/// </summary>
public static class PostgresUrl
{
    /// <summary>Parses <paramref name="url"/>; throws <see cref="FormatException"/> naming what is wrong.</summary>
    public static NpgsqlConnectionStringBuilder Parse(string url)
    {
        if (!PostgresStoreOptions.IsPostgresUrl(url) || !Uri.TryCreate(url, UriKind.Absolute, out var uri) || string.IsNullOrEmpty(uri.Host))
        {
            throw new FormatException($"\"{Redact(url)}\" is not a postgres://user:password@host:port/database URL.");
        }

        var database = Uri.UnescapeDataString(uri.AbsolutePath.Trim('/'));
        if (database.Length == 0)
        {
            throw new FormatException($"\"{Redact(url)}\" names no database (postgres://user:password@host:port/DATABASE).");
        }

        var builder = new NpgsqlConnectionStringBuilder
        {
            Host = uri.Host.Trim('[', ']'),
            Port = uri.IsDefaultPort || uri.Port < 0 ? 5432 : uri.Port,
            Database = database,
            // A database that is down makes a publish fail within seconds, not hang.
            Timeout = 5,
            CommandTimeout = 30,
            NoResetOnClose = true,
            // Statements run thousands of times a second (the relay's read, session lookups) are prepared once per
            // connection. Behind PgBouncer in transaction mode that needs PgBouncer 1.21+ (max_prepared_statements);
            // "?Max+Auto+Prepare=0" turns it off.
            MaxAutoPrepare = 64,
        };
        if (uri.UserInfo.Length > 0)
        {
            var colon = uri.UserInfo.IndexOf(':', StringComparison.Ordinal);
            builder.Username = Uri.UnescapeDataString(colon < 0 ? uri.UserInfo : uri.UserInfo[..colon]);
            if (colon >= 0)
            {
                builder.Password = Uri.UnescapeDataString(uri.UserInfo[(colon + 1)..]);
            }
        }

        foreach (var pair in uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = pair.IndexOf('=', StringComparison.Ordinal);
            var key = Uri.UnescapeDataString((eq < 0 ? pair : pair[..eq]).Replace('+', ' '));
            var value = eq < 0 ? "true" : Uri.UnescapeDataString(pair[(eq + 1)..].Replace('+', ' '));
            try
            {
                builder[key] = value;
            }
            catch (ArgumentException ex)
            {
                throw new FormatException($"the URL's setting \"{key}\" is not an Npgsql connection setting: {ex.Message}", ex);
            }
        }

        return builder;
    }

    /// <summary>host:port/database, never the password: for messages.</summary>
    public static string Describe(NpgsqlConnectionStringBuilder builder) => $"{builder.Host}:{builder.Port}/{builder.Database}";

    /// <summary>The URL with its password replaced by ***.</summary>
    public static string Redact(string url)
    {
        var at = url.IndexOf('@', StringComparison.Ordinal);
        var scheme = url.IndexOf("://", StringComparison.Ordinal);
        if (at < 0 || scheme < 0)
        {
            return url;
        }

        var colon = url.IndexOf(':', scheme + 3);
        return colon > 0 && colon < at ? url[..(colon + 1)] + "***" + url[at..] : url;
    }
}
