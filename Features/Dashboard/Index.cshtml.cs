using Microsoft.AspNetCore.Mvc.RazorPages;

namespace VpsPanel.Features.Dashboard;

/// <summary>/: the dashboard with the system status.</summary>
public sealed class IndexModel(SystemStatus status, Settings.PanelSettings settings, Data.Db db, Deployments.LiveState live, Docker.DockerEngine engine) : PageModel
{
    /// <summary>
    /// One page of the projects the user sees, failures first (ProjectOverview.cs), and the newest deployments across
    /// them. A page is bounded: with 1,000 projects, rendering every row made the dashboard the slowest page of the
    /// panel (README "Performance"). The order and the totals still come from all of them.
    /// </summary>
    public List<ProjectOverview> Projects { get; private set; } = [];
    public const int ProjectsPerPage = 50;
    /// <summary>The page shown (1-based, from ?page=, kept within 1..PageCount) and how many pages there are.</summary>
    public int PageNumber { get; private set; } = 1;
    public int PageCount { get; private set; } = 1;
    /// <summary>How many projects the user sees in all, and how many per status word, failures first.</summary>
    public int ProjectCount { get; private set; }
    public List<(string Status, int Count)> StatusCounts { get; private set; } = [];
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
        Report = await status.CheckAsync(ct, writeEveryTime: false);
        Disks = await Hygiene.DiskGuard.MeasureAsync(settings, engine, ct);
        using (var c0 = db.Open())
        {
            var all = ProjectStatus.ListProjectOverviews(c0, Auth.AuthCookie.UserId(User), Auth.AuthCookie.IsAdmin(User), live);
            ProjectCount = all.Count;
            StatusCounts = all.GroupBy(p => p.Status).Select(g => (g.Key, g.Count())).OrderBy(s => ProjectStatus.Rank(s.Key)).ToList();
            PageCount = Math.Max(1, (all.Count + ProjectsPerPage - 1) / ProjectsPerPage);
            // Read here rather than bound: "page" is a route value of Razor Pages. A page past the end shows the last.
            PageNumber = int.TryParse(Request.Query["page"], out var n) ? Math.Clamp(n, 1, PageCount) : 1;
            Projects = all.Skip((PageNumber - 1) * ProjectsPerPage).Take(ProjectsPerPage).ToList();
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
