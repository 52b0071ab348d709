using System.Text;
using Docker.DotNet;
using Docker.DotNet.Models;
using VpsPanel.Features.Docker;
using VpsPanel.Tests.Harness;
using ContainerSpec = VpsPanel.Features.Docker.ContainerSpec;
using Version = System.Version;

namespace VpsPanel.Tests.Docker;

/// <summary>Proves the harness and the panel's Docker library use (Docker.DotNet.Enhanced) against the real engine.</summary>
public sealed class DockerSmokeTests
{
    [Fact]
    public async Task Ping_build_run_fetch_and_remove_a_scratch_busybox_app()
    {
        using var docker = TestDocker.Client();
        await docker.System.PingAsync();
        var version = await docker.System.GetVersionAsync();
        Assert.False(string.IsNullOrEmpty(version.Version));

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
            // The build's labels reach the image.
            Assert.Equal("smoke", (await docker.Images.InspectImageAsync(tag)).Config.Labels[TestDocker.TestLabel]);

            var port = Paths.FreePort();
            var cid = (await docker.Containers.CreateContainerAsync(new ContainerSpec(name, tag, TestDocker.Labels("smoke"), 8080, port).Parameters())).ID;
            await docker.Containers.StartContainerAsync(cid, null);
            var state = (await docker.InspectContainerOrNullAsync(cid, CancellationToken.None))!;
            Assert.True(state.State.Running);
            Assert.Equal("smoke", state.Config.Labels[TestDocker.TestLabel]);
            Assert.Equal("127.0.0.1", state.HostConfig.PortBindings["8080/tcp"].Single().HostIP);

            var body = await TestDocker.WaitForHttpAsync($"http://127.0.0.1:{port}/", TimeSpan.FromSeconds(20));
            Assert.Equal($"hello from {id}", body);

            var listed = await TestDocker.ContainersAsync(docker, $"{TestDocker.TestLabel}=smoke");
            Assert.Contains(listed, c => c.ID == cid);

            await docker.RemoveContainerIfExistsAsync(cid, CancellationToken.None);
            Assert.Null(await docker.InspectContainerOrNullAsync(cid, CancellationToken.None));
            await docker.RemoveContainerIfExistsAsync(cid, CancellationToken.None); // gone already: no error
            await docker.RemoveImageIfUnusedAsync(tag, CancellationToken.None);
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
    public async Task A_refusal_reads_as_Dockers_own_message()
    {
        using var docker = TestDocker.Client();
        var name = $"vpspanel-test/absent-{Guid.NewGuid():N}:1";
        // A real refusal (404) from the engine: the library wraps Docker's JSON body in its own sentence.
        var e = await Assert.ThrowsAnyAsync<DockerApiException>(() => docker.Images.DeleteImageAsync(name, new ImageDeleteParameters()));
        Assert.Contains("response=", e.Message);
        var readable = DockerErrors.Readable(e);
        Assert.Equal($"Docker refused (404): No such image: {name}", readable);
        // Anything that is not a refusal keeps its own message.
        Assert.Equal("boom", DockerErrors.Readable(new IOException("boom")));
    }

    [Fact]
    public async Task An_unreachable_socket_is_a_clear_error_naming_the_path()
    {
        using var engine = new DockerEngine("/nonexistent/docker.sock");
        var e = await Assert.ThrowsAsync<DockerException>(() => engine.ClientAsync(CancellationToken.None));
        Assert.Contains("/nonexistent/docker.sock", e.Message);
        Assert.Null(engine.ApiVersion);
    }

    [Fact]
    public async Task The_API_version_is_negotiated_with_the_engine_not_pinned()
    {
        // The engine's own answer, by the docker CLI: the panel must speak min(engine, library), never a fixed version.
        var (engineApi, expected) = await TestDocker.ApiVersionsAsync();

        using var engine = TestDocker.Engine();
        Assert.Null(engine.ApiVersion);
        var docker = await engine.ClientAsync(CancellationToken.None);
        Assert.Equal(expected, engine.ApiVersion);
        Assert.Equal(engineApi, engine.EngineApiVersion);
        // Every call goes out at that version: the engine answers a versioned path only for a version it supports.
        Assert.Equal(expected, docker.Options.ApiVersion);
        Assert.Equal(engineApi.ToString(), (await docker.System.GetVersionAsync()).APIVersion);
    }

    [Fact]
    public async Task Exec_attach_is_a_two_way_hijacked_stream_for_a_web_terminal()
    {
        using var docker = TestDocker.Client();
        var id = Guid.NewGuid().ToString("N")[..8];
        var dir = Paths.NewTempDir();
        var tag = $"vpspanel-test/exec:{id}";
        try
        {
            TestDocker.WriteBusyboxApp(dir, "unused");
            await docker.BuildAsync(dir, "Dockerfile", tag, TestDocker.Labels("exec"), null, 0, _ => { }, CancellationToken.None);
            var cid = (await docker.Containers.CreateContainerAsync(new ContainerSpec($"vpspanel-test-exec-{id}", tag, TestDocker.Labels("exec"),
                Cmd: ["/bin/busybox", "sleep", "60"], RestartPolicy: "no").Parameters())).ID;
            await docker.Containers.StartContainerAsync(cid, null);

            // A shell reading what we type: stdin in, stdout out, over the one upgraded connection.
            var exec = await docker.Exec.CreateContainerExecAsync(cid, new ContainerExecCreateParameters
            {
                Cmd = ["/bin/busybox", "sh"], AttachStdin = true, AttachStdout = true, AttachStderr = true,
            });
            using var stream = await docker.Exec.StartContainerExecAsync(exec.ID, new ContainerExecStartParameters());
            var input = Encoding.UTF8.GetBytes("echo typed-$((6*7))\nexit\n");
            await stream.WriteAsync(input, 0, input.Length, CancellationToken.None);
            stream.CloseWrite();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            var (stdout, _) = await stream.ReadOutputToEndAsync(timeout.Token);
            Assert.Equal("typed-42\n", stdout);
        }
        finally
        {
            await TestDocker.RemoveLabelledAsync(docker, "exec");
            Paths.DeleteQuietly(dir);
        }
    }
}
