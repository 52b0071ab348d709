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
    DeployWorker worker, PanelSettings settings, GitHosts gitHosts, DeployLog logs, ReplicaSet replicaSet, Cluster.ClusterDeploy cluster)
{
    public async Task<(ProjectCreated? Created, Dictionary<string, string> Errors)> CreateAsync(
        ProjectForm form, long ownerId, bool isAdmin, CancellationToken ct)
    {
        Dictionary<string, string> errors;
        // With a wildcard base domain in Settings every project gets <slug>.<base>, so its own domains may wait.
        using (var c0 = db.Open())
            errors = ProjectStore.Validate(form, creating: true, isAdmin: isAdmin, hasStoredToken: false,
                domainsOptional: PanelOptions.Load(c0).BaseDomain != "");
        if (!errors.ContainsKey("branch") && form.Branch != "" && await GitCli.CheckBranchWithGitAsync(form.Branch, ct) is { } b) errors["branch"] = b;
        var limits = ProjectLimits.FromForm(form, ProjectLimits.None, isAdmin, errors);
        var replicas = ProjectReplicas.FromForm(form, 1, isAdmin, errors);
        var placement = await PlacementFromFormAsync(form, Cluster.ClusterPlacement.Default, replicas, 1, false, isAdmin, errors, ct);
        var paths = ProjectPaths.FromForm(form, ProjectPaths.None, errors);
        BuildTarget.Validate(form, errors);
        var commands = Builds.ProjectDockerfile.FromForm(form, Builds.BuildCommands.None, errors);
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
        ProjectReplicas.UpdateReplicas(c, id, replicas!.Value, tx);
        Cluster.ClusterPlacement.UpdateChoice(c, id, placement!, tx);
        ProjectPaths.UpdateProjectPaths(c, id, paths!, tx);
        BuildTarget.UpdateBuildTarget(c, id, form.BuildTarget, tx);
        Builds.ProjectDockerfile.UpdateBuildCommands(c, id, commands!, tx);
        WebhookStore.UpdateAutoDeploy(c, id, form.AutoDeploy, tx);
        Volumes.StopOldFirst.UpdateStopOldFirst(c, id, form.StopOldFirst, tx);
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
        if (!errors.ContainsKey("branch") && form.Branch != "" && await GitCli.CheckBranchWithGitAsync(form.Branch, ct) is { } b) errors["branch"] = b;
        var limits = ProjectLimits.FromForm(form, project.Limits, isAdmin, errors);
        int current;
        using (var c0 = db.Open()) current = ProjectReplicas.FindReplicas(c0, project.Id);
        var replicas = ProjectReplicas.FromForm(form, current, isAdmin, errors);
        Cluster.ClusterPlacement.Choice currentChoice;
        bool hasVolumes;
        using (var c0 = db.Open())
        {
            currentChoice = Cluster.ClusterPlacement.Find(c0, project.Id);
            hasVolumes = Volumes.ProjectVolumes.ListVolumesOfProject(c0, project.Id).Count > 0;
        }
        var placement = await PlacementFromFormAsync(form, currentChoice, replicas, current, hasVolumes, isAdmin, errors, ct);
        var paths = ProjectPaths.FromForm(form, project.Paths, errors);
        BuildTarget.Validate(form, errors);
        var commands = Builds.ProjectDockerfile.FromForm(form, project.Commands, errors);
        using (var c0 = db.Open())
        {
            if (!errors.ContainsKey("branch") && form.Branch != "" && ProjectEnvironments.BranchTaken(c0, project.RootId, form.Branch, project.Id) is { } taken) errors["branch"] = taken;
            if (project.ParentId is not null && !errors.ContainsKey("gitUrl") && (form.GitUrl != project.GitUrl || form.GitAuth != project.GitAuth))
                errors["gitUrl"] = $"The {project.Environment} environment fetches its project's repository: change the repository on the project's own page.";
        }
        await CheckGitHostAsync(form, errors, ct);
        if (errors.Count > 0) return errors;
        var token = form.GitAuth == "token" && form.GitToken != "" ? protection.CreateProtector(ProjectStore.TokenPurpose).Protect(form.GitToken) : null;
        using var c = db.Open();
        using var tx = c.BeginTransaction();
        ProjectStore.UpdateProject(c, project.Id, form, token, tx);
        ProjectLimits.UpdateProjectLimits(c, project.Id, limits!, tx);
        ProjectReplicas.UpdateReplicas(c, project.Id, replicas!.Value, tx);
        Cluster.ClusterPlacement.UpdateChoice(c, project.Id, placement!, tx);
        ProjectPaths.UpdateProjectPaths(c, project.Id, paths!, tx);
        BuildTarget.UpdateBuildTarget(c, project.Id, form.BuildTarget, tx);
        Builds.ProjectDockerfile.UpdateBuildCommands(c, project.Id, commands!, tx);
        WebhookStore.UpdateAutoDeploy(c, project.Id, form.AutoDeploy, tx);
        Volumes.StopOldFirst.UpdateStopOldFirst(c, project.Id, form.StopOldFirst, tx);
        if (project.ParentId is null) ProjectEnvironments.CopyRepositoryToEnvironments(c, project.Id, tx);
        tx.Commit();
        if (form.GitAuth == "ssh" && project.SshPublicKey is null)
        {
            await DeployKey.GenerateAsync(c, protection, git, project.Id, project.Slug, ct);
            ProjectEnvironments.CopyRepositoryToEnvironments(c, project.Id);
        }
        // A new count applies to the live deployment at once; should its new replicas fail, the count goes back.
        // A live cluster project's service is scaled by Swarm instead (the route follows its tasks).
        var liveOnCluster = DeployStore.FindLiveDeployment(c, project.Id)?.ServiceName is not null;
        if (replicas != current && liveOnCluster && await cluster.ScaleAsync(PanelIdentity.Of(c), project.Slug, replicas!.Value, ct) is { } refused)
        {
            using var back = c.BeginTransaction();
            ProjectReplicas.UpdateReplicas(c, project.Id, current, back);
            back.Commit();
            errors["replicas"] = refused + " (the other changes were saved)";
        }
        else if (replicas != current && !liveOnCluster && await replicaSet.ScaleLiveAsync(project.Id, replicas!.Value, ct) is { } failed)
        {
            using var back = c.BeginTransaction();
            ProjectReplicas.UpdateReplicas(c, project.Id, current, back);
            back.Commit();
            errors["replicas"] = failed + " (the other changes were saved)";
        }
        return errors;
    }

    /// <summary>
    /// Target and placement from the form (Cluster/ClusterPlacement); when they or the replicas change and the
    /// project is to run on the cluster, the swarm is asked whether it can (labels, hostnames, enough nodes).
    /// </summary>
    async Task<Cluster.ClusterPlacement.Choice?> PlacementFromFormAsync(ProjectForm form, Cluster.ClusterPlacement.Choice current, int? replicas, int currentReplicas,
        bool hasVolumes, bool isAdmin, Dictionary<string, string> errors, CancellationToken ct)
    {
        var choice = Cluster.ClusterPlacement.FromForm(form, current, isAdmin, errors);
        if (choice is null || replicas is null || (choice == current && replicas == currentReplicas)) return choice;
        foreach (var (field, message) in await Cluster.ClusterPlacement.ProblemsAsync(engine, choice, replicas.Value, hasVolumes, ct)) errors.TryAdd(field, message);
        return choice;
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
    public async Task<string?> DeleteAsync(ProjectRow project, CancellationToken ct, bool deleteVolumes = false)
    {
        // Its environments first (Projects/ProjectEnvironments): each is a project of its own on this machine.
        List<long> environments;
        using (var c0 = db.Open()) environments = project.ParentId is null ? ProjectEnvironments.ListEnvironmentIdsBesidesProduction(c0, project.Id) : [];
        foreach (var envId in environments)
        {
            ProjectRow? env;
            using (var c0 = db.Open()) env = ProjectStore.FindProjectById(c0, envId);
            if (env is not null && await DeleteAsync(env, ct, deleteVolumes) is { } problem) return $"Deleting its {env.Environment} environment stopped: {problem}";
        }
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
        // The live deployment is retired first, under the locks the reconciler checks its status in (replicas 2..N
        // in ReplicaSet, replica 1 in Running/SelfHealing): otherwise it finds a live deployment without its
        // container and makes one again, left behind once the rows are gone (seen in a CI run).
        var replicaLock = ReplicaSet.ProjectLock(project.Id);
        await replicaLock.WaitAsync(ct);
        try
        {
            await Running.AppPower.Gate.WaitAsync(ct);
            try { DeployStore.RetireLiveDeploymentOfProject(c, project.Id); }
            finally { Running.AppPower.Gate.Release(); }
        }
        finally { replicaLock.Release(); }
        // A cluster project's service (its tasks on every node go with it).
        try { await Cluster.ClusterDeploy.RemoveServiceAsync(docker, Cluster.ClusterDeploy.ServiceName(PanelIdentity.Of(c), project.Slug), ct); }
        catch (global::Docker.DotNet.DockerApiException e) when ((int)e.StatusCode is 503 or 406) { }
        foreach (var ctr in await docker.Containers.ListContainersAsync(new ContainersListParameters { All = true, Filters = DockerAbsentOk.LabelFilter(ours) }, ct))
            await docker.RemoveContainerIfExistsAsync(ctr.ID, ct);
        foreach (var image in (await docker.Images.ListImagesAsync(new ImagesListParameters { Filters = DockerAbsentOk.LabelFilter(ours) }, ct)).Names())
            await docker.RemoveImageIfUnusedAsync(image, ct);
        // Its Docker volumes only when asked (default: kept, listed as orphaned for an admin to delete; Volumes/Orphans).
        if (deleteVolumes) await Volumes.ProjectVolumes.DeleteDockerVolumesOfProjectAsync(docker, PanelIdentity.Of(c), project.Id, ct);
        await ProjectNetwork.RemoveAsync(docker, PanelIdentity.Of(c), project.Slug, ct);
        git.DeleteProjectFiles(project.Id);
        // The log files go after the rows: a run still finishing opens its log through its row, and finds none.
        var logKeys = DeployStore.ListLogKeysOfProject(c, project.Id);
        ProjectStore.DeleteProject(c, project.Id);
        logs.DeleteFiles(logKeys);
        StaticSiteDeploy.DeleteProjectFiles(settings, project.Slug);
        // Once more now that the rows are gone: an apply that ran meanwhile (another project's deploy) rendered this
        // project from rows that still existed. Caddy refusing here changes nothing that matters: the site is gone.
        try { await sites.ApplyAllAsync(_ => { }, CancellationToken.None); }
        catch (CaddyException) { }
        return null;
    }
}
