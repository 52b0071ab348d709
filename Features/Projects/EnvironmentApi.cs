using VpsPanel.Features.Api;
using VpsPanel.Features.Auth;
using VpsPanel.Features.Data;
using VpsPanel.Features.Deployments;
using VpsPanel.Features.Docker;

namespace VpsPanel.Features.Projects;

/// <summary>
/// /api/projects/{slug}/environments: list, add, and promote between a project's environments (ProjectEnvironments).
/// The slug may name the project or any of its environments; the answer is always the whole project's list.
/// </summary>
public static class EnvironmentApi
{
    public sealed record EnvironmentJson(string Name, string Slug, string Branch, long? LiveDeploymentId, string? LiveCommit, string? LastStatus, string? Domain, string Url);

    public sealed record CreateRequest(string? Name, string? Branch);

    public sealed record PromoteRequest(string? From);

    static EnvironmentJson Json(EnvironmentRow e) =>
        new(e.Environment, e.Slug, e.Branch, e.LiveDeploymentId, e.LiveSha, e.LastStatus, e.Domain, $"/api/projects/{e.Slug}");

    public static void Map(RouteGroupBuilder api)
    {
        api.MapGet("/projects/{slug}/environments", (string slug, HttpContext ctx, Db db) =>
        {
            using var c = db.Open();
            if (ProjectApi.FindVisible(c, ctx, slug) is not { } p) return ProjectApi.NotFound(slug);
            return Results.Ok(ProjectEnvironments.ListEnvironmentsOfProject(c, p.RootId).Select(Json));
        }).WithSummary("The project's environments, production first, each with its branch and live commit").Produces<List<EnvironmentJson>>();

        api.MapPost("/projects/{slug}/environments", async (string slug, HttpContext ctx, Db db) =>
        {
            var (body, error) = await ApiProblem.ReadJson<CreateRequest>(ctx.Request);
            if (error is not null) return error;
            using var c = db.Open();
            if (ProjectApi.FindVisible(c, ctx, slug) is not { } p) return ProjectApi.NotFound(slug);
            var root = p.ParentId is { } parent ? ProjectStore.FindProjectById(c, parent)! : p;
            var (id, errors) = await ProjectEnvironments.CreateAsync(c, root, body!.Name ?? "", body.Branch ?? "", ctx.RequestAborted);
            if (id is null) return ApiProblem.Invalid(errors);
            var made = ProjectEnvironments.ListEnvironmentsOfProject(c, root.Id).Single(e => e.Id == id);
            Audit.AuditLog.Record(c, ctx, "environment.create", root.Slug, $"{made.Environment} on branch {made.Branch} ({made.Slug})");
            return Results.Json(Json(made), ApiProblem.JsonOptions, statusCode: 201);
        }).WithSummary("Add an environment: {\"name\": \"staging\", \"branch\": \"develop\"}; pushes to the branch deploy it")
          .WithDescription("The name: 1-20 lower-case letters, digits and '-'. The branch must differ from every other environment's. Its short name is <project>-<name>; " +
                           "set its variables, domains, replicas and limits on it as on any project. 422 names the field and why.")
          .Produces<EnvironmentJson>(201).ProducesProblem(422);

        api.MapPost("/projects/{slug}/environments/{env}/promote", async (string slug, string env, HttpContext ctx, Db db, DockerEngine engine, DeployWorker worker) =>
        {
            var (body, error) = await ApiProblem.ReadJson<PromoteRequest>(ctx.Request);
            if (error is not null) return error;
            using var c = db.Open();
            if (ProjectApi.FindVisible(c, ctx, slug) is not { } p) return ProjectApi.NotFound(slug);
            var envs = ProjectEnvironments.ListEnvironmentsOfProject(c, p.RootId);
            var errors = new Dictionary<string, string>();
            var to = envs.FirstOrDefault(e => e.Environment == env);
            var from = envs.FirstOrDefault(e => e.Environment == body!.From?.Trim());
            if (to is null) errors["environment"] = ProjectEnvironments.NoSuchEnvironment(c, p.RootId, env);
            if (string.IsNullOrWhiteSpace(body!.From)) errors["from"] = "Name the environment whose live image to promote, like {\"from\": \"staging\"}.";
            else if (from is null) errors["from"] = ProjectEnvironments.NoSuchEnvironment(c, p.RootId, body.From);
            if (errors.Count > 0) return ApiProblem.Invalid(errors);
            var target = ProjectStore.FindProjectById(c, to!.Id)!;
            var (id, problem) = await ProjectEnvironments.PromoteAsync(c, engine, worker, from!, target, ctx.User.UserId(), "api", ctx.RequestAborted);
            if (problem is not null) return ApiProblem.Result(409, problem);
            Audit.AuditLog.Record(c, ctx, "deploy.promote", target.Slug, $"deployment {id} starts {from!.Environment}'s deployment {from.LiveDeploymentId} in {to.Environment}");
            return DeploymentApi.Accepted(c, target.Slug, id!.Value);
        }).WithSummary("Promote: start the image live in {\"from\": \"staging\"} in this environment, no build, with this environment's variables and settings; 202 with the deployment")
          .ProducesProblem(409).ProducesProblem(422);
    }
}
