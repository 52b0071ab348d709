using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Data.Sqlite;
using VpsPanel.Features.Caddy;
using VpsPanel.Features.Data;
using VpsPanel.Features.Settings;

namespace VpsPanel.Features.Domains;

/// <summary>
/// "Apply": renders site files from the database (each project with a live deployment, and the panel's own site when
/// it has a domain) and hands them to <see cref="CaddySite"/>, which validates, writes, reloads and restores under
/// one lock. Every change that moves a route goes through here: one project's change renders that project's file
/// only (<see cref="ApplyProjectAsync"/>); startup and panel-wide settings render them all (<see cref="ApplyAllAsync"/>).
/// </summary>
public sealed class DomainSites(Db db, PanelSettings settings, CaddySite caddy, IServer server, IHostApplicationLifetime lifetime)
{
    volatile bool _startupRendered;

    /// <summary>
    /// Whether the deploy worker's startup recovery has rendered every site file from the database (or tried to, with
    /// Caddy down). Until then a site file that differs from the database is expected, not drift: self-healing's drift
    /// check waits for it (Running/SelfHealing), or it regenerated the same sites one by one, a reload each, racing the
    /// startup's single reload (seen in SwitchOneSiteTests: 4 reloads counted where 1 was due).
    /// </summary>
    public bool StartupRendered => _startupRendered;
    public void MarkStartupRendered() => _startupRendered = true;

    /// <summary>
    /// Renders and applies. <paramref name="without"/> leaves a project out (it is being deleted);
    /// <paramref name="switchTo"/> routes a project to a new port before that port is recorded as live (a deploy's switch).
    /// </summary>
    public async Task ApplyAllAsync(Action<string> log, CancellationToken ct, long? without = null, (long ProjectId, int Port)? switchTo = null, Action? applied = null)
    {
        var upstream = await PanelUpstreamAsync(ct);
        await caddy.ApplyAllAsync(() =>
        {
            using var c = db.Open();
            return RenderAll(c, TlsOptions.From(settings), upstream, without, switchTo);
        }, log, ct, applied);
    }

    /// <summary>
    /// Renders and applies one project's site file only (a deploy's switch, a change of its domains): the other site
    /// files are neither rendered, validated nor touched, so the cost does not grow with the number of live sites.
    /// A project that is gone or has nothing live loses its file. Same arguments as <see cref="ApplyAllAsync"/>;
    /// <paramref name="switchToFiles"/> is the switch of a plain static site: Caddy serves that directory;
    /// <paramref name="switchToUpstreams"/> the switch of a cluster project: Caddy balances over its tasks' node:port addresses.
    /// </summary>
    public async Task ApplyProjectAsync(long projectId, Action<string> log, CancellationToken ct, (long ProjectId, int Port)? switchTo = null, Action? applied = null,
        (long ProjectId, string Root)? switchToFiles = null, (long ProjectId, IReadOnlyList<string> Upstreams)? switchToUpstreams = null)
    {
        string slug;
        using (var c = db.Open())
            slug = ProjectDomains.FindRoutedProject(c, projectId)?.Slug ?? throw new InvalidOperationException($"project {projectId} does not exist");
        await caddy.ApplyOneAsync(CaddySite.FileName(slug), () =>
        {
            using var c = db.Open();
            return ProjectDomains.FindRoutedProject(c, projectId) is { } p ? RenderProject(c, PanelOptions.Load(c), TlsOptions.From(settings), p, switchTo, switchToFiles, switchToUpstreams) : null;
        }, log, ct, applied);
    }

    /// <summary>The site files the database says there should be: file name → text.</summary>
    public static Dictionary<string, string> RenderAll(SqliteConnection c, TlsOptions tls, string panelUpstream, long? without, (long ProjectId, int Port)? switchTo)
    {
        var options = PanelOptions.Load(c);
        var files = new Dictionary<string, string>();
        foreach (var p in ProjectDomains.ListRoutedProjects(c))
        {
            if (p.Id == without) continue;
            if (RenderProject(c, options, tls, p, switchTo) is { } text) files[CaddySite.FileName(p.Slug)] = text;
        }
        if (options.PanelDomain != "") files[CaddySite.PanelFile] = CaddySite.RenderPanel(options.PanelDomain, panelUpstream, tls);
        return files;
    }

