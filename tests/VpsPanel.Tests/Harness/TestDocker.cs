using Docker.DotNet;
using Docker.DotNet.Models;
using VpsPanel.Features.Docker;

namespace VpsPanel.Tests.Harness;

/// <summary>
/// The real Docker engine. Nothing can be pulled here, so test images are built FROM scratch with the static
/// busybox from Debian's busybox-static package. Everything made carries the label vpspanel.test.
/// </summary>
public static class TestDocker
{
    public const string TestLabel = "vpspanel.test";
    public const string Socket = "/var/run/docker.sock";
    public const string BusyboxPath = "/bin/busybox";

    /// <summary>The panel's way in: the engine at the test socket, API version negotiated.</summary>
    public static DockerEngine Engine() => new(Socket);

    /// <summary>
    /// The engine's API version, asked with the docker CLI (not through the panel's code), and the version the panel
    /// must then speak: the engine's, unless the library knows only older ones (the docker CLI's rule).
    /// </summary>
    public static async Task<(System.Version Engine, System.Version InUse)> ApiVersionsAsync()
    {
        var cli = await TestDebian.RunAsync("docker", ["version", "--format", "{{.Server.APIVersion}}"]);
        if (cli.ExitCode != 0) throw new InvalidOperationException("docker version failed: " + cli.Stderr);
        var engine = System.Version.Parse(cli.Stdout.Trim());
        return (engine, engine < DockerEngine.LibraryApiVersion ? engine : DockerEngine.LibraryApiVersion);
    }

    /// <summary>The library's client at the negotiated API version (a test's own engine; disposing the client is enough).</summary>
    public static DockerClient Client() => Engine().ClientAsync(CancellationToken.None).GetAwaiter().GetResult();

    /// <summary>All containers (running or not) that carry every one of the labels (key, or key=value).</summary>
    public static async Task<IList<ContainerListResponse>> ContainersAsync(DockerClient docker, params string[] labels) =>
        await docker.Containers.ListContainersAsync(new ContainersListParameters { All = true, Filters = DockerAbsentOk.LabelFilter(labels) });

    /// <summary>Names (repo:tag, or the id when untagged) of images that carry every one of the labels.</summary>
    public static async Task<List<string>> ImagesAsync(DockerClient docker, params string[] labels) =>
        (await docker.Images.ListImagesAsync(new ImagesListParameters { Filters = DockerAbsentOk.LabelFilter(labels) })).Names().ToList();

    public static IReadOnlyDictionary<string, string> Labels(string? testName = null) =>
        new Dictionary<string, string> { [TestLabel] = testName ?? "1" };

    /// <summary>
    /// Writes a build context for a tiny web app into <paramref name="dir"/>: busybox httpd on <paramref name="port"/>
    /// serving <paramref name="indexHtml"/> at /. Extra Dockerfile lines go before CMD.
    /// </summary>
    public static void WriteBusyboxApp(string dir, string indexHtml, int port = 8080, string extraDockerfile = "")
    {
        Directory.CreateDirectory(Path.Combine(dir, "www"));
        File.Copy(BusyboxPath, Path.Combine(dir, "busybox"), overwrite: true);
        File.WriteAllText(Path.Combine(dir, "www", "index.html"), indexHtml);
        File.WriteAllText(Path.Combine(dir, "Dockerfile"),
            $"""
            FROM scratch
            COPY busybox /bin/busybox
            COPY www /www
            {extraDockerfile}
            EXPOSE {port}
            CMD ["/bin/busybox", "httpd", "-f", "-v", "-p", "{port}", "-h", "/www"]

            """);
    }

    /// <summary>Removes every container and image that tests labelled.</summary>
    public static async Task RemoveLabelledAsync(DockerClient docker, string? value = null)
    {
        var label = value is null ? TestLabel : $"{TestLabel}={value}";
        foreach (var c in await ContainersAsync(docker, label))
            await docker.RemoveContainerIfExistsAsync(c.ID, CancellationToken.None);
        foreach (var i in await ImagesAsync(docker, label))
            await docker.RemoveImageIfUnusedAsync(i, CancellationToken.None);
    }

    /// <summary>Removes the volumes (project volumes, service data) that carry every one of the labels, with their data.</summary>
    public static async Task RemoveVolumesAsync(DockerClient docker, params string[] labels)
    {
        foreach (var v in (await docker.Volumes.ListAsync(new VolumesListParameters { Filters = DockerAbsentOk.LabelFilter(labels) })).Volumes ?? [])
            await docker.Volumes.RemoveAsync(v.Name, true);
    }

    /// <summary>Removes the networks (project and service networks) that carry every one of the labels; one still in use stays.</summary>
    public static async Task RemoveNetworksAsync(DockerClient docker, params string[] labels)
    {
        foreach (var n in await docker.Networks.ListNetworksAsync(new NetworksListParameters { Filters = DockerAbsentOk.LabelFilter(labels) }))
        {
            try { await docker.Networks.DeleteNetworkAsync(n.ID); }
            catch (DockerApiException) { }
        }
    }

    /// <summary>Polls until a GET answers 2xx or the timeout passes; returns the body.</summary>
    public static async Task<string> WaitForHttpAsync(string url, TimeSpan timeout)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(3) };
        var deadline = DateTime.UtcNow + timeout;
        Exception? last = null;
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                using var res = await http.GetAsync(url);
                if (res.IsSuccessStatusCode) return await res.Content.ReadAsStringAsync();
                last = new HttpRequestException($"{(int)res.StatusCode}");
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException) { last = e; }
            await Task.Delay(200);
        }
        throw new TimeoutException($"{url} did not answer 2xx within {timeout}: {last?.Message}");
    }

    /// <summary>Runs Debian's docker CLI (the newer one in /usr/local/bin wants a buildx plugin that is missing) and
    /// returns its stdout; a non-zero exit fails the test with the CLI's stderr.</summary>
    public static async Task<string> CliAsync(params string[] args)
    {
        var psi = new System.Diagnostics.ProcessStartInfo("/usr/bin/docker") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = System.Diagnostics.Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        Xunit.Assert.True(p.ExitCode == 0, $"docker {string.Join(' ', args)}: {await stderr}");
        return await stdout;
    }

    /// <summary>Polls a condition every 250 ms until it holds; past the timeout it throws, naming what was awaited.</summary>
    public static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string what = "the condition")
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"waited {timeout} for {what}");
            await Task.Delay(250);
        }
    }
}
