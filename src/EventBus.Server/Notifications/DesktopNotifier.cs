using System.ComponentModel;
using System.Diagnostics;
using EventBus.Core.Bus;

namespace EventBus.Server.Notifications;

/// <summary>
/// <c>notify-send</c> on Linux when the server runs inside a desktop session (a display or a session D-Bus);
/// otherwise there is no one to show it to, and the tool reports <c>success: false</c>.
/// </summary>
internal sealed partial class DesktopNotifier(ILogger<DesktopNotifier> logger) : IDesktopNotifier
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    public async Task<bool> NotifyAsync(string title, string message, bool sound, CancellationToken cancellationToken)
    {
        if (!OperatingSystem.IsLinux() || !HasDesktop())
        {
            return false;
        }

        var start = new ProcessStartInfo("notify-send") { UseShellExecute = false, RedirectStandardError = true };
        start.ArgumentList.Add("--app-name=EventBus");
        if (sound)
        {
            start.ArgumentList.Add("--hint=string:sound-name:message-new-instant");
        }

        start.ArgumentList.Add("--");
        start.ArgumentList.Add(title);
        start.ArgumentList.Add(message);
        try
        {
            using var process = Process.Start(start);
            if (process is null)
            {
                return false;
            }

            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(Timeout);
            await process.WaitForExitAsync(timeout.Token);
            return process.ExitCode == 0;
        }
        catch (Exception ex) when (ex is Win32Exception or OperationCanceledException or InvalidOperationException)
        {
            LogFailed(logger, ex.Message);
            return false;
        }
    }

    private static bool HasDesktop() =>
        !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("DISPLAY")) ||
        !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("WAYLAND_DISPLAY")) ||
        !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("DBUS_SESSION_BUS_ADDRESS"));

    [LoggerMessage(EventId = 900, Level = LogLevel.Warning, Message = "Desktop notification failed: {Reason}")]
    private static partial void LogFailed(ILogger logger, string reason);
}
