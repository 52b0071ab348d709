using System.Collections.Concurrent;
using Dapper;
using Microsoft.Data.Sqlite;
using VpsPanel.Features.Data;
using VpsPanel.Features.Deployments;
using VpsPanel.Features.Docker;

namespace VpsPanel.Features.Volumes;

/// <summary>
/// Containers the panel stopped on purpose for a while (stop-old-first deploys, a volume restore): the live
/// reconciler would otherwise see a live deployment's container stopped and start it again at once.
/// </summary>
public static class AppHold
{
    static readonly ConcurrentDictionary<string, int> Held = new();

    public static bool Holds(string containerName) => Held.ContainsKey(containerName);

    public static void Hold(string containerName) => Held.AddOrUpdate(containerName, 1, (_, n) => n + 1);

    public static void Release(string containerName)
    {
        while (Held.TryGetValue(containerName, out var n))
        {
            if (n <= 1 ? Held.TryRemove(new KeyValuePair<string, int>(containerName, n)) : Held.TryUpdate(containerName, n - 1, n)) return;
        }
    }
}

/// <summary>
/// The project setting "stop the old container before starting the new one", for apps that cannot share their data
/// with a second copy of themselves (SQLite in rollback-journal mode, a lock file, an embedded database). The deploy
/// then stops the live container just before it starts the new one, so the two never run at once; the app is down
/// from that moment until the new container passes its health check and Caddy switches (a few seconds). Should the
/// new one fail, the old one is started again: a failed deploy leaves the app as it was, after that short gap.
/// </summary>
public static class StopOldFirst
{
    public static bool FindStopOldFirst(SqliteConnection c, long projectId, SqliteTransaction? tx = null) =>
        c.ExecuteScalar<bool>("SELECT stop_old_first FROM projects WHERE id = @projectId", new { projectId }, tx);

    /// <summary>Saves the setting; null (a form or request without it) keeps the saved one.</summary>
    public static void UpdateStopOldFirst(SqliteConnection c, long projectId, bool? stopOldFirst, SqliteTransaction tx)
    {
        if (stopOldFirst is not { } on) return;
        c.Execute("UPDATE projects SET stop_old_first = @on WHERE id = @projectId", new { projectId, on }, tx);
    }

    /// <summary>With the setting on, stops the live container (held from the reconciler) and returns its name; else null.</summary>
    public static async Task<string?> BeforeStartAsync(SqliteConnection c, DockerEngine engine, long projectId, Action<string> log, CancellationToken ct)
    {
        if (!FindStopOldFirst(c, projectId)) return null;
        if (DeployStore.FindLiveDeployment(c, projectId)?.ContainerName is not { } live) return null;
        AppHold.Hold(live);
        log($"stop old first (project setting): stopping {live} before the new container starts; the app is down until the switch");
        try
        {
            var docker = await engine.ClientAsync(ct);
            await docker.Containers.StopContainerAsync(live, new global::Docker.DotNet.Models.ContainerStopParameters { WaitBeforeKillSeconds = 10 }, ct);
        }
        catch (global::Docker.DotNet.DockerContainerNotFoundException) { }
        catch
        {
            AppHold.Release(live);
            throw;
        }
        return live;
    }

    /// <summary>
    /// After the run: when it did not go live, the container stopped by <see cref="BeforeStartAsync"/> is started again.
    /// Either way the hold ends (a live deploy retired it; the reconciler no longer watches it).
    /// </summary>
    public static async Task AfterRunAsync(Db db, DockerEngine engine, DeployLog logs, long deploymentId, string? stopped)
    {
        if (stopped is null) return;
        try
        {
            using var c = db.Open();
            if (DeployStore.FindStatus(c, deploymentId) == DeployStates.Live) return;
            using var log = logs.Open(deploymentId);
            try
            {
                var docker = await engine.ClientAsync(CancellationToken.None);
                await docker.Containers.StartContainerAsync(stopped, new global::Docker.DotNet.Models.ContainerStartParameters(), CancellationToken.None);
                log.Important($"stop old first: the deployment did not go live, so {stopped} was started again");
            }
            catch (Exception e) when (DockerEngine.IsDockerError(e))
            {
                log.Important($"stop old first: starting {stopped} again failed: {DockerErrors.Readable(e)}; the live reconciler tries again");
            }
        }
        finally
        {
            AppHold.Release(stopped);
        }
    }
}
