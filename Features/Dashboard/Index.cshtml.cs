using Microsoft.AspNetCore.Mvc.RazorPages;

namespace VpsPanel.Features.Dashboard;

/// <summary>/: the dashboard with the system status.</summary>
public sealed class IndexModel(SystemStatus status, Settings.PanelSettings settings, Data.Db db, Deployments.LiveState live) : PageModel
{
    public StatusReport Report { get; private set; } = null!;

    /// <summary>Live apps whose container is not running (LiveReconciler), with their project's slug, for everyone signed in.</summary>
    public List<(Deployments.LiveStore.LiveContainer App, Deployments.ContainerDown Down)> AppsDown { get; private set; } = [];

    /// <summary>Shown to admins: without it, webhook URLs are paths only (the panel never builds them from the Host header).</summary>
    public bool PublicUrlUnset => settings.PublicUrl == "";

    public async Task OnGetAsync(CancellationToken ct)
    {
        Report = await status.CheckAsync(ct);
        if (live.AllDown.Count == 0) return;
        using var c = db.Open();
        AppsDown = Deployments.LiveStore.ListLiveContainers(c)
            .Where(a => live.DownOf(a.Id) is not null)
            .Select(a => (a, live.DownOf(a.Id)!)).ToList();
    }
}
