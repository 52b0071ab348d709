using System.Net.Sockets;
using Docker.DotNet;
using Microsoft.AspNetCore.DataProtection;
using VpsPanel.Features.Caddy;
using VpsPanel.Features.Data;
using VpsPanel.Features.Docker;
using VpsPanel.Features.Domains;
using VpsPanel.Features.Git;
using VpsPanel.Features.Projects;
using VpsPanel.Features.Settings;

namespace VpsPanel.Features.Deployments;

/// <summary>A deploy step failed for a reason we can state; the message goes to the log and the deployment row.</summary>
public sealed class DeployFailure(string message) : Exception(message);

/// <summary>
/// One deployment, start to end: clone → build → start → health check → switch → live, then drain and retire the
/// previous container. Anything that fails before the switch leaves the live container and route as they were and
/// removes what this deployment created. The worker decides when this runs; this decides nothing about the queue.
/// </summary>
public sealed class DeployRun(
    Db db, PanelSettings settings, DockerEngine engine, GitCli git, DomainSites sites, DeployLog logs,
    IDataProtectionProvider protection, CaddyAdmin caddy, LiveState state, ReplicaSet replicas, Cluster.ClusterDeploy cluster, ILogger<DeployRun> logger)
{
    // The panel id keeps two panels on one engine apart (Docker/PanelIdentity). Deployments made before it keep
    // the names they recorded (deployments.image, deployments.container_name); nothing derives an old name again.
    public static string ImageName(string panel, string slug, long id) => $"vpspanel/{panel}-{slug}:{id}";
    public static string ContainerName(string panel, string slug, long id) => $"vpspanel-{panel}-{slug}-{id}";

    string BuildDir(long id) => Path.Combine(settings.DataDir, "builds", id.ToString());

    /// <summary>
    /// Runs the deployment; returns the work left after it went live (drain, retire the old container), if any, and
    /// after a fetch git's housekeeping of the mirror, which the fetch itself no longer does on the way to "served"
    /// (GitCli.FetchAsync).
    /// </summary>
    public async Task<Func<Task>?> RunAsync(long id, CancellationToken cancel)
    {
        long? fetched = null;
        var after = await RunStepsAsync(id, cancel, projectId => fetched = projectId);
        if (fetched is not { } project) return after;
        return async () =>
        {
            var maintained = MaintainMirrorAsync(project);
            if (after is not null) await after();
            await maintained;
        };
    }

    async Task MaintainMirrorAsync(long projectId)
    {
        try
        {
            if (await git.MaintainAsync(projectId, CancellationToken.None) is { } problem) logger.LogWarning("project {Id}: {Problem}", projectId, problem);
        }
        catch (Exception e) when (e is IOException or GitException) { logger.LogWarning("project {Id}: git maintenance of the mirror: {Message}", projectId, e.Message); }
    }

    async Task<Func<Task>?> RunStepsAsync(long id, CancellationToken cancel, Action<long> onFetched)
    {
        using var c = db.Open();
        var d = DeployStore.FindDeployment(c, id) ?? throw new InvalidOperationException($"deployment {id} vanished");
        var project = ProjectStore.FindProjectById(c, d.ProjectId) ?? throw new InvalidOperationException($"project of deployment {id} vanished");
        var config = ProjectConfig.FromJson(d.ConfigJson);
        var panel = PanelIdentity.Of(c);
        using var log = logs.Open(id);
        var step = DeployStates.Cloning;
        string? builtImage = null, containerName = null, stoppedLive = null;
        void Step(string s)
        {
            cancel.ThrowIfCancellationRequested();
            step = s;
            DeployStore.UpdateStep(c, id, s);
            log.Important($"==> {DeployStates.Label(s)}");
        }

        log.Important($"deployment {id} of {project.Slug} ({d.Trigger}{(d.RequestedByEmail is { } who ? " by " + who : "")})");
        var mask = Variables.SecretMask.None;
        try
        {
            // From here on every line written to the log has the deployment's secret values replaced by ********.
            (config, var vars) = Variables.DeployVariables.ForDeployment(c, protection, id, project.Id, config, log.Important);
            mask = log.Mask = Variables.DeployVariables.MaskOf(vars);
            if (vars.Count > 0) log.Important($"variables: {string.Join(", ", vars.Select(v => v.Key + (v.Secret ? " (secret)" : "")))}");
            string image;
            if (d.RollbackOf is { } source)
            {
                if (DeployStore.FindDeployment(c, source)?.StaticRoot is { } files)
                    return await GoLiveStaticAsync(c, id, project, StaticSiteDeploy.Prepare(c, settings, id, project.Slug, null, files, config, log, Step, cancel), log, Step, cancel);
                image = d.Image ?? throw new DeployFailure("the deployment to roll back to has no image");
                Step(DeployStates.Starting);
                if (!await (await engine.ClientAsync(cancel)).ImageExistsAsync(image, cancel))
                    throw new DeployFailure($"the image {image} of deployment {source} no longer exists; redeploy its commit instead");
                if (Projects.ProjectEnvironments.FindPromotedFrom(c, id) is { } env)
                {
                    image = await Projects.ProjectEnvironments.AdoptImageAsync(engine, image, ImageName(panel, project.Slug, id), cancel);
                    DeployStore.UpdateImage(c, id, image);
                    log.Important($"promote from {env} (deployment {source}): its image {d.Image} as {image}, no build; the variables and settings are {project.Environment}'s");
                }
                else log.Important($"rollback to deployment {source}: reusing image {image}, no build");
            }
            else
            {
                await Hygiene.DiskGuard.RefuseBuildWhenLowAsync(settings, engine, log.Important, cancel);
                Step(DeployStates.Cloning);
                // What this fetch can answer for besides this deployment (PushOrder.Fetched): pushes stored before it begins.
                // Compared as stored in the rows, before the variables or the default branch's detection change them.
                var requested = ProjectConfig.FromJson(d.ConfigJson);
                var fetched = new PushOrder.Fetched(requested.GitUrl, requested.Branch, DeployStore.FindLastDeploymentId(c));
                using (var keyFile = project.GitAuth == "ssh" ? DeployKey.WriteForFetch(c, protection, git, project.Id) : null)
                {
                    config = config with { Branch = await DeployDetect.BranchAsync(c, git, project.Id, config.Branch, config.GitUrl, AuthFor(project, keyFile), log.Important, cancel) };
                    await git.FetchAsync(project.Id, config.GitUrl, config.Branch, AuthFor(project, keyFile), log.Line, cancel);
                    onFetched(project.Id);
                }
                // Only now, with the branch fetched, can the mirror tell which of the pushed commits is newer (PushOrder).
                if (d.Trigger == "webhook" && d.RequestedCommit is { } pushed && (await SkipReasonAsync(c, project.Id, id, pushed, fetched, log, cancel)
                        ?? WatchPaths.SkipReason(c, git, project.Id, id, pushed, config.WatchPaths, log.Important)) is not null)
                    return null;
                var commit = await git.ResolveAsync(project.Id, config.Branch, d.RequestedCommit, cancel);
                DeployStore.UpdateCommit(c, id, commit.Sha, commit.Author, commit.Message);
                log.Important($"commit {commit.Sha} by {commit.Author}: {commit.Message}");
                await git.CheckoutAsync(project.Id, commit.Sha, BuildDir(id), cancel);
                // A Dockerfile saved on the project page wins over serving the files as they are.
                if (Builds.ProjectDockerfile.FindDockerfileOverride(c, project.Id) is null && StaticSiteDeploy.FindPlainStaticSite(BuildDir(id), config) is { } site)
                    return await GoLiveStaticAsync(c, id, project, StaticSiteDeploy.Prepare(c, settings, id, project.Slug, site, null, config, log, Step, cancel), log, Step, cancel);

                Step(DeployStates.Building);
                // No Dockerfile at the project's path, or one saved on the project page: written into this checkout (Builds/ProjectDockerfile).
                config = Builds.ProjectDockerfile.PrepareBuild(c, settings, project.Id, git.MirrorPath(project.Id), commit.Sha, BuildDir(id), config, log.Important);
                image = ImageName(panel, project.Slug, id);
                await BuildAsync(config, id, image, Labels(panel, project.Slug, id), vars, log, cancel, () => builtImage = image);
                DeployStore.UpdateImage(c, id, image);
            }

            if (step != DeployStates.Starting) Step(DeployStates.Starting);
            if (Cluster.ClusterPlacement.Find(c, project.Id).IsCluster)
                return await GoLiveOnClusterAsync(c, id, project, panel, image, config, vars, log, Step, cancel);
            containerName = ContainerName(panel, project.Slug, id);
            var plan = await AppContainer.PlanAsync(c, engine, settings, project, image, config, vars, log.Important, cancel);
            stoppedLive = await Volumes.StopOldFirst.BeforeStartAsync(c, engine, project.Id, log.Important, cancel);
            var port = await StartContainerAsync(c, id, Labels(panel, project.Slug, id), image, containerName, plan, project.Limits, log, cancel);

            Step(DeployStates.HealthChecking);
            await new HealthCheck(settings, engine).RunAsync(containerName, port, plan.ContainerPort, config.HealthPath, plan.Facts, log, cancel);
            await replicas.StartExtraAsync(c, id, project.Id, config.HealthPath, plan.Facts, plan.ContainerPort, log, cancel);

            Step(DeployStates.Switching);
            // From here on the route changes; a cancel can no longer undo it half-way, so the switch ignores it.
            // The route is rendered from the project's domains as they are now (the Domains page applies changes at once).
            // Marked live inside the same lock, so no other apply can render the old port after this one. The "live" line
            // is written before the row says live: a follower (`deploy --follow`, the page) ends when it reads a finished
            // status and then nothing new in the file, so a line written after the mark could be missed.
            long? previous = null;
            // Only this project's site file is rendered, validated and written; the other sites are not touched.
            await SwitchWaitingForCaddyAsync(id, log, cancel, () => sites.ApplyProjectAsync(project.Id, log.Important, CancellationToken.None, switchTo: (project.Id, port),
                applied: () =>
                {
                    log.Important($"==> live: {string.Join(", ", ProjectStore.ListDomains(c, project.Id))} → 127.0.0.1:{port}");
                    previous = DeployStore.MarkLiveRetiringPrevious(c, id, project.Id);
                }));
            if (previous is not { } prev) return null;
            var old = DeployStore.FindDeployment(c, prev);
            return () => RetireAsync(id, old);
        }
        catch (Exception e) when (e is OperationCanceledException && cancel.IsCancellationRequested)
        {
            log.Important($"cancelled during {DeployStates.Label(step)}");
            await CleanUpAsync(containerName, builtImage, log);
            DeployStore.FinishUnsuccessfully(c, id, DeployStates.Cancelled, $"cancelled during {DeployStates.Label(step)}");
        }
        catch (Exception e) when (e is DeployFailure or BuildContextException or GitException or CaddyException or OperationCanceledException || DockerEngine.IsDockerError(e))
        {
            var message = Shared.Ansi.Strip(mask.Apply(Explain(e, step, id)));
            // The checkout is what filled the disk, most likely: free it before writing the log and the row, or the
            // write of the failure fails too and its "SQLite Error 13: database or disk is full" replaces the cause.
            DeleteBuildDir(id);
            try { log.Important($"FAILED at {DeployStates.Label(step)}: {message}"); }
            catch (IOException) { logger.LogWarning("deployment {Id} failed at {Step}: {Message} (the deployment log could not be written)", id, step, message); }
            await CleanUpAsync(containerName, builtImage, log);
            try { DeployStore.FinishUnsuccessfully(c, id, DeployStates.Failed, message); }
            catch (Microsoft.Data.Sqlite.SqliteException again)
            {
                // Still say what failed first; the worker records this message (or startup recovery ends the row).
                throw new DeployFailure($"{message} (recording the failure then failed too: {again.Message})");
            }
        }
        catch (Exception e)
        {
            // A bug, not a deploy problem: still end the row (never "building" forever) and keep the stack for us.
            logger.LogError("deployment {Id} crashed at {Step}: {Error}", id, step, mask.Apply(e.ToString()));
            log.Important($"FAILED at {DeployStates.Label(step)}: internal error: {e.Message}");
            await CleanUpAsync(containerName, builtImage, log);
            DeployStore.FinishUnsuccessfully(c, id, DeployStates.Failed, "internal error: " + mask.Apply(e.Message));
        }
        finally
        {
            DeleteBuildDir(id);
            await Volumes.StopOldFirst.AfterRunAsync(db, engine, logs, id, stoppedLive);
        }
        return null;
    }

    /// <summary>
    /// The switch of a plain static site (StaticSiteDeploy): Caddy's site gets the deployment's directory as its root
    /// in one reload, as a container's switch gets its port. The previous deployment is retired as usual (a container
    /// it had is drained and removed), then the static files beyond those kept for rollback go.
    /// </summary>
    async Task<Func<Task>?> GoLiveStaticAsync(Microsoft.Data.Sqlite.SqliteConnection c, long id, ProjectRow project, string root, DeployLog.Writer log,
        Action<string> step, CancellationToken cancel)
    {
        step(DeployStates.Switching);
        long? previous = null;
        try
        {
            // The "live" line before the row says live (see the container switch above).
            await SwitchWaitingForCaddyAsync(id, log, cancel, () => sites.ApplyProjectAsync(project.Id, log.Important, CancellationToken.None, switchToFiles: (project.Id, root),
                applied: () =>
                {
                    log.Important($"==> live: {string.Join(", ", ProjectStore.ListDomains(c, project.Id))} → static files in {root}, no container");
                    previous = DeployStore.MarkLiveRetiringPrevious(c, id, project.Id);
                }));
        }
        catch when (root == StaticSiteDeploy.RootOf(settings, project.Slug, id))
        {
            // The route did not move (a refused or unreachable Caddy puts the old files back): this copy serves nobody.
            // A rollback's directory is its source's, kept for rollback, and stays.
            StaticSiteDeploy.DeleteFiles(root);
            throw;
        }
        var old = previous is { } prev ? DeployStore.FindDeployment(c, prev) : null;
        return async () =>
        {
            await RetireAsync(id, old);
            using var c2 = db.Open();
            using var writer = logs.Open(id);
            StaticSiteDeploy.Prune(c2, settings, project.Id, project.Slug, writer.Important);
        };
    }

    /// <summary>
    /// The start, health check and switch of a cluster project (Cluster/ClusterDeploy): the service rolls to the new
    /// image while the live route follows its tasks, then the route is set to the new tasks and the deployment is
    /// live. A refused switch rolls the service back, so the live deployment's row and what runs agree. The previous
    /// deployment has nothing left to retire when it was on the cluster too (its tasks were replaced); its
    /// containers, when it ran on this server, are drained and removed as usual.
    /// </summary>
    async Task<Func<Task>?> GoLiveOnClusterAsync(Microsoft.Data.Sqlite.SqliteConnection c, long id, ProjectRow project, string panel, string image, ProjectConfig config,
        List<Variables.Variable> vars, DeployLog.Writer log, Action<string> step, CancellationToken cancel)
    {
        var plan = await AppContainer.PlanAsync(c, engine, settings, project, image, config, vars, log.Important, cancel);
        step(DeployStates.HealthChecking);
        var started = await cluster.StartAsync(c, id, project, panel, image, plan, config, log.Important, cancel);
        step(DeployStates.Switching);
        var upstreams = Cluster.ClusterRoutes.Join(started.Tasks);
        long? previous = null;
        try
        {
            await SwitchWaitingForCaddyAsync(id, log, CancellationToken.None, () => sites.ApplyProjectAsync(project.Id, log.Important, CancellationToken.None,
                switchToUpstreams: (project.Id, upstreams.Split(' ')),
                applied: () =>
                {
                    log.Important($"==> live: {string.Join(", ", ProjectStore.ListDomains(c, project.Id))} → service {started.ServiceName} on {upstreams}");
                    DeployStore.UpdateCluster(c, id, started.ServiceName, started.Image, upstreams);
                    previous = DeployStore.MarkLiveRetiringPrevious(c, id, project.Id);
                }));
        }
        catch
        {
            await cluster.UndoAsync(await engine.ClientAsync(CancellationToken.None), project.Id, started.ServiceName, started.Created, started.Since, log.Important);
            throw;
        }
        if (previous is not { } prev || DeployStore.FindDeployment(c, prev) is not { } old) return null;
        if (old.ServiceName is not null)
        {
            log.Important($"retired deployment {old.Id}: its tasks were replaced by the rolling update (image {old.ClusterImage} kept for rollback)");
            return null;
        }
        return () => RetireAsync(id, old);
    }

    /// <summary>
    /// PushOrder's verdict. Should git fail to compare (a damaged mirror), the push deploys as it did before this
    /// check existed, rather than a broken comparison stopping every push.
    /// </summary>
    async Task<string?> SkipReasonAsync(Microsoft.Data.Sqlite.SqliteConnection c, long projectId, long id, string pushed, PushOrder.Fetched fetched,
        DeployLog.Writer log, CancellationToken cancel)
    {
        try
        {
            var why = await PushOrder.SkipReasonAsync(c, git, projectId, id, pushed, fetched, cancel);
            if (why is not null) log.Important($"==> skipped: {why}");
            return why;
        }
        catch (GitException e)
        {
            log.Line($"could not compare {pushed[..7]} with the live and queued commits ({e.Message}); deploying it");
            return null;
        }
    }

    GitAuth AuthFor(ProjectRow p, DeployKey.KeyFile? keyFile) => p.GitAuth switch
    {
        "token" when p.GitTokenProtected is { } t => new GitAuth(Token: protection.CreateProtector(ProjectStore.TokenPurpose).Unprotect(t)),
        "ssh" when keyFile is not null => new GitAuth(SshKeyFile: keyFile.Path),
        "ssh" => throw new DeployFailure("the project uses an SSH deploy key but none has been generated; generate one on the project page"),
        _ => GitAuth.None,
    };

    async Task BuildAsync(ProjectConfig config, long id, string image, Dictionary<string, string> labels, List<Variables.Variable> vars, DeployLog.Writer log,
        CancellationToken cancel, Action built)
    {
        var (context, dockerfile) = ResolveBuildPaths(BuildDir(id), config);
        log.Important($"building {image} (memory limit {settings.BuildMemoryBytes / (1024 * 1024)} MiB, timeout {settings.BuildTimeout.TotalMinutes:0} min)");
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        timeout.CancelAfter(settings.BuildTimeout);
        try
        {
            await ImageBuild.RunAsync(settings, engine, new BuildRequest(context, BuildDir(id), settings.DataDir, dockerfile, image, labels,
                Variables.DeployVariables.BuildArgs(vars), ImageBuild.Secrets(vars), config.Target, settings.BuildMemoryBytes), log, timeout.Token);
            built();
        }
        catch (OperationCanceledException) when (!cancel.IsCancellationRequested)
        {
            // Closing the request is what stops the engine's build; the image tag may exist from a finished step.
            built();
            throw new DeployFailure($"the build took longer than {settings.BuildTimeout.TotalMinutes:0} minutes (setting Deploy:BuildTimeoutMinutes) and was stopped");
        }
        catch (OperationCanceledException)
        {
            built();
            throw;
        }
    }

    /// <summary>
    /// The real build context directory and the Dockerfile's path inside it. The settings are checked as text when
    /// saved, but the repository is the member's: a committed symbolic link on the way (`ctx -> ../..`, `ctx -> /`,
    /// `docker -> /etc` with Dockerfile `docker/passwd`) would make the context or the Dockerfile a directory or file of
    /// the host. So both are resolved with every link followed and must still be inside the checkout (an in-repository
    /// link works as it does with docker build). The messages name the project's setting, never what a link points at
    /// or anything read there.
    /// </summary>
    public static (string Context, string Dockerfile) ResolveBuildPaths(string checkout, ProjectConfig config)
    {
        var root = BuildContext.RealPath(checkout) ?? throw new DeployFailure("the checkout of this commit is missing");
        // A monorepo's base directory: the context and the Dockerfile are relative to it; the checks below stay against the whole checkout.
        var baseDir = BaseDirectory.Resolve(root, config.BaseDir);
        var contextPath = config.ContextDir == "." ? baseDir : Path.Combine(baseDir, config.ContextDir);
        var context = BuildContext.RealPath(contextPath);
        if (context is not null && !BuildContext.IsInside(context, root))
            throw new DeployFailure($"the build context directory \"{config.ContextDir}\" leads outside the repository (through a symbolic link); it must be a directory of the repository");
        if (context is null || !Directory.Exists(context))
            throw new DeployFailure($"the build context directory \"{config.ContextDir}\" does not exist in this commit");
        var file = BuildContext.RealPath(Path.Combine(baseDir, config.DockerfilePath));
        if (file is not null && !BuildContext.IsInside(file, root))
            throw new DeployFailure($"the Dockerfile \"{config.DockerfilePath}\" leads outside the repository (through a symbolic link); it must be a file of the repository");
        if (file is null || !File.Exists(file))
            throw new DeployFailure($"there is no Dockerfile at \"{config.DockerfilePath}\" in this commit");
        if (!BuildContext.IsInside(file, context) || file == context)
            throw new DeployFailure("the Dockerfile must be inside the build context directory");
        // The engine is told the resolved name, so a Dockerfile reached through an in-repository link is the file docker build would read.
        return (context, Path.GetRelativePath(context, file));
    }

    static Dictionary<string, string> Labels(string panel, string slug, long id) => AppContainer.Labels(panel, slug, id);

    async Task<int> StartContainerAsync(Microsoft.Data.Sqlite.SqliteConnection c, long id, Dictionary<string, string> labels, string image, string name,
        AppContainer.Plan plan, ProjectLimits limits, DeployLog.Writer log, CancellationToken cancel)
    {
        var (memory, nanoCpus, pids) = limits.Effective(settings);
        log.Important($"limits: memory {memory / (1024 * 1024)} MiB, {ProjectLimits.CpusOf(nanoCpus)} CPUs, {pids} processes; log {settings.LogMaxFiles} × {settings.LogMaxSizeMb} MiB");
        var docker = await engine.ClientAsync(cancel);
        // A container of this name can only be left from an interrupted earlier attempt of this very deployment.
        await docker.RemoveContainerIfExistsAsync(name, cancel);
        var network = await ProjectNetwork.EnsureAsync(docker, labels[PanelIdentity.Label], labels["vpspanel.project"], cancel);
        for (var attempt = 1; ; attempt++)
        {
            var port = PickFreePort(c, settings);
            DeployStore.UpdateContainer(c, id, name, port);
            log.Important($"starting container {name} from {image} on 127.0.0.1:{port} → {plan.ContainerPort}");
            await docker.Containers.CreateContainerAsync(AppContainer.Spec(settings, name, image, labels, plan, port, limits, network).Parameters(), cancel);
            try
            {
                await docker.Containers.StartContainerAsync(name, null, cancel);
                return port;
            }
            catch (DockerApiException e) when (attempt < 5 && (e.Message.Contains("already allocated") || e.Message.Contains("address already in use")))
            {
                // Another program took the port between our check and Docker's bind: try the next one.
                log.Line($"port {port} was taken meanwhile, trying another");
                await docker.RemoveContainerIfExistsAsync(name, cancel);
            }
        }
    }

    /// <summary>A port from Deploy:PortRange that no deployment of ours holds and that nothing on this machine listens on now.</summary>
    internal static int PickFreePort(Microsoft.Data.Sqlite.SqliteConnection c, PanelSettings settings)
    {
        var used = DeployStore.ListHostPortsInUse(c);
        var span = settings.PortTo - settings.PortFrom + 1;
        var start = Random.Shared.Next(span);
        for (var i = 0; i < span; i++)
        {
            var port = settings.PortFrom + (start + i) % span;
            if (used.Contains(port)) continue;
            try
            {
                using var probe = new TcpListener(System.Net.IPAddress.Loopback, port);
                probe.Start();
                probe.Stop();
                return port;
            }
            catch (SocketException) { }
        }
        throw new DeployFailure($"no free port left in Deploy:PortRange {settings.PortFrom}-{settings.PortTo}");
    }

    /// <summary>
    /// The switch, retried while Caddy's admin API is unreachable: a built, healthy deployment is not thrown away
    /// because Caddy was restarting. Attempts back off (1, 2, 4 … 10 s) for at most Deploy:CaddyRetrySeconds; the
    /// deployment shows "waiting for Caddy" meanwhile and the live container keeps serving (nothing has changed yet:
    /// a failed apply writes nothing or puts every file back). A refusal from a reachable Caddy fails at once, as
    /// before. Cancel stops the waiting: the route has not moved, so the usual cleanup is right.
    /// </summary>
    async Task SwitchWaitingForCaddyAsync(long id, DeployLog.Writer log, CancellationToken cancel, Func<Task> apply)
    {
        var deadline = DateTime.UtcNow + settings.CaddyRetry;
        var wait = TimeSpan.FromSeconds(1);
        try
        {
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    await apply();
                    if (attempt > 1) log.Important($"caddy: reachable again, switched on attempt {attempt}");
                    return;
                }
                catch (CaddyException e)
                {
                    if (!await CaddyUnreachableAsync()) throw;
                    if (DateTime.UtcNow + wait > deadline)
                        throw new DeployFailure($"Caddy stayed unreachable for {settings.CaddyRetry.TotalSeconds:0} s (setting Deploy:CaddyRetrySeconds), so the switch was given up; " +
                            $"the live deployment was not touched. Last error: {e.Message}");
                    state.SetNote(id, $"waiting for Caddy (unreachable; retrying until {deadline:HH:mm:ss} UTC)");
                    if (attempt == 1) log.Important($"==> waiting for Caddy: {e.Message}; retrying with back-off until {deadline:HH:mm:ss} UTC (Deploy:CaddyRetrySeconds)");
                    else log.Line($"caddy still unreachable (attempt {attempt}); next try in {wait.TotalSeconds:0} s");
                }
                await Task.Delay(wait, cancel);
                wait = TimeSpan.FromTicks(Math.Min(wait.Ticks * 2, TimeSpan.FromSeconds(10).Ticks));
            }
        }
        finally
        {
            state.SetNote(id, null);
        }
    }

    /// <summary>True when Caddy's admin API does not answer at all (as opposed to answering with a refusal).</summary>
    async Task<bool> CaddyUnreachableAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(3));
        try { await caddy.PingAsync(timeout.Token); return false; }
        catch (CaddyException) { return true; }
        catch (OperationCanceledException) { return true; }
    }

    /// <summary>Removes what a failed or cancelled deployment created; never the live containers (different names).</summary>
    async Task CleanUpAsync(string? container, string? image, DeployLog.Writer log)
    {
        try
        {
            var docker = await engine.ClientAsync(CancellationToken.None);
            if (container is not null)
            {
                // Its replicas too, should it have failed after they started (a refused switch).
                using (var c = db.Open())
                    foreach (var extra in ReplicaSet.ExtraNamesOf(c, container)) await docker.RemoveContainerIfExistsAsync(extra, CancellationToken.None);
                await docker.RemoveContainerIfExistsAsync(container, CancellationToken.None);
                log.Important($"removed container {container}");
            }
            if (image is not null)
            {
                await docker.RemoveImageIfUnusedAsync(image, CancellationToken.None);
                log.Important($"removed image {image}");
            }
        }
        catch (Exception e) when (DockerEngine.IsDockerError(e))
        {
            log.Important($"cleanup: {DockerErrors.Readable(e)}");
        }
    }

    /// <summary>After the switch: let in-flight requests to the old containers finish, then stop and remove them. The image stays for rollback.</summary>
    async Task RetireAsync(long id, DeploymentRow? old)
    {
        if (old?.ServiceName is { } service)
        {
            // The project moved back to this server: its container is live, the service goes after the drain.
            using var w = logs.Open(id);
            if (settings.Drain > TimeSpan.Zero) await Task.Delay(settings.Drain);
            try
            {
                await Cluster.ClusterDeploy.RemoveServiceAsync(await engine.ClientAsync(CancellationToken.None), service, CancellationToken.None);
                w.Important($"retired deployment {old.Id}: service {service} removed (the project runs on this server now)");
            }
            catch (Exception e) when (DockerEngine.IsDockerError(e)) { w.Important($"removing service {service} failed: {DockerErrors.Readable(e)}"); }
            return;
        }
        if (old?.ContainerName is null) return;
        List<ReplicaContainer> all;
        using (var c = db.Open()) all = ReplicaSet.ContainersOf(c, old);
        var name = string.Join(", ", all.Select(x => x.Name));
        using var writer = logs.Open(id);
        Action<string> log = writer.Important;
        if (settings.Drain > TimeSpan.Zero)
        {
            log($"draining {name} for {settings.Drain.TotalSeconds:0} s");
            await Task.Delay(settings.Drain);
        }
        try
        {
            // The drain was the grace period; an app that ignores SIGTERM (PID 1 often does) gets a short extra wait.
            await replicas.StopAndRemoveAsync(all);
            log($"retired deployment {old.Id}: container{(all.Count > 1 ? "s" : "")} {name} stopped and removed (image {old.Image} kept for rollback)");
        }
        catch (Exception e) when (DockerEngine.IsDockerError(e))
        {
            logger.LogWarning("retiring {Name} after deployment {Id}: {Message}", name, id, e.Message);
            log($"retiring {name} failed: {DockerErrors.Readable(e)}");
        }
    }

    /// <summary>
    /// The failure as the operator should read it: a Docker engine that went away mid-call, and a full disk (which
    /// one, and how much is left), are said in so many words instead of the HTTP stack's or git's own wording.
    /// </summary>
    string Explain(Exception e, string step, long id)
    {
        // Only the switch talks to something other than Docker over HTTP (Caddy); every other step's broken
        // connection is the engine's.
        if (step != DeployStates.Switching && DockerErrors.LostConnection(e, engine.SocketPath, $"the {DeployStates.Label(step)} step") is { } lost)
            return lost;
        // Git does not always say ENOSPC in words, so a disk with (almost) nothing left when the step failed counts too.
        var disk = step == DeployStates.Cloning ? BuildDir(id) : settings.DataDir;
        if (Shared.DiskSpace.IsFull(e) || Shared.DiskSpace.FreeBytes(disk) < 1024 * 1024)
            return $"{DockerErrors.Readable(e).TrimEnd('.', ' ', '\n')} ({Shared.DiskSpace.Describe(disk)})";
        return DockerErrors.Readable(e);
    }

    void DeleteBuildDir(long id)
    {
        try { if (Directory.Exists(BuildDir(id))) Directory.Delete(BuildDir(id), recursive: true); }
        catch (IOException e) { logger.LogWarning("could not delete build dir {Dir}: {Message}", BuildDir(id), e.Message); }
    }
}
