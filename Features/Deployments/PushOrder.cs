using Dapper;
using Microsoft.Data.Sqlite;
using VpsPanel.Features.Git;
using VpsPanel.Features.Projects;
using VpsPanel.Features.Webhooks;

namespace VpsPanel.Features.Deployments;

/// <summary>
/// A push may never move a branch's live commit backwards (issue 12). Git hosts deliver pushes out of order, and a
/// captured delivery can be sent again, so "the last delivery processed wins" could put c12 live after c13. Before a
/// push's deployment builds, its commit is compared with the live one and with every push still queued:
/// <list type="bullet">
/// <item>a commit that is live, or an ancestor of the live commit or of a queued push's commit, is skipped;</item>
/// <item>of the rest, the newest delivery runs (when histories diverged, after a force push, the last push wins as
/// before), and the others are superseded.</item>
/// </list>
/// Why here, in the worker after the fetch, and not when the delivery arrives: ancestry needs the commits, and at
/// delivery time the project's mirror usually does not have them yet (it is fetched only when a deploy runs, and a
/// webhook must answer in seconds without a network fetch racing the worker's on the same mirror). After the
/// worker's fetch the mirror holds the branch and its history. For the same reason the webhook no longer lets a
/// push supersede a queued push when it is queued (see DeployStore.EnqueuePushDeployment): that is what let an older
/// delivery replace a newer one. Manual deploys and rollbacks are never checked: a user deploying an older commit
/// means it.
/// A queued push whose commit that fetch did not bring (random SHAs, or a commit force-pushed away before the panel
/// got to it) cannot be compared; its own run would fetch again and fail at its checkout. A flood of such pushes cost
/// a fetch each (issue 20: a deploy per push, each running git), so they end here with the same failure, see
/// <see cref="Fetched"/>.
/// </summary>
public static class PushOrder
{
    sealed record QueuedPush(long Id, string RequestedCommit, string? ConfigJson = null);

    /// <summary>
    /// What the claimed deployment's fetch covered: a queued push with a commit the mirror still lacks fails with the
    /// error its own run would have ended with, but only when that run would have fetched the same thing (the same
    /// URL and branch in its settings) and it was stored before this fetch began (id at most
    /// <paramref name="LastIdBeforeFetch"/>). The latter is what makes it the same answer: a Git host sends a push's
    /// webhook after it took the push, so such a commit was on the host when the fetch ran; a push stored during
    /// the fetch may name a commit the fetch was too early for, and waits for its own.
    /// </summary>
    public sealed record Fetched(string GitUrl, string Branch, long LastIdBeforeFetch);

    /// <summary>
    /// Decides for the claimed push deployment <paramref name="id"/> of <paramref name="commit"/>, ending in the same
    /// pass every queued push that will not run either. Null when it goes ahead; otherwise why it was skipped (the
    /// row is then superseded with that reason, and the delivery log says so). The others that end here never ran:
    /// their whole log is one line kept in their row (deployments.log_note, see DeployLog), skipped with the reason or
    /// failed for lack of their commit (see <see cref="Fetched"/>), and <paramref name="id"/> is named as the one
    /// that decided.
    /// </summary>
    public static async Task<string?> SkipReasonAsync(SqliteConnection c, GitCli git, long projectId, long id, string commit, Fetched fetched,
        CancellationToken ct)
    {
        var live = DeployStore.FindLiveDeployment(c, projectId);
        var liveCommit = live?.CommitSha is { } ls && GitCli.IsSha(ls) ? ls : null;
        var rows = new List<QueuedPush> { new(id, commit) };
        rows.AddRange(c.Query<QueuedPush>(
            """
            SELECT id, requested_commit, config_json FROM deployments
            WHERE project_id = @projectId AND status = 'queued' AND trigger = 'webhook' AND requested_commit IS NOT NULL AND id <> @id
            ORDER BY id
            """, new { projectId, id }));
        rows.RemoveAll(r => !GitCli.IsSha(r.RequestedCommit));

        var (present, newest) = await git.NewestCommitsAsync(projectId, [.. rows.Select(r => r.RequestedCommit), .. liveCommit is null ? [] : new[] { liveCommit }], ct);
        // The one that runs: the newest delivery whose commit nothing else descends from and that is not live already.
        var winner = rows.Where(r => newest.Contains(r.RequestedCommit) && r.RequestedCommit != liveCommit).MaxBy(r => r.Id);
        // A commit the mirror does not have cannot be compared. The claimed one goes ahead and fails at its own
        // checkout with "not in the repository", as before; a queued one this fetch answers for fails the same.
        FailAllAbsent(c, projectId, rows.Where(r => r != winner && !present.Contains(r.RequestedCommit) && r.Id != id && r.Id <= fetched.LastIdBeforeFetch
            && SameFetch(r, fetched)).ToList(), id);
        string? mine = null;
        foreach (var r in rows)
        {
            if (r == winner || !present.Contains(r.RequestedCommit)) continue;
            var reason = await ReasonAsync(git, projectId, r.RequestedCommit, live, liveCommit, winner, newest, ct);
            // The claimed one has a log of its own (its caller writes the reason there).
            var note = r.Id == id ? null : DeployLog.NoteLine($"skipped before it ran (decided by deployment {id}): {reason}");
            if (!DeployStore.SkipDeployment(c, r.Id, reason, note)) continue;
            WebhookStore.UpdateDeliveriesOfSkippedDeployment(c, r.Id, $"deployment #{r.Id} skipped: {reason}");
            if (r.Id == id) mine = reason;
        }
        return mine;
    }

