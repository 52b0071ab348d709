using System.Net;
using System.Net.Sockets;
using Docker.DotNet;
using Docker.DotNet.Models;
using Version = System.Version;

namespace VpsPanel.Features.Docker;

/// <summary>The engine could not be reached at all; the message names the socket.</summary>
public sealed class DockerException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// The Docker engine at Docker:Socket, spoken to through Docker.DotNet.Enhanced (README, dependencies). Call sites ask
/// for the library's client with <see cref="ClientAsync"/> and use it directly.
/// The API version is negotiated the way the docker CLI does it, never pinned: Docker Engine 29 refuses clients older
/// than API 1.44, while Debian's 20.10 speaks only up to 1.41. Docker.DotNet cannot negotiate by itself (it sends the
/// version it is built with, or none), so the first call asks the engine (GET /version, unversioned, which every
/// engine answers) and the client is built for the engine's version, capped at the newest the library was generated
/// for. An engine that is down is asked again on the next call, so a panel started before dockerd still finds it.
/// </summary>
public sealed partial class DockerEngine(string socketPath) : IDisposable
{
    /// <summary>The newest API the library's models were generated for (Docker.DotNet.Enhanced 4.3.3: Docker 29.4).</summary>
    public static readonly Version LibraryApiVersion = new(1, 54);

    readonly SemaphoreSlim _negotiating = new(1, 1);
    DockerClient? _client;

    public string SocketPath => socketPath;

    /// <summary>The API version in use; null until the engine has answered once.</summary>
    public Version? ApiVersion { get; private set; }

    /// <summary>The engine's own maximum API version, as it said at negotiation.</summary>
    public Version? EngineApiVersion { get; private set; }

    public async Task<DockerClient> ClientAsync(CancellationToken ct)
    {
        if (_client is { } ready) return ready;
        await _negotiating.WaitAsync(ct);
        try
        {
            if (_client is { } raced) return raced;
            VersionResponse engine;
            using (var probe = Build(null))
            {
                try { engine = await probe.System.GetVersionAsync(ct); }
                catch (Exception e) when (IsUnreachable(e))
                {
                    throw new DockerException($"the Docker engine is not reachable at {socketPath}: {e.Message}", e);
                }
            }
            var engineApi = Version.Parse(engine.APIVersion);
            var use = engineApi < LibraryApiVersion ? engineApi : LibraryApiVersion;
            if (engine.MinAPIVersion is { Length: > 0 } min && Version.Parse(min) > use)
                throw new DockerException($"the Docker engine at {socketPath} needs API {min} or newer; this panel's Docker library speaks up to {LibraryApiVersion}: upgrade the panel");
            EngineApiVersion = engineApi;
            ApiVersion = use;
            _client = Build(use);
            return _client;
        }
        finally
        {
            _negotiating.Release();
        }
    }

    /// <summary>Whether the engine answers a ping within <paramref name="within"/> (after a failed build: did the build fail, or the engine?).</summary>
    public async Task<bool> AnswersAsync(TimeSpan within)
    {
        using var timeout = new CancellationTokenSource(within);
        try
        {
            await (await ClientAsync(timeout.Token)).System.PingAsync(timeout.Token);
            return true;
        }
        catch (Exception e) when (IsDockerError(e) || e is OperationCanceledException) { return false; }
    }

    DockerClient Build(Version? apiVersion) =>
        new DockerClientBuilder()
            .WithEndpoint(new Uri("unix://" + socketPath))
            .WithApiVersion(apiVersion)
            // Plain calls only; streamed ones (build, logs, events, exec) are unbounded and callers bound them with their
            // own token (a build runs up to Deploy:BuildTimeoutMinutes).
            .WithTimeout(TimeSpan.FromSeconds(100))
            .Build();

    /// <summary>The socket is missing, refused or dropped: the engine is down, not an answer from it.</summary>
    public static bool IsUnreachable(Exception e) =>
        e is SocketException or HttpRequestException or IOException || e.InnerException is { } inner && IsUnreachable(inner);

    /// <summary>What the deploy pipeline and pages treat as "Docker said no or is not there".</summary>
    public static bool IsDockerError(Exception e) => e is DockerException or DockerApiException || IsUnreachable(e);

    public void Dispose()
    {
        _client?.Dispose();
        _raw?.Dispose();
        _negotiating.Dispose();
    }
}

/// <summary>
/// The few places where "already gone" is the wanted outcome (remove, stop, inspect of something a retire or a
/// cleanup may have removed first): Docker.DotNet throws on 404 and 409, the panel's callers want no exception.
/// </summary>
public static class DockerAbsentOk
{
    /// <summary>Force-removes a container with its anonymous volumes; a container that is already gone is not an error.</summary>
    public static async Task RemoveContainerIfExistsAsync(this DockerClient docker, string id, CancellationToken ct)
    {
        try { await docker.Containers.RemoveContainerAsync(id, new ContainerRemoveParameters { Force = true, RemoveVolumes = true }, ct); }
        catch (DockerContainerNotFoundException) { }
        // Docker answers 409 "removal already in progress" when two cleanups race; the other one removes it.
        catch (DockerApiException e) when (e.StatusCode == HttpStatusCode.Conflict && e.Message.Contains("already in progress")) { }
    }

    /// <summary>Null when there is no such container.</summary>
    public static async Task<ContainerInspectResponse?> InspectContainerOrNullAsync(this DockerClient docker, string id, CancellationToken ct)
    {
        try { return await docker.Containers.InspectContainerAsync(id, ct); }
        catch (DockerContainerNotFoundException) { return null; }
    }

    public static async Task<bool> ImageExistsAsync(this DockerClient docker, string name, CancellationToken ct)
    {
        try { await docker.Images.InspectImageAsync(name, ct); return true; }
        catch (DockerImageNotFoundException) { return false; }
    }

    /// <summary>Force-removes an image; gone already (404) or still used by a container (409) is left to the next prune.</summary>
    public static async Task RemoveImageIfUnusedAsync(this DockerClient docker, string name, CancellationToken ct)
    {
        try { await docker.Images.DeleteImageAsync(name, new ImageDeleteParameters { Force = true }, ct); }
        catch (DockerImageNotFoundException) { }
        catch (DockerApiException e) when (e.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Conflict) { }
    }

    /// <summary>The label filter of a list call: every one of <paramref name="labels"/> (key, or key=value).</summary>
    public static IDictionary<string, IDictionary<string, bool>> LabelFilter(params string[] labels) =>
        new Dictionary<string, IDictionary<string, bool>> { ["label"] = labels.ToDictionary(l => l, _ => true) };

    /// <summary>Names (repo:tag) of images; an untagged one (a step of a cancelled build) by its id, since no call accepts "&lt;none&gt;:&lt;none&gt;".</summary>
    public static IEnumerable<string> Names(this IEnumerable<ImagesListResponse> images) =>
        images.SelectMany(i =>
        {
            var tags = i.RepoTags?.Where(t => t != "<none>:<none>").ToList() ?? [];
            return tags.Count > 0 ? tags : [i.ID];
        });
}
