using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using VpsPanel.Features.Auth;
using VpsPanel.Features.Data;
using VpsPanel.Features.Deployments;
using VpsPanel.Features.Projects;

namespace VpsPanel.Features.Hygiene;

/// <summary>POST /deployments/{id}/pin: the deployment page's Pin / Unpin button (pinned=true|false).</summary>
public sealed class PinModel(Db db) : PageModel
{
    /// <summary>Nothing to show: the button lives on the deployment page.</summary>
    public IActionResult OnGet() => NotFound();

    public IActionResult OnPost(long id, string? pinned)
    {
        using var c = db.Open();
        var d = DeployStore.FindDeployment(c, id);
        var project = d is null ? null : ProjectStore.FindProjectVisibleTo(c, d.ProjectId, User.UserId(), User.IsAdmin());
        if (d is null || project is null) return NotFound();
        if (pinned is not ("true" or "false"))
        {
            Response.StatusCode = StatusCodes.Status422UnprocessableEntity;
            return Content("pinned must be true or false.");
        }
        if (PinnedDeployments.Set(c, HttpContext, d, project.Slug, pinned == "true") is { } problem)
        {
            Response.StatusCode = StatusCodes.Status422UnprocessableEntity;
            return Content(problem);
        }
        return Shared.PostRedirect.To(HttpContext, $"/deployments/{id}");
    }
}
