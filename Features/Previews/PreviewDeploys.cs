using Dapper;
using Microsoft.Data.Sqlite;
using VpsPanel.Features.Data;
using VpsPanel.Features.Deployments;
using VpsPanel.Features.Git;
using VpsPanel.Features.Projects;
using VpsPanel.Features.Settings;
using VpsPanel.Features.Shared;

namespace VpsPanel.Features.Previews;

/// <summary>A preview as the project page and GET /api/projects/{slug}/previews show it.</summary>
public sealed record PreviewRow
{
    public long ProjectId { get; init; }
    public long RootId { get; init; }
    public long Number { get; init; }
    public string Title { get; init; } = "";
    public string Author { get; init; } = "";
    public string HeadSha { get; init; } = "";
    public string HeadRef { get; init; } = "";
    public bool FromFork { get; init; }
    public string? WebUrl { get; init; }
    public string CreatedAt { get; init; } = "";
    public string UpdatedAt { get; init; } = "";
    public string Slug { get; init; } = "";
    public string? Status { get; init; }
    public string? Domain { get; init; }
}

/// <summary>
/// Preview deployments (issue 18): a pull/merge request (read by <see cref="PullRequestEvent"/>) opened or updated
/// deploys its head commit as environment pr-&lt;number&gt; of the project (ProjectEnvironments), at
/// pr-&lt;number&gt;.&lt;slug&gt;.&lt;wildcard base domain&gt;; closed or merged removes it with its containers, images,
/// route and volumes. Made from the project's "preview" environment when it has one (its variables, limits, replicas),
/// else from the project without any of its variables: production secrets never reach a preview. A fork's request gets
/// the repository of the fork and no secret at all unless the project allows forks. At most Previews:MaxPerProject at
/// once (the least recently updated goes, said in the delivery log); one not updated for Previews:TtlHours goes too.
/// </summary>
public static class PreviewDeploys
{
    public sealed record Outcome(string Kind, string Reason, long? DeploymentId = null);

    public static List<PreviewRow> ListPreviewsOfProject(SqliteConnection c, long rootId) =>
        c.Query<PreviewRow>(
            """
            SELECT v.project_id, v.root_id, v.number, v.title, v.author, v.head_sha, v.head_ref, v.from_fork, v.web_url, v.created_at, v.updated_at, p.slug,
                   (SELECT status FROM deployments d WHERE d.project_id = p.id ORDER BY d.id DESC LIMIT 1) AS status,
                   (SELECT hostname FROM project_domains pd WHERE pd.project_id = p.id ORDER BY position LIMIT 1) AS domain
            FROM previews v JOIN projects p ON p.id = v.project_id
            WHERE v.root_id = @rootId ORDER BY v.number
            """, new { rootId }).AsList();

    public static (bool Enabled, bool AllowForks) FindPreviewSwitches(SqliteConnection c, long rootId) =>
        c.QuerySingle<(long, long)>("SELECT previews_enabled, previews_allow_forks FROM projects WHERE id = @rootId", new { rootId }) is var (e, f) ? (e == 1, f == 1) : default;

    public static void UpdatePreviewSwitches(SqliteConnection c, long rootId, bool enabled, bool allowForks) =>
        c.Execute("UPDATE projects SET previews_enabled = @enabled, previews_allow_forks = @allowForks WHERE id = @rootId", new { rootId, enabled, allowForks });

    /// <summary>
    /// Where a preview's variables come from: the project's "preview" environment (null: none at all), and whether its
    /// secrets are left out (a fork's request, the project not allowing forks). Null when the row is no preview.
    /// </summary>
    public static (long? TemplateId, bool WithoutSecrets)? FindVariableSource(SqliteConnection c, long projectId) =>
        c.Query<(long? TemplateId, long WithoutSecrets)>(
            """
            SELECT (SELECT t.id FROM projects t WHERE t.parent_id = v.root_id AND t.environment = @template),
                   v.from_fork AND NOT r.previews_allow_forks
            FROM previews v JOIN projects r ON r.id = v.root_id WHERE v.project_id = @projectId
            """, new { projectId, template = ProjectEnvironments.PreviewTemplate }).Select(r => ((long?, bool)?)(r.TemplateId, r.WithoutSecrets == 1)).FirstOrDefault();

