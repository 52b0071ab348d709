using VpsPanel.Features.Docker;
using VpsPanel.Tests.Harness;

namespace VpsPanel.Tests.Docker;

/// <summary>Proves the harness and the panel's Docker client against the real engine.</summary>
public sealed class DockerSmokeTests
{
    [Fact]
    public async Task Ping_build_run_fetch_and_remove_a_scratch_busybox_app()
    {
        using var docker = TestDocker.Client();
        Assert.True(await docker.PingAsync(CancellationToken.None));
        var version = await docker.VersionAsync(CancellationToken.None);
        Assert.NotEqual("?", version.Version);

        var id = Guid.NewGuid().ToString("N")[..8];
        var dir = Paths.NewTempDir();
        var tag = $"vpspanel-test/smoke:{id}";
        var name = $"vpspanel-test-smoke-{id}";
        try
        {
            TestDocker.WriteBusyboxApp(dir, $"hello from {id}");
            var log = new List<string>();
            await docker.BuildAsync(dir, "Dockerfile", tag, TestDocker.Labels("smoke"), null, 512L << 20, log.Add, CancellationToken.None);
            Assert.True(await docker.ImageExistsAsync(tag, CancellationToken.None));
            Assert.Contains(log, l => l.Contains("COPY busybox"));

            var port = Paths.FreePort();
            var cid = await docker.CreateContainerAsync(new ContainerSpec(name, tag, TestDocker.Labels("smoke"), 8080, port), CancellationToken.None);
            await docker.StartContainerAsync(cid, CancellationToken.None);
            var state = await docker.InspectContainerAsync(cid, CancellationToken.None);
            Assert.True(state!.Running);
            Assert.Equal("smoke", state.Labels[TestDocker.TestLabel]);

            var body = await TestDocker.WaitForHttpAsync($"http://127.0.0.1:{port}/", TimeSpan.FromSeconds(20));
            Assert.Equal($"hello from {id}", body);

            var listed = await docker.ListContainersByLabelAsync($"{TestDocker.TestLabel}=smoke", CancellationToken.None);
            Assert.Contains(listed, c => c.Id == cid);

            await docker.RemoveContainerAsync(cid, CancellationToken.None);
            Assert.Null(await docker.InspectContainerAsync(cid, CancellationToken.None));
            await docker.RemoveImageAsync(tag, CancellationToken.None);
            Assert.False(await docker.ImageExistsAsync(tag, CancellationToken.None));
        }
        finally
        {
            await TestDocker.RemoveLabelledAsync(docker, "smoke");
            Paths.DeleteQuietly(dir);
        }
    }

    [Fact]
    public async Task A_broken_Dockerfile_fails_the_build_with_Dockers_message()
    {
        using var docker = TestDocker.Client();
        var dir = Paths.NewTempDir();
        try
        {
            File.WriteAllText(Path.Combine(dir, "Dockerfile"), "FROM scratch\nCOPY does-not-exist /x\n");
            var log = new List<string>();
            var e = await Assert.ThrowsAsync<DockerException>(() =>
                docker.BuildAsync(dir, "Dockerfile", "vpspanel-test/broken:1", TestDocker.Labels("smoke-broken"), null, 0, log.Add, CancellationToken.None));
            Assert.Contains("does-not-exist", e.Message);
            Assert.Contains(log, l => l.StartsWith("ERROR:"));
        }
        finally
        {
            await TestDocker.RemoveLabelledAsync(docker, "smoke-broken");
            Paths.DeleteQuietly(dir);
        }
    }

    [Fact]
    public async Task An_unreachable_socket_is_a_clear_error_naming_the_path()
    {
        using var docker = DockerClient.ForSocket("/nonexistent/docker.sock");
        var e = await Assert.ThrowsAsync<DockerException>(() => docker.VersionAsync(CancellationToken.None));
        Assert.Contains("/nonexistent/docker.sock", e.Message);
    }
}
