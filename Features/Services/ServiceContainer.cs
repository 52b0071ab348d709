using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Docker.DotNet;
using Docker.DotNet.Models;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Data.Sqlite;
using VpsPanel.Features.Docker;
using VpsPanel.Features.Settings;

namespace VpsPanel.Features.Services;

/// <summary>
/// A service's Docker side: its container vpspanel-&lt;panel&gt;-svc-&lt;name&gt; on its volume
/// vpspanel-&lt;panel&gt;-svc-&lt;name&gt;-data, on a network of its own (so it can publish a public port and is on no other
/// container's network) plus the networks of the projects linked to it, where its name is its host name.
/// </summary>
public static class ServiceContainer
{
    public const string ServiceLabel = "vpspanel.service";

    public static string ContainerName(string panelId, string name) => $"vpspanel-{panelId}-svc-{name}";
    public static string VolumeName(string panelId, string name) => $"vpspanel-{panelId}-svc-{name}-data";
    public static string OwnNetworkName(string panelId, string name) => $"vpspanel-{panelId}-svc-{name}";

    static Dictionary<string, string> Labels(string panelId, string name) => new() { [PanelIdentity.Label] = panelId, [ServiceLabel] = name };

    /// <summary>
    /// (Re)creates the container from the row (an old one of the name is removed; the volume stays) and starts it
    /// unless the service is meant to be stopped. The image must be on this server, or pullable.
    /// </summary>
    public static async Task CreateAsync(DockerClient docker, SqliteConnection c, IDataProtectionProvider protection, PanelSettings settings, ServiceRow s, CancellationToken ct)
    {
        var engine = ServiceEngines.Find(s.Engine)!;
        var panel = PanelIdentity.Of(c);
        var name = ContainerName(panel, s.Name);
        await EnsureImageAsync(docker, s.Image, ct);
        await docker.Volumes.CreateAsync(new VolumesCreateParameters { Name = VolumeName(panel, s.Name), Labels = Labels(panel, s.Name) }, ct);
        var own = await ProjectNetwork.EnsureNamedAsync(docker, OwnNetworkName(panel, s.Name), Labels(panel, s.Name), ct);
        var password = ServiceStore.Password(protection, s);
        var p = new Docker.ContainerSpec(name, s.Image, Labels(panel, s.Name), Env: ServiceEngines.Environment(engine, s.Name, password),
            Cmd: ServiceEngines.Command(engine, password), MemoryBytes: s.MemoryMb * 1024 * 1024,
            LogMaxSizeMb: settings.LogMaxSizeMb, LogMaxFiles: settings.LogMaxFiles, Network: own).Parameters();
        p.Healthcheck = ServiceEngines.HealthCheck(engine, s.Name);
        p.HostConfig.Mounts = [new Mount { Type = "volume", Source = VolumeName(panel, s.Name), Target = engine.DataPath }];
        var port = $"{engine.Port}/tcp";
        p.ExposedPorts = new Dictionary<string, EmptyStruct> { [port] = default };
        if (s.PublicPort is { } pub)
            // Public on purpose (the operator chose it and the page warns): every address, not only loopback.
            p.HostConfig.PortBindings = new Dictionary<string, IList<PortBinding>> { [port] = [new PortBinding { HostIP = "", HostPort = pub.ToString(CultureInfo.InvariantCulture) }] };
        await docker.RemoveContainerIfExistsAsync(name, ct);
        await docker.Containers.CreateContainerAsync(p, ct);
        foreach (var slug in ServiceStore.ListSlugsLinkedToService(c, s.Id))
            await ProjectNetwork.ConnectAsync(docker, await ProjectNetwork.EnsureAsync(docker, panel, slug, ct), name, s.Name, ct);
        if (s.DesiredState == "running") await docker.Containers.StartContainerAsync(name, null, ct);
    }

