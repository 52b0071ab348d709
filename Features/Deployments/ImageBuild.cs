using VpsPanel.Features.Docker;
using VpsPanel.Features.Settings;
using VpsPanel.Features.Variables;

namespace VpsPanel.Features.Deployments;

/// <summary>
/// The build step of a deployment, by the builder Build:Builder names: BuildKit through the docker CLI (the default,
/// <see cref="BuildKitBuild"/>) or the engine's classic builder (<see cref="DockerBuild"/>, the fallback). Both get
/// the same context (our tar walk), labels, build arguments and memory cap; BuildKit also gets the project's build
/// target and the secret variables as build secrets.
/// </summary>
public static class ImageBuild
{
    /// <summary>Every secret variable, offered to `RUN --mount=type=secret,id=NAME` (BuildKit only; unused ones cost nothing).</summary>
    public static Dictionary<string, string> Secrets(IEnumerable<Variable> vars) =>
        vars.Where(v => v.Secret).ToDictionary(v => v.Key, v => v.Value, StringComparer.Ordinal);

    public static async Task RunAsync(PanelSettings settings, DockerEngine engine, BuildRequest r, DeployLog.Writer log, CancellationToken ct)
    {
        if (settings.Builder == "classic")
        {
            log.Important("builder: classic (Build:Builder=classic)");
            if (r.Target is not null) log.Important($"the build target \"{r.Target}\" is ignored: the classic builder builds the whole Dockerfile");
            var docker = await engine.ClientAsync(ct);
            await docker.BuildAsync(r.ContextDir, r.Dockerfile, r.Tag, r.Labels, r.BuildArgs, r.MemoryBytes, log.Line, ct,
                checkout: r.Checkout, dataDir: r.DataDir, extraHosts: [BuildContainers.MarkHost(r.Labels[PanelIdentity.Label])]);
            return;
        }
        var cap = BuildMemoryCap.Support(settings.CgroupParent);
        log.Important($"builder: BuildKit ({settings.DockerCli}){(r.Target is null ? "" : $", target stage {r.Target}")}" +
            (r.Secrets.Count > 0 ? $", build secrets: {string.Join(", ", r.Secrets.Keys)}" : ""));
        if (r.MemoryBytes > 0 && !cap.CanCap) log.Important("WARNING: " + cap.Describe);
        else if (r.MemoryBytes > 0) log.Important($"build memory cap: {r.MemoryBytes >> 20} MiB (Deploy:BuildMemoryMb), {(cap.Shared ? "shared by the builds running at the same time" : "each build step")}");
        await BuildKitBuild.BuildAsync(settings.DockerCli, engine, r, cap, log.Line, ct);
    }
}
