using Microsoft.AspNetCore.Mvc.RazorPages;
using VpsPanel.Features.Auth;
using VpsPanel.Features.Data;

namespace VpsPanel.Features.Projects;

/// <summary>/projects: the projects this user may see (admins: all), with their latest deployment status.</summary>
public sealed class IndexModel(Db db) : PageModel
{
    public List<ProjectStore.ProjectListItem> Projects { get; private set; } = [];

    public void OnGet()
    {
        using var c = db.Open();
        Projects = ProjectStore.ListProjectsVisibleTo(c, User.UserId(), User.IsAdmin());
    }
}