    /// <summary>
    /// The image, pulled when this server does not have it. A server without registry access names its own images in
    /// Services:Images:*, and the error says so.
    /// </summary>
    static async Task EnsureImageAsync(DockerClient docker, string image, CancellationToken ct)
    {
        if (await docker.ImageExistsAsync(image, ct)) return;
        var (repo, tag) = ServiceEngines.SplitImage(image);
        string? error = null;
        try
        {
            await docker.Images.CreateImageAsync(new ImagesCreateParameters { FromImage = repo, Tag = tag }, null,
                new Progress<JSONMessage>(m => { if (m.Error is { } e) error = e.Message; }), ct);
        }
        catch (DockerApiException e) { error = e.Message; }
        if (error is not null || !await docker.ImageExistsAsync(image, ct))
            throw new DockerException($"the image {image} is not on this server and could not be pulled ({error ?? "no image after the pull"}); " +
                "a server without registry access names its own image in the Services:Images settings");
    }

    /// <summary>What the engine says now: running (healthy|starting|unhealthy), stopped, restarting, or missing.</summary>
    public static async Task<string> LiveStatusAsync(DockerClient docker, string panelId, string name, CancellationToken ct)
    {
        if (await docker.InspectContainerOrNullAsync(ContainerName(panelId, name), ct) is not { } ctr) return "missing";
        var st = ctr.State;
        if (st.Running && st.Restarting) return "restarting";
        if (st.Running) return st.Health?.Status is { Length: > 0 } h && h != "none" ? $"running ({h})" : "running";
        return "stopped";
    }

    public static async Task JoinProjectAsync(DockerClient docker, string panelId, string serviceName, string slug, CancellationToken ct)
    {
        var network = await ProjectNetwork.EnsureAsync(docker, panelId, slug, ct);
        if (await docker.InspectContainerOrNullAsync(ContainerName(panelId, serviceName), ct) is null) return;
        await ProjectNetwork.ConnectAsync(docker, network, ContainerName(panelId, serviceName), serviceName, ct);
    }

    public static Task LeaveProjectAsync(DockerClient docker, string panelId, string serviceName, string slug, CancellationToken ct) =>
        ProjectNetwork.DisconnectAsync(docker, ProjectNetwork.NameOf(panelId, slug), ContainerName(panelId, serviceName), ct);

    /// <summary>Container, its own network and (when asked) its volume; each may already be gone.</summary>
    public static async Task RemoveAsync(DockerClient docker, string panelId, string name, bool volume, CancellationToken ct)
    {
        await docker.RemoveContainerIfExistsAsync(ContainerName(panelId, name), ct);
        try { await docker.Networks.DeleteNetworkAsync(OwnNetworkName(panelId, name), ct); }
        catch (DockerApiException e) when (e.StatusCode == HttpStatusCode.NotFound) { }
        if (volume)
            try { await docker.Volumes.RemoveAsync(VolumeName(panelId, name), force: false, ct); }
            catch (DockerApiException e) when (e.StatusCode == HttpStatusCode.NotFound) { }
    }

    /// <summary>Why a public port cannot be used, or null: privileged, inside the apps' range, another service's, or taken.</summary>
    public static string? PublicPortProblem(SqliteConnection c, PanelSettings settings, int port, string? self = null)
    {
        if (port < 1024 || port > 65535) return $"port {port} is not allowed: choose one from 1024 to 65535 (ports below 1024 are privileged)";
        if (port >= settings.PortFrom && port <= settings.PortTo)
            return $"port {port} is inside Deploy:PortRange ({settings.PortFrom}-{settings.PortTo}), which the panel hands to app containers; choose one outside it";
        if (ServiceStore.FindServiceNameWithPublicPort(c, port) is { } other && other != self) return $"port {port} is already the public port of the service {other}";
        try
        {
            // Docker binds every address for a public port: the same test here says whether another program has it.
            using var l = new TcpListener(IPAddress.Any, port);
            l.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, false);
            l.Start();
            l.Stop();
        }
        catch (SocketException) { return $"port {port} is in use on this server; choose another"; }
        return null;
    }
}
