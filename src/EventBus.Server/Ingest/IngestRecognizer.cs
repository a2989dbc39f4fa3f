using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using EventBus.Core.Bus;
using EventBus.Core.Events;

namespace EventBus.Server.Ingest;

/// <summary>What the body was recognised as, and the event fields derived from it.</summary>
/// <param name="Kind">alertmanager, grafana, github, or json.</param>
/// <param name="IdempotencyKey">The sender's delivery id, or a digest of the notification's content; null: none.</param>
/// <param name="KeyFromSender">True when the key is the sender's own delivery id (kept longer than a content digest).</param>
internal sealed record Recognized(
    string Kind,
    string EventType,
    string? Title,
    SignalLevel? Level,
    IReadOnlyList<string> Tags,
    string? CorrelationId,
    string? IdempotencyKey,
    bool KeyFromSender);

/// <summary>
/// Turns well-known webhook payloads into sensible events: Prometheus Alertmanager and Grafana alert notifications
/// (<c>alert_firing</c>/<c>alert_resolved</c>, a title like "[FIRING:2] DiskFull", actionable when a firing alert is
/// critical), and GitHub webhooks (<c>github_&lt;event&gt;</c>, or <c>ci_failed</c>/<c>ci_passed</c> for completed workflow
/// runs and check suites). Anything else is kept as it is under the type <c>webhook</c> (or its own <c>type</c> field).
/// </summary>
internal static class IngestRecognizer
{
    private static readonly HashSet<string> LoudSeverities = new(StringComparer.OrdinalIgnoreCase)
    {
        "critical", "crit", "page", "error", "high", "emergency", "alert", "fatal", "disaster", "p1", "sev1", "sev-1",
    };

    private static readonly string[] SeverityOrder = ["info", "low", "none", "warning", "warn", "medium", "error", "high", "critical", "page"];

    public static Recognized Recognize(JsonElement body, IHeaderDictionary headers)
    {
        if (headers["X-GitHub-Event"].ToString() is { Length: > 0 } githubEvent)
        {
            return GitHub(body, githubEvent, NonEmpty(headers["X-GitHub-Delivery"].ToString()));
        }

        var senderId = NonEmpty(headers["webhook-id"].ToString()) ?? NonEmpty(headers["Idempotency-Key"].ToString());
        if (body.ValueKind == JsonValueKind.Object && body.TryGetProperty("alerts", out var alerts) && alerts.ValueKind == JsonValueKind.Array &&
            body.TryGetProperty("status", out var status) && status.ValueKind == JsonValueKind.String)
        {
            var grafana = body.TryGetProperty("orgId", out _) || body.TryGetProperty("state", out _);
            return Alerts(body, alerts, status.GetString()!, grafana ? "grafana" : "alertmanager", senderId);
        }

        var type = body.ValueKind == JsonValueKind.Object && body.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String &&
            t.GetString() is { Length: > 0 and <= BusOptions.MaxNameLength } named && !named.Any(char.IsControl)
                ? named
                : "webhook";
        return new Recognized("json", type, null, null, ["ingest"], null, senderId, senderId is not null);
    }

    private static Recognized Alerts(JsonElement body, JsonElement alerts, string status, string kind, string? senderId)
    {
        var firing = status.Equals("firing", StringComparison.OrdinalIgnoreCase);
        var list = alerts.EnumerateArray().Where(a => a.ValueKind == JsonValueKind.Object).ToList();
        var count = list.Count(a => Str(a, "status")?.Equals(status, StringComparison.OrdinalIgnoreCase) ?? true);
        var common = Obj(body, "commonLabels");
        var names = list.Select(a => Str(Obj(a, "labels"), "alertname")).OfType<string>().Distinct(StringComparer.Ordinal).ToList();
        var alertname = Str(common, "alertname") ?? Str(Obj(body, "groupLabels"), "alertname") ?? names.FirstOrDefault() ?? "alert";
        var severities = list.Select(a => Str(Obj(a, "labels"), "severity")).OfType<string>().ToList();
        var severity = Str(common, "severity") ?? severities.OrderByDescending(s => Array.IndexOf(SeverityOrder, s.ToLowerInvariant())).FirstOrDefault();

        // A firing alert is actionable when it is loud (critical, page, ...) or says nothing of its severity.
        var loud = severities.Count == 0 && severity is null || severities.Any(LoudSeverities.Contains) || (severity is not null && LoudSeverities.Contains(severity));
        var level = firing && loud ? SignalLevel.Actionable : SignalLevel.Info;

        var title = Str(body, "title");
        if (title is null)
        {
            title = $"[{status.ToUpperInvariant()}:{count}] {alertname}";
            if (severity is not null)
            {
                title += $" ({severity})";
            }

            var summary = Str(Obj(body, "commonAnnotations"), "summary") ??
                (list.Count == 1 ? Str(Obj(list[0], "annotations"), "summary") ?? Str(Obj(list[0], "annotations"), "description") : null);
            if (summary is not null)
            {
                title += " — " + summary;
            }
        }

        var tags = new List<string> { kind, "status:" + status.ToLowerInvariant() };
        if (severity is not null)
        {
            tags.Add("severity:" + severity);
        }

        tags.AddRange(names.Take(16).Select(n => "alertname:" + n));

        var groupKey = Str(body, "groupKey");
        var correlation = groupKey is null ? null
            : groupKey.Length <= 200 && !groupKey.Any(char.IsControl) ? groupKey : kind + ":" + Digest(groupKey)[..24];

        // No delivery id in these payloads: a retry of the same notification has the same content. The digest covers
        // what makes a notification distinct (group, status, each alert's identity, state and times).
        var content = new StringBuilder().Append(kind).Append('\n').Append(Str(body, "receiver")).Append('\n').Append(groupKey)
            .Append('\n').Append(status);
        foreach (var alert in list)
        {
            content.Append('\n').Append(Str(alert, "fingerprint") ?? Obj(alert, "labels").GetRawTextOrEmpty()).Append('|')
                .Append(Str(alert, "status")).Append('|').Append(Str(alert, "startsAt")).Append('|').Append(Str(alert, "endsAt"));
        }

        var key = senderId ?? kind + ":" + Digest(content.ToString());
        return new Recognized(kind, firing ? "alert_firing" : "alert_resolved", title, level, Tags(tags), correlation, key, senderId is not null);
    }

