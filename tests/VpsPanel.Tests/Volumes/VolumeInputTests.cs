using System.Net;
using System.Text.Json.Nodes;
using Docker.DotNet.Models;
using VpsPanel.Features.Docker;
using VpsPanel.Tests.Api;
using VpsPanel.Tests.Deployments;
using VpsPanel.Tests.Harness;
using static VpsPanel.Tests.Volumes.VolumeTestKit;

namespace VpsPanel.Tests.Volumes;

public sealed class VolumeInputTests
{
    static JsonArray One(string name, string mount, string? host = null)
    {
        var o = new JsonObject { ["name"] = name, ["mountPath"] = mount };
        if (host is not null) o["hostPath"] = host;
        return new JsonArray(o);
    }

    [Fact]
    public async Task Every_bad_volume_and_archive_gets_a_clear_message_and_changes_nothing()
    {
        var root = Paths.NewTempDir("vpspanel-hostroot-");
        var outside = Paths.NewTempDir("vpspanel-outside-");
        try
        {
            Directory.CreateDirectory(Path.Combine(root, "apps"));
            // A link planted under the root that leads out of it.
            File.CreateSymbolicLink(Path.Combine(root, "escape"), outside);
            File.CreateSymbolicLink(Path.Combine(root, "etc-link"), "/etc");
            await using var panel = await PanelProcess.StartAsync(new Dictionary<string, string> { ["Storage__HostPathRoot"] = root });
            (await PanelSetup.SignedInAdminAsync(panel)).Dispose();
            Assert.Equal(0, (await PanelCli.RunAsync(["user", "add", "--email", "member@example.com", "--data-dir", panel.DataDir], stdin: "member password 1\n")).ExitCode);
            using var admin = await TestApi.ForUserAsync(panel, PanelSetup.AdminEmail);
            using var member = await TestApi.ForUserAsync(panel, "member@example.com");
            await admin.CreateProjectAsync("vols", "/srv/repos/nope.git", "vols.test");
            await member.CreateProjectAsync("mine", "https://git.example.com/me/app.git", "mine.test");
            var good = One("data", "/data").ToJsonString();
            Assert.Equal(HttpStatusCode.OK, (await admin.SendAsync(HttpMethod.Put, "/api/projects/vols/volumes", good)).Status);
            Assert.Equal(HttpStatusCode.OK, (await member.SendAsync(HttpMethod.Put, "/api/projects/mine/volumes", good)).Status);
            var before = (await admin.GetAsync("/api/projects/vols/volumes")).ToJsonString();

            (string Why, JsonArray Body, string Field, string Says)[] refusals =
            [
                ("relative mount path", One("data", "data"), "volumes[0].mountPath", "must be absolute"),
                ("mount path /", One("data", "/"), "volumes[0].mountPath", "cannot be /"),
                ("under /proc", One("data", "/proc/x"), "volumes[0].mountPath", "under /proc"),
                ("under /sys", One("data", "/sys"), "volumes[0].mountPath", "under /sys"),
                ("under /dev", One("data", "/dev/shm/x"), "volumes[0].mountPath", "under /dev"),
                ("dot-dot mount", One("data", "/data/../etc"), "volumes[0].mountPath", "\"..\""),
                ("bad name", One("Bad Name", "/data"), "volumes[0].name", "lower-case letters"),
                ("empty name", One("", "/data"), "volumes[0].name", "Enter a volume name"),
                ("duplicate name", new JsonArray(One("data", "/a")[0]!.DeepClone(), One("data", "/b")[0]!.DeepClone()), "volumes[1].name", "used twice"),
                ("duplicate mount", new JsonArray(One("a", "/data")[0]!.DeepClone(), One("b", "/data/")[0]!.DeepClone()), "volumes[1].mountPath", "used twice"),
                ("host root /", One("h", "/h", "/"), "volumes[0].hostPath", "cannot be /"),
                ("host /etc", One("h", "/h", "/etc"), "volumes[0].hostPath", "system directory"),
                ("host /proc", One("h", "/h", "/proc/1"), "volumes[0].hostPath", "system directory"),
                ("docker socket", One("h", "/h", "/var/run/docker.sock"), "volumes[0].hostPath", "Docker socket"),
                ("data dir", One("h", "/h", panel.DataDir), "volumes[0].hostPath", "data dir"),
                ("relative host path", One("h", "/h", "srv/x"), "volumes[0].hostPath", "must be absolute"),
                ("dot-dot host path", One("h", "/h", root + "/apps/../../etc"), "volumes[0].hostPath", "\"..\""),
                ("outside the root", One("h", "/h", outside + "/x"), "volumes[0].hostPath", "outside the allowed root"),
                ("the root itself", One("h", "/h", root), "volumes[0].hostPath", "cannot be the root"),
                ("symlink out of the root", One("h", "/h", root + "/escape/data"), "volumes[0].hostPath", "symbolic link"),
                ("symlink to /etc", One("h", "/h", root + "/etc-link"), "volumes[0].hostPath", "symbolic link"),
            ];
            foreach (var (why, body, field, says) in refusals)
            {
                var answer = await admin.SendAsync(HttpMethod.Put, "/api/projects/vols/volumes", body.ToJsonString());
                Assert.True(answer.Status == HttpStatusCode.UnprocessableEntity, $"{why}: {answer.Status} {answer.Body}");
                var message = (string?)answer.Body!["errors"]?[field]?[0];
                Assert.True(message is not null && message.Contains(says), $"{why}: expected {field} to say \"{says}\", got {answer.Body}");
                Assert.Equal(before, (await admin.GetAsync("/api/projects/vols/volumes")).ToJsonString());
            }
            Assert.False(Directory.Exists(Path.Combine(outside, "x")));
            Assert.False(Directory.Exists(Path.Combine(outside, "data")));

            // A member asking for a bind mount: 403, on their own project, whatever the path.
            var asked = await member.SendAsync(HttpMethod.Put, "/api/projects/mine/volumes", One("h", "/h", root + "/apps/mine").ToJsonString());
            Assert.Equal(HttpStatusCode.Forbidden, asked.Status);
            Assert.Contains("Only an admin", (string)asked.Body!["detail"]!);
            Assert.Equal(good, Strip((await member.GetAsync("/api/projects/mine/volumes")).AsArray()));
            // The page says the same next to the field.
            using var page = new PanelClient(panel);
            await page.LoginAsync("member@example.com", "member password 1");
            var projectId = (long)(await member.GetAsync("/api/projects/mine"))["id"]!;
            var added = await page.SubmitAsync($"/projects/{projectId}/volumes", new() { ["name"] = "h", ["mountPath"] = "/h", ["hostPath"] = root + "/apps/mine" }, $"/projects/{projectId}/volumes?handler=Add");
            Assert.Equal(HttpStatusCode.UnprocessableEntity, added.Status);
            Assert.Contains("Only an admin", added.Text(".field-error"));
            var badMount = await page.SubmitAsync($"/projects/{projectId}/volumes", new() { ["name"] = "x", ["mountPath"] = "relative" }, $"/projects/{projectId}/volumes?handler=Add");
            Assert.Equal(HttpStatusCode.UnprocessableEntity, badMount.Status);
            Assert.Contains("must be absolute", badMount.Text(".field-error"));
            Assert.Equal(good, Strip((await member.GetAsync("/api/projects/mine/volumes")).AsArray()));

            // An admin's host path under the root is taken.
            var hostOk = await admin.SendAsync(HttpMethod.Put, "/api/projects/vols/volumes", new JsonArray(One("data", "/data")[0]!.DeepClone(), One("files", "/files", root + "/apps/vols")[0]!.DeepClone()).ToJsonString());
            Assert.True(hostOk.Status == HttpStatusCode.OK, $"{hostOk.Status} {hostOk.Body}");
            Assert.Equal(root + "/apps/vols", (string?)hostOk.Body![1]!["hostPath"]);

            // Archives: not gzip, gzip but not tar, absolute names, "..": refused before anything is touched.
            (string Why, byte[] Archive, string Says)[] archives =
            [
                ("plain text", System.Text.Encoding.UTF8.GetBytes("just some text, not an archive"), "not a gzip-compressed tar"),
                ("gzip of text", Gzip(new string('x', 2000)), "not a valid gzip-compressed tar"),
                ("absolute name", TarGz(("/etc/cron.d/evil", "x")), "absolute path"),
                ("dot-dot name", TarGz(("ok.txt", "x"), ("../../evil", "x")), "\"..\""),
                ("empty tar", Gzip(new string((char)0, 1024)), "holds no files"),
            ];
            foreach (var (why, archive, says) in archives)
            {
                var (status, body) = await RestoreAsync(admin, "vols", "data", archive);
                Assert.True(status == HttpStatusCode.UnprocessableEntity, $"{why}: {status} {body}");
                Assert.Contains(says, (string)body!["detail"]!);
            }
            var (missing, _) = await RestoreAsync(admin, "vols", "nope", TarGz(("a", "b")));
            Assert.Equal(HttpStatusCode.NotFound, missing);
            // A good archive for a project never deployed: nothing to open the volume with, said so.
            var (noImage, noImageBody) = await RestoreAsync(admin, "vols", "data", TarGz(("a", "b")));
            Assert.Equal(HttpStatusCode.Conflict, noImage);
            Assert.Contains("deploy it once first", (string)noImageBody!["detail"]!);
            var (noBackup, _) = await DownloadAsync(admin, "vols", "data");
            Assert.Equal(HttpStatusCode.Conflict, noBackup);

            // The CLI says the same on stderr with a non-zero exit, and changes nothing; a good list is saved.
            string[] remote = ["--url", panel.Url, "--token", admin.Token];
            var cliBad = await PanelCli.RunAsync(["volumes", "set", "vols", "data:relative", .. remote]);
            Assert.Equal(1, cliBad.ExitCode);
            Assert.Contains("must be absolute", cliBad.Stderr);
            var cliMember = await PanelCli.RunAsync(["volumes", "set", "mine", "h:/h:" + root + "/apps/mine", "--url", panel.Url, "--token", member.Token]);
            Assert.Equal(1, cliMember.ExitCode);
            Assert.Contains("Only an admin", cliMember.Stderr);
            var cliRestore = await PanelCli.RunAsync(["volumes", "restore", "vols", "data", "/etc/hostname", .. remote]);
            Assert.Equal(2, cliRestore.ExitCode);
            Assert.Contains("--yes", cliRestore.Stderr);
            var cliSet = await PanelCli.RunAsync(["volumes", "set", "vols", "data:/data", "cache:/var/cache/app", .. remote]);
            Assert.True(cliSet.ExitCode == 0, cliSet.Stderr);
            var cliList = await PanelCli.RunAsync(["volumes", "list", "vols", .. remote]);
            Assert.Contains("cache\t/var/cache/app", cliList.Stdout);
            Assert.Contains("data\t/data", cliList.Stdout);

            // Nothing of this made a Docker volume.
            using var docker = TestDocker.Client();
            var made = await docker.Volumes.ListAsync(new VolumesListParameters { Filters = DockerAbsentOk.LabelFilter($"{PanelIdentity.Label}={DeployEnv.ReadPanelId(panel.DataDir)}") });
            Assert.Empty(made.Volumes ?? []);
        }
        finally
        {
            Paths.DeleteQuietly(root);
            Paths.DeleteQuietly(outside);
        }
    }

