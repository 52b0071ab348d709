using Dapper;
using Microsoft.Data.Sqlite;
using VpsPanel.Features.Docker;
using VpsPanel.Features.Git;
using VpsPanel.Features.Projects;

namespace VpsPanel.Features.Deployments;

/// <summary>
/// Deploy, roll back and cancel as a person asks for them, from a page or through the API: the same checks and the
/// same queue rows either way. `via` records which door the request came through ('web' or 'api').
/// </summary>
public static class DeployActions
{
    /// <summary>Null for "the branch head", else a problem with the given commit.</summary>
    public static string? CommitProblem(string? commit) =>
        string.IsNullOrEmpty(commit) || GitCli.IsSha(commit) ? null
            : "Enter the full 40-character commit SHA (hex digits), or leave it empty to deploy the branch head.";

    /// <summary>Queues a deployment of the branch head, or of one exact commit (a redeploy).</summary>
    public static long Deploy(SqliteConnection c, DeployWorker worker, ProjectRow project, long userId, string? commit, string via)
    {
        var id = DeployStore.EnqueueDeployment(c, project.Id, string.IsNullOrEmpty(commit) ? "manual" : "redeploy", userId, project.Config,
            requestedCommit: string.IsNullOrEmpty(commit) ? null : commit);
        RecordVia(c, id, via);
        worker.Wake();
        return id;
    }

    /// <summary>
    /// Only a deployment that was live once (retired now) is known to work; failed ones had their image removed. A
    /// plain static site's needs its files, which are kept for the newest few (StaticSiteDeploy.KeepRetired).
    /// </summary>
    public static async Task<bool> CanRollBackToAsync(DockerEngine engine, DeploymentRow d, CancellationToken ct) =>
        d.Status == DeployStates.Retired && (d.StaticRoot is { } files ? Directory.Exists(files)
            : d.Image is { } image && await (await engine.ClientAsync(ct)).ImageExistsAsync(image, ct));

    public const string CannotRollBack = "Only a retired deployment whose image (or, for a static site, whose files) still exists can be rolled back to.";

    /// <summary>Queues a deployment that starts this one's image with this one's stored configuration: no clone, no build.</summary>
    public static long RollBackTo(SqliteConnection c, DeployWorker worker, DeploymentRow d, long userId, string via)
    {
        var id = DeployStore.EnqueueDeployment(c, d.ProjectId, "rollback", userId, ProjectConfig.FromJson(d.ConfigJson), rollbackOf: d.Id,
            commitSha: d.CommitSha, commitMessage: d.CommitMessage, commitAuthor: d.CommitAuthor, image: d.Image);
        RecordVia(c, id, via);
        worker.Wake();
        return id;
    }

    /// <summary>Cancels a queued deployment, or asks a running one to stop; false when it had already ended.</summary>
    public static bool Cancel(SqliteConnection c, DeployWorker worker, long id)
    {
        if (DeployStore.CancelQueuedDeployment(c, id, "cancelled before it started")) return true;
        if (!DeployStore.RequestCancel(c, id)) return false;
        worker.Cancel(id);
        return true;
    }

    static void RecordVia(SqliteConnection c, long id, string via) =>
        c.Execute("UPDATE deployments SET requested_via = @via WHERE id = @id", new { id, via });

    public static string? FindRequestedVia(SqliteConnection c, long id) =>
        c.ExecuteScalar<string?>("SELECT requested_via FROM deployments WHERE id = @id", new { id });
}
