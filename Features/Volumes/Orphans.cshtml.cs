using Docker.DotNet.Models;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using VpsPanel.Features.Auth;
using VpsPanel.Features.Data;
using VpsPanel.Features.Docker;

namespace VpsPanel.Features.Volumes;

/// <summary>
/// /volumes (admins): the panel's Docker volumes no project claims any more (a deleted project's, kept by default;
/// one removed from a project's list), with their size, and Delete. Only this panel's (label vpspanel.panel).
/// </summary>
[Authorize(Policy = AuthCookie.AdminPolicy)]
public sealed class OrphansModel(Db db, DockerEngine engine) : PageModel
{
    public List<(VolumeResponse Volume, long? Size)> Orphans { get; private set; } = [];
    public string? Problem { get; private set; }
    public string? Deleted { get; private set; }

    async Task LoadAsync(CancellationToken ct)
    {
        using var c = db.Open();
        try
        {
            var docker = await engine.ClientAsync(ct);
            var sizes = await VolumeSizes.DockerVolumeSizesAsync(engine, null, ct);
            Orphans = (await ProjectVolumes.ListOrphansAsync(c, docker, ct)).Select(v => (v, sizes.TryGetValue(v.Name, out var s) ? s : (long?)null)).ToList();
        }
        catch (Exception e) when (DockerEngine.IsDockerError(e)) { Problem = DockerErrors.Readable(e); }
    }

    public async Task OnGetAsync(CancellationToken ct)
    {
        Deleted = Request.Query["deleted"].ToString() is { Length: > 0 } d ? d : null;
        await LoadAsync(ct);
    }

    public async Task<IActionResult> OnPostDeleteAsync(string? name, CancellationToken ct)
    {
        await LoadAsync(ct);
        // Only a volume this page lists: never a claimed one, another panel's, or one that is not ours at all.
        if (Orphans.FirstOrDefault(o => o.Volume.Name == name).Volume is not { } v)
        {
            Problem = $"\"{name}\" is not an orphaned volume of this panel; nothing was deleted.";
            Response.StatusCode = StatusCodes.Status422UnprocessableEntity;
            return Page();
        }
        try { await (await engine.ClientAsync(ct)).Volumes.RemoveAsync(v.Name, false, ct); }
        catch (Exception e) when (DockerEngine.IsDockerError(e))
        {
            Problem = $"Docker did not delete {v.Name}: {DockerErrors.Readable(e)}";
            Response.StatusCode = StatusCodes.Status409Conflict;
            return Page();
        }
        using var c = db.Open();
        Audit.AuditLog.Record(c, HttpContext, "volume.delete", v.Name, $"orphaned volume {ProjectVolumes.Label(v, ProjectVolumes.VolumeLabel)} of project {ProjectVolumes.Label(v, ProjectVolumes.ProjectLabel)}");
        return Shared.PostRedirect.To(HttpContext, $"/volumes?deleted={Uri.EscapeDataString(v.Name)}");
    }
}
