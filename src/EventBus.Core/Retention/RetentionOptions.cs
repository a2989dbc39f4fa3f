using EventBus.Core.Bus;
using EventBus.Core.Channels;

namespace EventBus.Core.Retention;

/// <summary>How long events are kept. Bound from <c>EventBus:Retention</c>.</summary>
public sealed class RetentionOptions
{
    /// <summary>Whether retention runs at all. Default true.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// Per-channel rules, first match wins: <c>Rules:0:Channel=mqtt:#</c>, <c>Rules:0:MaxAge=1.00:00:00</c>. A channel no
    /// rule matches falls under <see cref="DefaultMaxAge"/>.
    /// </summary>
    public List<RetentionRuleOptions> Rules { get; set; } = [];

    /// <summary>How long events no rule matches are kept. Default 90 days; <c>0</c> keeps them forever.</summary>
    public TimeSpan DefaultMaxAge { get; set; } = TimeSpan.FromDays(90);

    /// <summary>Keep at most this many events (the oldest go first, whatever their channel). Default: no cap.</summary>
    public long? MaxEvents { get; set; }

    /// <summary>Keep the data under this many MiB (the oldest events go first). Default: no cap.</summary>
    public long? MaxSizeMegabytes { get; set; }

    /// <summary>How often a retention pass runs. Default 1 minute.</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Events deleted per transaction: small, so the writer is never held long. Default 500.</summary>
    public int BatchSize { get; set; } = 500;

    /// <summary>True when any rule, cap or default was set (a store without retention then refuses to start).</summary>
    public static bool IsConfigured(IEnumerable<KeyValuePair<string, string?>> section) => section.Any(kv => kv.Value is not null);

    /// <summary>Every problem with these options, each naming its setting; empty when they are good.</summary>
    public IReadOnlyList<string> Check()
    {
        var errors = new List<string>();
        for (var i = 0; i < Rules.Count; i++)
        {
            var rule = Rules[i];
            if (string.IsNullOrWhiteSpace(rule.Channel))
            {
                errors.Add($"EventBus:Retention:Rules:{i}:Channel must name a channel pattern, like \"mqtt:#\".");
            }
            else
            {
                try
                {
                    ChannelPattern.Parse(rule.Channel);
                }
                catch (BusValidationException ex)
                {
                    errors.Add($"EventBus:Retention:Rules:{i}:Channel: {ex.Message}");
                }
            }

            if (rule.MaxAge is null)
            {
                errors.Add($"EventBus:Retention:Rules:{i}:MaxAge must be set, like \"1.00:00:00\" (one day), or \"0\" to keep forever.");
            }
            else if (rule.MaxAge < TimeSpan.Zero)
            {
                errors.Add($"EventBus:Retention:Rules:{i}:MaxAge must not be negative (got {rule.MaxAge}).");
            }
        }

        if (DefaultMaxAge < TimeSpan.Zero)
        {
            errors.Add($"EventBus:Retention:DefaultMaxAge must not be negative (got {DefaultMaxAge}); \"0\" keeps events forever.");
        }

        if (MaxEvents is < 1)
        {
            errors.Add($"EventBus:Retention:MaxEvents must be at least 1 (got {MaxEvents}).");
        }

        if (MaxSizeMegabytes is < 1)
        {
            errors.Add($"EventBus:Retention:MaxSizeMegabytes must be at least 1 (got {MaxSizeMegabytes}).");
        }

        if (Interval < TimeSpan.FromSeconds(1) || Interval > TimeSpan.FromDays(1))
        {
            errors.Add($"EventBus:Retention:Interval must be between 00:00:01 and 1.00:00:00 (got {Interval}).");
        }

        if (BatchSize is < 1 or > 10_000)
        {
            errors.Add($"EventBus:Retention:BatchSize must be between 1 and 10000 (got {BatchSize}).");
        }

        return errors;
    }
}

/// <summary>One retention rule: events on channels matching <see cref="Channel"/> are kept for <see cref="MaxAge"/>.</summary>
public sealed class RetentionRuleOptions
{
    /// <summary>A channel pattern (<c>mqtt:#</c>, <c>repo:*</c>, or an exact channel).</summary>
    public string? Channel { get; set; }

    /// <summary>How long its events are kept; <c>0</c>: forever.</summary>
    public TimeSpan? MaxAge { get; set; }
}
