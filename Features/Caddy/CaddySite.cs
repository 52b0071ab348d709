using System.Text;
using VpsPanel.Features.Settings;

namespace VpsPanel.Features.Caddy;

/// <summary>One hostname of a site, canonical (it passed <see cref="Domains.DomainName"/>); HTTP only means no certificate.</summary>
public sealed record SiteDomain(string Host, bool HttpOnly = false);

/// <summary>
/// Everything a project's site file is made of. <paramref name="Domains"/> has the primary first; the default domain
/// (if any) is already appended as one more alias. <paramref name="RedirectAliases"/>: the others answer 308 to the
/// primary instead of serving the app; <paramref name="RedirectWww"/>: the primary's www./apex counterpart does too.
/// <paramref name="StaticRoot"/>, when set, is a directory of files Caddy serves itself (a plain static site, see
/// Deployments/StaticSiteDeploy) instead of proxying to <paramref name="HostPort"/>. <paramref name="OtherPorts"/>: the
/// deployment's further replicas (Deployments/ReplicaSet), balanced with <paramref name="HostPort"/>; their active
/// health checks GET <paramref name="HealthUri"/> (null: passive checks only). <paramref name="Upstreams"/>, when set, are a
/// cluster project's tasks as node:port (Cluster/ClusterRoutes), balanced the same way instead of loopback ports.
/// </summary>
public sealed record ProjectSite(string Slug, IReadOnlyList<SiteDomain> Domains, bool RedirectAliases, bool RedirectWww, int HostPort, string? StaticRoot = null,
    IReadOnlyList<int>? OtherPorts = null, string? HealthUri = null, IReadOnlyList<string>? Upstreams = null);

/// <summary>
/// How certificates are had: <paramref name="AutomaticHttps"/> false renders every site as http://;
/// <paramref name="InternalTls"/> uses Caddy's own local CA (tests, private networks); <paramref name="AcmeEmail"/> is
/// given to the ACME CA per site, so the panel needs no say in the main Caddyfile's global options.
/// </summary>
public sealed record TlsOptions(bool AutomaticHttps, bool InternalTls = false, string AcmeEmail = "")
{
    public static TlsOptions From(PanelSettings s) => new(s.AutomaticHttps, s.InternalTls, s.AcmeEmail);
}

/// <summary>
/// The panel's Caddy site files: one file per project (plus the panel's own) in Caddy:SitesDir, which the main
/// Caddyfile imports. Rendering is a pure function (tested by exact text); applying writes only the files whose text
/// changed (temp + rename), reloads Caddy once under one lock, and puts the previous files back when Caddy refuses.
/// </summary>
public sealed partial class CaddySite(PanelSettings settings, CaddyAdmin caddy)
{
    /// <summary>
    /// How long Caddy keeps retrying to dial the upstream before it answers 502. A switch changes the upstream in one
    /// reload, so this only matters if the new container stops answering for a moment; it turns a blip into a delay.
    /// </summary>
    public const string LbTryDuration = "10s";

    /// <summary>The panel's own site file. Project files are named after slugs, which start with a letter: no clash.</summary>
    public const string PanelFile = "_panel.caddy";

    static readonly SemaphoreSlim Lock = new(1, 1);

    public static string FileName(string slug) => slug + ".caddy";

    /// <summary>
    /// The site file of a project. Hostnames must already have passed the domain rules (no spaces, braces or newlines
    /// can get here); the upstream is always a loopback port. Served names come first, then the redirects, each
    /// split into an HTTPS block and an http:// block, because a tls line must not apply to an HTTP-only name.
    /// </summary>
    public static string Render(ProjectSite site, TlsOptions tls)
    {
        var primary = site.Domains[0];
        var served = new List<SiteDomain> { primary };
        var redirected = new List<SiteDomain>();
        foreach (var d in site.Domains.Skip(1)) (site.RedirectAliases ? redirected : served).Add(d);
        if (site.RedirectWww && Domains.DomainName.WwwCounterpart(primary.Host) is { } counterpart)
        {
            // The counterpart redirects whether or not it is also listed: that is what the option asks for.
            var listed = served.Concat(redirected).FirstOrDefault(d => d.Host == counterpart);
            served.RemoveAll(d => d.Host == counterpart);
            redirected.RemoveAll(d => d.Host == counterpart);
            redirected.Add(listed ?? new SiteDomain(counterpart, primary.HttpOnly));
        }

        var sb = new StringBuilder();
        sb.Append("# Managed by VpsPanel for project ").Append(site.Slug).Append(". Regenerated from the panel's database: edits here are overwritten.\n");
        var proxy = site.StaticRoot is { } root
            // Checked again here although the deploy checked it: this text goes into a Caddyfile, where a space, a
            // quote or a brace in the path would be syntax or a placeholder.
            ? Deployments.StaticSiteDeploy.IsSafeRoot(root) ? $"\troot * {root}\n\tfile_server\n" : throw new ArgumentException($"static root {root} cannot be written into a Caddyfile")
            : site.Upstreams is { Count: > 0 } cluster ? Balanced(cluster.Select(CheckedUpstream), site.HealthUri)
            : site.OtherPorts is { Count: > 0 } others ? Balanced(others.Prepend(site.HostPort).Select(p => $"127.0.0.1:{p}"), site.HealthUri)
            : $"\treverse_proxy 127.0.0.1:{site.HostPort} {{\n\t\tlb_try_duration {LbTryDuration}\n\t\tlb_try_interval 250ms\n\t}}\n";
        var target = (Secure(primary, tls) ? "https://" : "http://") + primary.Host + "{uri}";
        foreach (var https in new[] { true, false }) Block(sb, served.Where(d => Secure(d, tls) == https).ToList(), https, tls, proxy);
        foreach (var https in new[] { true, false }) Block(sb, redirected.Where(d => Secure(d, tls) == https).ToList(), https, tls, $"\tredir {target} 308\n");
        return sb.ToString();
    }

