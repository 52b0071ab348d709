using Docker.DotNet.Models;
using Microsoft.Data.Sqlite;
using VpsPanel.Features.Docker;
using VpsPanel.Features.Projects;
using VpsPanel.Features.Settings;

namespace VpsPanel.Features.Deployments;

/// <summary>
/// How an app container is made from a deployment: shared by a deploy (DeployRun, a rollback included) and by
/// self-healing, which recreates a live container that was removed (Running/SelfHealing). One place, so a recreated
/// container is the one the deploy started: same labels, port, environment, volumes, network and limits.
/// </summary>
public static class AppContainer
{
    /// <summary>What the container runs with besides its name, image and host port.</summary>
    public sealed record Plan(int ContainerPort, List<string> Env, List<Mount> Mounts, ImageFacts Facts);

    public static Dictionary<string, string> Labels(string panel, string slug, long id) => new()
    {
        ["vpspanel.project"] = slug,
        ["vpspanel.deployment"] = id.ToString(),
        [PanelIdentity.Label] = panel,
    };

    /// <summary>
    /// The container port (the project's, else the image's EXPOSE), the environment (the deployment's variables and
    /// PORT) and the project's volumes (made when missing). Port and health check left empty on the project are read
    /// from the image (DeployDetect.cs, HealthCheck.cs).
    /// </summary>
    public static async Task<Plan> PlanAsync(SqliteConnection c, DockerEngine engine, PanelSettings settings, ProjectRow project, string image,
        ProjectConfig config, List<Variables.Variable> vars, Action<string> log, CancellationToken ct)
    {
        var facts = await ImageFacts.ReadAsync(await engine.ClientAsync(ct), image, ct);
        var containerPort = facts.ContainerPort(config.ContainerPort, fallbackPort: null, log);
        // The project's volumes (Volumes/ProjectVolumes): made when missing, kept across deploys and rollbacks.
        var mounts = await Volumes.ProjectVolumes.PrepareMountsAsync(c, engine, settings, project, log, ct);
        var env = DeployDetect.WithPort(Variables.DeployVariables.Environment(vars), containerPort, log);
        return new Plan(containerPort, env, mounts, facts);
    }

    public static Docker.ContainerSpec Spec(PanelSettings settings, string name, string image, IReadOnlyDictionary<string, string> labels, Plan plan,
        int hostPort, ProjectLimits limits, string network)
    {
        var (memory, nanoCpus, pids) = limits.Effective(settings);
        return new Docker.ContainerSpec(name, image, labels, plan.ContainerPort, hostPort, Env: plan.Env, MemoryBytes: memory, NanoCpus: nanoCpus, PidsLimit: pids,
            RestartPolicy: settings.AppRestartPolicy, LogMaxSizeMb: settings.LogMaxSizeMb, LogMaxFiles: settings.LogMaxFiles, Mounts: plan.Mounts, Network: network);
    }

    /// <summary>
    /// The containers that serve a live deployment: replica 1 (deployments.container_name) first, then replicas 2..N
    /// (ReplicaSet). Start, stop and restart go over this list.
    /// </summary>
    public static IReadOnlyList<string> LiveContainerNames(SqliteConnection c, DeploymentRow d) => ReplicaSet.ContainersOf(c, d).Select(x => x.Name).ToList();
}
