using Microsoft.AspNetCore.Mvc.RazorPages;

namespace VpsPanel.Features.Dashboard;

/// <summary>/: the dashboard with the system status.</summary>
public sealed class IndexModel(SystemStatus status, Settings.PanelSettings settings, Data.Db db, Deployments.LiveState live, Docker.DockerEngine engine) : PageModel
{
    /// <summary>Every project the user sees, failures first, and the newest deployments across them (ProjectOverview.cs).</summary>
    public List<ProjectOverview> Projects { get; private set; } = [];
    public List<RecentDeployment> Recent { get; private set; } = [];
    /// <summary>Free space of the data dir and Docker's root (Hygiene/DiskGuard), warned about below twice Disk:MinFreeMb.</summary>
    public List<Hygiene.DiskFree> Disks { get; private set; } = [];

    public StatusReport Report { get; private set; } = null!;

    /// <summary>The release check (Upgrades/UpgradeCheck): the running version is always shown, a newer release when the admin turned the check on.</summary>
    public Upgrades.UpgradeCheckState Upgrade { get; private set; } = new(false, null, null, null);

    /// <summary>Live apps whose container is not running (LiveReconciler), with their project's slug, for everyone signed in.</summary>
    public List<(Deployments.LiveStore.LiveContainer App, Deployments.ContainerDown Down)> AppsDown { get; private set; } = [];

    /// <summary>Shown to admins: without it, webhook URLs are paths only (the panel never builds them from the Host header).</summary>
    public bool PublicUrlUnset => settings.PublicUrl == "";

    /// <summary>Whether builds are memory-capped (Docker/BuildMemoryCap); null with the classic builder, which always caps.</summary>
    public Docker.BuildMemoryCap.Host? BuildCap => settings.Builder == "buildkit" ? Docker.BuildMemoryCap.Support(settings.CgroupParent) : null;

    public async Task OnGetAsync(CancellationToken ct)
    {
        Report = await status.CheckAsync(ct);
        Disks = await Hygiene.DiskGuard.MeasureAsync(settings, engine, ct);
        using (var c0 = db.Open())
        {
            Projects = ProjectStatus.ListProjectOverviews(c0, Auth.AuthCookie.UserId(User), Auth.AuthCookie.IsAdmin(User), live);
            Recent = ProjectStatus.ListRecentDeployments(c0, Auth.AuthCookie.UserId(User), Auth.AuthCookie.IsAdmin(User), 10);
            Upgrade = Upgrades.UpgradeCheckState.Load(c0);
        }
        if (live.AllDown.Count == 0) return;
        using var c = db.Open();
        AppsDown = Deployments.LiveStore.ListLiveContainers(c)
            .Where(a => live.DownOf(a.Id) is not null)
            .Select(a => (a, live.DownOf(a.Id)!)).ToList();
    }
}
