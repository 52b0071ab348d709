using System.Diagnostics;
using VpsPanel.Features.Builds;
using VpsPanel.Tests.Harness;
using Xunit.Abstractions;

namespace VpsPanel.Tests.Builds;

/// <summary>
/// The generated Dockerfiles as BuildKit gets them (cache mounts on), built by the engine here (20.10, BuildKit's
/// built-in frontend: no heredocs, no # syntax line) with `DOCKER_BUILDKIT=1 docker build` (Debian's CLI), then run.
/// The panel's own pipeline builds with the classic builder on this branch, where the mounts are left out (see
/// ProjectDockerfile.CacheMounts); this proves the text BuildKit will get builds and serves.
/// </summary>
public sealed class BuildKitCacheMountTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Generated_Dockerfiles_with_cache_mounts_build_on_BuildKit_and_serve()
    {
        await TestStacks.EnsureImageAsync();
        var images = BaseImages.Defaults.ToDictionary(i => i.Key, i => i.Value);
        foreach (var (k, v) in TestStacks.Settings) images[k["Build__BaseImages__".Length..]] = v;
        var label = "nodockerfile-" + Guid.NewGuid().ToString("N")[..8];
        var apps = new[] { ("node", NoDockerfileDeployTests.NodeApp, "node built production"), ("go", NoDockerfileDeployTests.GoApp, "go stdlib") };
        try
        {
            foreach (var (name, files, expected) in apps)
            {
                using var repo = new FixtureRepo(files);
                var d = repo.Detect();
                var dockerfile = GeneratedDockerfile.Render(d, images, BuildCommands.None, port: 8080);
                Assert.Contains("RUN --mount=type=cache,target=", dockerfile);
                File.WriteAllText(Path.Combine(repo.Dir, GeneratedDockerfile.FileName), dockerfile);
                var tag = $"vpspanel-test/{label}-{name}:1";
                var times = new List<double>();
                for (var round = 0; round < 2; round++)
                {
                    // The second round changes the code only: the install step is cached, the build step reuses its cache mount.
                    if (round == 1) File.AppendAllText(Path.Combine(repo.Dir, name == "go" ? "main.go" : "server.js"), "\n// changed\n");
                    var watch = Stopwatch.StartNew();
                    var build = await BuildKitAsync(repo.Dir, tag, label);
                    times.Add(watch.Elapsed.TotalSeconds);
                    Assert.True(build.ExitCode == 0, $"{name}: {build.All}");
                }
                output.WriteLine($"{name}: BuildKit build cold {times[0]:0.0} s, after a code change {times[1]:0.0} s");
                var port = Paths.FreePort();
                var run = await TestDebian.RunAsync("docker", ["run", "-d", "--rm", "--label", $"{TestDocker.TestLabel}={label}", "-p", $"127.0.0.1:{port}:8080", tag]);
                Assert.True(run.ExitCode == 0, run.Stderr);
                // Node starting on a loaded box (load 20 in a full run) took over 30 s to answer once: a generous bound, not a timing.
                Assert.Equal(expected, (await TestDocker.WaitForHttpAsync($"http://127.0.0.1:{port}/", TimeSpan.FromSeconds(120))).Trim());
            }
        }
        finally
        {
            using var docker = TestDocker.Client();
            await TestDocker.RemoveLabelledAsync(docker, label);
        }
    }

    static Task<ProcOutput> BuildKitAsync(string dir, string tag, string label)
    {
        var psi = new List<string> { "DOCKER_BUILDKIT=1", "/usr/bin/docker", "build", "--progress=plain", "-f", Path.Combine(dir, GeneratedDockerfile.FileName),
            "-t", tag, "--label", $"{TestDocker.TestLabel}={label}", dir };
        return TestDebian.RunAsync("env", psi, timeout: TimeSpan.FromMinutes(10));
    }
}
