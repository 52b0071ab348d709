using System.CommandLine;

namespace VpsPanel.Features.Caddy;

/// <summary>
/// `vpspanel caddyfile`: prints the main Caddyfile template embedded in the binary (caddy/Caddyfile), so
/// `curl …/install.sh | sudo bash`, which has no checkout beside it, can still lay it down.
/// </summary>
public static class CaddyfileCommand
{
    public static Command Build()
    {
        var cmd = new Command("caddyfile", "Print the main Caddyfile template that install.sh lays down");
        cmd.SetAction(_ =>
        {
            using var s = typeof(CaddyfileCommand).Assembly.GetManifestResourceStream("caddy/Caddyfile")!;
            using var reader = new StreamReader(s);
            Console.Out.Write(reader.ReadToEnd());
            return 0;
        });
        return cmd;
    }
}
