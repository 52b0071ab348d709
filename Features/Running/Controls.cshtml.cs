using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using VpsPanel.Features.Auth;
using VpsPanel.Features.Data;
using VpsPanel.Features.Docker;
using VpsPanel.Features.Projects;

namespace VpsPanel.Features.Running;

/// <summary>What the running-app section shows: the engine's state, an error of the last action, the newest events.</summary>
public sealed record RunningSectionModel(long ProjectId, AppRunState State, List<ProjectEvent> Events, string? Error = null)
{
    public const int EventsShown = 20;

    public static async Task<RunningSectionModel> LoadAsync(Db db, DockerEngine engine, long projectId, CancellationToken ct, string? error = null)
    {
        var state = await AppRunState.LoadAsync(db, engine, projectId, ct);
        using var c = db.Open();
        return new RunningSectionModel(projectId, state, RunStore.ListEventsNewestFirst(c, projectId, EventsShown), error);
    }

    /// <summary>What the database holds for the section, read with the rest of the project page (Projects/Show.cshtml.cs).</summary>
    public sealed record Stored(RunStateRow? Run, List<ProjectEvent> Events)
    {
        public static Stored Read(Microsoft.Data.Sqlite.SqliteConnection c, long projectId) =>
            new(RunStore.FindRunState(c, projectId), RunStore.ListEventsNewestFirst(c, projectId, EventsShown));
    }
}

/// <summary>
/// /projects/{id}/running: the section on its own (GET), and the Start, Stop and Restart buttons (POST). Success goes
/// back to the project page; a refusal (never deployed, a static site, the engine's error) is this page with the
/// message, 422 so htmx shows it. Owners and admins only, like the project (others get 404).
/// </summary>
public sealed class ControlsModel(Db db, DockerEngine engine, AppPower power) : PageModel
{
    public ProjectRow? Project { get; private set; }
    public RunningSectionModel? Section { get; private set; }

    bool Load(long id)
    {
        using var c = db.Open();
        Project = ProjectStore.FindProjectVisibleTo(c, id, User.UserId(), User.IsAdmin());
        return Project is not null;
    }

    public async Task<IActionResult> OnGetAsync(long id, CancellationToken ct)
    {
        if (!Load(id)) return NotFound();
        Section = await RunningSectionModel.LoadAsync(db, engine, id, ct);
        return Page();
    }

    public async Task<IActionResult> OnPostAsync(long id, string? action, CancellationToken ct)
    {
        if (!Load(id)) return NotFound();
        if (await power.RunAsync(Project!, action ?? "", User.Identity?.Name ?? "?", ct) is { } problem)
        {
            Section = await RunningSectionModel.LoadAsync(db, engine, id, ct, problem.Message);
            Response.StatusCode = StatusCodes.Status422UnprocessableEntity;
            return Page();
        }
        Audit.AuditLog.Record(HttpContext, $"project.{action}", Project!.Slug, "no rebuild");
        return Shared.PostRedirect.To(HttpContext, $"/projects/{id}#running");
    }
}
