using Docker.DotNet.Models;
using VpsPanel.Features.Data;
using VpsPanel.Features.Docker;

namespace VpsPanel.Features.Services;

/// <summary>
/// Start, stop and restart. The wish is kept (desired_state), so a stopped service stays stopped when its container
/// is recreated (a version change) and a started one comes back with the engine (restart policy unless-stopped).
/// </summary>
public static class ServicePower
{
    public static readonly string[] Actions = ["start", "stop", "restart"];

    /// <summary>Null when done, else what went wrong (in the engine's words).</summary>
    public static async Task<string?> RunAsync(Db db, DockerEngine engine, ServiceRow s, string action, CancellationToken ct)
    {
        await ServiceLock.Gate.WaitAsync(ct);
        try
        {
            using var c = db.Open();
            var name = ServiceContainer.ContainerName(PanelIdentity.Of(c), s.Name);
            try
            {
                var docker = await engine.ClientAsync(ct);
                if (await docker.InspectContainerOrNullAsync(name, ct) is null)
                    return $"the container of {s.Name} is missing; change its version (or delete and create it) to make it again";
                switch (action)
                {
                    case "start": await docker.Containers.StartContainerAsync(name, null, ct); break;
                    // The engines flush and close cleanly within this; Docker's default 10 s can cut a busy database short.
                    case "stop": await docker.Containers.StopContainerAsync(name, new ContainerStopParameters { WaitBeforeKillSeconds = 30 }, ct); break;
                    default: await docker.Containers.RestartContainerAsync(name, new ContainerRestartParameters { WaitBeforeKillSeconds = 30 }, ct); break;
                }
            }
            catch (Exception e) when (DockerEngine.IsDockerError(e))
            {
                ServiceStore.UpdateServiceStatus(c, s.Id, "failed", DockerErrors.Readable(e));
                return DockerErrors.Readable(e);
            }
            ServiceStore.UpdateServiceDesiredState(c, s.Id, action == "stop" ? "stopped" : "running");
            ServiceStore.UpdateServiceStatus(c, s.Id, action == "stop" ? "stopped" : "running");
            return null;
        }
        finally { ServiceLock.Gate.Release(); }
    }
}
