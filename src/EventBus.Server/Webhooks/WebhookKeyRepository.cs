using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection.Repositories;

namespace EventBus.Server.Webhooks;

/// <summary>
/// Where the Data Protection keys that encrypt webhook secrets are kept: files in a folder only this user can open
/// (0700, each key 0600 on Linux and macOS, tightened at start for keys written before). The keys themselves are
/// not encrypted (there is no machine secret store to lean on here), so the file permissions are their protection;
/// start-up says so at Information, in place of Data Protection's "No XML encryptor configured" warning.
/// </summary>
internal sealed partial class WebhookKeyRepository : IXmlRepository
{
    private const UnixFileMode OwnerOnlyFolder = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode OwnerOnlyFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    private readonly DirectoryInfo _directory;
    private readonly FileSystemXmlRepository _files;

    public WebhookKeyRepository(string path, ILoggerFactory logging)
    {
        _directory = Directory.CreateDirectory(path);
        _files = new FileSystemXmlRepository(_directory, logging);
        var logger = logging.CreateLogger<WebhookKeyRepository>();
        if (OperatingSystem.IsWindows())
        {
            LogKeysWindows(logger, _directory.FullName);
            return;
        }

        _directory.UnixFileMode = OwnerOnlyFolder;
        Tighten();
        LogKeys(logger, _directory.FullName);
    }

    public IReadOnlyCollection<XElement> GetAllElements() => _files.GetAllElements();

    public void StoreElement(XElement element, string friendlyName)
    {
        _files.StoreElement(element, friendlyName);
        if (!OperatingSystem.IsWindows())
        {
            Tighten();
        }
    }

    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    private void Tighten()
    {
        foreach (var file in _directory.EnumerateFiles("*.xml"))
        {
            if (file.UnixFileMode != OwnerOnlyFile)
            {
                file.UnixFileMode = OwnerOnlyFile;
            }
        }
    }

    [LoggerMessage(EventId = 510, Level = LogLevel.Information,
        Message = "Webhook secrets are encrypted with Data Protection keys kept in {Path}; the keys are not encrypted themselves: only this user can read them (folder 0700, files 0600)")]
    private static partial void LogKeys(ILogger logger, string path);

    [LoggerMessage(EventId = 511, Level = LogLevel.Information,
        Message = "Webhook secrets are encrypted with Data Protection keys kept in {Path}; the keys are not encrypted themselves: the folder's access control list protects them")]
    private static partial void LogKeysWindows(ILogger logger, string path);
}
