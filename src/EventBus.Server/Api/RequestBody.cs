namespace EventBus.Server.Api;

/// <summary>Reads a whole request body, up to a limit: the one reader behind REST publishes and ingest.</summary>
internal static class RequestBody
{
    /// <summary>
    /// The body's bytes, or null when it is larger than <paramref name="limit"/> or than Kestrel's request body limit
    /// (<c>EventBus:MaxRequestBodyBytes</c>). The bytes are not checked here: ingest authenticates them (a signature
    /// covers the exact bytes) before their text is checked.
    /// </summary>
    public static async Task<byte[]?> ReadAsync(HttpRequest request, long limit, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        // Pooled, as Stream.CopyToAsync's buffer is: this runs for every REST publish.
        var chunk = System.Buffers.ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            int read;
            while ((read = await request.Body.ReadAsync(chunk, cancellationToken)) > 0)
            {
                buffer.Write(chunk, 0, read);
                if (buffer.Length > limit)
                {
                    return null;
                }
            }
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return null;
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(chunk);
        }

        return buffer.ToArray();
    }
}
