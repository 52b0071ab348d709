using Docker.DotNet;
using Docker.DotNet.Models;

namespace VpsPanel.Features.Docker;

/// <summary>
/// Issue 12, finding 8: an unlabelled build container was left when dockerd died mid-build.
/// What we found (dockerd 20.10, API 1.41): the classic builder runs each RUN step in an intermediate container and
/// removes it after the step (rm=1, forcerm=1), also when the build is cancelled (the panel killed: the request
/// closes). Only when dockerd itself dies mid-step is it left behind, and it carries none of the build's `labels`
/// (those become a LABEL step at the end of the build; the container has the labels of its base image only).
/// BuildKit runs steps without containers and labels the image, but ignores the build's memory limit (a 200 MB
/// allocation in RUN passed under memory=32 MiB, which the classic builder stops with 137). Issue 14 made BuildKit the
/// default anyway, capping its step cgroups itself (BuildMemoryCap); this mark now serves Build:Builder=classic.
/// What an intermediate container does get is the build's host configuration, so each build adds one extra
/// /etc/hosts entry naming this panel (<see cref="MarkHost"/>): a name nothing resolves, and a mark the start-up
/// recovery reads back to find exactly this panel's leftovers (another panel on the engine has another id).
/// </summary>
public static class BuildContainers
{
    /// <summary>The extra-hosts entry ("name:ip") every build of this panel carries.</summary>
    public static string MarkHost(string panel) => $"vpspanel-build-{panel}:127.0.0.1";

    /// <summary>
    /// Removes the stopped containers that carry this panel's build mark; returns their ids. Called before the queue
    /// starts, so no build of this panel is running; a running container is never listed.
    /// </summary>
    public static async Task<List<string>> RemoveLeftoversAsync(DockerClient docker, string panel, CancellationToken ct)
    {
        var removed = new List<string>();
        var stopped = await docker.Containers.ListContainersAsync(new ContainersListParameters
        {
            All = true,
            Filters = new Dictionary<string, IDictionary<string, bool>> { ["status"] = new Dictionary<string, bool> { ["created"] = true, ["exited"] = true, ["dead"] = true } },
        }, ct);
        foreach (var id in stopped.Select(c => c.ID))
        {
            // The list does not carry the host configuration; a container removed meanwhile is simply not ours to remove.
            var hosts = (await docker.InspectContainerOrNullAsync(id, ct))?.HostConfig?.ExtraHosts ?? [];
            if (!hosts.Contains(MarkHost(panel))) continue;
            await docker.RemoveContainerIfExistsAsync(id, ct);
            removed.Add(id);
        }
        return removed;
    }
}
