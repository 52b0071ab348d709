using Docker.DotNet.Models;
using Microsoft.AspNetCore.DataProtection;
using VpsPanel.Features.Caddy;
using VpsPanel.Features.Data;
using VpsPanel.Features.Deployments;
using VpsPanel.Features.Docker;
using VpsPanel.Features.Git;
using VpsPanel.Features.Settings;
using VpsPanel.Features.Webhooks;

namespace VpsPanel.Features.Projects;

public sealed record ProjectCreated(long Id, string Slug, string WebhookSecret);

/// <summary>
/// Creating, changing and deleting a project: the one path both the pages and the API take, so the two can never
/// disagree on a rule. Errors come back by form field name (name, gitUrl, branch, containerPort, …).
/// </summary>
public sealed class ProjectChanges(Db db, IDataProtectionProvider protection, GitCli git, DockerEngine engine, Domains.DomainSites sites,
    DeployWorker worker, PanelSettings settings, GitHosts gitHosts, DeployLog logs)
{
    public async Task<(ProjectCreated? Created, Dictionary<string, string> Errors)> CreateAsync(
        ProjectForm form, long ownerId, bool isAdmin, CancellationToken ct)
    {
        Dictionary<string, string> errors;
        // With a wildcard base domain in Settings every project gets <slug>.<base>, so its own domains may wait.
        using (var c0 = db.Open())
            errors = ProjectStore.Validate(form, creating: true, isAdmin: isAdmin, hasStoredToken: false,
                domainsOptional: PanelOptions.Load(c0).BaseDomain != "");
        if (!errors.ContainsKey("branch") && await GitCli.CheckBranchWithGitAsync(form.Branch, ct) is { } b) errors["branch"] = b;
        var limits = ProjectLimits.FromForm(form, ProjectLimits.None, isAdmin, errors);
        await CheckGitHostAsync(form, errors, ct);
        if (errors.Count > 0) return (null, errors);

        var slug = ProjectStore.Slugify(form.Name);
        var token = form.GitAuth == "token" ? protection.CreateProtector(ProjectStore.TokenPurpose).Protect(form.GitToken) : null;
        using var c = db.Open();
        using var tx = c.BeginTransaction();
        if (ProjectStore.SlugExists(c, slug, tx)) errors["name"] = $"A project with the short name \"{slug}\" already exists. Choose another name.";
        // Its own domains and its default domain (from the base domain in Settings) must be nobody else's.
        var options = PanelOptions.Load(c, tx);
        var claimed = ProjectStore.ParseDomains(form.Domains).Append(options.DefaultDomain(slug)).OfType<string>();
        if (Domains.ProjectDomains.FindConflict(claimed, 0, Domains.ProjectDomains.ListClaims(c, tx), ownerId, isAdmin, options.BaseDomain) is { } conflict)
            errors["domains"] = conflict.Message;
        if (errors.Count > 0) return (null, errors);
        var id = ProjectStore.InsertProject(c, form, slug, ownerId, token, tx);
        ProjectLimits.UpdateProjectLimits(c, id, limits!, tx);
        WebhookStore.UpdateAutoDeploy(c, id, form.AutoDeploy, tx);
        var secret = WebhookStore.ReplaceSecret(c, protection, id, tx);
        tx.Commit();
        if (form.GitAuth == "ssh")
            await DeployKey.GenerateAsync(c, protection, git, id, slug, ct);
        return (new ProjectCreated(id, slug, secret), errors);
    }

    /// <summary>
    /// Saves a changed form (the name never changes); the changes apply from the next deployment. Domains are not
    /// part of it: they have their own page and API (Features/Domains), which apply them to Caddy at once.
    /// </summary>
    public async Task<Dictionary<string, string>> UpdateAsync(ProjectRow project, ProjectForm form, bool isAdmin, CancellationToken ct)
    {
        form = form with { Name = project.Name };
        var errors = ProjectStore.Validate(form, creating: false, isAdmin: isAdmin, hasStoredToken: project.GitTokenProtected is not null);
        if (!errors.ContainsKey("branch") && await GitCli.CheckBranchWithGitAsync(form.Branch, ct) is { } b) errors["branch"] = b;
        var limits = ProjectLimits.FromForm(form, project.Limits, isAdmin, errors);
        await CheckGitHostAsync(form, errors, ct);
        if (errors.Count > 0) return errors;
        var token = form.GitAuth == "token" && form.GitToken != "" ? protection.CreateProtector(ProjectStore.TokenPurpose).Protect(form.GitToken) : null;
        using var c = db.Open();
        using var tx = c.BeginTransaction();
        ProjectStore.UpdateProject(c, project.Id, form, token, tx);
        ProjectLimits.UpdateProjectLimits(c, project.Id, limits!, tx);
        WebhookStore.UpdateAutoDeploy(c, project.Id, form.AutoDeploy, tx);
        tx.Commit();
        if (form.GitAuth == "ssh" && project.SshPublicKey is null)
            await DeployKey.GenerateAsync(c, protection, git, project.Id, project.Slug, ct);
        return errors;
    }

    /// <summary>
    /// Where the URL points (after DNS, see <see cref="GitHosts"/>) and whether a token would travel in clear text.
    /// Judged on every save, even when the URL did not change: the rules or the operator's settings may have.
    /// </summary>
    async Task CheckGitHostAsync(ProjectForm form, Dictionary<string, string> errors, CancellationToken ct)
    {
        if (errors.ContainsKey("gitUrl")) return;
        if ((await gitHosts.CheckAsync(form.GitUrl, atFetch: false, ct)).Problem is { } refused) errors["gitUrl"] = refused;
        else if (form.GitAuth == "token" && !errors.ContainsKey("gitAuth") && gitHosts.TokenProblem(form.GitUrl) is { } clear) errors["gitAuth"] = clear;
    }

    /// <summary>
    /// Deleting takes everything the project has on this machine with it: queued and running deploys are cancelled,
    /// its containers and images removed, its Caddy site dropped, then the rows. Returns why nothing was deleted, or null.
    /// </summary>
    public async Task<string?> DeleteAsync(ProjectRow project, CancellationToken ct)
    {
        // The route goes first: if Caddy refuses, nothing else has been touched yet.
        try { await sites.ApplyAllAsync(_ => { }, ct, without: project.Id); }
        catch (CaddyException e) { return $"Nothing was deleted: removing the project's Caddy site failed: {e.Message}"; }
        using var c = db.Open();
        foreach (var d in DeployStore.ListDeploymentsOfProject(c, project.Id, int.MaxValue).Where(d => !d.IsFinished))
        {
            DeployStore.CancelQueuedDeployment(c, d.Id, "the project was deleted");
            if (DeployStore.RequestCancel(c, d.Id)) worker.Cancel(d.Id);
        }
        // Give a cancelled run a moment to clean up after itself before its rows go.
        for (var i = 0; i < 100 && DeployStore.ListDeploymentsOfProject(c, project.Id, 5).Any(d => DeployStates.IsRunning(d.Status)); i++)
            await Task.Delay(100, ct);
        // Only this panel's: another panel on the same engine may have a project of the same slug (Docker/PanelIdentity).
        // Both labels are on every container and image a deployment made, before and after the panel id was in the names.
        string[] ours = [$"{PanelIdentity.Label}={PanelIdentity.Of(c)}", $"vpspanel.project={project.Slug}"];
        var docker = await engine.ClientAsync(ct);
        foreach (var ctr in await docker.Containers.ListContainersAsync(new ContainersListParameters { All = true, Filters = DockerAbsentOk.LabelFilter(ours) }, ct))
            await docker.RemoveContainerIfExistsAsync(ctr.ID, ct);
        foreach (var image in (await docker.Images.ListImagesAsync(new ImagesListParameters { Filters = DockerAbsentOk.LabelFilter(ours) }, ct)).Names())
            await docker.RemoveImageIfUnusedAsync(image, ct);
        git.DeleteProjectFiles(project.Id);
        // The log files go after the rows: a run still finishing opens its log through its row, and finds none.
        var logKeys = DeployStore.ListLogKeysOfProject(c, project.Id);
        ProjectStore.DeleteProject(c, project.Id);
        logs.DeleteFiles(logKeys);
        // Once more now that the rows are gone: an apply that ran meanwhile (another project's deploy) rendered this
        // project from rows that still existed. Caddy refusing here changes nothing that matters: the site is gone.
        try { await sites.ApplyAllAsync(_ => { }, CancellationToken.None); }
        catch (CaddyException) { }
        return null;
    }
}
