using Microsoft.AspNetCore.Mvc.RazorPages;

namespace VpsPanel.Features.Dashboard;

/// <summary>/: the dashboard with the system status.</summary>
public sealed class IndexModel(SystemStatus status, Settings.PanelSettings settings) : PageModel
{
    public StatusReport Report { get; private set; } = null!;

    /// <summary>Shown to admins: without it, webhook URLs are paths only (the panel never builds them from the Host header).</summary>
    public bool PublicUrlUnset => settings.PublicUrl == "";

    public async Task OnGetAsync(CancellationToken ct) => Report = await status.CheckAsync(ct);
}
