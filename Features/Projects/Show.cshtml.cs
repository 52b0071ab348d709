using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using VpsPanel.Features.Auth;
using VpsPanel.Features.Data;
using VpsPanel.Features.Deployments;
using VpsPanel.Features.Git;
using VpsPanel.Features.Settings;

namespace VpsPanel.Features.Projects;

/// <summary>/projects/{id}: the project, its live deployment and history; Deploy (the branch head, or one commit); the deploy key.</summary>
public sealed class ShowModel(Db db, DeployWorker worker, GitCli git, PanelSettings settings) : PageModel
{
    public ProjectRow? Project { get; private set; }
    public DeploymentRow? Live { get; private set; }
    public List<DeploymentRow> History { get; private set; } = [];
    public Dictionary<string, string> Errors { get; } = [];
    public bool Saved { get; private set; }
    public string? Commit { get; private set; }
    public string Scheme => settings.AutomaticHttps ? "https" : "http";
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
        if (string.IsNullOrEmpty(Commit)) Commit = null;
        else if (!GitCli.IsSha(Commit))
        {
            Errors["commit"] = "Enter the full 40-character commit SHA (hex digits), or leave it empty to deploy the branch head.";
            Response.StatusCode = StatusCodes.Status422UnprocessableEntity;
            return Page();
        }
        using var c = db.Open();
        var deploymentId = DeployStore.EnqueueDeployment(c, id, Commit is null ? "manual" : "redeploy", User.UserId(), Project!.Config, requestedCommit: Commit);
        worker.Wake();
        return Shared.Htmx.RedirectAfterPost(HttpContext, $"/deployments/{deploymentId}");
    }

    public async Task<IActionResult> OnPostGenerateKeyAsync(long id, CancellationToken ct)
    {
        if (!Load(id)) return NotFound();
        using var c = db.Open();
        ProjectStore.UpdateSshPublicKey(c, id, await git.GenerateDeployKeyAsync(id, $"vpspanel-{Project!.Slug}", ct));
        return Shared.Htmx.RedirectAfterPost(HttpContext, $"/projects/{id}");
    }
}
