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
[Shared.KeptPage.KeepsWholePage]
public sealed class ShowModel(Db db, DeployWorker worker, GitCli git, PanelSettings settings, IDataProtectionProvider protection, LiveState liveState,
    Docker.DockerEngine engine, ReadCache cache, ReplicaSet replicaSet) : PageModel
{
    /// <summary>The project's environments side by side, production first (ProjectEnvironments).</summary>
    public List<EnvironmentRow> Environments { get; private set; } = [];
    public string? NewEnvironmentName { get; private set; }
    /// <summary>Its pull request previews and their switches (Previews/PreviewDeploys).</summary>
    public List<Previews.PreviewRow> Previews { get; private set; } = [];
    public (bool Enabled, bool AllowForks) PreviewSwitches { get; private set; }
    public string? NewEnvironmentBranch { get; private set; }
    public ProjectRow? Project { get; private set; }
    public DeploymentRow? Live { get; private set; }
    /// <summary>Set when the live deployment's container is not running (LiveReconciler).</summary>
    public ContainerDown? LiveDown => Live is { } l ? liveState.DownOf(l.Id) : null;
    /// <summary>
    /// One page of its deployments, newest first, older than ?before= (a deployment id: the page stays put while new
    /// deployments arrive). Bounded, so a project with thousands of deployments renders as fast as a new one.
    /// </summary>
    public List<DeploymentRow> History { get; private set; } = [];
    public const int HistoryPerPage = 25;
    /// <summary>Set when this is not the newest page; OlderThan when there are older deployments than the page shows.</summary>
    public long? Before { get; private set; }
    public long? OlderThan { get; private set; }
    public Dictionary<string, string> Errors { get; } = [];
    public bool Saved { get; private set; }
    public bool RedeployNeeded { get; private set; }
    public string? Commit { get; private set; }
    public string Scheme => settings.AutomaticHttps ? "https" : "http";
    public Webhooks.WebhookSection? Webhook { get; private set; }
    /// <summary>The domains it answers on (primary first, then the default domain), each with its scheme.</summary>
    public List<(string Host, string Url)> DomainLinks { get; private set; } = [];
    /// <summary>The Dockerfile the next build uses, where from and why (Builds/DockerfileSection).</summary>
    public Builds.DockerfileSection? Dockerfile { get; private set; }
    /// <summary>The sections of other features on the page, as read with the rest (the engine's parts are asked per view).</summary>
    public List<Services.LinkedService> LinkedServices { get; private set; } = [];
    public Deployments.ReplicasSection Replicas { get; private set; } = null!;
    public Notifications.ProjectNotificationsView Notifications { get; private set; } = null!;
    Running.RunningSectionModel.Stored _running = null!;

    /// <summary>The running-app section: the state from the engine now (read once per view), the rest as read with the page.</summary>
    public async Task<Running.RunningSectionModel> RunningSectionAsync() =>
        new(Project!.Id, _runState ??= await Running.AppRunState.LoadAsync(engine, Live, _running.Run, HttpContext.RequestAborted), _running.Events);
    Running.AppRunState? _runState;

    /// <summary>The replicas section with the engine's state of each container now (read once per view).</summary>
    public async Task<ReplicasView> ReplicasViewAsync() =>
        new(Replicas, _replicaStates ??= Replicas.Containers.Count > 0 ? await replicaSet.StatesAsync(Replicas.Containers, HttpContext.RequestAborted) : []);
    List<ReplicaSet.ReplicaState>? _replicaStates;

    public async Task<IActionResult> OnGetAsync(long id)
    {
        if (!Load(id, fromCache: true)) return NotFound();
        Saved = Request.Query.ContainsKey("saved");
        // Besides the data kept with the page (per user, project and page of history), a view shows what it reads
        // now: the engine's state of the app and its replicas, and the Dockerfile from the Git mirror. With those
        // the same, the page is the same bytes for the same antiforgery cookie (Shared/KeptPage).
        var inputs = new ViewInputs(Saved, Dockerfile, (await RunningSectionAsync()).State, (await ReplicasViewAsync()).States);
        if (Shared.KeptPage.CookieOf(Request) is { } af)
        {
            var pages = _data.Pages;
            if (pages.TryGetValue(af, out var kept) && kept.Inputs is ViewInputs shown && shown.SameAs(inputs)) return Shared.KeptPage.Send(this, kept);
            Shared.KeptPage.KeepThisView(HttpContext, inputs, k => pages[af] = k);
        }
        return Page();
    }

    /// <summary>What a view reads besides the kept data; equal inputs render the same page.</summary>
    sealed record ViewInputs(bool Saved, Builds.DockerfileSection? Dockerfile, Running.AppRunState Run, List<ReplicaSet.ReplicaState> Replicas)
    {
        // Records compare lists by reference: those are compared item by item, the rest by value.
        public bool SameAs(ViewInputs o) =>
            Saved == o.Saved && Replicas.SequenceEqual(o.Replicas) && Same(Run, o.Run) && Same(Dockerfile, o.Dockerfile);

        static bool Same(Running.AppRunState a, Running.AppRunState b) =>
            a with { LastLogLines = null! } == b with { LastLogLines = null! } && a.LastLogLines.SequenceEqual(b.LastLogLines);

        static bool Same(Builds.DockerfileSection? a, Builds.DockerfileSection? b) =>
            a is null || b is null ? a == b : a with { Resolved = null } == b with { Resolved = null } && Same(a.Resolved, b.Resolved);

        static bool Same(Builds.ResolvedDockerfile? a, Builds.ResolvedDockerfile? b) =>
            a is null || b is null ? a == b : a with { Reasons = null! } == b with { Reasons = null! } && a.Reasons.SequenceEqual(b.Reasons);
    }

    /// <summary>What the page reads from the database for one project, user and page of history (Data/ReadCache keeps it for views).</summary>
    sealed record PageData(ProjectRow Project, DeploymentRow? Live, List<DeploymentRow> History, long? OlderThan, bool RedeployNeeded,
        Webhooks.WebhookSection Webhook, List<(string Host, string Url)> DomainLinks, List<EnvironmentRow> Environments,
        List<Previews.PreviewRow> Previews, (bool Enabled, bool AllowForks) PreviewSwitches,
        List<Services.LinkedService> LinkedServices, Deployments.ReplicasSection Replicas, Notifications.ProjectNotificationsView Notifications,
        Running.RunningSectionModel.Stored Running, string? DockerfileOverride)
    {
        /// <summary>Whole pages as sent (Shared/KeptPage) per antiforgery cookie, with the view inputs they showed.</summary>
        public System.Collections.Concurrent.ConcurrentDictionary<string, Shared.KeptPage> Pages { get; } = new();
    }
    PageData _data = null!;

    /// <summary>
    /// <paramref name="fromCache"/>: a view takes the model kept until the database changes (Data/ReadCache); a POST
    /// reads afresh, since it acts on what it reads. The Dockerfile section is read every time: it comes from the
    /// project's Git mirror, which a fetch changes without a commit to the database.
    /// </summary>
    bool Load(long id, bool fromCache = false)
    {
        var (userId, isAdmin) = (User.UserId(), User.IsAdmin());
        // ?before= that is not a positive number shows the newest page: it only ever comes from this page's own links.
        Before = long.TryParse(Request.Query["before"], out var before) && before > 0 ? before : null;
        var data = fromCache
            ? cache.Get($"project:{id}:{userId}:{isAdmin}:{Before}", () => Read(id, userId, isAdmin, Before) ?? NotVisible)
            : Read(id, userId, isAdmin, Before) ?? NotVisible;
        if (ReferenceEquals(data, NotVisible)) return false;
        _data = data;
        (Project, Live, History, OlderThan, RedeployNeeded, Webhook, DomainLinks, Environments, Previews, PreviewSwitches) =
            (data.Project, data.Live, [.. data.History], data.OlderThan, data.RedeployNeeded, data.Webhook, data.DomainLinks, data.Environments, data.Previews, data.PreviewSwitches);
        (LinkedServices, Replicas, Notifications, _running) = (data.LinkedServices, data.Replicas, data.Notifications, data.Running);
        // The saved Dockerfile is database data, kept with the rest; the Git mirror's side is read on every view.
        Dockerfile = Builds.DockerfileSection.Load(data.DockerfileOverride, git, settings, Project);
        return true;
    }

    /// <summary>Kept in the cache for a project the user may not see (or that does not exist), so a 404 is cached too.</summary>
    static readonly PageData NotVisible = new(null!, null, [], null, false, null!, [], [], [], default, [], null!, null!, null!, null);

    PageData? Read(long id, long userId, bool isAdmin, long? before)
    {
        using var c = db.Open();
        var project = ProjectStore.FindProjectVisibleTo(c, id, userId, isAdmin);
        if (project is null) return null;
        var live = DeployStore.FindLiveDeployment(c, id);
        // One row more than shown says whether an "Older" link is due.
        var history = DeployStore.ListDeploymentsOfProjectBefore(c, id, before ?? long.MaxValue, HistoryPerPage + 1);
        long? olderThan = null;
        if (history.Count > HistoryPerPage)
        {
            history.RemoveAt(HistoryPerPage);
            olderThan = history[^1].Id;
        }
        var domains = Domains.ProjectDomains.FindDomainSetup(c, id).Domains;
        if (PanelOptions.Load(c).DefaultDomain(project.Slug) is { } dd && domains.All(d => d.Host != dd)) domains.Add(new Caddy.SiteDomain(dd));
        var links = domains.Select(d => (d.Host, $"{(settings.AutomaticHttps && !d.HttpOnly ? "https" : "http")}://{d.Host}/")).ToList();
        return new(project, live, history, olderThan, Variables.DeployVariables.RedeployNeeded(c, id, live?.ConfigJson),
            Webhooks.WebhookSection.Load(c, protection, settings, project), links,
            ProjectEnvironments.ListEnvironmentsOfProject(c, project.RootId),
            Features.Previews.PreviewDeploys.ListPreviewsOfProject(c, project.RootId),
            Features.Previews.PreviewDeploys.FindPreviewSwitches(c, project.RootId),
            Features.Services.ServiceStore.ListServicesLinkedToProject(c, id), Deployments.ReplicasSection.Read(c, id, live),
            new Features.Notifications.ProjectNotificationsView(id, Features.Notifications.NotifySubscriptions.ListChannelsVisibleToProject(c, id), [], null),
            Features.Running.RunningSectionModel.Stored.Read(c, id), Builds.ProjectDockerfile.FindDockerfileOverride(c, id));
    }

    /// <summary>Saves the generated Dockerfile as the project's own (no field), or the edited text of a saved one.</summary>
    public IActionResult OnPostSaveDockerfile(long id)
    {
        if (!Load(id)) return NotFound();
        // Read as posted: model binding would turn an emptied textarea into null, which means "save the generated one".
        var dockerfile = Request.Form.ContainsKey("dockerfile") ? Request.Form["dockerfile"].ToString() : null;
        using var c = db.Open();
        var (detail, problem) = Builds.DockerfileSection.Save(c, git, settings, Project!, dockerfile);
        if (problem is not null)
        {
            Dockerfile = Dockerfile! with { Error = problem, Typed = dockerfile };
            Response.StatusCode = StatusCodes.Status422UnprocessableEntity;
            return Page();
        }
        Audit.AuditLog.Record(c, HttpContext, "dockerfile.override", Project!.Slug, detail!);
        return Shared.PostRedirect.To(HttpContext, $"/projects/{id}#dockerfile");
    }

    public IActionResult OnPostRemoveDockerfile(long id)
    {
        if (!Load(id)) return NotFound();
        using var c = db.Open();
        Builds.ProjectDockerfile.UpdateDockerfileOverride(c, id, null);
        Audit.AuditLog.Record(c, HttpContext, "dockerfile.override", Project!.Slug, "removed");
        return Shared.PostRedirect.To(HttpContext, $"/projects/{id}#dockerfile");
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

    /// <summary>Adds an environment (name and branch) to the project this page's project belongs to.</summary>
    public async Task<IActionResult> OnPostAddEnvironmentAsync(long id, string? environmentName, string? environmentBranch, CancellationToken ct)
    {
        if (!Load(id)) return NotFound();
        using var c = db.Open();
        var root = Project!.ParentId is { } parent ? ProjectStore.FindProjectById(c, parent)! : Project;
        var (made, errors) = await ProjectEnvironments.CreateAsync(c, root, environmentName ?? "", environmentBranch ?? "", ct);
        if (made is null)
        {
            foreach (var (k, v) in errors) Errors["environment" + char.ToUpperInvariant(k[0]) + k[1..]] = v;
            (NewEnvironmentName, NewEnvironmentBranch) = (environmentName, environmentBranch);
            Response.StatusCode = StatusCodes.Status422UnprocessableEntity;
            return Page();
        }
        Audit.AuditLog.Record(c, HttpContext, "environment.create", root.Slug, $"{environmentName?.Trim()} on branch {environmentBranch?.Trim()}");
        return Shared.PostRedirect.To(HttpContext, $"/projects/{made}");
    }

    /// <summary>Promotes the live image of one environment to another (no build), from the environments table.</summary>
    public async Task<IActionResult> OnPostPromoteAsync(long id, string? from, string? to, CancellationToken ct)
    {
        if (!Load(id)) return NotFound();
        using var c = db.Open();
        var source = Environments.FirstOrDefault(e => e.Environment == from);
        var target = Environments.FirstOrDefault(e => e.Environment == to);
        string? problem = source is null || target is null ? "Pick two environments of this project." : null;
        long? deploymentId = null;
        if (problem is null)
            (deploymentId, problem) = await ProjectEnvironments.PromoteAsync(c, engine, worker, source!, ProjectStore.FindProjectById(c, target!.Id)!, User.UserId(), "web", ct);
        if (problem is not null)
        {
            Errors["promote"] = problem;
            Response.StatusCode = StatusCodes.Status422UnprocessableEntity;
            return Page();
        }
        Audit.AuditLog.Record(c, HttpContext, "deploy.promote", target!.Slug, $"deployment {deploymentId} starts {source!.Environment}'s deployment {source.LiveDeploymentId} in {target.Environment}");
        return Shared.PostRedirect.To(HttpContext, $"/deployments/{deploymentId}");
    }

    /// <summary>Previews on or off for the project (its own page or any of its environments' pages), and whether forks get secrets.</summary>
    public IActionResult OnPostPreviews(long id, bool enabled, bool allowForks)
    {
        if (!Load(id)) return NotFound();
        using var c = db.Open();
        Features.Previews.PreviewDeploys.UpdatePreviewSwitches(c, Project!.RootId, enabled, allowForks);
        Audit.AuditLog.Record(c, HttpContext, "previews.change", Project.Slug, $"previews {(enabled ? "on" : "off")}, forks {(allowForks ? "get the preview secrets" : "get no secrets")}");
        return Shared.PostRedirect.To(HttpContext, $"/projects/{id}#previews");
    }

    public async Task<IActionResult> OnPostGenerateKeyAsync(long id, CancellationToken ct)
    {
        if (!Load(id)) return NotFound();
        using var c = db.Open();
        await DeployKey.GenerateAsync(c, protection, git, id, Project!.Slug, ct);
        if (Project.ParentId is null) ProjectEnvironments.CopyRepositoryToEnvironments(c, id);
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
