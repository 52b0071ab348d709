using Microsoft.AspNetCore.Mvc.RazorPages;

namespace VpsPanel.Features.Dashboard;

/// <summary>/: the dashboard with the system status.</summary>
public sealed class IndexModel(SystemStatus status) : PageModel
{
    public StatusReport Report { get; private set; } = null!;

    public async Task OnGetAsync(CancellationToken ct) => Report = await status.CheckAsync(ct);
}
