using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using VpsPanel.Features.Auth;
using VpsPanel.Features.Data;
using VpsPanel.Features.Docker;
using VpsPanel.Features.Git;
using VpsPanel.Features.Projects;
using VpsPanel.Features.Settings;

namespace VpsPanel.Features.Deployments;

/// <summary>
/// /deployments/{id}: status, steps with durations, the log (its tail; earlier lines on demand; new lines live over
/// SSE), and the actions: cancel, roll back to this deployment's image, redeploy this commit.
/// </summary>
public sealed class ShowModel(Db db, DeployLog logs, DeployWorker worker, DockerEngine engine, PanelSettings settings, LiveState live,
    Microsoft.AspNetCore.DataProtection.IDataProtectionProvider protection, GitCli git) : PageModel
{
    /// <summary>How much of the log the page shows at first; the rest loads on demand, so a 50 MB log stays fast.</summary>
    public const int TailBytes = 64 * 1024;

    public DeploymentRow? Deployment { get; private set; }
    public ProjectRow? Project { get; private set; }
    public ProjectConfig Config { get; private set; } = null!;
    public List<StepRow> Steps { get; private set; } = [];
    public string LogTail { get; private set; } = "";
    public long LogStart { get; private set; }
    public long LogEnd { get; private set; }
    public bool CanRollBack { get; private set; }
    public string Scheme => settings.AutomaticHttps ? "https" : "http";
    /// <summary>"waiting for Caddy" and the like, while it runs (LiveState).</summary>
    public string? Note => Deployment is { } d ? live.NoteOf(d.Id) : null;
    /// <summary>Set when this is the live deployment and its container is not running (LiveReconciler).</summary>
    public ContainerDown? Down => Deployment is { Status: DeployStates.Live } d ? live.DownOf(d.Id) : null;

    /// <summary>How many commits the "since the live version" list shows; the rest are counted ("and 12 more").</summary>
    public const int MaxCommitsListed = 50;
    /// <summary>The deployment that was live before this one (the newest earlier one that went live); null: the first.</summary>
    public DeploymentRow? PreviousLive { get; private set; }
    public CommitRange? SinceLive { get; private set; }
    /// <summary>Why the commits could not be listed (the mirror is gone, a commit was force-pushed away).</summary>
    public string? SinceLiveProblem { get; private set; }

    /// <summary>The deployment if the user may see its project; null (a 404) otherwise.</summary>
    bool Load(long id)
    {
        using var c = db.Open();
        Deployment = DeployStore.FindDeployment(c, id);
        if (Deployment is null) return false;
        Project = ProjectStore.FindProjectVisibleTo(c, Deployment.ProjectId, User.UserId(), User.IsAdmin());
        if (Project is null) return false;
        Config = ProjectConfig.FromJson(Deployment.ConfigJson);
        Steps = DeployStore.ListSteps(c, id);
        return true;
    }

    async Task CheckRollbackAsync(CancellationToken ct) => CanRollBack = await DeployActions.CanRollBackToAsync(engine, Deployment!, ct);

    public async Task<IActionResult> OnGetAsync(long id, CancellationToken ct)
    {
        if (!Load(id)) return NotFound();
        await CheckRollbackAsync(ct);
        LoadCommitsSinceLive();
        (LogTail, LogStart, LogEnd) = logs.ReadBefore(id, null, TailBytes);
        LogTail = (DeploymentLogEndpoints.MaskIfVisible(HttpContext, db, protection, id) ?? Variables.SecretMask.None).Apply(LogTail);
        return Page();
    }

    /// <summary>
    /// live..this, read from the project's mirror on each render (not stored at deploy time: the mirror has the
    /// commits anyway, and a page of an old deployment still shows what it brought). "Live" is the deployment that
    /// was live when this one was queued: the newest earlier one that went live (live now, or retired since).
    /// </summary>
    void LoadCommitsSinceLive()
    {
        var d = Deployment!;
        using (var c = db.Open()) PreviousLive = DeployStore.FindDeploymentLiveBefore(c, d.ProjectId, d.Id);
        if (PreviousLive is null || d.CommitSha is null) return;
        try { SinceLive = GitRepo.CommitsBetween(git.MirrorPath(d.ProjectId), PreviousLive.CommitSha!, d.CommitSha, MaxCommitsListed); }
        catch (GitException e) { SinceLiveProblem = e.Message; }
    }

    /// <summary>The status/steps/actions fragment the page refreshes when the stream reports a status change.</summary>
    public async Task<IActionResult> OnGetSummaryAsync(long id, CancellationToken ct)
    {
        if (!Load(id)) return NotFound();
        await CheckRollbackAsync(ct);
        return Partial("_Summary", this);
    }

    public IActionResult OnPostCancel(long id)
    {
        if (!Load(id)) return NotFound();
        using var c = db.Open();
        if (DeployActions.Cancel(c, worker, id)) Audit.AuditLog.Record(c, HttpContext, "deploy.cancel", Project!.Slug, $"deployment {id}");
        return Shared.PostRedirect.To(HttpContext, $"/deployments/{id}");
    }

    /// <summary>Queues a deployment that starts this one's image with this one's stored configuration: no clone, no build.</summary>
    public async Task<IActionResult> OnPostRollbackAsync(long id, CancellationToken ct)
    {
        if (!Load(id)) return NotFound();
        await CheckRollbackAsync(ct);
        if (!CanRollBack) return Refuse(DeployActions.CannotRollBack);
        using var c = db.Open();
        var newId = DeployActions.RollBackTo(c, worker, Deployment!, User.UserId(), "web");
        Audit.AuditLog.Record(c, HttpContext, "deploy.rollback", Project!.Slug, $"deployment {newId} restores deployment {id}");
        return Shared.PostRedirect.To(HttpContext, $"/deployments/{newId}");
    }

    /// <summary>Builds this deployment's commit again, with the project's current configuration.</summary>
    public IActionResult OnPostRedeploy(long id)
    {
        if (!Load(id)) return NotFound();
        if (Deployment!.CommitSha is not { } sha) return Refuse("This deployment never got as far as a commit; deploy the branch instead.");
        using var c = db.Open();
        var newId = DeployActions.Deploy(c, worker, ProjectStore.FindProjectById(c, Deployment.ProjectId)!, User.UserId(), sha, "web");
        Audit.AuditLog.Record(c, HttpContext, "deploy.queue", Project!.Slug, $"deployment {newId} of commit {sha} (redeploy of deployment {id})");
        return Shared.PostRedirect.To(HttpContext, $"/deployments/{newId}");
    }

    IActionResult Refuse(string message)
    {
        Response.StatusCode = StatusCodes.Status422UnprocessableEntity;
        return Content(message);
    }
}
