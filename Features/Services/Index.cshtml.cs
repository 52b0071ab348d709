using Microsoft.AspNetCore.Mvc.RazorPages;
using VpsPanel.Features.Auth;
using VpsPanel.Features.Data;
using VpsPanel.Features.Docker;

namespace VpsPanel.Features.Services;

/// <summary>/services: the services the user can see (admins: all), with what the engine says of each.</summary>
public sealed class IndexModel(Db db, DockerEngine engine) : PageModel
{
    public List<(ServiceRow Service, string Status, List<string> Links)> Services { get; } = [];

    public async Task OnGetAsync(CancellationToken ct)
    {
        using var c = db.Open();
        foreach (var s in ServiceStore.ListServicesVisibleTo(c, User.UserId(), User.IsAdmin()))
            Services.Add((s, await ServiceApi.StatusOf(c, engine, s, ct), ServiceStore.ListProjectsLinkedToService(c, s.Id).Select(p => p.Slug).ToList()));
    }
}