    /// <summary>
    /// The proxy of a project with replicas. Round robin spreads requests evenly (random would too, unevenly over a
    /// few requests). A replica that refuses or drops a request is retried on another within lb_try_duration (a dial
    /// error for any method; a GET also after a dropped connection), and passive checks (max_fails 1, fail_duration)
    /// then keep it out for 10 s, so a replica that dies costs no failed request. Active checks (health_uri: the path
    /// the deploy probed) take a hung or erroring replica out within health_interval and put it back once it answers.
    /// </summary>
    static string Balanced(IEnumerable<string> upstreams, string? healthUri)
    {
        var sb = new StringBuilder("\treverse_proxy");
        foreach (var upstream in upstreams) sb.Append(' ').Append(upstream);
        sb.Append(" {\n\t\tlb_policy round_robin\n");
        sb.Append("\t\tlb_try_duration ").Append(LbTryDuration).Append("\n\t\tlb_try_interval 250ms\n");
        sb.Append("\t\tfail_duration 10s\n\t\tmax_fails 1\n");
        if (healthUri is not null)
        {
            // The project's health path passed ProjectStore's rules (no space, quote, brace or #); checked again here
            // because this text goes into a Caddyfile.
            if (!SafeHealthUri().IsMatch(healthUri)) throw new ArgumentException($"health path {healthUri} cannot be written into a Caddyfile");
            sb.Append("\t\thealth_uri ").Append(healthUri).Append("\n\t\thealth_interval 2s\n\t\thealth_timeout 2s\n");
        }
        return sb.Append("\t}\n").ToString();
    }

    /// <summary>A node's IPv4 address and a port: it goes into a Caddyfile, so nothing else may pass.</summary>
    static string CheckedUpstream(string upstream) =>
        SafeUpstream().IsMatch(upstream) ? upstream : throw new ArgumentException($"upstream {upstream} cannot be written into a Caddyfile");

    [System.Text.RegularExpressions.GeneratedRegex(@"^[0-9]{1,3}(\.[0-9]{1,3}){3}:[0-9]{1,5}$")]
    private static partial System.Text.RegularExpressions.Regex SafeUpstream();

    [System.Text.RegularExpressions.GeneratedRegex(@"^/[A-Za-z0-9._~/%?=&+-]*$")]
    private static partial System.Text.RegularExpressions.Regex SafeHealthUri();

    /// <summary>The panel's own site: its domain, proxied to the address the panel listens on.</summary>
    public static string RenderPanel(string domain, string upstream, TlsOptions tls)
    {
        var sb = new StringBuilder("# Managed by VpsPanel: the panel's own site (Settings → panel domain). Edits here are overwritten.\n");
        var d = new SiteDomain(domain);
        Block(sb, [d], Secure(d, tls), tls, $"\treverse_proxy {upstream}\n");
        return sb.ToString();
    }

    static bool Secure(SiteDomain d, TlsOptions tls) => tls.AutomaticHttps && !d.HttpOnly;

    static void Block(StringBuilder sb, List<SiteDomain> names, bool https, TlsOptions tls, string body)
    {
        if (names.Count == 0) return;
        sb.Append(string.Join(", ", names.Select(d => https ? d.Host : "http://" + d.Host))).Append(" {\n");
        if (https)
        {
            // A wildcard name cannot get its certificate in advance over HTTP challenges: each subdomain gets one
            // when first asked for, if the panel's /caddy/ask approves it (on_demand_tls in the main Caddyfile).
            var onDemand = names.Any(d => d.Host.StartsWith("*.", StringComparison.Ordinal));
            var issuer = tls.InternalTls ? " internal" : tls.AcmeEmail != "" ? " " + tls.AcmeEmail : "";
            if (issuer != "" || onDemand)
                sb.Append("\ttls").Append(issuer).Append(onDemand ? " {\n\t\ton_demand\n\t}\n" : "\n");
        }
        sb.Append(body).Append("}\n");
    }

