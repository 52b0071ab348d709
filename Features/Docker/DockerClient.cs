using System.IO.Pipelines;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace VpsPanel.Features.Docker;

/// <summary>The engine answered with an error; the message is Docker's own, prefixed with what we asked.</summary>
public sealed class DockerException(string message, int status = 0) : Exception(message)
{
    public int Status { get; } = status;
}

public sealed record DockerVersion(string Version, string ApiVersion, string Os, string Arch);

public sealed record ContainerSummary(string Id, string Name, string Image, string State, string Status, IReadOnlyDictionary<string, string> Labels);

public sealed record ContainerState(string Id, string Name, bool Running, string Status, int ExitCode, IReadOnlyDictionary<string, string> Labels);

/// <summary>
/// What a container is to be created from. Ports are published on 127.0.0.1 only. Every container gets
/// no-new-privileges and a bounded json-file log (Docker's default log grows until the disk is full); limits of 0
/// mean none.
/// </summary>
public sealed record ContainerSpec(
    string Name, string Image, IReadOnlyDictionary<string, string> Labels,
    int? ContainerPort = null, int? HostPort = null,
    IReadOnlyList<string>? Env = null, IReadOnlyList<string>? Cmd = null,
    string RestartPolicy = "unless-stopped", long MemoryBytes = 0, bool Tty = false,
    long NanoCpus = 0, long PidsLimit = 0, int LogMaxSizeMb = 10, int LogMaxFiles = 3);

/// <summary>The last lines of a container's output; <see cref="Truncated"/> when the byte cap cut it short.</summary>
public sealed record ContainerLogs(IReadOnlyList<LogLine> Lines, bool Truncated);

/// <summary>
/// A small typed client for the Docker Engine API over its unix socket: only the calls the panel makes.
/// The API version is negotiated once from /_ping (the engine's own, capped at what we were written for).
/// </summary>
public sealed class DockerClient : IDisposable
{
    // The newest API version this client was written against; older engines are spoken to in their own version.
    const string MaxApiVersion = "1.45";
    const string MinApiVersion = "1.41";

    readonly HttpClient _http;
    public string SocketPath { get; }
    string? _version;

