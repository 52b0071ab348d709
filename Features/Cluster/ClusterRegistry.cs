using System.Net;
using Docker.DotNet;
using Docker.DotNet.Models;
using VpsPanel.Features.Deployments;
using VpsPanel.Features.Settings;

namespace VpsPanel.Features.Cluster;

/// <summary>
/// How every node gets the bytes the manager built: the image is pushed to the cluster's registry (Cluster:Registry,
/// Debian's docker-registry on the manager, with an htpasswd user) and the service names it by digest, so a node
/// that pulls later, or again after a crash, runs exactly what was health-checked. A one-server cluster needs no
/// registry: its only node already has the image.
/// </summary>
public static class ClusterRegistry
{
    /// <summary>HOST:PORT with a port, where HOST is a name or an IPv4 address (what docker accepts before a repository path).</summary>
    public static bool IsHostPort(string v)
    {
        var colon = v.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(v[(colon + 1)..], System.Globalization.NumberStyles.None, null, out var port) || port is < 1 or > 65535) return false;
        var host = v[..colon];
        return IPAddress.TryParse(host, out _) && !host.Contains(':') || Uri.CheckHostName(host) == UriHostNameType.Dns;
    }

    /// <summary>The credentials docker sends the registry, on push and (forwarded by the manager) on every node's pull.</summary>
    public static AuthConfig Auth(PanelSettings s) =>
        s.ClusterRegistry == "" ? new AuthConfig() : new AuthConfig { ServerAddress = s.ClusterRegistry, Username = s.ClusterRegistryUser, Password = s.ClusterRegistryPassword };

    /// <summary>
    /// The reference the service runs: <c>REGISTRY/vpspanel/PANEL-SLUG@sha256:…</c> after a push, or the local name
    /// when the cluster has one node and no registry is set. More nodes without a registry is refused before the
    /// service changes: the others could not pull the image.
    /// </summary>
    public static async Task<string> PublishAsync(PanelSettings settings, DockerClient docker, string image, string repository, long id, int nodes,
        Action<string> log, CancellationToken ct)
    {
        if (settings.ClusterRegistry == "")
        {
            if (nodes <= 1)
            {
                log($"cluster of one server and no registry (Cluster:Registry): the service runs the local image {image}");
                return image;
            }
            throw new DeployFailure($"the cluster has {nodes} servers but no registry is set (Cluster:Registry): the other servers could not pull {image}. " +
                "Run a registry on the manager (Debian's docker-registry) and set Cluster:Registry, Cluster:RegistryUser and Cluster:RegistryPassword.");
        }
        var name = $"{settings.ClusterRegistry}/{repository}";
        var tag = id.ToString(System.Globalization.CultureInfo.InvariantCulture);
        await docker.Images.TagImageAsync(image, new ImageTagParameters { RepositoryName = name, Tag = tag }, ct);
        log($"pushing {name}:{tag} to the cluster's registry");
        var progress = new PushErrors();
        try
        {
            await docker.Images.PushImageAsync($"{name}:{tag}", new ImagePushParameters { Tag = tag }, Auth(settings), progress, ct);
        }
        catch (DockerApiException e)
        {
            throw new DeployFailure($"the registry {settings.ClusterRegistry} refused the push of {name}:{tag}: {Docker.DockerErrors.Readable(e)}");
        }
        if (progress.Error is { } error) throw new DeployFailure($"pushing {name}:{tag} to {settings.ClusterRegistry} failed: {error}");
        var inspected = await docker.Images.InspectImageAsync($"{name}:{tag}", ct);
        var digest = inspected.RepoDigests?.FirstOrDefault(d => d.StartsWith(name + "@", StringComparison.Ordinal))
                     ?? throw new DeployFailure($"the registry {settings.ClusterRegistry} took {name}:{tag} but the engine reports no digest for it");
        log($"pushed: {digest}");
        return digest;
    }

    /// <summary>
    /// The push's last error message. Reported on the caller's thread as each message is read (Progress&lt;T&gt; would
    /// post it to the thread pool, so the last one could land after the push returned).
    /// </summary>
    sealed class PushErrors : IProgress<JSONMessage>
    {
        public string? Error { get; private set; }
        public void Report(JSONMessage m) { if (m.Error is { Message: { Length: > 0 } e }) Error = e; }
    }
}
