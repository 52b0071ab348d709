using System.Formats.Tar;
using System.IO.Compression;
using System.Net;
using System.Text.Json.Nodes;
using Docker.DotNet.Models;
using VpsPanel.Features.Docker;
using VpsPanel.Tests.Api;
using VpsPanel.Tests.Deployments;
using VpsPanel.Tests.Harness;

namespace VpsPanel.Tests.Volumes;

/// <summary>Shared steps of the volume tests: run a command in an app container, read a .tar.gz, find the panel's volumes.</summary>
public static class VolumeTestKit
{
    /// <summary>`docker exec` of busybox in the container (the test images are FROM scratch with /bin/busybox only).</summary>
    public static async Task<string> ExecAsync(string container, string script)
    {
        var r = await TestDebian.RunAsync("docker", ["exec", container, "/bin/busybox", "sh", "-c", script]);
        Assert.True(r.ExitCode == 0, $"docker exec {container} {script}: {r.Stderr}");
        return r.Stdout;
    }

    /// <summary>The container of one deployment (docker ps, by its labels).</summary>
    public static async Task<ContainerListResponse> ContainerOfAsync(DeployEnv env, long deployment)
    {
        using var docker = TestDocker.Client();
        var list = await TestDocker.ContainersAsync(docker, env.PanelLabel, $"vpspanel.deployment={deployment}");
        return Assert.Single(list);
    }

    public static async Task<string> ContainerNameOfAsync(DeployEnv env, long deployment) =>
        (await ContainerOfAsync(env, deployment)).Names.First().TrimStart('/');

    /// <summary>Every entry of a .tar.gz: name, type, mode and content (files), sorted by name.</summary>
    public static List<(string Name, TarEntryType Type, string Content)> Entries(byte[] targz)
    {
        using var gzip = new GZipStream(new MemoryStream(targz), CompressionMode.Decompress);
        using var reader = new TarReader(gzip);
        var list = new List<(string, TarEntryType, string)>();
        while (reader.GetNextEntry(copyData: true) is { } e)
        {
            var content = e.DataStream is { } s ? new StreamReader(s).ReadToEnd() : e.LinkName;
            list.Add((e.Name, e.EntryType, content));
        }
        return list.OrderBy(x => x.Item1, StringComparer.Ordinal).ToList();
    }

    /// <summary>A .tar.gz made by hand (for refusals): each entry a file with that name and content.</summary>
    public static byte[] TarGz(params (string Name, string Content)[] files)
    {
        var ms = new MemoryStream();
        using (var gzip = new GZipStream(ms, CompressionLevel.Fastest, leaveOpen: true))
        using (var writer = new TarWriter(gzip, TarEntryFormat.Pax))
            foreach (var (name, content) in files)
                writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(content)) });
        return ms.ToArray();
    }

    public static byte[] Gzip(string text)
    {
        var ms = new MemoryStream();
        using (var gzip = new GZipStream(ms, CompressionLevel.Fastest, leaveOpen: true)) gzip.Write(System.Text.Encoding.UTF8.GetBytes(text));
        return ms.ToArray();
    }

    public static async Task<(HttpStatusCode Status, byte[] Body)> DownloadAsync(TestApi api, string slug, string volume)
    {
        using var res = await api.Http.GetAsync($"/api/projects/{slug}/volumes/{volume}/archive");
        return (res.StatusCode, await res.Content.ReadAsByteArrayAsync());
    }

    public static async Task<(HttpStatusCode Status, JsonNode? Body)> RestoreAsync(TestApi api, string slug, string volume, byte[] archive)
    {
        var content = new ByteArrayContent(archive);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/gzip");
        using var res = await api.Http.PostAsync($"/api/projects/{slug}/volumes/{volume}/restore", content);
        var text = await res.Content.ReadAsStringAsync();
        return (res.StatusCode, text.Length > 0 ? JsonNode.Parse(text) : null);
    }

    /// <summary>The Docker volumes this panel made (label vpspanel.panel).</summary>
    public static async Task<List<string>> PanelVolumesAsync(DeployEnv env)
    {
        using var docker = TestDocker.Client();
        var res = await docker.Volumes.ListAsync(new VolumesListParameters { Filters = DockerAbsentOk.LabelFilter(env.PanelLabel) });
        return (res.Volumes ?? []).Select(v => v.Name).Order(StringComparer.Ordinal).ToList();
    }

    /// <summary>
    /// Runs the test on a fresh deploy world and removes, after it and its containers are gone, every volume its panel
    /// made (they carry the panel's own id, unique to the test).
    /// </summary>
    public static async Task WithEnvAsync(Func<DeployEnv, Task> test, IDictionary<string, string>? settings = null)
    {
        var env = await DeployEnv.StartAsync(settings);
        var label = env.PanelLabel;
        try { await test(env); }
        finally
        {
            await env.DisposeAsync();
            using var docker = TestDocker.Client();
            var res = await docker.Volumes.ListAsync(new VolumesListParameters { Filters = DockerAbsentOk.LabelFilter(label) });
            foreach (var v in res.Volumes ?? [])
            {
                try { await docker.Volumes.RemoveAsync(v.Name, true); } catch (global::Docker.DotNet.DockerApiException) { }
            }
        }
    }

    public static string VolumeList(params (string Name, string Mount)[] list) =>
        new JsonArray(list.Select(v => (JsonNode)new JsonObject { ["name"] = v.Name, ["mountPath"] = v.Mount }).ToArray()).ToJsonString();
}
