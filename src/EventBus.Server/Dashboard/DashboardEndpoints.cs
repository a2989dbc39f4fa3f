using System.Collections.Frozen;
using System.Reflection;
using System.Security.Cryptography;
using Microsoft.Net.Http.Headers;

namespace EventBus.Server.Dashboard;

/// <summary>
/// The live dashboard at <c>/</c>: static files embedded in this assembly (<c>Dashboard/wwwroot</c>), so it works offline
/// and needs no build step or CDN. The page talks only to <c>/api/v1</c>; nothing here reads bus data.
/// </summary>
internal static class DashboardEndpoints
{
    private const string ResourcePrefix = "dashboard/";

    /// <summary>Scripts and styles from this bus only; the API on the same origin; no framing.</summary>
    private const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
        "manifest-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    private static readonly FrozenDictionary<string, string> ContentTypes = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        [".html"] = "text/html; charset=utf-8",
        [".js"] = "text/javascript; charset=utf-8",
        [".css"] = "text/css; charset=utf-8",
        [".svg"] = "image/svg+xml",
        [".png"] = "image/png",
        [".json"] = "application/json",
    }.ToFrozenDictionary(StringComparer.Ordinal);

    /// <summary>Loads the embedded files once.</summary>
    public static IServiceCollection AddDashboard(this IServiceCollection services) =>
        services.AddSingleton(_ => DashboardFiles.Load(typeof(DashboardEndpoints).Assembly));

    /// <summary>Maps <c>/</c> (the page) and <c>/dashboard/{file}</c> (its scripts and styles).</summary>
    public static IEndpointRouteBuilder MapDashboard(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/", (HttpContext context, DashboardFiles files) => Serve(context, files, "index.html"))
            .WithName("Dashboard").ExcludeFromDescription();
        endpoints.MapGet("/dashboard/{*path}", (HttpContext context, DashboardFiles files, string path) => Serve(context, files, path))
            .WithName("DashboardAsset").ExcludeFromDescription();
        return endpoints;
    }

    private static IResult Serve(HttpContext context, DashboardFiles files, string path)
    {
        if (!files.TryGet(path, out var file))
        {
            return Results.NotFound();
        }

        var headers = context.Response.Headers;
        headers.CacheControl = "no-cache";
        headers.ETag = file.ETag;
        headers.XContentTypeOptions = "nosniff";
        headers["Referrer-Policy"] = "no-referrer";
        headers.ContentSecurityPolicy = ContentSecurityPolicy;
        headers.XFrameOptions = "DENY";
        if (context.Request.Headers.IfNoneMatch == file.ETag)
        {
            return Results.StatusCode(StatusCodes.Status304NotModified);
        }

        return Results.Bytes(file.Content, file.ContentType);
    }

    /// <summary>One embedded file, its type and its entity tag.</summary>
    internal sealed record DashboardFile(byte[] Content, string ContentType, string ETag);

    /// <summary>The embedded files by path (<c>index.html</c>, <c>js/app.js</c>).</summary>
    internal sealed class DashboardFiles(FrozenDictionary<string, DashboardFile> files)
    {
        public bool TryGet(string path, out DashboardFile file) => files.TryGetValue(path, out file!);

        public static DashboardFiles Load(Assembly assembly)
        {
            var files = new Dictionary<string, DashboardFile>(StringComparer.Ordinal);
            foreach (var name in assembly.GetManifestResourceNames().Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal)))
            {
                using var stream = assembly.GetManifestResourceStream(name)!;
                using var copy = new MemoryStream();
                stream.CopyTo(copy);
                var content = copy.ToArray();
                var path = name[ResourcePrefix.Length..].Replace('\\', '/');
                var type = ContentTypes.GetValueOrDefault(Path.GetExtension(path), "application/octet-stream");
                var etag = new EntityTagHeaderValue($"\"{Convert.ToHexStringLower(SHA256.HashData(content))[..16]}\"").ToString();
                files[path] = new DashboardFile(content, type, etag);
            }

            return new DashboardFiles(files.ToFrozenDictionary(StringComparer.Ordinal));
        }
    }
}
