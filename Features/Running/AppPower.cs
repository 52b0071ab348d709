using Docker.DotNet.Models;
using VpsPanel.Features.Data;
using VpsPanel.Features.Deployments;
using VpsPanel.Features.Docker;
using VpsPanel.Features.Projects;
using VpsPanel.Features.Settings;

namespace VpsPanel.Features.Running;

/// <summary>
/// Start, stop and restart (no rebuild) of a project's live app, from the page, the API and the CLI. A stop is kept
/// in the database before the container stops, so the reconciler, woken by the container's die event, already sees
/// it and leaves the app stopped; start and restart clear it (and a crash loop: the user is trying again).
/// </summary>
public sealed class AppPower(Db db, DockerEngine engine, PanelSettings settings, LiveState liveState, LiveReconciler reconciler, SelfHealing healing)
{
    public static readonly string[] Actions = ["start", "stop", "restart"];

    /// <summary>One action at a time, also against self-healing's own starts (<see cref="SelfHealing"/>).</summary>
    public static readonly SemaphoreSlim Gate = new(1, 1);

    /// <summary>What went wrong: 409 for a project with nothing to act on, 502 for the engine's refusal.</summary>
    public sealed record Problem(int Status, string Message);

    public async Task<Problem?> RunAsync(ProjectRow project, string action, string actor, CancellationToken ct)
    {
        if (!Actions.Contains(action)) return new Problem(404, $"unknown action \"{action}\": use start, stop or restart");
        await Gate.WaitAsync(ct);
        try
        {
            using var c = db.Open();
            var live = DeployStore.FindLiveDeployment(c, project.Id);
            if (live is null)
                return new Problem(409, DeployStore.ListDeploymentsOfProject(c, project.Id).Count == 0
                    ? $"{project.Slug} has never been deployed, so there is no app to {action}; deploy it first"
                    : $"{project.Slug} has no live deployment, so there is no app to {action}; deploy it first");
            if (live.IsStatic)
                return new Problem(409, $"the live deployment #{live.Id} of {project.Slug} is a static site that Caddy serves itself: there is no container to {action}");
            if (live.ServiceName is { } service)
                return new Problem(409, $"the live deployment #{live.Id} of {project.Slug} is the Swarm service {service} on the cluster: Swarm keeps its tasks running; redeploy or scale it instead of {action}");
            var names = AppContainer.LiveContainerNames(c, live);
            try
            {
                var docker = await engine.ClientAsync(ct);
                foreach (var name in names)
                    if (await docker.InspectContainerOrNullAsync(name, ct) is null)
                        return new Problem(409, $"the container {name} of the live deployment #{live.Id} is missing; self-healing recreates it within " +
                            $"{settings.ReconcileInterval.TotalSeconds:0} s (Deploy:ReconcileSeconds), or redeploy");
                if (action == "stop") RunStore.MarkStoppedByUser(c, project.Id, live.Id, actor);
                else RunStore.ClearStopAndCrashLoop(c, project.Id);
                healing.BeginUserAction(live.Id);
                try
                {
                    foreach (var name in names)
                        switch (action)
                        {
                            case "start": await docker.Containers.StartContainerAsync(name, null, ct); break;
                            case "stop": await docker.Containers.StopContainerAsync(name, new ContainerStopParameters { WaitBeforeKillSeconds = 10 }, ct); break;
                            default: await docker.Containers.RestartContainerAsync(name, new ContainerRestartParameters { WaitBeforeKillSeconds = 10 }, ct); break;
                        }
                }
                finally { healing.EndUserAction(live.Id); }
            }
            catch (Exception e) when (DockerEngine.IsDockerError(e))
            {
                // A stop that did not happen must not keep self-healing away from the app.
                if (action == "stop") RunStore.ClearStopAndCrashLoop(c, project.Id);
                return new Problem(502, $"could not {action} {project.Slug}: {DockerErrors.Readable(e)}");
            }
            // Stopped on purpose is not "down"; a started one is up. The reconciler checks again at once either way.
            liveState.SetUp(live.Id);
            var past = action switch { "stop" => "stopped", "start" => "started", _ => "restarted" };
            RunStore.RecordEvent(c, project.Id, past, $"{past} by {actor} (deployment #{live.Id}, no rebuild)", actor, settings.EventsKept);
            reconciler.Wake();
            return null;
        }
        finally { Gate.Release(); }
    }
}
