using System.Net;
using VpsPanel.Tests.Api;
using VpsPanel.Tests.Deployments;
using VpsPanel.Tests.Harness;
using static VpsPanel.Tests.Volumes.VolumeTestKit;

namespace VpsPanel.Tests.Volumes;

public sealed class VolumeLifecycleTests
{
    [Fact]
    public async Task A_volume_survives_redeploy_and_rollback_and_both_containers_mount_it_during_the_switch() => await WithEnvAsync(async env =>
    {
        using var repo = TestRepo.WithBusyboxApp("vol v1", env.Label);
        var name = env.Name();
        var domain = $"{name}.test";
        var project = await env.CreateProjectAsync(repo, domain, name);
        using var api = await TestApi.ForUserAsync(env.Panel, PanelSetup.AdminEmail);
        var put = await api.SendAsync(HttpMethod.Put, $"/api/projects/{name}/volumes", VolumeList(("data", "/data")));
        Assert.True(put.Status == HttpStatusCode.OK, $"{put.Status}: {put.Body}");
        var dockerVolume = $"{env.PanelId}-{name}-data";
        Assert.Equal(dockerVolume, (string?)put.Body![0]!["dockerVolume"]);
        Assert.False((bool)put.Body[0]!["created"]!);

        var d1 = await env.DeployAsync(project);
        await env.WaitForLiveAsync(d1);
        Assert.Contains($"created Docker volume {dockerVolume}", await env.LogAsync(d1));
        Assert.Equal([dockerVolume], await PanelVolumesAsync(env));
        await ExecAsync(await ContainerNameOfAsync(env, d1), "echo kept > /data/f.txt && mkdir -p /data/sub && echo dot > /data/sub/.hidden");

        // Redeploy a new commit: while the old container drains, both run and both mount the volume.
        repo.CommitApp("vol v2", env.Label, "v2");
        var d2 = await env.DeployAsync(project);
        Assert.Equal("live", await env.WaitForStatusAsync(d2, TimeSpan.FromSeconds(120), "live", "failed"));
        using (var docker = TestDocker.Client())
        {
            var both = await TestDocker.ContainersAsync(docker, env.PanelLabel, $"vpspanel.project={name}");
            var running = both.Where(c => c.State == "running").ToList();
            Assert.True(running.Count == 2, $"expected the old and the new container running during the drain, got {string.Join(", ", both.Select(c => c.Names[0] + " " + c.State))}");
            Assert.All(running, c => Assert.Contains(c.Mounts, m => m.Name == dockerVolume && m.Destination == "/data"));
        }
        Assert.Equal("vol v2", await env.ServedAsync(domain));
        Assert.Contains($"Docker volume {dockerVolume} (kept)", await env.LogAsync(d2));
        Assert.Equal("kept\n", await ExecAsync(await ContainerNameOfAsync(env, d2), "cat /data/f.txt"));
        Assert.Equal("dot\n", await ExecAsync(await ContainerNameOfAsync(env, d2), "cat /data/sub/.hidden"));

        // Roll back to the first deployment: its image, the same volume.
        await ExecAsync(await ContainerNameOfAsync(env, d2), "echo from-v2 >> /data/f.txt");
        var target = await env.DeploymentActionAsync(d1, "Rollback");
        var d3 = long.Parse(target.Split('/').Last());
        await env.WaitForLiveAsync(d3);
        Assert.Equal("vol v1", await env.ServedAsync(domain));
        Assert.Equal("kept\nfrom-v2\n", await ExecAsync(await ContainerNameOfAsync(env, d3), "cat /data/f.txt"));
        Assert.Equal([dockerVolume], await PanelVolumesAsync(env));

        // The project page's section lists it with its size.
        var section = await env.Client.GetAsync($"/projects/{project}/volumes");
        Assert.Equal(HttpStatusCode.OK, section.Status);
        Assert.Contains("/data", section.Text("tr[data-volume=data]"));
        Assert.Matches(@"^\d+(\.\d)? (B|KiB)$", section.Text("tr[data-volume=data] .volume-size")!);
    }, new Dictionary<string, string> { ["Deploy__DrainSeconds"] = "8" });

