using System.ComponentModel;
using EventBus.Core.Bus;
using EventBus.Server.Platform;

namespace EventBus.Server.Notifications;

/// <summary>
/// A desktop notification on the machine the server runs on: <c>notify-send</c> on Linux inside a desktop session
/// (a display or a session D-Bus); on macOS <c>terminal-notifier</c> when installed, else <c>osascript</c>'s
/// <c>display notification</c>. Elsewhere there is no one to show it to, and the tool reports <c>success: false</c>.
/// </summary>
internal sealed partial class DesktopNotifier(IHostPlatform platform, ILogger<DesktopNotifier> logger) : IDesktopNotifier
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    public async Task<bool> NotifyAsync(string title, string message, bool sound, CancellationToken cancellationToken)
    {
        if (Command(title, message, sound) is not { } command)
        {
            return false;
        }

        try
        {
            var result = await platform.RunAsync(command, Timeout, cancellationToken);
            return result.Succeeded;
        }
        catch (Exception ex) when (ex is Win32Exception or OperationCanceledException or InvalidOperationException)
        {
            LogFailed(logger, ex.Message);
            return false;
        }
    }

    /// <summary>The command line that shows the notification here, or null when nothing can.</summary>
    internal CommandLine? Command(string title, string message, bool sound) => platform.Os switch
    {
        HostOs.Linux when HasDesktop() => NotifySend(title, message, sound),
        HostOs.MacOS => platform.FindExecutable("terminal-notifier") is { } notifier
            ? TerminalNotifier(notifier, title, message, sound)
            : Osascript(title, message, sound),
        _ => null,
    };

    private static CommandLine NotifySend(string title, string message, bool sound) =>
        new("notify-send", [
            "--app-name=EventBus",
            .. sound ? ["--hint=string:sound-name:message-new-instant"] : Array.Empty<string>(),
            "--",
            title,
            message,
        ]);

    private static CommandLine TerminalNotifier(string path, string title, string message, bool sound) =>
        new(path, [
            "-title", title,
            // terminal-notifier reads a message starting with "-" or "[" specially; a leading space keeps it text.
            "-message", message.StartsWith('-') || message.StartsWith('[') ? " " + message : message,
            "-group", "eventbus",
            .. sound ? ["-sound", "default"] : Array.Empty<string>(),
        ]);

    /// <summary>AppleScript's <c>display notification</c>, the strings quoted as AppleScript literals.</summary>
    private static CommandLine Osascript(string title, string message, bool sound) =>
        new("osascript", [
            "-e",
            $"display notification {AppleScriptString(message)} with title {AppleScriptString(title)}" + (sound ? " sound name \"Glass\"" : ""),
        ]);

    internal static string AppleScriptString(string text) =>
        "\"" + text.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";

    private bool HasDesktop() =>
        !string.IsNullOrEmpty(platform.GetEnvironmentVariable("DISPLAY")) ||
        !string.IsNullOrEmpty(platform.GetEnvironmentVariable("WAYLAND_DISPLAY")) ||
        !string.IsNullOrEmpty(platform.GetEnvironmentVariable("DBUS_SESSION_BUS_ADDRESS"));

    [LoggerMessage(EventId = 900, Level = LogLevel.Warning, Message = "Desktop notification failed: {Reason}")]
    private static partial void LogFailed(ILogger logger, string reason);
}