    static bool SameFetch(QueuedPush r, Fetched fetched)
    {
        var config = ProjectConfig.FromJson(r.ConfigJson!);
        return config.GitUrl == fetched.GitUrl && config.Branch == fetched.Branch;
    }

    /// <summary>
    /// The queued pushes <paramref name="absent"/> fail as their own runs would have failed, all in one transaction:
    /// a flood of pushes leaves thousands of them, and a commit each (deployment, notification, delivery log) was
    /// most of what the worker spent on them (issue 20). Those that left the queue meanwhile are left alone. Each
    /// one's log is its line in the row, written by the same statement (a file each was a tenth of a push's CPU).
    /// </summary>
    static void FailAllAbsent(SqliteConnection c, long projectId, List<QueuedPush> absent, long decidedBy)
    {
        if (absent.Count == 0) return;
        var failed = new List<(long Id, string Error)>();
        // The same two statements for each of them, compiled once (Data/KeptSql).
        using (Data.KeptSql.KeepWhile(c))
        using (var tx = c.BeginTransaction())
        {
            foreach (var r in absent)
            {
                var error = GitRepo.NotInRepository(r.RequestedCommit);
                var note = DeployLog.NoteLine($"FAILED at {DeployStates.Label(DeployStates.Cloning)} before it ran (decided by deployment {decidedBy}, whose fetch did not bring the commit): {error}");
                if (!DeployStore.FailQueuedDeployment(c, r.Id, DeployStates.Cloning, error, note, tx)) continue;
                WebhookStore.UpdateDeliveriesOfFailedDeployment(c, r.Id, $"deployment #{r.Id} failed: {error} (after the fetch of deployment #{decidedBy})", tx);
                failed.Add((r.Id, error));
            }
            Notifications.Notify.DeploymentsFailed(c, projectId, failed, tx);
            tx.Commit();
        }
        if (failed.Count > 0) Notifications.Notify.WakeWorker();
    }

    static async Task<string> ReasonAsync(GitCli git, long projectId, string commit, DeploymentRow? live, string? liveCommit, QueuedPush? winner,
        HashSet<string> newest, CancellationToken ct)
    {
        var sha = commit[..7];
        if (commit == liveCommit) return $"commit {sha} is already live (deployment #{live!.Id})";
        if (winner is not null && commit == winner.RequestedCommit) return $"commit {sha} is deployed by a later push's deployment #{winner.Id}";
        if (!newest.Contains(commit))
        {
            // Not among the newest, so an ancestor of one of them; which one needs asking only when history diverged.
            var newer = newest.Count == 1 ? newest.First() : await FirstDescendantAsync(git, projectId, commit, newest, ct) ?? newest.First();
            var where = newer == liveCommit ? $"which is live (deployment #{live!.Id})"
                : winner is not null && newer == winner.RequestedCommit ? $"which deployment #{winner.Id} deploys"
                : "which another push queued";
            return $"commit {sha} is older than {newer[..7]}, {where}; a push never moves the live commit backwards";
        }
        return winner is not null
            ? $"replaced by the later push of {winner.RequestedCommit[..7]} (deployment #{winner.Id}); the branch's history was rewritten"
            : $"commit {sha} is not newer than the live commit";
    }

    static async Task<string?> FirstDescendantAsync(GitCli git, long projectId, string commit, HashSet<string> newest, CancellationToken ct)
    {
        foreach (var n in newest)
            if (await git.IsAncestorAsync(projectId, commit, n, ct)) return n;
        return null;
    }
}
