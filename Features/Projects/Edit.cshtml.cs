using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using VpsPanel.Features.Auth;
using VpsPanel.Features.Caddy;
using VpsPanel.Features.Data;
using VpsPanel.Features.Deployments;
using VpsPanel.Features.Docker;
using VpsPanel.Features.Git;
using VpsPanel.Features.Settings;

namespace VpsPanel.Features.Projects;

/// <summary>/projects/{id}/edit: change a project's settings (used from the next deploy on), or delete it.</summary>
public sealed class EditModel(Db db, IDataProtectionProvider protection, GitCli git, DockerClient docker, Domains.DomainSites sites,
    DeployWorker worker, PanelSettings settings) : PageModel
{
    public ProjectRow? Project { get; private set; }
    public ProjectForm Form { get; private set; } = ProjectForm.Empty;
    public Dictionary<string, string> Errors { get; private set; } = [];

    public IActionResult OnGet(long id)
    {
        using var c = db.Open();
        Project = ProjectStore.FindProjectVisibleTo(c, id, User.UserId(), User.IsAdmin());
        if (Project is null) return NotFound();
        Form = ProjectFormReader.FromProject(Project);
        return Page();
    }

    public async Task<IActionResult> OnPostAsync(long id, CancellationToken ct)
    {
        using var c = db.Open();
        Project = ProjectStore.FindProjectVisibleTo(c, id, User.UserId(), User.IsAdmin());
        if (Project is null) return NotFound();
        Form = ProjectFormReader.Read(Request.Form) with { Name = Project.Name };
        Errors = ProjectStore.Validate(Form, creating: false, mayUseLocalRepos: User.IsAdmin(), hasStoredToken: Project.GitTokenProtected is not null);
        if (!Errors.ContainsKey("branch") && await GitCli.CheckBranchWithGitAsync(Form.Branch, ct) is { } b) Errors["branch"] = b;
        if (Errors.Count > 0) return Invalid();
        var token = Form.GitAuth == "token" && Form.GitToken != "" ? protection.CreateProtector(ProjectStore.TokenPurpose).Protect(Form.GitToken) : null;
        using var tx = c.BeginTransaction();
        ProjectStore.UpdateProject(c, id, Form, token, tx);
        tx.Commit();
        if (Form.GitAuth == "ssh" && Project.SshPublicKey is null)
            ProjectStore.UpdateSshPublicKey(c, id, await git.GenerateDeployKeyAsync(id, $"vpspanel-{Project.Slug}", ct));
        return Shared.Htmx.RedirectAfterPost(HttpContext, $"/projects/{id}?saved=1");
    }

    /// <summary>
    /// Deleting takes everything the project has on this machine with it: queued and running deploys are cancelled,
    /// its containers and images removed, its Caddy site dropped, then the rows.
    /// </summary>
    public async Task<IActionResult> OnPostDeleteAsync(long id, string? confirm, CancellationToken ct)
    {
        using var c = db.Open();
        Project = ProjectStore.FindProjectVisibleTo(c, id, User.UserId(), User.IsAdmin());
        if (Project is null) return NotFound();
        Form = ProjectFormReader.FromProject(Project);
        if ((confirm ?? "").Trim() != Project.Slug)
        {
            Errors["confirm"] = $"Type {Project.Slug} to confirm.";
            return Invalid();
        }
        // The route goes first: if Caddy refuses, nothing else has been touched yet.
        try { await sites.ApplyAllAsync(_ => { }, ct, without: id); }
        catch (CaddyException e)
        {
            Errors["confirm"] = $"Nothing was deleted: removing the project's Caddy site failed: {e.Message}";
            return Invalid();
        }
        foreach (var d in DeployStore.ListDeploymentsOfProject(c, id, int.MaxValue).Where(d => !d.IsFinished))
        {
            DeployStore.CancelQueuedDeployment(c, d.Id, "the project was deleted");
            if (DeployStore.RequestCancel(c, d.Id)) worker.Cancel(d.Id);
        }
        // Give a cancelled run a moment to clean up after itself before its rows go.
        for (var i = 0; i < 100 && DeployStore.ListDeploymentsOfProject(c, id, 5).Any(d => DeployStates.IsRunning(d.Status)); i++)
            await Task.Delay(100, ct);
        var panel = $"vpspanel.panel={DeployRun.PanelId(settings)}";
        foreach (var ctr in (await docker.ListContainersByLabelAsync($"vpspanel.project={Project.Slug}", ct)).Where(x => x.Labels.GetValueOrDefault("vpspanel.panel") == DeployRun.PanelId(settings)))
            await docker.RemoveContainerAsync(ctr.Id, ct);
        foreach (var image in await docker.ListImagesByLabelAsync(panel, ct))
            if (image.StartsWith($"vpspanel/{Project.Slug}:", StringComparison.Ordinal)) await docker.RemoveImageAsync(image, ct);
        git.DeleteProjectFiles(id);
        ProjectStore.DeleteProject(c, id);
        // Once more now that the rows are gone: an apply that ran meanwhile (another project's deploy) rendered this
        // project from rows that still existed. Caddy refusing here changes nothing that matters: the site is gone.
        try { await sites.ApplyAllAsync(_ => { }, CancellationToken.None); }
        catch (CaddyException) { }
        return Shared.Htmx.RedirectAfterPost(HttpContext, "/projects");
    }

    IActionResult Invalid()
    {
        Response.StatusCode = StatusCodes.Status422UnprocessableEntity;
        return Page();
    }
}
