using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using VpsPanel.Features.Auth;
using VpsPanel.Features.Data;

namespace VpsPanel.Features.Projects;

/// <summary>/projects/{id}/edit: change a project's settings (used from the next deploy on), or delete it.</summary>
public sealed class EditModel(Db db, ProjectChanges changes) : PageModel
{
    public ProjectRow? Project { get; private set; }
    public ProjectForm Form { get; private set; } = ProjectForm.Empty;
    public Dictionary<string, string> Errors { get; private set; } = [];

    bool Load(long id)
    {
        using var c = db.Open();
        Project = ProjectStore.FindProjectVisibleTo(c, id, User.UserId(), User.IsAdmin());
        if (Project is null) return false;
        Form = ProjectFormReader.FromProject(Project) with { AutoDeploy = Webhooks.WebhookStore.FindAutoDeploy(c, id), StopOldFirst = Volumes.StopOldFirst.FindStopOldFirst(c, id), Replicas = ProjectReplicas.FindReplicas(c, id).ToString() };
        var where = Cluster.ClusterPlacement.Find(c, id);
        Form = Form with { Target = where.Target, Placement = where.Placement };
        return true;
    }

    public IActionResult OnGet(long id) => Load(id) ? Page() : NotFound();

    public async Task<IActionResult> OnPostAsync(long id, CancellationToken ct)
    {
        if (!Load(id)) return NotFound();
        Form = ProjectFormReader.Read(Request.Form) with { Name = Project!.Name };
        Errors = await changes.UpdateAsync(Project, Form, User.IsAdmin(), ct);
        if (Errors.Count > 0) return Invalid();
        Audit.AuditLog.Record(HttpContext, "project.edit", Project.Slug, $"{Form.GitUrl} branch {Form.Branch}");
        return Shared.PostRedirect.To(HttpContext, $"/projects/{id}?saved=1");
    }

    /// <summary>Deletes the project and everything it has on this machine, once its short name is typed to confirm.</summary>
    public async Task<IActionResult> OnPostDeleteAsync(long id, string? confirm, bool deleteVolumes, CancellationToken ct)
    {
        if (!Load(id)) return NotFound();
        if ((confirm ?? "").Trim() != Project!.Slug)
        {
            Errors["confirm"] = $"Type {Project.Slug} to confirm.";
            return Invalid();
        }
        if (await changes.DeleteAsync(Project, ct, deleteVolumes) is { } problem)
        {
            Errors["confirm"] = problem;
            return Invalid();
        }
        Audit.AuditLog.Record(HttpContext, "project.delete", Project.Slug, deleteVolumes ? "with its volumes" : "volumes kept");
        return Shared.PostRedirect.To(HttpContext, "/projects");
    }

    IActionResult Invalid()
    {
        Response.StatusCode = StatusCodes.Status422UnprocessableEntity;
        return Page();
    }
}
