using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using VpsPanel.Features.Auth;

namespace VpsPanel.Features.Projects;

/// <summary>/projects/new: create a project owned by the signed-in user. Nothing is cloned or built until Deploy.</summary>
public sealed class NewModel(ProjectChanges changes) : PageModel
{
    public ProjectForm Form { get; private set; } = ProjectForm.Empty;
    public Dictionary<string, string> Errors { get; private set; } = [];

    public void OnGet() { }

    public async Task<IActionResult> OnPostAsync(CancellationToken ct)
    {
        Form = ProjectFormReader.Read(Request.Form);
        (var created, Errors) = await changes.CreateAsync(Form, User.UserId(), User.IsAdmin(), ct);
        if (created is null)
        {
            Response.StatusCode = StatusCodes.Status422UnprocessableEntity;
            return Page();
        }
        Audit.AuditLog.Record(HttpContext, "project.create", created.Slug, $"from {Form.GitUrl} branch {Form.Branch}");
        return Shared.PostRedirect.To(HttpContext, $"/projects/{created.Id}");
    }
}
