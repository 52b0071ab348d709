using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using VpsPanel.Features.Auth;
using VpsPanel.Features.Data;
using VpsPanel.Features.Deployments;
using VpsPanel.Features.Docker;

namespace VpsPanel.Features.Services;

/// <summary>/services/{name}/logs?tail=N: the container's last lines, read from the engine on each request, password masked.</summary>
public sealed class LogsModel(Db db, DockerEngine engine, IDataProtectionProvider protection) : PageModel
{
    public ServiceRow? Service { get; private set; }
    public int Tail { get; private set; } = ContainerLogsModel.DefaultTail;
    public List<LogLine> Lines { get; private set; } = [];
    public string? Problem { get; private set; }

    public async Task<IActionResult> OnGetAsync(string name, string? tail, CancellationToken ct)
    {
        string panel;
        using (var c = db.Open())
        {
            Service = ServiceStore.FindServiceByNameVisibleTo(c, name, User.UserId(), User.IsAdmin());
            panel = PanelIdentity.Of(c);
        }
        if (Service is null) return NotFound();
        if (ContainerLogsModel.TailProblem(tail, out var n) is { } tp)
        {
            Problem = tp;
            Response.StatusCode = StatusCodes.Status422UnprocessableEntity;
            return Page();
        }
        Tail = n;
        try
        {
            var logs = await ServiceLogs.ReadMaskedAsync(engine, protection, panel, Service, n, ct);
            if (logs is null) Problem = $"{Service.Name} has no container (status {Service.Status}).";
            else Lines = logs.Lines.ToList();
        }
        catch (Exception e) when (DockerEngine.IsDockerError(e))
        {
            Problem = DockerErrors.Readable(e);
            Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
        }
        return Page();
    }
}
