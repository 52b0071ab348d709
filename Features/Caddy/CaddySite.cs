using System.Text;
using VpsPanel.Features.Settings;

namespace VpsPanel.Features.Caddy;

/// <summary>
/// The panel's Caddy site files: one file per project in Caddy:SitesDir, which the main Caddyfile imports.
/// Rendering is a pure function (tested by exact text); applying writes temp + rename and reloads Caddy, under one
/// lock, and puts the previous file back when Caddy refuses the new config.
/// </summary>
public sealed class CaddySite(PanelSettings settings, CaddyAdmin caddy)
{
    /// <summary>
    /// How long Caddy keeps retrying to dial the upstream before it answers 502. A switch changes the upstream in one
    /// reload, so this only matters if the new container stops answering for a moment; it turns a blip into a delay.
    /// </summary>
    public const string LbTryDuration = "10s";

    static readonly SemaphoreSlim Lock = new(1, 1);

    /// <summary>
    /// The site block for a project. Domains must already have passed the hostname rules (no spaces, braces or
    /// newlines can get here); the upstream is always a loopback port.
    /// </summary>
    public static string Render(string slug, IReadOnlyList<string> domains, int hostPort, bool automaticHttps)
    {
        var sb = new StringBuilder();
        sb.Append("# Managed by VpsPanel for project ").Append(slug).Append(". Regenerated on every deploy: edits here are overwritten.\n");
        sb.Append(string.Join(", ", domains.Select(d => automaticHttps ? d : "http://" + d))).Append(" {\n");
        sb.Append("\treverse_proxy 127.0.0.1:").Append(hostPort).Append(" {\n");
        sb.Append("\t\tlb_try_duration ").Append(LbTryDuration).Append('\n');
        sb.Append("\t\tlb_try_interval 250ms\n");
        sb.Append("\t}\n");
        sb.Append("}\n");
        return sb.ToString();
    }

    public string SitePath(string slug) => Path.Combine(settings.CaddySitesDir, slug + ".caddy");

    /// <summary>
    /// Makes the project's site file say <paramref name="text"/> (null removes it) and reloads Caddy with the main
    /// Caddyfile. When Caddy refuses, the previous file is restored (and Caddy reloaded with it) before this throws.
    /// </summary>
    public async Task ApplyAsync(string slug, string? text, Action<string> log, CancellationToken ct)
    {
        await Lock.WaitAsync(ct);
        try
        {
            Directory.CreateDirectory(settings.CaddySitesDir);
            var path = SitePath(slug);
            var previous = File.Exists(path) ? await File.ReadAllTextAsync(path, ct) : null;
            if (text is not null)
            {
                // Validate the site on its own first: a bad block is reported without touching the running config.
                await caddy.AdaptAsync(text, ct);
            }
            Write(path, text);
            try
            {
                await LoadMainCaddyfileAsync(ct);
                log($"caddy: loaded {settings.CaddyCaddyfile} with {(text is null ? "the site removed" : path)}");
            }
            catch (Exception e) when (e is CaddyException or IOException)
            {
                log($"caddy: reload failed, restoring the previous site file: {e.Message}");
                Write(path, previous);
                try { await LoadMainCaddyfileAsync(CancellationToken.None); }
                catch (Exception again) when (again is CaddyException or IOException) { log($"caddy: reloading the previous config also failed: {again.Message}"); }
                throw;
            }
        }
        finally
        {
            Lock.Release();
        }
    }

    static void Write(string path, string? text)
    {
        if (text is null)
        {
            File.Delete(path);
            return;
        }
        // Temp file in the same directory, then rename: Caddy (or an operator's reload) never reads half a file.
        var tmp = path + ".tmp";
        File.WriteAllText(tmp, text);
        File.Move(tmp, path, overwrite: true);
    }

    async Task LoadMainCaddyfileAsync(CancellationToken ct)
    {
        string main;
        try { main = await File.ReadAllTextAsync(settings.CaddyCaddyfile, ct); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CaddyException($"cannot read the main Caddyfile {settings.CaddyCaddyfile} (setting Caddy:Caddyfile): {e.Message}");
        }
        await caddy.LoadAsync(main, ct);
    }
}
