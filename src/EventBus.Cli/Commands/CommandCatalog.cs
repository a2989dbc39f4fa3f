using System.CommandLine;

namespace EventBus.Cli.Commands;

/// <summary>Every subcommand of <c>eventbus</c>, in the order <c>--help</c> lists them.</summary>
internal static class CommandCatalog
{
    public static IEnumerable<Command> All(CliContext context) =>
    [
        ServeCommand.Create(context),
        SessionCommands.Register(context),
        SessionCommands.Unregister(context),
        SessionCommands.Sessions(context),
        SessionCommands.Channels(context),
        PublishCommand.Create(context),
        EventCommands.Events(context),
        EventCommands.Ack(context),
        WatchCommand.Create(context),
        SubscriptionCommands.Subscribe(context),
        SubscriptionCommands.Unsubscribe(context),
        SubscriptionCommands.Subscriptions(context),
        EventCommands.Notify(context),
        WebhookCommands.Create(context),
        Setup.SetupCommand.Create(context),
        Setup.DoctorCommand.Create(context),
        Channel.ChannelCommand.Create(context),
        Monitor.MonitorCommand.Create(context),
        PermissionCommand.Create(context),
        Hooks.HookCommands.Create(context),
        TokenCommands.Create(context),
        ImportCommand.Create(context),
        MigrateCommand.Create(context),
        BackupCommands.Backup(context),
        BackupCommands.Restore(context),
        BackupCommands.Check(context),
        Service.ServiceCommand.Create(context),
    ];
}