    /// <summary>One project's site file, or null when it has nothing live to route to or no domain.</summary>
    static string? RenderProject(SqliteConnection c, PanelOptions options, TlsOptions tls, ProjectDomains.RoutedProject p, (long ProjectId, int Port)? switchTo,
        (long ProjectId, string Root)? switchToFiles = null, (long ProjectId, IReadOnlyList<string> Upstreams)? switchToUpstreams = null)
    {
        // A switch decides alone what the project routes to; otherwise the live deployment does (a port or files).
        // A cluster project (Cluster/ClusterDeploy) routes to its tasks' node:port addresses instead of one loopback port.
        var (port, root, cluster) = switchTo is { } s && s.ProjectId == p.Id ? (s.Port, null, null)
            : switchToFiles is { } f && f.ProjectId == p.Id ? (null, f.Root, null)
            : switchToUpstreams is { } u && u.ProjectId == p.Id ? (null, null, u.Upstreams)
            : (p.LivePort, p.LiveStaticRoot, Cluster.ClusterRoutes.Split(p.LiveUpstreams));
        if (port is null && root is null && cluster is not { Count: > 0 }) return null;
        var setup = ProjectDomains.FindDomainSetup(c, p.Id);
        var domains = setup.Domains.ToList();
        if (options.DefaultDomain(p.Slug) is { } dd && domains.All(d => d.Host != dd)) domains.Add(new SiteDomain(dd));
        if (domains.Count == 0) return null;
        // Replicas (Deployments/ReplicaSet): the other ports of the deployment that owns this one, balanced by Caddy.
        var replicas = port is { } first ? Deployments.ReplicaSet.RouteOf(c, p.Id, first) : null;
        if (cluster is { Count: > 0 })
            return CaddySite.Render(new ProjectSite(p.Slug, domains, setup.RedirectAliases, setup.RedirectWww, 0, Upstreams: cluster, HealthUri: Cluster.ClusterRoutes.HealthUriOf(c, p.Id)), tls);
        return CaddySite.Render(new ProjectSite(p.Slug, domains, setup.RedirectAliases, setup.RedirectWww, (int)(port ?? 0), root, replicas?.OtherPorts, replicas?.HealthUri), tls);
    }

    /// <summary>
    /// Saves a project's domains and applies them when the project is live. If Caddy refuses, the previous domains
    /// are saved back (the files were already restored), so the database and the proxy agree; returns the error.
    /// </summary>
    public async Task<string?> SaveAndApplyAsync(long projectId, DomainSetup setup, CancellationToken ct)
    {
        DomainSetup before;
        bool live;
        using (var c = db.Open())
        {
            using var tx = c.BeginTransaction();
            before = ProjectDomains.FindDomainSetup(c, projectId, tx);
            live = ProjectDomains.ListRoutedProjects(c, tx).Any(p => p.Id == projectId && p.IsLive);
            ProjectDomains.SaveDomainSetup(c, projectId, setup, tx);
            tx.Commit();
        }
        if (!live) return null;
        try
        {
            await ApplyProjectAsync(projectId, _ => { }, ct);
            return null;
        }
        catch (CaddyException e)
        {
            using var c = db.Open();
            using var tx = c.BeginTransaction();
            ProjectDomains.SaveDomainSetup(c, projectId, before, tx);
            tx.Commit();
            return $"Nothing was changed: {e.Message}";
        }
    }

    /// <summary>
    /// The address Caddy should proxy the panel's own domain to: where this process listens, with a wildcard bind
    /// (0.0.0.0, [::], +, *) read as loopback. Waits for the server to start when asked before it has.
    /// </summary>
    public async Task<string> PanelUpstreamAsync(CancellationToken ct)
    {
        if (!lifetime.ApplicationStarted.IsCancellationRequested)
        {
            var started = new TaskCompletionSource();
            using var reg = lifetime.ApplicationStarted.Register(() => started.TrySetResult());
            await started.Task.WaitAsync(TimeSpan.FromSeconds(30), ct);
        }
        var addresses = server.Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
        foreach (var a in addresses.Where(a => a.StartsWith("http://", StringComparison.Ordinal)))
        {
            var hostPort = a["http://".Length..].TrimEnd('/');
            var colon = hostPort.LastIndexOf(':');
            if (colon < 0) continue;
            var host = hostPort[..colon];
            var port = hostPort[(colon + 1)..];
            return (host is "0.0.0.0" or "[::]" or "+" or "*" or "localhost" ? "127.0.0.1" : host) + ":" + port;
        }
        return "127.0.0.1:8080";
    }
}
