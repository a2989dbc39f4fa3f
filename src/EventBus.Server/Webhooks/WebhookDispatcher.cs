using System.Collections.Concurrent;
using System.Text.Json;
using EventBus.Core.Events;
using EventBus.Core.Webhooks;
using Microsoft.Extensions.Options;

namespace EventBus.Server.Webhooks;

/// <summary>
/// Sends the outbox. One lane per active webhook walks its pending deliveries in event order, one request at a time
/// (so a receiver sees events in order), sharing a bound on requests in flight across all lanes. A delivery that failed
/// for a reason that may pass (5xx, 408, 409, 425, 429, a timeout, a connection error) stays at the head of its lane
/// until its next attempt is due (later ones wait behind it); when the schedule is used up it becomes a dead letter and
/// the lane moves on. A permanent rejection (any other 4xx) is a dead letter at once: one event the receiver refuses
/// never holds the ones behind it. Everything a lane knows is in the database: after a restart the
/// lanes pick up exactly where the rows say. Commits wake the lanes whose webhooks got deliveries; time (retry delays,
/// the request timeout) comes from <see cref="TimeProvider"/>. MCP Events subscriptions' lanes add their send-time rules
/// (WebhookDispatcher.Subscriptions.cs).
/// </summary>
internal sealed partial class WebhookDispatcher(
    IWebhookStore store,
    IEventSubscriptionStore subscriptions,
    ISubscriptionDeliveries subscriptionDeliveries,
    DeliverySignal deliveries,
    WebhookSecrets secrets,
    WebhookSender sender,
    TimeProvider time,
    IOptions<WebhookOptions> options,
    ILogger<WebhookDispatcher> logger) : BackgroundService
{
    /// <summary>The channel <c>webhook_disabled</c> events go to.</summary>
    public const string SystemChannel = "system:webhooks";

    private const int BatchSize = 64;

    private static readonly TimeSpan ErrorPause = TimeSpan.FromSeconds(5);
    private readonly ConcurrentDictionary<string, Lane> _lanes = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _inFlight = new(options.Value.MaxConcurrency, options.Value.MaxConcurrency);
    private readonly SemaphoreSlim _refreshLock = new(1, 1);
    private readonly RetrySchedule _schedule = new(options.Value.Jitter);
    private CancellationToken _stopping = CancellationToken.None;

    private IWebhookStore Store => store;

    private IEventSubscriptionStore Subscriptions => subscriptions;

    private ISubscriptionDeliveries SubscriptionDeliveries => subscriptionDeliveries;

    private WebhookSecrets Secrets => secrets;

    private WebhookSender Sender => sender;

    private TimeProvider Time => time;

    private ILogger Logger => logger;

    /// <summary>Webhooks with a running lane (for tests and health).</summary>
    public IReadOnlyCollection<string> ActiveLanes => _lanes.Keys.ToList();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        _stopping = stoppingToken;
        using var wakeStop = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        var waking = WakeOnDeliveriesAsync(wakeStop.Token);
        try
        {
            await RefreshAsync(stoppingToken);
            using var prune = new PeriodicTimer(options.Value.PruneInterval, time);
            while (await prune.WaitForNextTickAsync(stoppingToken))
            {
                await PruneAsync(stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down.
        }
        finally
        {
            await wakeStop.CancelAsync();
            await waking;
            var lanes = _lanes.Values.ToList();
            foreach (var lane in lanes)
            {
                lane.Stop();
            }

            await Task.WhenAll(lanes.Select(l => l.Completion));
        }
    }

    private async Task WakeOnDeliveriesAsync(CancellationToken stopToken)
    {
        try
        {
            while (true)
            {
                Wake(await deliveries.WaitAsync(stopToken));
            }
        }
        catch (OperationCanceledException) when (stopToken.IsCancellationRequested)
        {
            // Shutting down.
        }
    }

    /// <summary>Starts lanes for active webhooks and stops the others; call after any webhook change.</summary>
    public async Task RefreshAsync(CancellationToken cancellationToken)
    {
        if (_stopping.IsCancellationRequested)
        {
            return;
        }

        await _refreshLock.WaitAsync(cancellationToken);
        try
        {
            var active = await store.ListWebhooksAsync(activeOnly: true, cancellationToken);
            var ids = active.Select(w => w.WebhookId).ToHashSet(StringComparer.Ordinal);
            foreach (var (id, lane) in _lanes)
            {
                if (!ids.Contains(id) && _lanes.TryRemove(id, out _))
                {
                    lane.Stop();
                }
            }

            foreach (var webhook in active)
            {
                if (_lanes.ContainsKey(webhook.WebhookId))
                {
                    _lanes[webhook.WebhookId].Wake();
                    continue;
                }

                WebhookTarget target;
                try
                {
                    target = new WebhookTarget(webhook.WebhookId, new Uri(webhook.Url), secrets.Unprotect(webhook.ProtectedSecret))
                    {
                        Subscription = webhook.Subscription,
                    };
                }
                catch (System.Security.Cryptography.CryptographicException ex)
                {
                    // The keys folder was lost or replaced: the secret cannot be read, so nothing can be signed.
                    LogSecretUnreadable(logger, webhook.WebhookId, ex);
                    continue;
                }

                var lane = new Lane(this, target, _stopping);
                _lanes[webhook.WebhookId] = lane;
                lane.Start();
            }
        }
        finally
        {
            _refreshLock.Release();
        }
    }

    /// <summary>
    /// When the webhook's lane will next look at its queue: the due time of the attempt it sleeps for,
    /// <see cref="DateTimeOffset.MaxValue"/> when idle, null when busy or absent. Lets tests move the clock only once
    /// the lane is asleep.
    /// </summary>
    public DateTimeOffset? SleepingUntil(string webhookId) => _lanes.TryGetValue(webhookId, out var lane) ? lane.SleepingUntil : null;

    /// <summary>Raised after a lane records an attempt (its outcome, and a disabling, are stored) and when it falls asleep.</summary>
    public Core.Events.ChangeSignal Changed { get; } = new();

    /// <summary>Wakes the lanes of these webhooks (called by the store's writer after a commit: only signals).</summary>
    public void Wake(IReadOnlyCollection<string> webhookIds)
    {
        foreach (var id in webhookIds)
        {
            if (_lanes.TryGetValue(id, out var lane))
            {
                lane.Wake();
            }
        }
    }

    /// <summary>One prune pass: expired ingest keys, and finished deliveries past their retention.</summary>
    public async Task PruneAsync(CancellationToken cancellationToken)
    {
        try
        {
            var now = time.GetUtcNow();
            await ExpireSubscriptionsAsync(cancellationToken);
            var (keys, deliveries) = await store.PruneAsync(now, now - options.Value.DeliveryRetention, cancellationToken);
            if (keys + deliveries > 0)
            {
                LogPruned(logger, deliveries, keys);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogPruneFailed(logger, ex);
        }
    }

    /// <summary>Runs one attempt of one delivery and records it; returns the recorded outcome.</summary>
    private async Task<(AttemptOutcome Outcome, AttemptResult Result)> AttemptAsync(
        WebhookTarget target, PendingDelivery pending, CancellationToken cancellationToken, SubscriptionSend? send = null)
    {
        var delivery = pending.Delivery;
        var body = send?.Body ?? WebhookPayload.Serialize(pending.Event);
        var messageId = send?.MessageId ?? delivery.MessageId;
        var at = time.GetUtcNow();
        // The attempt continues the trace of the request that published the event (kept with it through the outbox).
        var parent = pending.TraceParent is { } traceParent &&
            System.Diagnostics.ActivityContext.TryParse(traceParent, null, out var published) ? published : default;
        using var activity = Core.Diagnostics.BusTelemetry.Source.StartActivity(
            "eventbus.webhook.attempt", System.Diagnostics.ActivityKind.Client, parent);
        activity?.SetTag("eventbus.webhook_id", target.WebhookId).SetTag("eventbus.event_id", pending.Event.Id)
            .SetTag("eventbus.delivery_id", delivery.DeliveryId);
        SendResult sent;
        await _inFlight.WaitAsync(cancellationToken);
        try
        {
            sent = await sender.SendAsync(target, messageId, body, cancellationToken);
        }
        finally
        {
            _inFlight.Release();
        }

        AttemptOutcome outcome;
        DateTimeOffset? next = null;
        if (sent.Success)
        {
            outcome = AttemptOutcome.Delivered;
        }
        else if (sent.StatusCode == 410)
        {
            outcome = AttemptOutcome.Gone;
        }
        else if (RetrySchedule.IsPermanentRejection(sent.StatusCode))
        {
            outcome = AttemptOutcome.Rejected;
        }
        else if (_schedule.Next(delivery.RetryIndex + 1, sent.RetryAfter) is { } wait)
        {
            outcome = AttemptOutcome.RetryLater;
            next = time.GetUtcNow() + wait;
        }
        else
        {
            outcome = AttemptOutcome.GiveUp;
        }

        var record = new AttemptRecord(delivery.DeliveryId, target.WebhookId, at, sent.StatusCode, sent.Error, sent.DurationMs, outcome, next);
        // Record even when stopping: the request went out, and the log should say so.
        var result = await store.RecordAttemptAsync(record, options.Value.DisableAfter, DisabledEvent, CancellationToken.None);
        Changed.Notify();
        var outcomeName = outcome switch
        {
            AttemptOutcome.Delivered => "delivered",
            AttemptOutcome.Gone => "gone",
            AttemptOutcome.RetryLater => "retry",
            AttemptOutcome.Rejected => "rejected",
            _ => "failed",
        };
        Core.Diagnostics.BusTelemetry.WebhookAttempts.Add(1, new KeyValuePair<string, object?>("outcome", outcomeName));
        activity?.SetTag("http.response.status_code", sent.StatusCode).SetTag("eventbus.outcome", outcomeName);
        if (outcome == AttemptOutcome.Rejected)
        {
            LogRejected(logger, messageId, target.WebhookId, sent.Error ?? "");
        }
        else if (outcome != AttemptOutcome.Delivered)
        {
            LogAttemptFailed(logger, messageId, target.WebhookId, delivery.RetryIndex + 1, sent.Error ?? "", next);
        }

        if (result.Disabled)
        {
            LogDisabled(logger, target.WebhookId, target.Url.ToString(), result.Reason ?? "");
        }

        return (outcome, result);
    }

    private NewEvent DisabledEvent(WebhookDisabling disabling)
    {
        var payload = JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["webhook_id"] = disabling.Webhook.WebhookId,
            ["url"] = disabling.Webhook.Url,
            ["reason"] = disabling.Reason,
            ["failing_since"] = disabling.Webhook.FailingSince is { } since ? Timestamps.ToWire(since) : null,
            ["disabled_at"] = Timestamps.ToWire(disabling.At),
        });
        return new NewEvent(
            "webhook_disabled", payload, "eventbus", disabling.At, SystemChannel, null, SignalLevel.Actionable,
            Truncate($"Webhook {disabling.Webhook.Url} disabled: {disabling.Reason}", Core.Bus.BusOptions.MaxTitleLength),
            ["webhooks"]);
    }

    private static string Truncate(string text, int max) => text.Length <= max ? text : text[..(max - 1)] + "…";

    /// <summary>One webhook's delivery loop.</summary>
    private sealed partial class Lane(WebhookDispatcher owner, WebhookTarget initial, CancellationToken stopping)
    {
        private WebhookTarget target = initial;
        private readonly CancellationTokenSource _cts = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        private TaskCompletionSource _wake = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private DateTimeOffset? _sleepingUntil;

        public DateTimeOffset? SleepingUntil
        {
            get
            {
                lock (this)
                {
                    return _sleepingUntil;
                }
            }

            private set
            {
                lock (this)
                {
                    _sleepingUntil = value;
                }
            }
        }

        public Task Completion { get; private set; } = Task.CompletedTask;

        public void Start() => Completion = Task.Run(RunAsync);

        public void Wake() => Volatile.Read(ref _wake).TrySetResult();

        public void Stop()
        {
            try
            {
                _cts.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // Already finished.
            }
        }

        private async Task RunAsync()
        {
            var ct = _cts.Token;
            try
            {
                while (!ct.IsCancellationRequested)
                {
                    try
                    {
                        await PassAsync(ct);
                    }
                    catch (Exception ex) when (ex is not OperationCanceledException)
                    {
                        LogLaneFailed(owner.Logger, target.WebhookId, ex);
                        await WaitAsync(ErrorPause, null, ct);
                    }
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                // Stopped: pending deliveries stay in the table for the next lane.
            }
            finally
            {
                owner._lanes.TryRemove(new KeyValuePair<string, Lane>(target.WebhookId, this));
                _cts.Dispose();
            }
        }

        /// <summary>Fetches the head of the queue and sends what is due, in order; waits when nothing is.</summary>
        private async Task PassAsync(CancellationToken ct)
        {
            // Take the wake-up before reading, so a commit in between is never missed.
            Interlocked.Exchange(ref _wake, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
            if (target.Subscription is not null && !await ReloadSubscriptionAsync(ct))
            {
                return;
            }

            var batch = await owner.Store.NextDeliveriesAsync(target.WebhookId, BatchSize, ct);
            if (batch.Count == 0)
            {
                await WaitAsync(Timeout.InfiniteTimeSpan, DateTimeOffset.MaxValue, ct);
                return;
            }

            foreach (var pending in batch)
            {
                var wait = pending.Delivery.NextAttemptAt - owner.Time.GetUtcNow();
                if (wait > TimeSpan.Zero)
                {
                    // Its retry is not due: nothing behind it may go first. A wake-up (redeliver, new work) re-reads.
                    await WaitAsync(wait, pending.Delivery.NextAttemptAt, ct);
                    return;
                }

                SubscriptionSend? send = null;
                if (target.Subscription is { } subscription)
                {
                    (var step, send) = await PrepareSubscriptionAsync(subscription, pending, ct);
                    if (step == SubscriptionStep.Stop)
                    {
                        return;
                    }

                    if (step == SubscriptionStep.Skipped)
                    {
                        continue;
                    }
                }

                var (outcome, result) = await owner.AttemptAsync(target, pending, ct, send);
                if (result.Disabled)
                {
                    Stop();
                    return;
                }

                if (outcome == AttemptOutcome.RetryLater)
                {
                    return;
                }
            }
        }

        private async Task WaitAsync(TimeSpan timeout, DateTimeOffset? until, CancellationToken ct)
        {
            // The timer exists once WaitAsync returns its task; only then is the lane said to be asleep.
            var sleep = Volatile.Read(ref _wake).Task.WaitAsync(timeout, owner.Time, ct);
            SleepingUntil = until;
            owner.Changed.Notify();
            try
            {
                await sleep;
            }
            catch (TimeoutException)
            {
                // Due.
            }
            finally
            {
                SleepingUntil = null;
            }
        }
    }

    [LoggerMessage(EventId = 500, Level = LogLevel.Warning,
        Message = "Webhook delivery {MessageId} to {WebhookId} failed (attempt {Attempt}): {Error}; next attempt {NextAttempt}")]
    private static partial void LogAttemptFailed(ILogger logger, string messageId, string webhookId, int attempt, string error, DateTimeOffset? nextAttempt);

    [LoggerMessage(EventId = 501, Level = LogLevel.Warning, Message = "Webhook {WebhookId} ({Url}) disabled: {Reason}")]
    private static partial void LogDisabled(ILogger logger, string webhookId, string url, string reason);

    [LoggerMessage(EventId = 502, Level = LogLevel.Error, Message = "Webhook lane {WebhookId} failed; retrying shortly")]
    private static partial void LogLaneFailed(ILogger logger, string webhookId, Exception exception);

    [LoggerMessage(EventId = 503, Level = LogLevel.Error,
        Message = "The secret of webhook {WebhookId} cannot be decrypted (were the Data Protection keys lost?); its deliveries wait")]
    private static partial void LogSecretUnreadable(ILogger logger, string webhookId, Exception exception);

    [LoggerMessage(EventId = 504, Level = LogLevel.Information, Message = "Pruned {Deliveries} finished webhook deliveries and {Keys} expired ingest keys")]
    private static partial void LogPruned(ILogger logger, int deliveries, int keys);

    [LoggerMessage(EventId = 506, Level = LogLevel.Warning,
        Message = "Webhook delivery {MessageId} to {WebhookId} rejected ({Error}): a dead letter, not retried; redeliver replays it")]
    private static partial void LogRejected(ILogger logger, string messageId, string webhookId, string error);

    [LoggerMessage(EventId = 505, Level = LogLevel.Error, Message = "Webhook prune pass failed")]
    private static partial void LogPruneFailed(ILogger logger, Exception exception);
}