    [Fact]
    public async Task Stop_old_first_stops_the_live_container_before_the_new_one_starts() => await WithEnvAsync(async env =>
    {
        using var repo = TestRepo.WithBusyboxApp("sof v1", env.Label);
        var name = env.Name();
        var domain = $"{name}.test";
        var project = await env.CreateProjectAsync(repo, domain, name);
        using var api = await TestApi.ForUserAsync(env.Panel, PanelSetup.AdminEmail);
        Assert.Equal(HttpStatusCode.OK, (await api.SendAsync(HttpMethod.Put, $"/api/projects/{name}/volumes", VolumeList(("db", "/var/db")))).Status);
        var patched = await api.SendAsync(HttpMethod.Patch, $"/api/projects/{name}", """{"stopOldFirst":true}""");
        Assert.True(patched.Status == HttpStatusCode.OK, $"{patched.Status}: {patched.Body}");
        Assert.True((bool)patched.Body!["stopOldFirst"]!);
        // The edit form shows it ticked, with the downtime said next to it.
        var edit = await env.Client.GetAsync($"/projects/{project}/edit");
        Assert.NotNull(edit.Doc.QuerySelector("#stopOldFirst[checked]"));
        Assert.Contains("downtime", edit.Doc.QuerySelector("#stopOldFirst")!.ParentElement!.TextContent);

        var d1 = await env.DeployAsync(project);
        await env.WaitForLiveAsync(d1);
        var old = await ContainerNameOfAsync(env, d1);
        repo.CommitApp("sof v2", env.Label, "v2");
        var d2 = await env.DeployAsync(project);
        Assert.Equal("live", await env.WaitForStatusAsync(d2, TimeSpan.FromSeconds(120), "live", "failed"));
        using (var docker = TestDocker.Client())
        {
            // Still there for the drain, but stopped, and stopped before the new one started.
            var oldState = (await docker.Containers.InspectContainerAsync(old)).State;
            var newState = (await docker.Containers.InspectContainerAsync(await ContainerNameOfAsync(env, d2))).State;
            Assert.False(oldState.Running);
            Assert.True(DateTime.Parse(oldState.FinishedAt) <= DateTime.Parse(newState.StartedAt),
                $"old stopped at {oldState.FinishedAt}, new started at {newState.StartedAt}");
        }
        Assert.Contains("stop old first", await env.LogAsync(d2));
        Assert.Equal("sof v2", await env.ServedAsync(domain));

        // A deploy that fails after the old one was stopped starts the old one again.
        repo.CommitDockerfile($"FROM scratch\nCOPY busybox /bin/busybox\nLABEL vpspanel.test={env.Label}\nEXPOSE 8080\nCMD [\"/bin/busybox\", \"false\"]\n", "broken");
        var d3 = await env.DeployAsync(project);
        Assert.Equal("failed", await env.WaitForEndAsync(d3));
        // Started again right after the row says failed (the run's last step).
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!(await env.LogAsync(d3)).Contains("was started again") && DateTime.UtcNow < deadline) await Task.Delay(300);
        Assert.Contains("was started again", await env.LogAsync(d3));
        Assert.Equal("sof v2", await TestDocker.WaitForHttpAsync($"http://127.0.0.1:{(await ContainerOfAsync(env, d2)).Ports.First(p => p.PublicPort > 0).PublicPort}/", TimeSpan.FromSeconds(30)) is var body ? body.Trim() : "");
        Assert.Equal("sof v2", await env.ServedAsync(domain));

        // Switched off again: both run during the switch.
        Assert.Equal(HttpStatusCode.OK, (await api.SendAsync(HttpMethod.Patch, $"/api/projects/{name}", """{"stopOldFirst":false}""")).Status);
    }, new Dictionary<string, string> { ["Deploy__DrainSeconds"] = "8", ["Deploy__HealthRetries"] = "3" });
}
