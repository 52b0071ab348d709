using Microsoft.AspNetCore.DataProtection;
using Microsoft.Data.Sqlite;
using VpsPanel.Features.Api;
using VpsPanel.Features.Auth;
using VpsPanel.Features.Data;
using VpsPanel.Features.Docker;
using VpsPanel.Features.Projects;

namespace VpsPanel.Features.Deployments;

/// <summary>
/// Deployments through the API: trigger, list, get, the log (text, or followed live as Server-Sent Events), roll back
/// and cancel. The same <see cref="DeployActions"/> as the pages; a deployment of a project the token's user may not
/// see is a 404.
/// </summary>
public static class DeploymentApi
{
    public sealed record DeployRequest(string? Commit, string? Environment = null);

    public sealed record StepJson(string Step, string StartedAt, string? FinishedAt, double? DurationSeconds);

    /// <summary>
    /// A deployment. `status` is one of the state machine's names (queued, cloning, building, starting,
    /// health_checking, switching, live, failed, cancelled, superseded, retired); `step` is the step it is at while
    /// running, or the step it failed or was cancelled at. `note` (single deployment only) is a passing state such as
    /// "waiting for Caddy"; `containerDown` says why a live deployment's container is not running. `servedBy` is the
    /// deployment's container name, or "static files, no container" for a plain static site Caddy serves itself.
    /// </summary>
    public sealed record DeploymentJson(
        long Id, string Project, string Status, string? Step, string Trigger, string? RequestedVia, string? RequestedBy,
        string? RequestedCommit, string? CommitSha, string? CommitMessage, string? CommitAuthor, long? RollbackOf, string? Error,
        string CreatedAt, string? StartedAt, string? FinishedAt, double? DurationSeconds, List<StepJson>? Steps,
        string? Note = null, string? ContainerDown = null, string? ServedBy = null);

