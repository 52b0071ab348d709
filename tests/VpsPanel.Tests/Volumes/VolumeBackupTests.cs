using System.Net;
using VpsPanel.Tests.Api;
using VpsPanel.Tests.Deployments;
using VpsPanel.Tests.Harness;
using static VpsPanel.Tests.Volumes.VolumeTestKit;

namespace VpsPanel.Tests.Volumes;

public sealed class VolumeBackupTests
{
    [Fact]
    public async Task A_backup_restored_into_a_fresh_project_gives_the_same_files_and_deleting_keeps_volumes_unless_asked() => await WithEnvAsync(async env =>
    {
        using var api = await TestApi.ForUserAsync(env.Panel, PanelSetup.AdminEmail);
        using var repo = TestRepo.WithBusyboxApp("bk", env.Label);
        var first = env.Name("one");
        var p1 = await env.CreateProjectAsync(repo, $"{first}.test", first);
        Assert.Equal(HttpStatusCode.OK, (await api.SendAsync(HttpMethod.Put, $"/api/projects/{first}/volumes", VolumeList(("data", "/data")))).Status);
        var d1 = await env.DeployAsync(p1);
        await env.WaitForLiveAsync(d1);
        var c1 = await ContainerNameOfAsync(env, d1);
        await ExecAsync(c1, "cd /data && echo one > a.txt && echo secret > .env && mkdir -p deep/er && echo two > deep/er/b.txt && echo dot > deep/.x && chmod 600 .env");

        // From the running container.
        var (status, backup) = await DownloadAsync(api, first, "data");
        Assert.True(status == HttpStatusCode.OK, $"backup answered {status}: {System.Text.Encoding.UTF8.GetString(backup)}\n{env.Panel.Log}");
        var entries = Entries(backup);
        Assert.Contains(entries, e => e.Name == "./.env" && e.Content == "secret\n");
        Assert.Contains(entries, e => e.Name == "./deep/er/b.txt" && e.Content == "two\n");
        Assert.Contains(entries, e => e.Name == "./deep/.x");
        Assert.DoesNotContain(entries, e => e.Name.StartsWith('/') || e.Name.Contains(".."));

        // A fresh project, its volume at another path: restore, then its own backup has the same files.
        var second = env.Name("two");
        var p2 = await env.CreateProjectAsync(repo, $"{second}.test", second);
        Assert.Equal(HttpStatusCode.OK, (await api.SendAsync(HttpMethod.Put, $"/api/projects/{second}/volumes", VolumeList(("data", "/srv/files")))).Status);
        var d2 = await env.DeployAsync(p2);
        await env.WaitForLiveAsync(d2);
        var c2 = await ContainerNameOfAsync(env, d2);
        await ExecAsync(c2, "echo stale > /srv/files/stale.txt");
        var (restored, body) = await RestoreAsync(api, second, "data", backup);
        Assert.True(restored == HttpStatusCode.OK, $"restore answered {restored}: {body}");
        Assert.Equal("bk", await env.ServedAsync($"{second}.test"));
        var (_, again) = await DownloadAsync(api, second, "data");
        Assert.Equal(entries.Select(e => (e.Name, e.Type, e.Content)).Where(e => e.Name != "./"), Entries(again).Select(e => (e.Name, e.Type, e.Content)).Where(e => e.Name != "./"));
        // The app runs again (same container name) and sees the restored files; what was there before is gone.
        Assert.Equal("secret\n", await ExecAsync(c2, "cat /srv/files/.env"));
        Assert.Equal("", await ExecAsync(c2, "ls /srv/files | grep stale || true"));
        Assert.Equal("-rw-------", (await ExecAsync(c2, "ls -l /srv/files/.env")).Split(' ')[0]);

        // Without a running container the backup comes from a helper made from the app's image.
        // Removed (not just stopped, which the live reconciler would undo): nothing runs with the volume now.
        await TestDebian.RunAsync("docker", ["rm", "-f", c1]);
        var (fromHelper, helperBackup) = await DownloadAsync(api, first, "data");
        Assert.Equal(HttpStatusCode.OK, fromHelper);
        Assert.Equal(entries.Select(e => (e.Name, e.Content)).Where(e => e.Name != "./"), Entries(helperBackup).Select(e => (e.Name, e.Content)).Where(e => e.Name != "./"));

        // Deleting the first project without the box ticked keeps its volume, listed as orphaned for an admin.
        var v1 = $"{env.PanelId}-{first}-data";
        var deleted = await env.Client.SubmitAsync($"/projects/{p1}/edit", new() { ["confirm"] = first }, $"/projects/{p1}/edit?handler=Delete");
        Assert.Equal(HttpStatusCode.SeeOther, deleted.Status);
        Assert.Contains(v1, await PanelVolumesAsync(env));
        var orphans = await env.Client.GetAsync("/volumes");
        Assert.Contains(v1, orphans.Text($"tr[data-orphan='{v1}']"));
        Assert.DoesNotContain($"{env.PanelId}-{second}-data", orphans.Html);
        // Not deletable: a volume a project still uses.
        var refused = await env.Client.SubmitAsync("/volumes", new(), $"/volumes?handler=Delete&name={env.PanelId}-{second}-data");
        Assert.Equal(HttpStatusCode.UnprocessableEntity, refused.Status);
        Assert.Contains($"{env.PanelId}-{second}-data", await PanelVolumesAsync(env));
        var gone = await env.Client.SubmitAsync("/volumes", new(), $"/volumes?handler=Delete&name={v1}");
        Assert.Equal(HttpStatusCode.SeeOther, gone.Status);
        Assert.DoesNotContain(v1, await PanelVolumesAsync(env));
        Assert.Contains("No orphaned volumes", (await env.Client.GetAsync("/volumes")).Html);

        // Deleting with the box ticked (the API's deleteVolumes=true) takes the volume with it.
        Assert.Equal(HttpStatusCode.NoContent, (await api.SendAsync(HttpMethod.Delete, $"/api/projects/{second}?deleteVolumes=true")).Status);
        Assert.Empty(await PanelVolumesAsync(env));
    });
}
