using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using VpsPanel.Features.Auth;
using VpsPanel.Features.Data;
using VpsPanel.Features.Deployments;
using VpsPanel.Features.Git;
using VpsPanel.Features.Settings;

namespace VpsPanel.Features.Projects;

/// <summary>/projects/{id}: the project, its live deployment and history; Deploy (the branch head, or one commit); the deploy key.</summary>
public sealed class ShowModel(Db db, DeployWorker worker, GitCli git, PanelSettings settings, IDataProtectionProvider protection, LiveState liveState) : PageModel
{
    public ProjectRow? Project { get; private set; }
    public DeploymentRow? Live { get; private set; }
    /// <summary>Set when the live deployment's container is not running (LiveReconciler).</summary>
    public ContainerDown? LiveDown => Live is { } l ? liveState.DownOf(l.Id) : null;
    public List<DeploymentRow> History { get; private set; } = [];
    public Dictionary<string, string> Errors { get; } = [];
    public bool Saved { get; private set; }
    public bool RedeployNeeded { get; private set; }
    public string? Commit { get; private set; }
    public string Scheme => settings.AutomaticHttps ? "https" : "http";
    public Webhooks.WebhookSection? Webhook { get; private set; }
    /// <summary>The domains it answers on (primary first, then the default domain), each with its scheme.</summary>
    public List<(string Host, string Url)> DomainLinks { get; private set; } = [];

    public IActionResult OnGet(long id)
    {
        if (!Load(id)) return NotFound();
        Saved = Request.Query.ContainsKey("saved");
        return Page();
    }

    bool Load(long id)
    {
        using var c = db.Open();
        Project = ProjectStore.FindProjectVisibleTo(c, id, User.UserId(), User.IsAdmin());
        if (Project is null) return false;
        Live = DeployStore.FindLiveDeployment(c, id);
        History = DeployStore.ListDeploymentsOfProject(c, id);
        RedeployNeeded = Variables.DeployVariables.RedeployNeeded(c, id, Live?.ConfigJson);
        Webhook = Webhooks.WebhookSection.Load(c, protection, settings, Project);
        var domains = Domains.ProjectDomains.FindDomainSetup(c, id).Domains;
        if (PanelOptions.Load(c).DefaultDomain(Project.Slug) is { } dd && domains.All(d => d.Host != dd)) domains.Add(new Caddy.SiteDomain(dd));
        DomainLinks = domains.Select(d => (d.Host, $"{(settings.AutomaticHttps && !d.HttpOnly ? "https" : "http")}://{d.Host}/")).ToList();
        return true;
    }

    /// <summary>Queues a deployment of the branch head, or of one exact commit when a SHA is given.</summary>
    public IActionResult OnPostDeploy(long id, string? commit)
    {
        if (!Load(id)) return NotFound();
        Commit = commit?.Trim().ToLowerInvariant();
        if (DeployActions.CommitProblem(Commit) is { } problem)
        {
            Errors["commit"] = problem;
            Response.StatusCode = StatusCodes.Status422UnprocessableEntity;
            return Page();
        }
        using var c = db.Open();
        var deploymentId = DeployActions.Deploy(c, worker, Project!, User.UserId(), Commit, "web");
        Audit.AuditLog.Record(c, HttpContext, "deploy.queue", Project!.Slug, $"deployment {deploymentId}" + (string.IsNullOrEmpty(Commit) ? $" of branch {Project.Branch}" : $" of commit {Commit}"));
        return Shared.PostRedirect.To(HttpContext, $"/deployments/{deploymentId}");
    }

    public async Task<IActionResult> OnPostGenerateKeyAsync(long id, CancellationToken ct)
    {
        if (!Load(id)) return NotFound();
        using var c = db.Open();
        await DeployKey.GenerateAsync(c, protection, git, id, Project!.Slug, ct);
        return Shared.PostRedirect.To(HttpContext, $"/projects/{id}");
    }

    /// <summary>Replaces the webhook secret (leaked, or unreadable after a key ring change); the old one stops working at once.</summary>
    public IActionResult OnPostNewWebhookSecret(long id)
    {
        if (!Load(id)) return NotFound();
        using var c = db.Open();
        Webhooks.WebhookStore.ReplaceSecret(c, protection, id);
        Audit.AuditLog.Record(c, HttpContext, "webhook_secret.rotate", Project!.Slug);
        return Shared.PostRedirect.To(HttpContext, $"/projects/{id}#webhook");
    }
}
