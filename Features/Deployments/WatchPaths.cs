using Microsoft.Data.Sqlite;
using VpsPanel.Features.Docker;
using VpsPanel.Features.Git;
using VpsPanel.Features.Webhooks;

namespace VpsPanel.Features.Deployments;

/// <summary>
/// A project's watch paths (Projects/ProjectPaths): a push whose changes touch none of them does not deploy. What
/// changed is the diff from the live deployment's commit to the pushed one, not the push's own "before": a skipped
/// push's changes still count for the next push, so nothing that was pushed is ever left out of a deploy. Judged in the
/// worker after the fetch (the mirror then has both commits), after PushOrder, and only for pushes: a deploy pressed
/// in the panel or asked through the API always runs.
/// </summary>
public static class WatchPaths
{
    /// <summary>
    /// Null when the push goes ahead (no watch paths, nothing live yet, a changed file matches, or git could not
    /// compare); otherwise why it was skipped, with the row superseded and its deliveries marked skipped, as PushOrder does.
    /// </summary>
    public static string? SkipReason(SqliteConnection c, GitCli git, long projectId, long id, string pushed, string? watchPaths, Action<string> log)
    {
        if (string.IsNullOrWhiteSpace(watchPaths)) return null;
        var live = DeployStore.FindLiveDeployment(c, projectId);
        if (live?.CommitSha is not { } liveCommit || !GitCli.IsSha(liveCommit) || liveCommit == pushed) return null;
        DockerIgnore rules;
        List<string> changed;
        try
        {
            rules = DockerIgnore.Parse(watchPaths);
            changed = GitRepo.ChangedPaths(git.MirrorPath(projectId), liveCommit, pushed);
        }
        catch (Exception e) when (e is GitException or IgnorePatternException)
        {
            log($"could not compare {pushed[..7]} with the live commit for the watch paths ({e.Message}); deploying it");
            return null;
        }
        var touched = changed.Where(rules.IsExcluded).ToList();
        if (touched.Count > 0)
        {
            log($"watch paths: {touched.Count} of {changed.Count} changed files match ({string.Join(", ", touched.Take(5))}{(touched.Count > 5 ? ", …" : "")})");
            return null;
        }
        var reason = $"no file changed since the live commit {liveCommit[..7]} (deployment #{live.Id}) matches the watch paths " +
            $"({changed.Count} changed{(changed.Count > 0 ? ": " + string.Join(", ", changed.Take(5)) + (changed.Count > 5 ? ", …" : "") : "")})";
        if (!DeployStore.SkipDeployment(c, id, reason)) return null;
        WebhookStore.UpdateDeliveriesOfSkippedDeployment(c, id, $"deployment #{id} skipped: {reason}");
        log($"==> skipped: {reason}");
        return reason;
    }
}
