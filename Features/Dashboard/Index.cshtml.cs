using System.Collections.Concurrent;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Html;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Rendering;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace VpsPanel.Features.Dashboard;

/// <summary>/: the dashboard with the system status.</summary>
[Shared.KeptPage.KeepsWholePage]
public sealed class IndexModel(SystemStatus status, Settings.PanelSettings settings, Data.Db db, Deployments.LiveState live, Data.ReadCache cache) : PageModel
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

    /// <summary>Services whose newest dump failed, of those the user sees (Services/_FailedDumps.cshtml).</summary>
    public List<Services.ServiceDumps.FailedDump> FailedDumps { get; private set; } = [];

    /// <summary>
    /// What the dashboard reads from the database and LiveState for one user, kept by Data/ReadCache until either
    /// changes, with the HTML of its project tables per page number (_Projects.cshtml, a function of this record and
    /// the page alone): rendering 50 rows cost about as much CPU as the rest of the view (issue 20, bench/pages.sh).
    /// </summary>
    sealed record DashboardData(List<ProjectOverview> All, List<(string Status, int Count)> StatusCounts, List<RecentDeployment> Recent,
        Upgrades.UpgradeCheckState Upgrade, List<(Deployments.LiveStore.LiveContainer App, Deployments.ContainerDown Down)> AppsDown,
        List<Services.ServiceDumps.FailedDump> FailedDumps)
    {
        public ConcurrentDictionary<int, IHtmlContent> ProjectsHtml { get; } = new();
        /// <summary>Whole pages as sent (Shared/KeptPage), per page number and antiforgery cookie; their inputs are the system checks run they showed.</summary>
        public ConcurrentDictionary<(int Page, string AntiforgeryCookie), Shared.KeptPage> Pages { get; } = new();
    }
    DashboardData _data = null!;

    DashboardData Read(long userId, bool isAdmin)
    {
        using var c = db.Open();
        var all = ProjectStatus.ListProjectOverviews(c, userId, isAdmin, live);
        var counts = all.GroupBy(p => p.Status).Select(g => (g.Key, g.Count())).OrderBy(s => ProjectStatus.Rank(s.Key)).ToList();
        var recent = ProjectStatus.ListRecentDeployments(c, userId, isAdmin, 10);
        var upgrade = Upgrades.UpgradeCheckState.Load(c);
        var appsDown = live.AllDown.Count == 0 ? [] : Deployments.LiveStore.ListLiveContainers(c)
            .Where(a => live.DownOf(a.Id) is not null)
            .Select(a => (a, live.DownOf(a.Id)!)).ToList();
        return new(all, counts, recent, upgrade, appsDown, Services.ServiceDumps.ListServicesWhoseLastDumpFailed(c, userId, isAdmin));
    }

    public async Task<IActionResult> OnGetAsync(CancellationToken ct)
    {
        var checks = await status.CheckForPageAsync().WaitAsync(ct);
        (Report, Disks) = checks;
        var (userId, isAdmin) = (Auth.AuthCookie.UserId(User), Auth.AuthCookie.IsAdmin(User));
        var data = _data = cache.Get($"dashboard:{userId}:{isAdmin}", () => Read(userId, isAdmin));
        ProjectCount = data.All.Count;
        StatusCounts = data.StatusCounts;
        PageCount = Math.Max(1, (data.All.Count + ProjectsPerPage - 1) / ProjectsPerPage);
        // Read here rather than bound: "page" is a route value of Razor Pages. A page past the end shows the last.
        PageNumber = int.TryParse(Request.Query["page"], out var n) ? Math.Clamp(n, 1, PageCount) : 1;
        // The page is the same bytes for the same data (per user), checks run (each second), page number and
        // antiforgery cookie (Shared/KeptPage): a view that finds one sends it without rendering.
        if (Shared.KeptPage.CookieOf(Request) is { } af)
        {
            if (data.Pages.TryGetValue((PageNumber, af), out var kept) && ReferenceEquals(kept.Inputs, checks)) return Shared.KeptPage.Send(this, kept);
            var page = PageNumber;
            Shared.KeptPage.KeepThisView(HttpContext, checks, k => data.Pages[(page, af)] = k);
        }
        Projects = data.All.Skip((PageNumber - 1) * ProjectsPerPage).Take(ProjectsPerPage).ToList();
        Recent = data.Recent;
        Upgrade = data.Upgrade;
        AppsDown = data.AppsDown;
        FailedDumps = data.FailedDumps;
        return Page();
    }

    /// <summary>The project tables of this page (_Projects.cshtml), rendered once per page for the data they show.</summary>
    public async Task<IHtmlContent> ProjectsHtmlAsync(IHtmlHelper html)
    {
        if (_data.ProjectsHtml.TryGetValue(PageNumber, out var kept)) return kept;
        var rendered = await html.PartialAsync("/Features/Dashboard/_Projects.cshtml", this);
        using var text = new StringWriter();
        rendered.WriteTo(text, HtmlEncoder.Default);
        return _data.ProjectsHtml.GetOrAdd(PageNumber, new HtmlString(text.ToString()));
    }
}
