using System.Xml.Linq;

namespace EventBus.Cli.Service;

/// <summary>The launchd property list for a <see cref="ServicePlan"/>: a LaunchAgent (user) or LaunchDaemon (system).</summary>
internal static class LaunchAgent
{
    public static string Render(ServicePlan plan)
    {
        var dict = new XElement("dict",
            Key("Label"), new XElement("string", ServicePlan.Label),
            Key("ProgramArguments"), new XElement("array", plan.Command.Select(a => new XElement("string", a))),
            Key("RunAtLoad"), new XElement("true"),
            // Started again when it exits with an error or crashes; a clean stop (launchctl bootout) stays stopped.
            Key("KeepAlive"), new XElement("dict", Key("SuccessfulExit"), new XElement("false")),
            Key("ThrottleInterval"), new XElement("integer", 5),
            Key("ProcessType"), new XElement("string", "Background"),
            Key("WorkingDirectory"), new XElement("string", plan.DataDirectory),
            Key("StandardOutPath"), new XElement("string", Path.Combine(plan.LogDirectory!, "eventbus.log")),
            Key("StandardErrorPath"), new XElement("string", Path.Combine(plan.LogDirectory!, "eventbus.err.log")));
        if (plan.DotnetRoot is { } root)
        {
            dict.Add(Key("EnvironmentVariables"), new XElement("dict", Key("DOTNET_ROOT"), new XElement("string", root)));
        }

        if (plan.Scope == ServiceScope.System && plan.RunAs is { } user)
        {
            dict.Add(Key("UserName"), new XElement("string", user));
        }

        var document = new XDocument(
            new XDeclaration("1.0", "UTF-8", null),
            new XDocumentType("plist", "-//Apple//DTD PLIST 1.0//EN", "http://www.apple.com/DTDs/PropertyList-1.0.dtd", null),
            new XElement("plist", new XAttribute("version", "1.0"), dict));
        using var writer = new Utf8StringWriter();
        document.Save(writer);
        return writer + "\n";
    }

    private static XElement Key(string name) => new("key", name);

    private sealed class Utf8StringWriter : StringWriter
    {
        public override System.Text.Encoding Encoding => System.Text.Encoding.UTF8;
    }
}
