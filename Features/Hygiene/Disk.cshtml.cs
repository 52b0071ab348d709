using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using VpsPanel.Features.Auth;
using VpsPanel.Features.Data;
using VpsPanel.Features.Docker;
using VpsPanel.Features.Settings;

namespace VpsPanel.Features.Hygiene;

/// <summary>/disk (admins): free space of the data dir and Docker's root, the recent cleanups, and "Clean up now".</summary>
[Authorize(Policy = AuthCookie.AdminPolicy)]
public sealed class DiskModel(Db db, PanelSettings settings, DockerEngine engine, DiskCleanup cleanup) : PageModel
{
    public List<DiskFree> Disks { get; private set; } = [];
    public List<DiskCleanup.CleanupRunRow> Runs { get; private set; } = [];
    public CleanupResult? Result { get; private set; }
    public PanelSettings Settings => settings;

    async Task LoadAsync(CancellationToken ct)
    {
        Disks = await DiskGuard.MeasureAsync(settings, engine, ct);
        using var c = db.Open();
        Runs = DiskCleanup.ListRecentCleanups(c, 10);
    }

    public async Task OnGetAsync(CancellationToken ct) => await LoadAsync(ct);

    /// <summary>Runs the cleanup while the admin waits (seconds, mostly the engine's disk-usage count) and shows what it reclaimed.</summary>
    public async Task<IActionResult> OnPostAsync(CancellationToken ct)
    {
        Result = await cleanup.RunAsync("web", ct);
        Audit.AuditLog.Record(HttpContext, "disk.cleanup", "panel", Result.Summary);
        await LoadAsync(ct);
        return Page();
    }
}
