using EventBus.Core.Channels;

namespace EventBus.Core.Retention;

/// <summary>A rule in force: a pattern (null for the default rule) and how long its events live (null: forever).</summary>
public sealed record RetentionRule(string Name, ChannelPattern? Pattern, TimeSpan? MaxAge);

/// <summary>The rules of <see cref="RetentionOptions"/>, ready to assign each channel to the first rule that matches.</summary>
public sealed class RetentionPlan
{
    /// <summary>The name the default rule goes by in reports.</summary>
    public const string DefaultRuleName = "default";

    /// <summary>Builds the plan; the options must have passed <see cref="RetentionOptions.Check"/>.</summary>
    public RetentionPlan(RetentionOptions options)
    {
        Rules =
        [
            .. options.Rules.Select(r => new RetentionRule(
                r.Channel!, ChannelPattern.Parse(r.Channel!), r.MaxAge is { } age && age > TimeSpan.Zero ? age : null)),
            new RetentionRule(DefaultRuleName, null, options.DefaultMaxAge > TimeSpan.Zero ? options.DefaultMaxAge : null),
        ];
    }

    /// <summary>The rules in order, the default last.</summary>
    public IReadOnlyList<RetentionRule> Rules { get; }

    /// <summary>The rule a channel falls under: the first whose pattern matches, else the default.</summary>
    public RetentionRule RuleFor(string channel) => Rules.First(r => r.Pattern is null || r.Pattern.Matches(channel));

    /// <summary>Channels grouped by the rule they fall under, in rule order (rules with no channel left out).</summary>
    public IReadOnlyList<(RetentionRule Rule, IReadOnlyList<ChannelUsage> Channels)> Assign(IEnumerable<ChannelUsage> channels)
    {
        var byRule = channels.GroupBy(c => RuleFor(c.Channel)).ToDictionary(g => g.Key, g => (IReadOnlyList<ChannelUsage>)g.ToList());
        return Rules.Where(byRule.ContainsKey).Select(r => (r, byRule[r])).ToList();
    }
}
