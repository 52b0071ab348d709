using VpsPanel.Features.Api;
using VpsPanel.Features.Data;
using VpsPanel.Features.Git;
using VpsPanel.Features.Projects;
using VpsPanel.Features.Settings;

namespace VpsPanel.Features.Builds;

/// <summary>GET /api/projects/{slug}/dockerfile: the Dockerfile the next build uses, where it comes from and why; the same as the project page shows.</summary>
public static class DockerfileApi
{
    /// <summary>Dockerfile is null for source "static": Caddy serves the files, no image, no container.</summary>
    public sealed record DockerfileAnswer(string Source, string? Stack, List<string> Reasons, string? Dockerfile);

    public static void Map(RouteGroupBuilder api)
    {
        api.MapGet("/projects/{slug}/dockerfile", (string slug, HttpContext ctx, Db db, GitCli git, PanelSettings settings) =>
        {
            using var c = db.Open();
            if (ProjectApi.FindVisible(c, ctx, slug) is not { } p) return ProjectApi.NotFound(slug);
            var (r, problem, fetched) = ProjectDockerfile.ForBranchHead(c, git, settings, p);
            if (r is null) return ApiProblem.Result(fetched ? 422 : 409, problem!);
            return Results.Ok(new DockerfileAnswer(r.Source, r.Stack, r.Reasons, r.Source == ProjectDockerfile.Static ? null : r.Dockerfile));
        }).WithSummary("The Dockerfile the next build of the branch uses: source repository|generated|override, or static (a plain static site Caddy serves as files, no Dockerfile), the detected stack and why")
          .Produces<DockerfileAnswer>().ProducesProblem(409).ProducesProblem(422);
    }
}
