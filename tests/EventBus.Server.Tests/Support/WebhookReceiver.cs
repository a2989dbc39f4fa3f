using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace EventBus.Server.Tests.Support;

/// <summary>One request a <see cref="WebhookReceiver"/> got, and what it answered.</summary>
internal sealed record ReceivedRequest(string Path, IReadOnlyDictionary<string, string> Headers, byte[] Body, int AnsweredStatus)
{
    public string Header(string name) => Headers.TryGetValue(name.ToLowerInvariant(), out var value) ? value : "";

    public System.Text.Json.JsonElement Json => System.Text.Json.JsonDocument.Parse(Body).RootElement;
}

/// <summary>What the receiver answers: a status, extra headers, and a body (default: "ok", or "receiver says no" for 4xx/5xx).</summary>
internal readonly record struct ReceiverAnswer(int Status, IReadOnlyDictionary<string, string>? Headers = null, string? Body = null);

/// <summary>A real HTTP receiver: Kestrel on a free loopback port, recording every request and answering as told.</summary>
internal sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly List<ReceivedRequest> _requests = [];
    private readonly Lock _lock = new();
    private TaskCompletionSource _arrived = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private WebhookReceiver(WebApplication app, Uri baseUri)
    {
        _app = app;
        BaseUri = baseUri;
    }

    public Uri BaseUri { get; }

    /// <summary>Decides the answer to each request (given the request and how many came before it on its path). Default: 200.</summary>
    public Func<ReceivedRequest, int, ReceiverAnswer> Respond { get; set; } = (_, _) => new ReceiverAnswer(200);

    public IReadOnlyList<ReceivedRequest> Requests
    {
        get
        {
            lock (_lock)
            {
                return _requests.ToList();
            }
        }
    }

    public string Url(string path = "/hook") => new Uri(BaseUri, path).ToString();

    public static async Task<WebhookReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        WebhookReceiver? receiver = null;
        app.Run(async context => await receiver!.HandleAsync(context));
        await app.StartAsync(TestTimeouts.Token());
        var address = app.Urls.Single();
        receiver = new WebhookReceiver(app, new Uri(address));
        return receiver;
    }

    /// <summary>Waits until at least <paramref name="count"/> requests have arrived (on <paramref name="path"/> if given).</summary>
    public async Task<IReadOnlyList<ReceivedRequest>> WaitForAsync(int count, string? path = null)
    {
        IReadOnlyList<ReceivedRequest> matching = [];
        await WaitUntilAsync(requests => (matching = requests.Where(r => path is null || r.Path == path).ToList()).Count >= count);
        return matching;
    }

    /// <summary>Waits until the requests received so far satisfy <paramref name="condition"/>, checking as each arrives.</summary>
    public async Task WaitUntilAsync(Func<IReadOnlyList<ReceivedRequest>, bool> condition)
    {
        using var deadline = new CancellationTokenSource(TestTimeouts.Default);
        while (true)
        {
            Task next;
            lock (_lock)
            {
                if (condition(_requests))
                {
                    return;
                }

                next = _arrived.Task;
            }

            await next.WaitAsync(deadline.Token);
        }
    }

    private async Task HandleAsync(HttpContext context)
    {
        using var body = new MemoryStream();
        await context.Request.Body.CopyToAsync(body);
        var headers = context.Request.Headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value.ToString());
        var path = context.Request.Path.ToString();
        var probe = new ReceivedRequest(path, headers, body.ToArray(), 0);
        int before;
        lock (_lock)
        {
            before = _requests.Count(r => r.Path == path);
        }

        var answer = Respond(probe, before);
        context.Response.StatusCode = answer.Status;
        foreach (var (name, value) in answer.Headers ?? new Dictionary<string, string>())
        {
            context.Response.Headers[name] = value;
        }

        lock (_lock)
        {
            _requests.Add(probe with { AnsweredStatus = answer.Status });
            Interlocked.Exchange(ref _arrived, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
        }

        await context.Response.WriteAsync(answer.Body ?? (answer.Status >= 400 ? "receiver says no" : "ok"));
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync(TestTimeouts.Token());
        await _app.DisposeAsync();
    }
}
