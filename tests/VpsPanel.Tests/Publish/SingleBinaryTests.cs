using System.Net;
using VpsPanel.Tests.Harness;

namespace VpsPanel.Tests.Publish;

public sealed class SingleBinaryTests
{
    [Fact]
    public async Task The_published_binary_alone_in_an_empty_folder_serves_login_and_its_assets()
    {
        var dir = Paths.NewTempDir("vpspanel-alone-");
        try
        {
            var binary = Path.Combine(dir, "vpspanel");
            File.Copy(Paths.Binary, binary);
            File.SetUnixFileMode(binary, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            Assert.Single(Directory.GetFiles(dir));

            await using var panel = await PanelProcess.StartAsync(dataDir: Path.Combine(dir, "data"), binary: binary);
            (await PanelSetup.SignedInAdminAsync(panel)).Dispose();
            using var client = new PanelClient(panel);
            var login = await client.GetAsync("/login");
            Assert.Equal(HttpStatusCode.OK, login.Status);
            Assert.Equal("Sign in", login.Text("h1"));

            var scripts = login.Doc.QuerySelectorAll("script[src]").Select(s => s.GetAttribute("src")!).ToList();
            var styles = login.Doc.QuerySelectorAll("link[rel=stylesheet]").Select(s => s.GetAttribute("href")!).ToList();
            Assert.Contains(scripts, s => s.StartsWith("/static/js/htmx.min.js"));
            foreach (var asset in scripts.Concat(styles))
            {
                using var res = await client.Http.GetAsync(asset);
                Assert.Equal(HttpStatusCode.OK, res.StatusCode);
                Assert.True((await res.Content.ReadAsByteArrayAsync()).Length > 100, asset);
            }
            using var htmx = await client.Http.GetAsync(scripts.First(s => s.StartsWith("/static/js/htmx.min.js")));
            Assert.Equal("text/javascript", htmx.Content.Headers.ContentType!.MediaType);
            Assert.Contains("htmx", await htmx.Content.ReadAsStringAsync());
            Assert.Equal(HttpStatusCode.NotFound, (await client.Http.GetAsync("/static/js/nope.js")).StatusCode);

            // Nothing was unpacked next to the binary: only the data dir the test asked for.
            Assert.Equal(new[] { "data", "vpspanel" }, Directory.GetFileSystemEntries(dir).Select(p => Path.GetFileName(p)!).Order().ToArray());
        }
        finally { Paths.DeleteQuietly(dir); }
    }

    [Fact]
    public async Task Healthz_is_200_with_what_is_down_when_docker_and_caddy_are_unreachable()
    {
        await using var panel = await PanelProcess.StartAsync(new Dictionary<string, string> { ["Docker__Socket"] = "/nonexistent/docker.sock" });
        // Signed in as admin: anyone else sees ok/failing only, without the details.
        using var admin = await PanelSetup.SignedInAdminAsync(panel);
        using var res = await admin.Http.GetAsync("/healthz");
        Assert.Equal(HttpStatusCode.OK, res.StatusCode);
        var json = System.Text.Json.Nodes.JsonNode.Parse(await res.Content.ReadAsStringAsync())!;
        Assert.Equal("degraded", (string?)json["status"]);
        Assert.True((bool)json["database"]!["ok"]!);
        Assert.False((bool)json["docker"]!["ok"]!);
        Assert.Contains("/nonexistent/docker.sock", (string?)json["docker"]!["detail"]);
        Assert.False((bool)json["caddy"]!["ok"]!);
    }

    [Fact]
    public async Task Healthz_reports_docker_and_caddy_ok_when_they_are_up()
    {
        await using var caddy = await TestCaddy.StartAsync();
        await using var panel = await PanelProcess.StartAsync(caddy.PanelSettings());
        using var admin = await PanelSetup.SignedInAdminAsync(panel);
        var json = System.Text.Json.Nodes.JsonNode.Parse(await admin.Http.GetStringAsync("/healthz"))!;
        Assert.True((bool)json["docker"]!["ok"]!, json.ToJsonString());
        Assert.True((bool)json["caddy"]!["ok"]!, json.ToJsonString());
        Assert.Contains("Docker Engine", (string?)json["docker"]!["detail"]);
        Assert.Contains("Caddy 2.", (string?)json["caddy"]!["detail"]);
    }
}