    static string Strip(JsonArray list) =>
        new JsonArray(list.Select(v => (JsonNode)new JsonObject { ["name"] = (string?)v!["name"], ["mountPath"] = (string?)v["mountPath"] }).ToArray()).ToJsonString();

    [Theory]
    [InlineData("/", "other than /")]
    [InlineData("/etc/vpspanel", "/etc")]
    [InlineData("relative/dir", "absolute")]
    [InlineData("/srv/../etc", "..")]
    public async Task A_bad_host_path_root_stops_startup_with_its_reason(string root, string says)
    {
        var dir = Paths.NewTempDir("vpspanel-rootcheck-");
        try
        {
            var r = await PanelCli.RunAsync(["config", "--data-dir", dir], env: new Dictionary<string, string> { ["Storage__HostPathRoot"] = root });
            Assert.Equal(2, r.ExitCode);
            Assert.Contains("Storage:HostPathRoot", r.Stderr);
            Assert.Contains(says, r.Stderr);
            // The data dir inside the root is refused too.
            var inside = await PanelCli.RunAsync(["config", "--data-dir", Path.Combine(dir, "data")], env: new Dictionary<string, string> { ["Storage__HostPathRoot"] = dir });
            Assert.Equal(2, inside.ExitCode);
            Assert.Contains("data dir", inside.Stderr);
        }
        finally { Paths.DeleteQuietly(dir); }
    }
}
