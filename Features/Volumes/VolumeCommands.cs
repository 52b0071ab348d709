using System.CommandLine;
using System.Text.Json.Nodes;
using VpsPanel.Features.Cli;

namespace VpsPanel.Features.Volumes;

/// <summary>
/// `vpspanel volumes list|set|backup|restore`: the volumes API from the command line (through the running panel, so
/// the rules and the access are the API's).
/// </summary>
public static class VolumeCommands
{
    public static Command Build()
    {
        var cmd = new Command("volumes", "List, set, back up and restore a project's volumes through the running panel");
        cmd.Subcommands.Add(List());
        cmd.Subcommands.Add(Set());
        cmd.Subcommands.Add(Backup());
        cmd.Subcommands.Add(Restore());
        return cmd;
    }

    static Argument<string> Slug() => new("SLUG") { Description = "The project's short name" };

    static string Path(string slug, string rest = "") => $"api/projects/{Uri.EscapeDataString(slug)}/volumes{rest}";

    static Command List()
    {
        var slug = Slug();
        var cmd = new Command("list", "Print the project's volumes: name, mount path, where stored, size in bytes") { slug };
        PanelApiClient.AddOptions(cmd);
        cmd.SetAction(async p =>
        {
            using var api = PanelApiClient.From(p);
            foreach (var v in (await api.GetJsonAsync(HttpMethod.Get, Path(p.GetValue(slug)!))).AsArray())
                Console.WriteLine($"{v!["name"]}\t{v["mountPath"]}\t{(string?)v["hostPath"] ?? (string?)v["dockerVolume"]}\t{(v["sizeBytes"] is { } s ? s.ToString() : "-")}");
            return 0;
        });
        return cmd;
    }

    static Command Set()
    {
        var slug = Slug();
        var volumes = new Argument<string[]>("VOLUME") { Description = "NAME:MOUNT_PATH, or NAME:MOUNT_PATH:HOST_PATH (admins); none removes every volume (their data is kept)", Arity = ArgumentArity.ZeroOrMore };
        var cmd = new Command("set", "Replace the project's volumes (used from the next deploy on)") { slug, volumes };
        PanelApiClient.AddOptions(cmd);
        cmd.SetAction(async p =>
        {
            var body = new JsonArray();
            foreach (var v in p.GetValue(volumes) ?? [])
            {
                var parts = v.Split(':');
                if (parts.Length is < 2 or > 3) throw new CliException($"\"{v}\" is not NAME:MOUNT_PATH or NAME:MOUNT_PATH:HOST_PATH", 2);
                var o = new JsonObject { ["name"] = parts[0], ["mountPath"] = parts[1] };
                if (parts.Length == 3) o["hostPath"] = parts[2];
                body.Add((JsonNode)o);
            }
            using var api = PanelApiClient.From(p);
            var saved = await api.GetJsonAsync(HttpMethod.Put, Path(p.GetValue(slug)!), body.ToJsonString());
            Console.WriteLine($"{saved.AsArray().Count} volume(s) saved; they apply from the next deploy");
            return 0;
        });
        return cmd;
    }

    static Command Backup()
    {
        var slug = Slug();
        var name = new Argument<string>("NAME") { Description = "The volume's name" };
        var output = new Option<string>("--output", "-o") { Description = "Where to write the .tar.gz", Required = true };
        var cmd = new Command("backup", "Download a .tar.gz backup of one volume") { slug, name, output };
        PanelApiClient.AddOptions(cmd);
        cmd.SetAction(async p =>
        {
            using var api = PanelApiClient.From(p);
            using var res = await api.SendAsync(HttpMethod.Get, Path(p.GetValue(slug)!, $"/{Uri.EscapeDataString(p.GetValue(name)!)}/archive"), streaming: true);
            var file = p.GetValue(output)!;
            try
            {
                await using var fs = File.Create(file);
                await res.Content.CopyToAsync(fs);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new CliException($"cannot write {file}: {e.Message}", 8); }
            Console.WriteLine($"wrote {file} ({new FileInfo(file).Length} bytes)");
            return 0;
        });
        return cmd;
    }

    static Command Restore()
    {
        var slug = Slug();
        var name = new Argument<string>("NAME") { Description = "The volume's name" };
        var file = new Argument<string>("FILE") { Description = "A .tar.gz backup" };
        var yes = new Option<bool>("--yes") { Description = "Confirm: the app is stopped and the volume's contents are replaced" };
        var cmd = new Command("restore", "Replace a volume's contents with a .tar.gz backup (the app is stopped meanwhile)") { slug, name, file, yes };
        PanelApiClient.AddOptions(cmd);
        cmd.SetAction(async p =>
        {
            if (!p.GetValue(yes)) throw new CliException("restoring replaces everything in the volume and stops the app meanwhile; add --yes to confirm", 2);
            var path = p.GetValue(file)!;
            if (!File.Exists(path)) throw new CliException($"{path} does not exist", 8);
            using var api = PanelApiClient.From(p);
            await using var fs = File.OpenRead(path);
            var answer = await api.SendStreamAsync(HttpMethod.Post, Path(p.GetValue(slug)!, $"/{Uri.EscapeDataString(p.GetValue(name)!)}/restore"), fs, "application/gzip");
            Console.WriteLine(answer);
            return 0;
        });
        return cmd;
    }
}