    public static void Map(RouteGroupBuilder api)
    {
        api.MapPost("/projects/{slug}/deployments", async (string slug, HttpContext ctx, Db db, DeployWorker worker) =>
        {
            DeployRequest body = new(null);
            // The body is optional: none at all, or an empty one sent with a JSON content type (what a script's
            // `curl -H 'Content-Type: application/json' -X POST` sends), both mean the branch head.
            if (ctx.Request.ContentLength is > 0 || (ctx.Request.ContentLength is null && ctx.Request.Headers.TransferEncoding.Count > 0))
            {
                var (b, error) = await ApiProblem.ReadJson<DeployRequest>(ctx.Request);
                if (error is not null) return error;
                body = b!;
            }
            using var c = db.Open();
            var project = ProjectApi.FindVisible(c, ctx, slug);
            if (project is null) return ProjectApi.NotFound(slug);
            // An environment of the project (Projects/ProjectEnvironments); left out: the one the slug names (production for a project's own).
            if (body.Environment is { } envName)
            {
                if (ProjectEnvironments.FindEnvironmentId(c, project.RootId, envName.Trim()) is not { } envId)
                    return ApiProblem.Invalid(new Dictionary<string, string> { ["environment"] = ProjectEnvironments.NoSuchEnvironment(c, project.RootId, envName) });
                project = ProjectStore.FindProjectById(c, envId)!;
            }
            var commit = body.Commit?.Trim().ToLowerInvariant();
            if (DeployActions.CommitProblem(commit) is { } problem) return ApiProblem.Invalid(new Dictionary<string, string> { ["commit"] = problem });
            var id = DeployActions.Deploy(c, worker, project, ctx.User.UserId(), commit, "api");
            Audit.AuditLog.Record(c, ctx, "deploy.queue", project.Slug, $"deployment {id}" + (string.IsNullOrEmpty(commit) ? $" of branch {project.Branch}" : $" of commit {commit}"));
            return Accepted(c, project.Slug, id);
        }).WithSummary("Queue a deployment of the branch head, or of {\"commit\": \"<40-hex SHA>\"}, in {\"environment\": \"staging\"} (left out: production); answers 202 with the deployment")
          .Produces<DeploymentJson>(202).ProducesProblem(404).ProducesProblem(422);

        api.MapGet("/projects/{slug}/deployments", (string slug, int? limit, HttpContext ctx, Db db) =>
        {
            using var c = db.Open();
            var project = ProjectApi.FindVisible(c, ctx, slug);
            if (project is null) return ProjectApi.NotFound(slug);
            return Results.Ok(DeployStore.ListDeploymentsOfProject(c, project.Id, Math.Clamp(limit ?? 50, 1, 500))
                .Select(d => Json(c, d, project.Slug, withSteps: false)));
        }).WithSummary("A project's deployments, newest first (?limit=, default 50)").Produces<List<DeploymentJson>>();

        api.MapGet("/deployments/{id:long}", (long id, HttpContext ctx, Db db, LiveState live) =>
        {
            using var c = db.Open();
            return FindVisible(c, ctx, id) is (var d, var slug) ? Results.Ok(Json(c, d, slug, withSteps: true) with
            {
                Note = live.NoteOf(d.Id),
                ContainerDown = d.Status == DeployStates.Live && live.DownOf(d.Id) is { } down ? LiveState.Describe(down) : null,
            }) : NotFound(id);
        }).WithSummary("One deployment: status, step, commit, timings per step, error").Produces<DeploymentJson>();

        api.MapGet("/deployments/{id:long}/log", async (long id, bool? follow, string? chatter, HttpContext ctx, Db db, DeployLog logs, IDataProtectionProvider protection) =>
        {
            if (DeploymentLogEndpoints.MaskIfVisible(ctx, db, protection, id) is not { } mask) return NotFound(id);
            if (chatter is not (null or "1" or "0" or "true" or "false"))
                return ApiProblem.Invalid(new Dictionary<string, string> { ["chatter"] = $"chatter must be 0 or 1 (leave the builder's own lines out, or keep them); \"{chatter}\" is neither." });
            if (follow != true) return DeploymentLogEndpoints.LogFile(id, logs, mask, withChatter: chatter is not ("0" or "false"));
            await DeploymentLogEndpoints.StreamAsync(id, null, false, ctx, db, logs, protection);
            return Results.Empty;
        }).WithSummary("The deployment's log as text without ANSI escapes (?chatter=0 leaves out the builder's own lines: digests, transfers, " +
                       "intermediate containers); with ?follow=true a text/event-stream of `log` events (the new lines), " +
                       "`status` events (the status) and one final `done` event (the end status)");

        api.MapGet("/deployments/{id:long}/container-logs", async (long id, string? tail, HttpContext ctx, Db db, DockerEngine engine, IDataProtectionProvider protection) =>
        {
            if (DeploymentLogEndpoints.FindVisible(ctx, db, protection, id) is not var (d, _, mask)) return NotFound(id);
            if (ContainerLogsModel.TailProblem(tail, out var n) is { } problem) return ApiProblem.Invalid(new Dictionary<string, string> { ["tail"] = problem });
            ContainerLogs? logs;
            try { logs = await ContainerLogsModel.ReadMaskedAsync(engine, d, n, mask, ctx.RequestAborted); }
            catch (Exception e) when (DockerEngine.IsDockerError(e)) { return ApiProblem.Result(503, $"The logs cannot be read from Docker: {DockerErrors.Readable(e)}"); }
            if (logs is null) return ApiProblem.Result(409, ContainerLogsModel.Gone(d));
            var text = string.Concat(logs.Lines.Select(l => Shared.Ansi.Strip(l.Text) + "\n"));
            // Said twice: the header for scripts, a last line for a person reading the output.
            if (logs.Truncated)
            {
                ctx.Response.Headers["X-Logs-Truncated"] = "true";
                text += "vpspanel: " + ContainerLogsModel.CutNotice + "\n";
            }
            return Results.Text(text, "text/plain; charset=utf-8");
        }).WithSummary($"The last ?tail= lines (default {ContainerLogsModel.DefaultTail}, 1–{ContainerLogsModel.MaxTail}) the deployment's container " +
                       "wrote to stdout and stderr, as text with Docker's timestamps and secrets masked; 409 when the container no longer exists")
          .Produces<string>(200, "text/plain").ProducesProblem(404).ProducesProblem(409).ProducesProblem(422).ProducesProblem(503);

        api.MapPost("/deployments/{id:long}/rollback", async (long id, HttpContext ctx, Db db, DeployWorker worker, DockerEngine engine) =>
        {
            using var c = db.Open();
            if (FindVisible(c, ctx, id) is not (var d, var slug)) return NotFound(id);
            if (!await DeployActions.CanRollBackToAsync(engine, d, ctx.RequestAborted))
                return ApiProblem.Result(409, $"{DeployActions.CannotRollBack} Deployment {id} is {d.Status}.");
            var newId = DeployActions.RollBackTo(c, worker, d, ctx.User.UserId(), "api");
            Audit.AuditLog.Record(c, ctx, "deploy.rollback", slug, $"deployment {newId} restores deployment {id}");
            return Accepted(c, slug, newId);
        }).WithSummary("Queue a rollback to this (retired) deployment's image and configuration: no clone, no build")
          .Produces<DeploymentJson>(202).ProducesProblem(409);

        api.MapPost("/deployments/{id:long}/cancel", (long id, HttpContext ctx, Db db, DeployWorker worker) =>
        {
            using var c = db.Open();
            if (FindVisible(c, ctx, id) is not (var d, var slug)) return NotFound(id);
            if (!DeployActions.Cancel(c, worker, id))
                return ApiProblem.Result(409, $"Deployment {id} has already ended ({d.Status}); there is nothing to cancel.");
            Audit.AuditLog.Record(c, ctx, "deploy.cancel", slug, $"deployment {id}");
            return Results.Json(Json(c, DeployStore.FindDeployment(c, id)!, slug, withSteps: false), ApiProblem.JsonOptions, statusCode: 202);
        }).WithSummary("Cancel a queued deployment, or stop a running one (it ends as cancelled, the live app untouched)")
          .Produces<DeploymentJson>(202).ProducesProblem(409);
    }

