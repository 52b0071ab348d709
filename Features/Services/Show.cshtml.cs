using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using VpsPanel.Features.Auth;
using VpsPanel.Features.Data;
using VpsPanel.Features.Deployments;
using VpsPanel.Features.Docker;
using VpsPanel.Features.Projects;
using VpsPanel.Features.Settings;

namespace VpsPanel.Features.Services;

/// <summary>
/// /services/{name}: the service, its status and connection facts, its links; the buttons call the action files
/// (<see cref="LinkService"/>, <see cref="ServicePower"/>, <see cref="ChangeServiceVersion"/>, <see cref="DeleteService"/>).
/// The password is never in the page: "Copy password" fetches it (POST, antiforgery) for the owner or an admin.
/// </summary>
public sealed class ShowModel(Db db, DockerEngine engine, IDataProtectionProvider protection, PanelSettings settings, DeployWorker worker) : PageModel
{
    public ServiceRow? Service { get; private set; }
    public string Status { get; private set; } = "";
    public List<LinkedProject> Links { get; private set; } = [];
    public List<ProjectStore.ProjectListItem> Linkable { get; private set; } = [];
    public string VolumeName { get; private set; } = "";
    public Dictionary<string, string> Errors { get; } = [];
    public string? Done { get; private set; }
    public bool CanReveal => User.IsAdmin() || Service!.OwnerId == User.UserId();

    async Task<bool> LoadAsync(string name, CancellationToken ct)
    {
        using var c = db.Open();
        Service = ServiceStore.FindServiceByNameVisibleTo(c, name, User.UserId(), User.IsAdmin());
        if (Service is null) return false;
        Status = await ServiceApi.StatusOf(c, engine, Service, ct);
        Links = ServiceStore.ListProjectsLinkedToService(c, Service.Id);
        Linkable = ProjectStore.ListProjectsVisibleTo(c, User.UserId(), User.IsAdmin()).Where(p => Links.All(l => l.Id != p.Id)).ToList();
        VolumeName = ServiceContainer.VolumeName(PanelIdentity.Of(c), Service.Name);
        return true;
    }

    public async Task<IActionResult> OnGetAsync(string name, string? done, CancellationToken ct)
    {
        if (!await LoadAsync(name, ct)) return NotFound();
        Done = done switch
        {
            "linked" => "Linked. The project gets the variables from its next deployment.",
            "linked-redeploy" => "Linked, and a deployment of the project is queued.",
            "unlinked" => "Unlinked. The project loses the variables from its next deployment.",
            "version" => "The version was changed; the container was recreated on the same data.",
            "start" or "stop" or "restart" => $"{char.ToUpperInvariant(done[0])}{done[1..]} done.",
            _ => null,
        };
        return Page();
    }

    /// <summary>The password as text, for the copy button (wwwroot/js/app.js); never cached.</summary>
    public IActionResult OnPostPassword(string name)
    {
        using var c = db.Open();
        if (ServiceStore.FindServiceByNameVisibleTo(c, name, User.UserId(), User.IsAdmin()) is not { } s) return NotFound();
        if (!(User.IsAdmin() || s.OwnerId == User.UserId())) return Forbid();
        Response.Headers.CacheControl = "no-store";
        Audit.AuditLog.Record(c, HttpContext, "service.password.copy", s.Name);
        return Content(ServiceStore.Password(protection, s), "text/plain");
    }

    public async Task<IActionResult> OnPostLinkAsync(string name, string? project, bool redeploy, CancellationToken ct)
    {
        if (!await LoadAsync(name, ct)) return NotFound();
        ProjectRow? p;
        using (var c = db.Open()) p = Dapper.SqlMapper.ExecuteScalar<long?>(c, "SELECT id FROM projects WHERE slug = @project", new { project }) is { } id ? ProjectStore.FindProjectVisibleTo(c, id, User.UserId(), User.IsAdmin()) : null;
        if (p is null) return Fail("link", $"there is no project \"{project}\" you can see");
        var (problem, deployment) = await LinkService.LinkAsync(db, engine, worker, Service!, p, redeploy, User.UserId(), ct);
        if (problem is not null) return Fail("link", problem);
        Audit.AuditLog.Record(HttpContext, "service.link", Service!.Name, $"project {p.Slug}" + (deployment is { } d ? $", redeploy {d}" : ""));
        return Shared.PostRedirect.To(HttpContext, $"/services/{Service.Name}?done={(deployment is null ? "linked" : "linked-redeploy")}");
    }

    public async Task<IActionResult> OnPostUnlinkAsync(string name, string? project, CancellationToken ct)
    {
        if (!await LoadAsync(name, ct)) return NotFound();
        if (Links.FirstOrDefault(l => l.Slug == project) is not { } link) return Fail("link", $"{Service!.Name} is not linked to \"{project}\"");
        ProjectRow p;
        using (var c = db.Open()) p = ProjectStore.FindProjectById(c, link.Id)!;
        await LinkService.UnlinkAsync(db, engine, worker, Service!, p, false, User.UserId(), ct);
        Audit.AuditLog.Record(HttpContext, "service.unlink", Service!.Name, $"project {p.Slug}");
        return Shared.PostRedirect.To(HttpContext, $"/services/{Service.Name}?done=unlinked");
    }

    public async Task<IActionResult> OnPostPowerAsync(string name, string? action, CancellationToken ct)
    {
        if (!await LoadAsync(name, ct)) return NotFound();
        if (action is null || !ServicePower.Actions.Contains(action)) return Fail("power", "choose start, stop or restart");
        if (await ServicePower.RunAsync(db, engine, Service!, action, ct) is { } problem) return Fail("power", problem);
        Audit.AuditLog.Record(HttpContext, "service." + action, Service!.Name);
        return Shared.PostRedirect.To(HttpContext, $"/services/{Service.Name}?done={action}");
    }

    public async Task<IActionResult> OnPostVersionAsync(string name, string? version, CancellationToken ct)
    {
        if (!await LoadAsync(name, ct)) return NotFound();
        var before = Service!.Version;
        if (await ChangeServiceVersion.RunAsync(db, engine, protection, settings, Service, version, ct) is { } problem) return Fail("version", problem);
        Audit.AuditLog.Record(HttpContext, "service.version", Service.Name, $"{before} -> {version?.Trim()}");
        return Shared.PostRedirect.To(HttpContext, $"/services/{Service.Name}?done=version");
    }

    public async Task<IActionResult> OnPostDeleteAsync(string name, bool deleteVolume, CancellationToken ct)
    {
        if (!await LoadAsync(name, ct)) return NotFound();
        if (await DeleteService.RunAsync(db, engine, Service!, deleteVolume, ct) is { } problem) return Fail("delete", problem);
        Audit.AuditLog.Record(HttpContext, "service.delete", Service!.Name, deleteVolume ? "with its volume" : "volume kept");
        return Shared.PostRedirect.To(HttpContext, "/services");
    }

    IActionResult Fail(string field, string problem)
    {
        Errors[field] = problem;
        Response.StatusCode = StatusCodes.Status422UnprocessableEntity;
        return Page();
    }
}