    /// <summary>What a delivery's pull/merge request event does to the project's previews. Never throws for Docker or Caddy: the reason says.</summary>
    public static async Task<Outcome> HandleAsync(Db db, ProjectChanges changes, DeployWorker worker, PanelSettings settings, long rootId,
        PullRequestEvent ev, CancellationToken ct)
    {
        // One event of a project at a time: the limit is counted and a preview made in one step, so a burst of
        // deliveries (a bot opening many requests at once) cannot run past it.
        var gate = Gates.GetOrAdd(rootId, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(ct);
        try { return await HandleOneAsync(db, changes, worker, settings, rootId, ev, ct); }
        finally { gate.Release(); }
    }

    static readonly System.Collections.Concurrent.ConcurrentDictionary<long, SemaphoreSlim> Gates = new();

    static async Task<Outcome> HandleOneAsync(Db db, ProjectChanges changes, DeployWorker worker, PanelSettings settings, long rootId,
        PullRequestEvent ev, CancellationToken ct)
    {
        ProjectRow root;
        string baseDomain;
        using (var c = db.Open())
        {
            root = ProjectStore.FindProjectById(c, rootId)!;
            if (!FindPreviewSwitches(c, rootId).Enabled)
                return new("ignored", $"{Word(ev)} #{ev.Number} {ev.Action}: previews are off for this project (turn them on on its page)");
            baseDomain = PanelOptions.Load(c).BaseDomain;
        }
        var existing = Find(db, rootId, ev.Number);
        if (ev.Action == PullRequestEvent.Closed)
        {
            if (existing is null) return new("ignored", $"{Word(ev)} #{ev.Number} closed: it has no preview");
            return await RemoveAsync(db, changes, existing, $"{Word(ev)} #{ev.Number} closed", ct);
        }
        if (PullRequestEvent.PreviewHostProblem(ev.Number, root.Slug, baseDomain) is { } hostProblem)
            return new("ignored", $"{Word(ev)} #{ev.Number} {ev.Action}: no preview: {hostProblem}");

        var notes = new List<string>();
        long envId;
        using (var c = db.Open())
        {
            if (existing is null)
            {
                // The limit: the least recently updated previews make room, each said in the delivery log.
                foreach (var old in ListPreviewsOfProject(c, rootId).OrderBy(p => p.UpdatedAt).SkipLast(settings.PreviewsPerProject - 1).ToList())
                {
                    var removed = await RemoveAsync(db, changes, old, $"the project runs at most {settings.PreviewsPerProject} previews (Previews:MaxPerProject)", ct);
                    notes.Add($"removed the preview of #{old.Number}, the least recently updated: {removed.Reason}");
                }
            }
            using var tx = c.BeginTransaction();
            var now = Clock.Now();
            // A fork's commits are fetched from the fork; the project's own requests from its repository.
            var gitUrl = ev.FromFork && ev.HeadCloneUrl != "" ? ev.HeadCloneUrl : root.GitUrl;
            if (existing is null)
            {
                var template = ProjectEnvironments.FindEnvironmentId(c, rootId, ProjectEnvironments.PreviewTemplate);
                envId = ProjectEnvironments.InsertEnvironmentRow(c, template ?? rootId, rootId, $"{root.Slug}-pr-{ev.Number}", $"pr-{ev.Number}", ev.HeadRef, tx);
                c.Execute(
                    """
                    INSERT INTO previews (project_id, root_id, number, title, author, head_sha, head_ref, from_fork, web_url, created_at, updated_at)
                    VALUES (@envId, @rootId, @Number, @Title, @Author, @HeadSha, @HeadRef, @FromFork, @WebUrl, @now, @now)
                    """, new { envId, rootId, ev.Number, ev.Title, ev.Author, ev.HeadSha, ev.HeadRef, ev.FromFork, ev.WebUrl, now }, tx);
                c.Execute("INSERT INTO project_domains (project_id, hostname, position) VALUES (@envId, @host, 0)",
                    new { envId, host = PullRequestEvent.PreviewHost(ev.Number, root.Slug, baseDomain) }, tx);
            }
            else
            {
                envId = existing.ProjectId;
                c.Execute(
                    """
                    UPDATE previews SET title = @Title, author = @Author, head_sha = @HeadSha, head_ref = @HeadRef, from_fork = @FromFork, web_url = @WebUrl,
                        updated_at = @now WHERE project_id = @envId
                    """, new { envId, ev.Title, ev.Author, ev.HeadSha, ev.HeadRef, ev.FromFork, ev.WebUrl, now }, tx);
            }
            c.Execute("UPDATE projects SET branch = @HeadRef, git_url = @gitUrl, updated_at = @now WHERE id = @envId", new { envId, ev.HeadRef, gitUrl, now }, tx);
            tx.Commit();
        }
        if (GitCli.BranchProblem(ev.HeadRef) is { } refProblem)
            return new("ignored", $"{Word(ev)} #{ev.Number}: its branch cannot be fetched: {refProblem}");
        using (var c = db.Open())
        {
            var env = ProjectStore.FindProjectById(c, envId)!;
            // Bitbucket names the head commit by a short id: the branch head is deployed then.
            var commit = GitCli.IsSha(ev.HeadSha) ? ev.HeadSha : null;
            var (id, already) = DeployStore.EnqueuePushDeployment(c, envId, env.Config, commit ?? "", ev.Title, ev.Author);
            if (commit is null) c.Execute("UPDATE deployments SET requested_commit = NULL, commit_sha = NULL WHERE id = @id AND status = 'queued'", new { id });
            worker.Wake();
            notes.Insert(0, already is null
                ? $"{Word(ev)} #{ev.Number} {ev.Action}: preview deployment #{id} of {ev.HeadSha[..Math.Min(7, ev.HeadSha.Length)]} at {env.Domains.FirstOrDefault()}{(ev.FromFork ? " (from a fork)" : "")}"
                : $"{Word(ev)} #{ev.Number} {ev.Action}: commit {ev.HeadSha[..Math.Min(7, ev.HeadSha.Length)]} is already deployed or queued (#{id})");
            return new(already is null ? "queued" : "skipped", string.Join("; ", notes), id);
        }
    }

    static string Word(PullRequestEvent ev) => ev.WebUrl?.Contains("merge_requests", StringComparison.Ordinal) == true ? "merge request" : "pull request";

    static PreviewRow? Find(Db db, long rootId, long number)
    {
        using var c = db.Open();
        return ListPreviewsOfProject(c, rootId).FirstOrDefault(p => p.Number == number);
    }

    /// <summary>Deletes the preview's environment with everything it has on this machine, volumes included.</summary>
    public static async Task<Outcome> RemoveAsync(Db db, ProjectChanges changes, PreviewRow preview, string why, CancellationToken ct)
    {
        ProjectRow? env;
        using (var c = db.Open()) env = ProjectStore.FindProjectById(c, preview.ProjectId);
        if (env is null) return new("ignored", $"{why}: its preview was removed already");
        if (await changes.DeleteAsync(env, ct, deleteVolumes: true) is { } problem) return new("failed", $"{why}: removing its preview failed: {problem}");
        return new("removed", $"{why}: preview {env.Slug} removed (containers, images, route, volumes)");
    }

    /// <summary>Removes previews nothing updated for Previews:TtlHours; run by <see cref="PreviewSweep"/>.</summary>
    public static async Task<int> RemoveExpiredAsync(Db db, ProjectChanges changes, PanelSettings settings, CancellationToken ct)
    {
        List<PreviewRow> expired;
        var before = Clock.Format(DateTime.UtcNow - settings.PreviewTtl);
        using (var c = db.Open())
            expired = c.Query<long>("SELECT DISTINCT root_id FROM previews WHERE updated_at < @before", new { before })
                .SelectMany(root => ListPreviewsOfProject(c, root)).Where(p => string.CompareOrdinal(p.UpdatedAt, before) < 0).ToList();
        foreach (var p in expired) await RemoveAsync(db, changes, p, $"not updated for {settings.PreviewTtl.TotalHours:0} hours (Previews:TtlHours)", ct);
        return expired.Count;
    }
}

/// <summary>Every 10 minutes: previews past their time to live go (PreviewDeploys.RemoveExpiredAsync).</summary>
public sealed class PreviewSweep(Db db, ProjectChanges changes, PanelSettings settings, ILogger<PreviewSweep> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stopping)
    {
        await Shared.StartGate.WaitAsync(stopping);
        using var timer = new PeriodicTimer(TimeSpan.FromMinutes(10));
        do
        {
            try
            {
                var removed = await PreviewDeploys.RemoveExpiredAsync(db, changes, settings, stopping);
                if (removed > 0) logger.LogInformation("removed {Count} expired preview(s)", removed);
            }
            catch (Exception e) when (e is not OperationCanceledException) { logger.LogWarning("preview sweep: {Message}", e.Message); }
        }
        while (await timer.WaitForNextTickAsync(stopping));
    }
}