    static IResult NotFound(long id) => ApiProblem.NotFound($"Deployment {id}");

    public static IResult Accepted(SqliteConnection c, string slug, long id) =>
        Results.Json(Json(c, DeployStore.FindDeployment(c, id)!, slug, withSteps: false), ApiProblem.JsonOptions, statusCode: 202);

    static (DeploymentRow, string)? FindVisible(SqliteConnection c, HttpContext ctx, long id)
    {
        var d = DeployStore.FindDeployment(c, id);
        if (d is null) return null;
        var p = ProjectStore.FindProjectVisibleTo(c, d.ProjectId, ctx.User.UserId(), ctx.User.IsAdmin());
        return p is null ? null : (d, p.Slug);
    }

    static DeploymentJson Json(SqliteConnection c, DeploymentRow d, string slug, bool withSteps) =>
        new(d.Id, slug, d.Status, DeployStates.IsRunning(d.Status) ? d.Status : d.FailedStep, d.Trigger, DeployActions.FindRequestedVia(c, d.Id),
            d.RequestedByEmail, d.RequestedCommit, d.CommitSha, d.CommitMessage, d.CommitAuthor, d.RollbackOf, d.Error, d.CreatedAt, d.StartedAt,
            d.FinishedAt, d.Duration is { } t ? Math.Round(t.TotalSeconds, 3) : null,
            withSteps ? DeployStore.ListSteps(c, d.Id).Select(s => new StepJson(s.Step, s.StartedAt, s.FinishedAt, s.Duration is { } sd ? Math.Round(sd.TotalSeconds, 3) : null)).ToList() : null,
            ServedBy: d.IsStatic ? StaticSiteDeploy.ServedBy : d.ContainerName);
}
