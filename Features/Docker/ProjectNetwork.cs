using Docker.DotNet;
using Docker.DotNet.Models;

namespace VpsPanel.Features.Docker;

/// <summary>
/// Each project's own user-defined bridge network, vpspanel-&lt;panel&gt;-&lt;slug&gt;: its app containers are created on
/// it, and the database services linked to the project join it under their own name (a network alias), so the app
/// reaches its database by name and no other project's container can (Docker isolates user-defined bridges from each
/// other and from the default bridge). Ports stay published on 127.0.0.1 only; the network changes nothing there.
/// </summary>
public static class ProjectNetwork
{
    public const string ProjectLabel = "vpspanel.project";

    public static string NameOf(string panelId, string slug) => $"vpspanel-{panelId}-{slug}";

    /// <summary>Creates the network when it is missing; returns its name. Safe to call from two deploys at once.</summary>
    public static async Task<string> EnsureAsync(DockerClient docker, string panelId, string slug, CancellationToken ct) =>
        await EnsureNamedAsync(docker, NameOf(panelId, slug), new Dictionary<string, string> { [PanelIdentity.Label] = panelId, [ProjectLabel] = slug }, ct);

    public static async Task<string> EnsureNamedAsync(DockerClient docker, string name, IDictionary<string, string> labels, CancellationToken ct)
    {
        if (await ExistsAsync(docker, name, ct)) return name;
        try
        {
            await docker.Networks.CreateNetworkAsync(new NetworksCreateParameters
            {
                Name = name, Driver = "bridge", Labels = labels,
            }, ct);
        }
        // Another deploy or link made it between the look and the create: that one is as good.
        catch (DockerApiException e) when (e.StatusCode == System.Net.HttpStatusCode.Conflict)
        {
            if (!await ExistsAsync(docker, name, ct)) throw;
        }
        // The engine's default address pools hold about 30 networks (15 /16s of 172.17-31 and 16 /20s of 192.168).
        // Docker's own remedy is a larger pool in daemon.json; the engine's message alone does not say so. (Choosing
        // subnets ourselves was tried: reusing a just-released subnet left new apps unreachable on their port.)
        catch (DockerApiException e) when (e.Message.Contains("non-overlapping IPv4 address pool", StringComparison.Ordinal))
        {
            // Still a refusal of the engine (deploys and service pages show those as such), in words that say what to do.
            throw new DockerApiException(e.StatusCode, System.Text.Json.JsonSerializer.Serialize(new { message =
                $"no free address pool is left for the network {name}: every project and service needs one, and Docker's default pools hold about 30. " +
                "Remove networks no longer used (docker network prune), or give Docker more in /etc/docker/daemon.json, e.g. " +
                "\"default-address-pools\": [{\"base\": \"10.213.0.0/16\", \"size\": 24}] (256 networks), then restart dockerd." }));
        }
        return name;
    }

    public static async Task<bool> ExistsAsync(DockerClient docker, string name, CancellationToken ct)
    {
        // Networks are looked up by exact name: the engine's name filter matches substrings (vpspanel-x-a matches vpspanel-x-ab).
        var found = await docker.Networks.ListNetworksAsync(new NetworksListParameters
        {
            Filters = new Dictionary<string, IDictionary<string, bool>> { ["name"] = new Dictionary<string, bool> { [name] = true } },
        }, ct);
        return found.Any(n => n.Name == name);
    }

    /// <summary>Joins a container to a network under an alias (its host name there); already joined is fine.</summary>
    public static async Task ConnectAsync(DockerClient docker, string network, string container, string alias, CancellationToken ct)
    {
        try
        {
            await docker.Networks.ConnectNetworkAsync(network, new NetworkConnectParameters
            {
                Container = container,
                EndpointConfig = new EndpointSettings { Aliases = [alias] },
            }, ct);
        }
        catch (DockerApiException e) when (e.StatusCode == System.Net.HttpStatusCode.Forbidden && e.Message.Contains("already exists", StringComparison.Ordinal)) { }
    }

    /// <summary>Leaves a network; a container or network that is gone, or not joined, is fine.</summary>
    public static async Task DisconnectAsync(DockerClient docker, string network, string container, CancellationToken ct)
    {
        try { await docker.Networks.DisconnectNetworkAsync(network, new NetworkDisconnectParameters { Container = container, Force = true }, ct); }
        catch (DockerApiException e) when (e.StatusCode is System.Net.HttpStatusCode.NotFound or System.Net.HttpStatusCode.Forbidden or System.Net.HttpStatusCode.InternalServerError) { }
    }

    /// <summary>
    /// Removes a project's network (its project is being deleted): containers still on it (linked services) leave it
    /// first, since the engine refuses to remove a network in use.
    /// </summary>
    public static async Task RemoveAsync(DockerClient docker, string panelId, string slug, CancellationToken ct)
    {
        var name = NameOf(panelId, slug);
        NetworkResponse net;
        try { net = await docker.Networks.InspectNetworkAsync(name, ct); }
        catch (DockerNetworkNotFoundException) { return; }
        catch (DockerApiException e) when (e.StatusCode == System.Net.HttpStatusCode.NotFound) { return; }
        if (net.Name != name) return;
        foreach (var id in net.Containers?.Keys ?? []) await DisconnectAsync(docker, name, id, ct);
        try { await docker.Networks.DeleteNetworkAsync(name, ct); }
        catch (DockerApiException e) when (e.StatusCode == System.Net.HttpStatusCode.NotFound) { }
    }
}