    private static Recognized GitHub(JsonElement body, string githubEvent, string? deliveryId)
    {
        var action = Str(body, "action");
        var repo = Str(Obj(body, "repository"), "full_name");
        var type = "github_" + githubEvent;
        SignalLevel? level = null;
        string title;
        switch (githubEvent)
        {
            case "push":
                var commits = Obj(body, "commits") is { ValueKind: JsonValueKind.Array } c ? c.GetArrayLength() : 0;
                var branch = Str(body, "ref") is { } r ? r.Replace("refs/heads/", "", StringComparison.Ordinal) : "?";
                var pusher = Str(Obj(body, "pusher"), "name") ?? Str(Obj(body, "sender"), "login") ?? "someone";
                title = $"{pusher} pushed {commits} commit{(commits == 1 ? "" : "s")} to {branch}";
                break;
            case "pull_request":
                var pr = Obj(body, "pull_request");
                var merged = action == "closed" && Obj(pr, "merged") is { ValueKind: JsonValueKind.True };
                title = $"PR #{Num(pr, "number")} {(merged ? "merged" : action)}: {Str(pr, "title")}";
                break;
            case "issues":
                var issue = Obj(body, "issue");
                title = $"Issue #{Num(issue, "number")} {action}: {Str(issue, "title")}";
                break;
            case "workflow_run" or "check_suite":
                var run = Obj(body, githubEvent);
                var conclusion = Str(run, "conclusion");
                var name = Str(run, "name") ?? Str(Obj(run, "app"), "name") ?? githubEvent;
                title = $"{name} {conclusion ?? Str(run, "status") ?? action} on {Str(run, "head_branch") ?? "?"}";
                if (action == "completed" && conclusion is not null)
                {
                    type = conclusion is "success" ? "ci_passed"
                        : conclusion is "failure" or "timed_out" or "startup_failure" ? "ci_failed"
                        : type;
                }

                break;
            case "ping":
                title = "GitHub webhook connected: " + (Str(body, "zen") ?? "ping");
                level = SignalLevel.Lifecycle;
                break;
            default:
                title = action is null ? githubEvent : $"{githubEvent} {action}";
                break;
        }

        if (repo is not null)
        {
            title += $" ({repo})";
        }

        var tags = new List<string> { "github", "github:" + githubEvent };
        if (repo is not null)
        {
            tags.Add("repo:" + repo);
        }

        return new Recognized("github", type, title, level, Tags(tags), null, deliveryId is null ? null : "github:" + deliveryId, true);
    }

    private static List<string> Tags(List<string> tags) =>
        tags.Where(t => t.Length <= BusOptions.MaxNameLength && !t.Any(char.IsControl)).Distinct(StringComparer.Ordinal).Take(BusOptions.MaxTags).ToList();

    private static JsonElement Obj(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) ? value : default;

    private static string? Str(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String
            ? NonEmpty(value.GetString())
            : null;

    private static string Num(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number
            ? value.GetRawText()
            : "?";

    private static string GetRawTextOrEmpty(this JsonElement element) => element.ValueKind == JsonValueKind.Undefined ? "" : element.GetRawText();

    private static string Digest(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    private static string? NonEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;
}
