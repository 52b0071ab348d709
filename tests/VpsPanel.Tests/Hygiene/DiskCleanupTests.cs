using System.Net;
using VpsPanel.Features.Docker;
using VpsPanel.Tests.Api;
using VpsPanel.Tests.Deployments;
using VpsPanel.Tests.Harness;
using Xunit.Abstractions;

namespace VpsPanel.Tests.Hygiene;

/// <summary>
/// The disk cleanup against the real engine: with Disk:KeepImages=2 and four deployments that went live, the oldest
/// (pinned) image and the two newest stay, the one between goes; an image without this panel's label survives; a
/// rollback to the pinned image still works afterwards.
/// </summary>
public sealed class DiskCleanupTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Cleanup_keeps_the_newest_N_images_the_pinned_and_the_live_one_and_never_a_foreign_image()
    {
        await using var env = await DeployEnv.StartAsync(new Dictionary<string, string>
        {
            ["Disk__KeepImages"] = "2",
            ["Disk__CleanupSchedule"] = "",
            // Ten years: the engine's build cache is shared with everything else on this machine; this run prunes none of it.
            ["Disk__RetentionDays"] = "3650",
        });
        using var docker = TestDocker.Client();
        var (repo, project, domain, d1) = await env.DeployV1Async();
        using (repo)
        {
            var deployments = new List<long> { d1 };
            foreach (var v in new[] { "v2", "v3", "v4" })
            {
                repo.CommitApp(v, env.Label, v);
                var id = await env.DeployAsync(project);
                await env.WaitForLiveAsync(id);
                deployments.Add(id);
            }
            Assert.Equal("v4", await env.ServedAsync(domain));
            using var api = await TestApi.ForUserAsync(env.Panel, PanelSetup.AdminEmail);
            var images = new List<string>();
            foreach (var id in deployments) images.Add(await ImageOfAsync(docker, env, id));
            Assert.All(images, i => Assert.StartsWith($"vpspanel/{env.PanelId}-", i));

            // The oldest is pinned from its deployment page, as a person would.
            var pin = await env.Client.SubmitAsync($"/deployments/{d1}", new Dictionary<string, string> { ["pinned"] = "true" }, $"/deployments/{d1}/pin");
            Assert.True(pin.Status is HttpStatusCode.SeeOther or HttpStatusCode.Redirect, $"pin answered {pin.Status}: {pin.Html}");
            Assert.Equal("true", (await env.Client.GetAsync($"/deployments/{d1}")).Doc.QuerySelector("#pin")?.GetAttribute("data-pinned"));

            // A foreign image: built here FROM scratch with only the test's label, no vpspanel.panel.
            var foreign = $"hygiene-foreign-{env.Label}:1";
            var ctx = Paths.NewTempDir("vpspanel-foreign-");
            try
            {
                File.WriteAllText(Path.Combine(ctx, "Dockerfile"), $"FROM scratch\nCOPY f /f\nLABEL {TestDocker.TestLabel}={env.Label}\n");
                File.WriteAllText(Path.Combine(ctx, "f"), env.Label);
                await TestDocker.CliAsync("build", "-q", "-t", foreign, ctx);
            }
            finally { Paths.DeleteQuietly(ctx); }

            var (status, body, _) = await api.SendAsync(HttpMethod.Post, "/api/system/cleanup");
            Assert.True(status == HttpStatusCode.OK, $"cleanup answered {status}: {body}");
            output.WriteLine(body!.ToJsonString());
            Assert.Equal(1, (int)body!["imagesRemoved"]!);
            Assert.Equal([images[1]], body["removedImages"]!.AsArray().Select(n => (string)n!).ToList());
            Assert.True((long)body["bytesReclaimed"]! >= 0);
            Assert.Contains("reclaimed", (string)body["summary"]!);

            Assert.True(await docker.ImageExistsAsync(images[0], CancellationToken.None), "the pinned image was removed");
            Assert.False(await docker.ImageExistsAsync(images[1], CancellationToken.None), "the image beyond the newest two was kept");
            Assert.True(await docker.ImageExistsAsync(images[2], CancellationToken.None), "a kept image was removed");
            Assert.True(await docker.ImageExistsAsync(images[3], CancellationToken.None), "the live image was removed");
            Assert.True(await docker.ImageExistsAsync(foreign, CancellationToken.None), "a foreign image was removed");
            Assert.Equal("v4", await env.ServedAsync(domain));

            // The removed one can no longer be rolled back to; the pinned one can, and goes live.
            Assert.Null((await env.Client.GetAsync($"/deployments/{deployments[1]}")).Doc.QuerySelector("#rollback"));
            var back = long.Parse((await env.DeploymentActionAsync(d1, "Rollback")).Split('/').Last());
            await env.WaitForLiveAsync(back);
            Assert.Equal("v1", await env.ServedAsync(domain));

            // The page's button. The rollback made the pinned image the live one and the newest; the newest two images
            // are now v1's and v4's, so v3's goes, and the live (pinned) one and v4's stay.
            var page = await env.Client.SubmitAsync("/disk", new Dictionary<string, string>());
            Assert.Equal(HttpStatusCode.OK, page.Status);
            Assert.Equal("1", page.Doc.QuerySelector("#cleanup-result")?.GetAttribute("data-images-removed"));
            Assert.Contains(images[2], page.Text("#cleanup-result"));
            Assert.Contains("Reclaimed", page.Text("#cleanup-result"));
            Assert.Equal(2, page.Doc.QuerySelectorAll("#cleanup-runs tbody tr").Length);
            Assert.True(await docker.ImageExistsAsync(images[0], CancellationToken.None), "the pinned, now live image was removed");
            Assert.True(await docker.ImageExistsAsync(images[3], CancellationToken.None), "v4's image, among the newest two, was removed");
            Assert.False(await docker.ImageExistsAsync(images[2], CancellationToken.None), "v3's image, no longer among the newest two, was kept");
            Assert.True(await docker.ImageExistsAsync(foreign, CancellationToken.None), "a foreign image was removed");
            Assert.Equal("v1", await env.ServedAsync(domain));

            // Pin and unpin through the API: v4's deployment is retired now, with its image.
            var (pinStatus, pinned, _) = await api.SendAsync(HttpMethod.Put, $"/api/deployments/{deployments[3]}/pin");
            Assert.True(pinStatus == HttpStatusCode.OK, $"PUT pin answered {pinStatus}: {pinned}");
            Assert.True((bool)pinned!["pinned"]!);
            Assert.Equal(images[3], (string)pinned["image"]!);
            var (unpinStatus, unpinned, _) = await api.SendAsync(HttpMethod.Delete, $"/api/deployments/{deployments[3]}/pin");
            Assert.Equal(HttpStatusCode.OK, unpinStatus);
            Assert.False((bool)unpinned!["pinned"]!);
            // The deployment page agrees: no longer pinned.
            Assert.Equal("false", (await env.Client.GetAsync($"/deployments/{deployments[3]}")).Doc.QuerySelector("#pin")?.GetAttribute("data-pinned"));

            // The CLI mirrors the API: an admin's token runs it and prints what was reclaimed.
            var cli = await PanelCli.RunAsync(["cleanup", "--url", env.Panel.Url, "--token", api.Token]);
            Assert.True(cli.ExitCode == 0, $"vpspanel cleanup: exit {cli.ExitCode}: {cli.Stderr}");
            Assert.Contains("0 image(s) removed", cli.Stdout);
            Assert.Contains("reclaimed in total", cli.Stdout);

            var audit = await api.GetAsync("/api/audit?action=disk.cleanup");
            Assert.Equal(3, audit.AsArray().Count);
            Assert.Equal(2, (await api.GetAsync("/api/audit?action=deploy.pin")).AsArray().Count);
            Assert.Single((await api.GetAsync("/api/audit?action=deploy.unpin")).AsArray());
        }
    }

    static async Task<string> ImageOfAsync(global::Docker.DotNet.DockerClient docker, DeployEnv env, long deployment)
    {
        var names = await TestDocker.ImagesAsync(docker, env.PanelLabel, $"vpspanel.deployment={deployment}");
        return Assert.Single(names);
    }
}