    public string SitePath(string fileName) => Path.Combine(settings.CaddySitesDir, fileName);

    /// <summary>
    /// Full regeneration (startup reconcile, settings, a deleted project): makes the sites directory hold exactly the
    /// files <paramref name="render"/> returns (file name → text; every other *.caddy file there goes) and reloads
    /// Caddy once with the main Caddyfile. Only files whose text differs from what is on disk are validated and
    /// rewritten; the others keep their inode and mtime. When the reload fails, every changed file is put back (and
    /// Caddy reloaded with them) before this throws. Rendering and <paramref name="applied"/> (e.g. marking a
    /// deployment live) run inside the lock, so two changes can never render from the same old state and the later
    /// one undo the earlier.
    /// </summary>
    public async Task ApplyAllAsync(Func<IReadOnlyDictionary<string, string>> render, Action<string> log, CancellationToken ct, Action? applied = null)
    {
        await Lock.WaitAsync(ct);
        try
        {
            var files = render();
            Directory.CreateDirectory(settings.CaddySitesDir);
            var wanted = new Dictionary<string, string?>(files.Select(f => KeyValuePair.Create(f.Key, (string?)f.Value)));
            foreach (var path in Directory.EnumerateFiles(settings.CaddySitesDir, "*.caddy"))
                wanted.TryAdd(Path.GetFileName(path), null);
            var changed = await ApplyChangesAsync(wanted, log, ct);
            if (changed > 0) log($"caddy: loaded {settings.CaddyCaddyfile} with {files.Count} site file(s) in {settings.CaddySitesDir} ({changed} changed)");
            applied?.Invoke();
        }
        finally
        {
            Lock.Release();
        }
    }

    /// <summary>
    /// One site file: a deploy's switch or one project's domains. <paramref name="render"/> returns the file's text,
    /// or null when the project has no site (any file of that name goes). Only this file is validated and, if its text
    /// changed, written; every other site file is left alone; Caddy is reloaded once. Cost does not grow with the
    /// number of sites on the panel's side (Caddy itself still loads the whole config). Same lock, restore-on-failure
    /// and <paramref name="applied"/> contract as <see cref="ApplyAllAsync"/>.
    /// </summary>
    public async Task ApplyOneAsync(string fileName, Func<string?> render, Action<string> log, CancellationToken ct, Action? applied = null)
    {
        await Lock.WaitAsync(ct);
        try
        {
            var text = render();
            Directory.CreateDirectory(settings.CaddySitesDir);
            if (await ApplyChangesAsync(new Dictionary<string, string?> { [fileName] = text }, log, ct) > 0)
                log($"caddy: {(text is null ? "removed" : "wrote")} {fileName} in {settings.CaddySitesDir} and loaded {settings.CaddyCaddyfile}");
            applied?.Invoke();
        }
        finally
        {
            Lock.Release();
        }
    }

    /// <summary>
    /// Under the lock: brings the named files to the wanted text (null: no file), validating each changed one first,
    /// so a bad one is reported before anything is written. Then reloads Caddy once, even when nothing changed, so the
    /// running config is what the directory says (Caddy may have been restarted, or a reload lost). Returns how many
    /// files changed.
    /// </summary>
    async Task<int> ApplyChangesAsync(Dictionary<string, string?> wanted, Action<string> log, CancellationToken ct)
    {
        var previous = new Dictionary<string, string?>();
        foreach (var (name, text) in wanted)
        {
            var old = ReadSiteFile(name);
            if (old != text) previous[name] = old;
        }
        foreach (var name in previous.Keys)
        {
            if (wanted[name] is not { } text) continue;
            try { await caddy.AdaptAsync(text, ct); }
            catch (CaddyException e) { throw new CaddyException($"{e.Message} (checking site file {name}; nothing was changed)"); }
        }
        WriteSet(previous.Keys.ToDictionary(n => n, n => wanted[n]));
        try
        {
            await LoadMainCaddyfileAsync(ct);
        }
        catch (Exception e) when (e is CaddyException or IOException)
        {
            log($"caddy: reload failed, restoring the previous site files: {e.Message}");
            WriteSet(previous);
            try { await LoadMainCaddyfileAsync(CancellationToken.None); }
            catch (Exception again) when (again is CaddyException or IOException) { log($"caddy: reloading the previous config also failed: {again.Message}"); }
            throw;
        }
        return previous.Count;
    }

    string? ReadSiteFile(string name)
    {
        try { return File.ReadAllText(SitePath(name)); }
        catch (FileNotFoundException) { return null; }
    }

    /// <summary>Writes (temp file in the same directory, then rename: nobody ever reads half a file) or deletes (null) each file.</summary>
    void WriteSet(IReadOnlyDictionary<string, string?> files)
    {
        foreach (var (name, text) in files)
        {
            var path = SitePath(name);
            if (text is null) { File.Delete(path); continue; }
            var tmp = path + ".tmp";
            File.WriteAllText(tmp, text);
            File.Move(tmp, path, overwrite: true);
        }
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
