using Dapper;
using Microsoft.Data.Sqlite;
using VpsPanel.Features.Api;
using VpsPanel.Features.Auth;
using VpsPanel.Features.Data;
using VpsPanel.Features.Deployments;
using VpsPanel.Features.Projects;
using VpsPanel.Features.Shared;

namespace VpsPanel.Features.Hygiene;

/// <summary>
/// Pinned rollback targets: a deployment whose image the disk cleanup must keep whatever Disk:KeepImages says.
/// Anyone who sees the project may pin and unpin (the deployment page, PUT/DELETE /api/deployments/{id}/pin). Only a
/// deployment with an image that went live (live or retired) can be pinned: a failed one has no image left, and a
/// static site keeps its files by its own rule (StaticSiteDeploy).
/// </summary>
public static class PinnedDeployments
{
    public static bool IsPinned(SqliteConnection c, long deploymentId) =>
        c.ExecuteScalar<bool>("SELECT EXISTS (SELECT 1 FROM pinned_deployments WHERE deployment_id = @deploymentId)", new { deploymentId });

    public static void Pin(SqliteConnection c, long deploymentId, long userId) =>
        c.Execute("INSERT INTO pinned_deployments (deployment_id, pinned_by, pinned_at) VALUES (@deploymentId, @userId, @now) ON CONFLICT (deployment_id) DO NOTHING",
            new { deploymentId, userId, now = Clock.Now() });

    public static void Unpin(SqliteConnection c, long deploymentId) =>
        c.Execute("DELETE FROM pinned_deployments WHERE deployment_id = @deploymentId", new { deploymentId });

    /// <summary>Why this deployment cannot be pinned; null when it can.</summary>
    public static string? PinProblem(DeploymentRow d) =>
        d.IsStatic ? "A static site's deployment has no image; its files are kept by their own rule (the newest retired ones)."
        : d.Image is null || d.Status is not (DeployStates.Live or DeployStates.Retired)
            ? $"Only a deployment that went live (live or retired) has an image to keep; deployment {d.Id} is {DeployStates.Label(d.Status)}."
            : null;

    /// <summary>Pins or unpins for the signed-in user or token; the audit row names the deployment. Null on success, else the problem.</summary>
    public static string? Set(SqliteConnection c, HttpContext ctx, DeploymentRow d, string slug, bool pinned)
    {
        if (pinned)
        {
            if (PinProblem(d) is { } problem) return problem;
            Pin(c, d.Id, ctx.User.UserId());
        }
        else Unpin(c, d.Id);
        Audit.AuditLog.Record(c, ctx, pinned ? "deploy.pin" : "deploy.unpin", slug, $"deployment {d.Id} (image {d.Image ?? "none"})");
        return null;
    }

    public sealed record PinJson(long Id, string Project, bool Pinned, string? Image);

    public static void Map(RouteGroupBuilder api)
    {
        api.MapPut("/deployments/{id:long}/pin", (long id, HttpContext ctx, Db db) => Change(id, ctx, db, true))
            .WithSummary("Pin a deployment (live or retired) as a rollback target: the disk cleanup never removes its image")
            .Produces<PinJson>().ProducesProblem(404).ProducesProblem(409);
        api.MapDelete("/deployments/{id:long}/pin", (long id, HttpContext ctx, Db db) => Change(id, ctx, db, false))
            .WithSummary("Unpin a deployment: its image is kept only while it is among the newest Disk:KeepImages")
            .Produces<PinJson>().ProducesProblem(404);
    }

    static IResult Change(long id, HttpContext ctx, Db db, bool pinned)
    {
        using var c = db.Open();
        var d = DeployStore.FindDeployment(c, id);
        var project = d is null ? null : ProjectStore.FindProjectVisibleTo(c, d.ProjectId, ctx.User.UserId(), ctx.User.IsAdmin());
        if (d is null || project is null) return ApiProblem.NotFound($"Deployment {id}");
        if (Set(c, ctx, d, project.Slug, pinned) is { } problem) return ApiProblem.Result(409, problem);
        return Results.Json(new PinJson(d.Id, project.Slug, pinned, d.Image), ApiProblem.JsonOptions);
    }
}