    DockerClient(string socketPath)
    {
        SocketPath = socketPath;
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, ct) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), ct);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
        };
        // Builds stream for as long as they run; callers bound each call with their own token instead.
        _http = new HttpClient(handler) { BaseAddress = new Uri("http://docker/"), Timeout = Timeout.InfiniteTimeSpan };
    }

    public static DockerClient ForSocket(string socketPath) => new(socketPath);

    public void Dispose() => _http.Dispose();

    async Task<string> ApiAsync(CancellationToken ct)
    {
        if (_version is not null) return _version;
        using var res = await SendRaw(HttpMethod.Get, "_ping", null, ct);
        var engine = res.Headers.TryGetValues("API-Version", out var v) ? v.First() : MinApiVersion;
        _version = "v" + (CompareVersions(engine, MaxApiVersion) < 0 ? engine : MaxApiVersion);
        return _version;
    }

    static int CompareVersions(string a, string b) => Version.Parse(a).CompareTo(Version.Parse(b));

    async Task<HttpResponseMessage> SendRaw(HttpMethod method, string path, HttpContent? body, CancellationToken ct,
        HttpCompletionOption completion = HttpCompletionOption.ResponseContentRead)
    {
        using var req = new HttpRequestMessage(method, path) { Content = body };
        try
        {
            return await _http.SendAsync(req, completion, ct);
        }
        catch (HttpRequestException e)
        {
            throw new DockerException($"the Docker engine is not reachable at {SocketPath}: {e.InnerException?.Message ?? e.Message}");
        }
    }

    async Task<HttpResponseMessage> Send(HttpMethod method, string path, HttpContent? body, CancellationToken ct,
        HttpCompletionOption completion = HttpCompletionOption.ResponseContentRead, params int[] okStatuses)
    {
        var api = await ApiAsync(ct);
        var res = await SendRaw(method, $"{api}/{path}", body, ct, completion);
        if (res.IsSuccessStatusCode || okStatuses.Contains((int)res.StatusCode)) return res;
        var text = await res.Content.ReadAsStringAsync(ct);
        res.Dispose();
        string message;
        try { message = JsonNode.Parse(text)?["message"]?.GetValue<string>() ?? text; }
        catch (JsonException) { message = text; }
        throw new DockerException($"Docker {method} /{path.Split('?')[0]} failed ({(int)res.StatusCode}): {message.Trim()}", (int)res.StatusCode);
    }

    public async Task<bool> PingAsync(CancellationToken ct)
    {
        using var res = await SendRaw(HttpMethod.Get, "_ping", null, ct);
        return res.IsSuccessStatusCode;
    }

    public async Task<DockerVersion> VersionAsync(CancellationToken ct)
    {
        using var res = await Send(HttpMethod.Get, "version", null, ct);
        var j = JsonNode.Parse(await res.Content.ReadAsStringAsync(ct))!;
        return new DockerVersion((string?)j["Version"] ?? "?", (string?)j["ApiVersion"] ?? "?", (string?)j["Os"] ?? "?", (string?)j["Arch"] ?? "?");
    }

    /// <summary>
    /// Builds an image from a directory. The tar context is streamed through a pipe as it is written, never held
    /// in memory; it is packed by <see cref="BuildContext"/> (links stay links, nothing outside <paramref name="checkout"/>,
    /// default the context itself, and nothing of <paramref name="dataDir"/> is read).
    /// Each progress line is handed to <paramref name="onLog"/>; an "error" line fails the build.
    /// </summary>
    public async Task BuildAsync(string contextDir, string dockerfile, string tag, IReadOnlyDictionary<string, string> labels,
        IReadOnlyDictionary<string, string>? buildArgs, long memoryBytes, Action<string> onLog, CancellationToken ct,
        string? checkout = null, string? dataDir = null, IReadOnlyList<string>? extraHosts = null)
    {
        checkout ??= contextDir;
        BuildContext.Check(contextDir, checkout, dataDir);
        var query = new StringBuilder("build?rm=1&forcerm=1");
        query.Append("&t=").Append(Uri.EscapeDataString(tag));
        query.Append("&dockerfile=").Append(Uri.EscapeDataString(dockerfile));
        query.Append("&labels=").Append(Uri.EscapeDataString(JsonSerializer.Serialize(labels, DockerJson.Default.IReadOnlyDictionaryStringString)));
        if (buildArgs is { Count: > 0 })
            query.Append("&buildargs=").Append(Uri.EscapeDataString(JsonSerializer.Serialize(buildArgs, DockerJson.Default.IReadOnlyDictionaryStringString)));
        // The classic builder gives its intermediate (RUN) containers none of the labels; these it does give them (BuildContainers).
        foreach (var h in extraHosts ?? []) query.Append("&extrahosts=").Append(Uri.EscapeDataString(h));
        if (memoryBytes > 0)
            // memswap equal to memory: no swap on top, so a runaway build is stopped instead of thrashing the host.
            query.Append("&memory=").Append(memoryBytes).Append("&memswap=").Append(memoryBytes);

        var pipe = new Pipe();
        var writer = Task.Run(async () =>
        {
            try
            {
                await using var w = pipe.Writer.AsStream();
                await BuildContext.WriteTarAsync(contextDir, checkout, dataDir, w, ct);
                await pipe.Writer.CompleteAsync();
            }
            catch (Exception e)
            {
                await pipe.Writer.CompleteAsync(e);
            }
        }, ct);
        var content = new StreamContent(pipe.Reader.AsStream());
        content.Headers.ContentType = new MediaTypeHeaderValue("application/x-tar");

        using var res = await Send(HttpMethod.Post, query.ToString(), content, ct, HttpCompletionOption.ResponseHeadersRead);
        await using var body = await res.Content.ReadAsStreamAsync(ct);
        using var reader = new StreamReader(body);
        string? error = null;
        var output = new BuildOutputLines(onLog);
        while (await reader.ReadLineAsync(ct) is { } line)
        {
            if (line.Length == 0) continue;
            JsonNode? j;
            try { j = JsonNode.Parse(line); }
            catch (JsonException) { output.Flush(); onLog(line); continue; }
            if (j?["stream"]?.GetValue<string>() is { } s)
            {
                output.Add(s);
                continue;
            }
            output.Flush();
            if (j?["status"]?.GetValue<string>() is { } st) onLog(st);
            if (j?["error"]?.GetValue<string>() is { } err)
            {
                error = err.Trim();
                onLog("ERROR: " + error);
            }
        }
        output.Flush();
        await writer;
        if (error is not null) throw new DockerException($"docker build failed: {error}");
    }

    public async Task<string> CreateContainerAsync(ContainerSpec spec, CancellationToken ct)
    {
        var hostConfig = new JsonObject
        {
            ["RestartPolicy"] = new JsonObject { ["Name"] = spec.RestartPolicy },
            // setuid binaries in the image cannot gain privileges the process did not start with.
            ["SecurityOpt"] = new JsonArray("no-new-privileges"),
            ["LogConfig"] = new JsonObject
            {
                ["Type"] = "json-file",
                ["Config"] = new JsonObject { ["max-size"] = $"{spec.LogMaxSizeMb}m", ["max-file"] = spec.LogMaxFiles.ToString(System.Globalization.CultureInfo.InvariantCulture) },
            },
        };
        if (spec.MemoryBytes > 0)
        {
            // Swap equal to memory: no swap on top, so a leaking app is stopped by the OOM killer instead of thrashing the host.
            hostConfig["Memory"] = spec.MemoryBytes;
            hostConfig["MemorySwap"] = spec.MemoryBytes;
        }
        if (spec.NanoCpus > 0) hostConfig["NanoCpus"] = spec.NanoCpus;
        if (spec.PidsLimit > 0) hostConfig["PidsLimit"] = spec.PidsLimit;
        var body = new JsonObject
        {
            ["Image"] = spec.Image,
            ["Labels"] = ToJson(spec.Labels),
            ["HostConfig"] = hostConfig,
        };
        if (spec.Env is not null) body["Env"] = new JsonArray(spec.Env.Select(e => (JsonNode)e!).ToArray());
        if (spec.Tty) body["Tty"] = true;
        if (spec.Cmd is not null) body["Cmd"] = new JsonArray(spec.Cmd.Select(e => (JsonNode)e!).ToArray());
        if (spec.ContainerPort is { } cp)
        {
            body["ExposedPorts"] = new JsonObject { [$"{cp}/tcp"] = new JsonObject() };
            hostConfig["PortBindings"] = new JsonObject
            {
                [$"{cp}/tcp"] = new JsonArray(new JsonObject { ["HostIp"] = "127.0.0.1", ["HostPort"] = spec.HostPort?.ToString() ?? "" }),
            };
        }
        using var res = await Send(HttpMethod.Post, $"containers/create?name={Uri.EscapeDataString(spec.Name)}",
            new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"), ct);
        var j = JsonNode.Parse(await res.Content.ReadAsStringAsync(ct))!;
        return (string)j["Id"]!;
    }

    public async Task StartContainerAsync(string id, CancellationToken ct)
    {
        using var _ = await Send(HttpMethod.Post, $"containers/{Uri.EscapeDataString(id)}/start", null, ct, okStatuses: 304);
    }

    public async Task StopContainerAsync(string id, int timeoutSeconds, CancellationToken ct)
    {
        using var _ = await Send(HttpMethod.Post, $"containers/{Uri.EscapeDataString(id)}/stop?t={timeoutSeconds}", null, ct, okStatuses: [304, 404]);
    }

    /// <summary>Ids of the containers that are not running (created, exited or dead), whatever their labels.</summary>
    public async Task<List<string>> ListStoppedContainerIdsAsync(CancellationToken ct)
    {
        var filters = JsonSerializer.Serialize(new Dictionary<string, string[]> { ["status"] = ["created", "exited", "dead"] }, DockerJson.Default.DictionaryStringStringArray);
        using var res = await Send(HttpMethod.Get, $"containers/json?all=1&filters={Uri.EscapeDataString(filters)}", null, ct);
        return JsonNode.Parse(await res.Content.ReadAsStringAsync(ct))!.AsArray().Select(c => (string)c!["Id"]!).ToList();
    }

    /// <summary>A container's extra /etc/hosts entries ("name:ip"); empty when it has none or is gone.</summary>
    public async Task<List<string>> ContainerExtraHostsAsync(string id, CancellationToken ct)
    {
        using var res = await Send(HttpMethod.Get, $"containers/{Uri.EscapeDataString(id)}/json", null, ct, okStatuses: 404);
        if ((int)res.StatusCode == 404) return [];
        var hosts = JsonNode.Parse(await res.Content.ReadAsStringAsync(ct))!["HostConfig"]?["ExtraHosts"] as JsonArray;
        return hosts?.Select(h => (string?)h ?? "").ToList() ?? [];
    }

    /// <summary>Force-removes a container; a container that is already gone is not an error.</summary>
    public async Task RemoveContainerAsync(string id, CancellationToken ct)
    {
        using var _ = await Send(HttpMethod.Delete, $"containers/{Uri.EscapeDataString(id)}?force=1&v=1", null, ct, okStatuses: 404);
    }

    /// <summary>Null when there is no such container.</summary>
    public async Task<ContainerState?> InspectContainerAsync(string id, CancellationToken ct)
    {
        using var res = await Send(HttpMethod.Get, $"containers/{Uri.EscapeDataString(id)}/json", null, ct, okStatuses: 404);
        if ((int)res.StatusCode == 404) return null;
        var j = JsonNode.Parse(await res.Content.ReadAsStringAsync(ct))!;
        var state = j["State"]!;
        return new ContainerState((string)j["Id"]!, ((string)j["Name"]!).TrimStart('/'), (bool)state["Running"]!,
            (string)state["Status"]!, (int)state["ExitCode"]!, FromJson(j["Config"]?["Labels"]));
    }

    /// <summary>
    /// The last <paramref name="tail"/> lines of the container's stdout and stderr, each prefixed with Docker's
    /// timestamp, in the order they were written; null when there is no such container. A tail of long lines can be
    /// large: only the newest whole lines within <paramref name="maxBytes"/> are kept, and the result says Truncated.
    /// </summary>
    public async Task<ContainerLogs?> ContainerLogsAsync(string id, int tail, long maxBytes, CancellationToken ct)
    {
        var path = $"containers/{Uri.EscapeDataString(id)}";
        bool tty;
        using (var inspect = await Send(HttpMethod.Get, $"{path}/json", null, ct, okStatuses: 404))
        {
            if ((int)inspect.StatusCode == 404) return null;
            tty = (bool?)JsonNode.Parse(await inspect.Content.ReadAsStringAsync(ct))?["Config"]?["Tty"] ?? false;
        }
        // Removed between the two calls (a retire racing the request) is the same answer as never there.
        using var res = await Send(HttpMethod.Get, $"{path}/logs?stdout=1&stderr=1&timestamps=1&tail={tail}", null, ct,
            HttpCompletionOption.ResponseHeadersRead, okStatuses: 404);
        if ((int)res.StatusCode == 404) return null;
        await using var body = await res.Content.ReadAsStreamAsync(ct);
        // The whole body is read (tail bounds it: at most 5000 lines, each cut at 16 KB by Docker), but only the newest
        // lines within maxBytes are kept.
        var demux = new LogDemultiplexer(multiplexed: !tty, maxBytes, timestamps: true);
        var buffer = new byte[64 * 1024];
        while (await body.ReadAsync(buffer, ct) is var n and > 0) demux.Feed(buffer.AsSpan(0, n));
        demux.Complete();
        return new ContainerLogs(demux.Lines, demux.Truncated);
    }

    /// <summary>All containers (running or not) that carry the label (key, or key=value).</summary>
    public Task<List<ContainerSummary>> ListContainersByLabelAsync(string label, CancellationToken ct) => ListContainersByLabelAsync([label], ct);

    /// <summary>All containers (running or not) that carry every one of the labels (key, or key=value).</summary>
    public async Task<List<ContainerSummary>> ListContainersByLabelAsync(string[] labels, CancellationToken ct)
    {
        var filters = JsonSerializer.Serialize(new Dictionary<string, string[]> { ["label"] = labels }, DockerJson.Default.DictionaryStringStringArray);
        using var res = await Send(HttpMethod.Get, $"containers/json?all=1&filters={Uri.EscapeDataString(filters)}", null, ct);
        var arr = JsonNode.Parse(await res.Content.ReadAsStringAsync(ct))!.AsArray();
        return arr.Select(c => new ContainerSummary((string)c!["Id"]!, ((string?)c["Names"]?[0] ?? "").TrimStart('/'),
            (string)c["Image"]!, (string)c["State"]!, (string)c["Status"]!, FromJson(c["Labels"]))).ToList();
    }

    /// <summary>
    /// Follows the engine's event stream for containers carrying every label, limited to the given actions (die,
    /// stop, start, ...): <paramref name="connected"/> runs once the engine accepted the request, <paramref name="onEvent"/>
    /// gets each action as it happens. Returns when the engine closes the stream; throws when it cannot be reached
    /// or goes away mid-stream (the caller reconnects).
    /// </summary>
    public async Task WatchContainerEventsAsync(string[] labels, string[] actions, Action connected, Action<string> onEvent, CancellationToken ct)
    {
        var filters = JsonSerializer.Serialize(new Dictionary<string, string[]> { ["type"] = ["container"], ["label"] = labels, ["event"] = actions },
            DockerJson.Default.DictionaryStringStringArray);
        using var res = await Send(HttpMethod.Get, $"events?filters={Uri.EscapeDataString(filters)}", null, ct, HttpCompletionOption.ResponseHeadersRead);
        connected();
        try
        {
            await using var body = await res.Content.ReadAsStreamAsync(ct);
            using var reader = new StreamReader(body);
            while (await reader.ReadLineAsync(ct) is { } line)
            {
                if (line.Length == 0) continue;
                string? action = null;
                try { action = JsonNode.Parse(line)?["Action"]?.GetValue<string>(); } catch (JsonException) { }
                onEvent(action ?? "?");
            }
        }
        catch (Exception e) when (e is IOException or HttpRequestException)
        {
            throw new DockerException($"the Docker engine at {SocketPath} closed its event stream: {e.Message}");
        }
    }

    public async Task<bool> ImageExistsAsync(string name, CancellationToken ct)
    {
        using var res = await Send(HttpMethod.Get, $"images/{Uri.EscapeDataString(name)}/json", null, ct, okStatuses: 404);
        return (int)res.StatusCode != 404;
    }

    public async Task RemoveImageAsync(string name, CancellationToken ct)
    {
        using var _ = await Send(HttpMethod.Delete, $"images/{Uri.EscapeDataString(name)}?force=1", null, ct, okStatuses: [404, 409]);
    }

    /// <summary>Names (repo:tag) of images carrying the label.</summary>
    public Task<List<string>> ListImagesByLabelAsync(string label, CancellationToken ct) => ListImagesByLabelAsync([label], ct);

    /// <summary>Names (repo:tag) of images carrying every one of the labels.</summary>
    public async Task<List<string>> ListImagesByLabelAsync(string[] labels, CancellationToken ct)
    {
        var filters = JsonSerializer.Serialize(new Dictionary<string, string[]> { ["label"] = labels }, DockerJson.Default.DictionaryStringStringArray);
        using var res = await Send(HttpMethod.Get, $"images/json?filters={Uri.EscapeDataString(filters)}", null, ct);
        var arr = JsonNode.Parse(await res.Content.ReadAsStringAsync(ct))!.AsArray();
        // An untagged image (e.g. a step of a cancelled build) reports "<none>:<none>", which no call accepts: use its id.
        return arr.SelectMany(i =>
        {
            var tags = i!["RepoTags"]?.AsArray().Select(t => (string)t!).Where(t => t != "<none>:<none>").ToList() ?? [];
            return tags.Count > 0 ? tags : [(string)i["Id"]!];
        }).ToList();
    }

    static JsonObject ToJson(IReadOnlyDictionary<string, string> d)
    {
        var o = new JsonObject();
        foreach (var (k, v) in d) o[k] = v;
        return o;
    }

    static Dictionary<string, string> FromJson(JsonNode? n) =>
        n is JsonObject o ? o.ToDictionary(p => p.Key, p => (string?)p.Value ?? "") : [];
}

[System.Text.Json.Serialization.JsonSerializable(typeof(IReadOnlyDictionary<string, string>))]
[System.Text.Json.Serialization.JsonSerializable(typeof(Dictionary<string, string[]>))]
internal partial class DockerJson : System.Text.Json.Serialization.JsonSerializerContext;
