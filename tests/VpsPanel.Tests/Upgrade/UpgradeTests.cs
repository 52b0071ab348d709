using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using VpsPanel.Tests.Harness;
using Xunit.Abstractions;

namespace VpsPanel.Tests.Upgrade;

/// <summary>Version B: the same source published with another -p:Version, once for the class (a publish takes minutes).</summary>
public sealed class VersionBFixture : IAsyncLifetime
{
    public const string Version = "99.1.0";
    public string WorkDir { get; } = Paths.NewTempDir("vpspanel-release-b-");
    public string Binary { get; private set; } = "";

    public async Task InitializeAsync() => Binary = await ReleasePublish.PublishAsync(WorkDir, "linux-x64", Version);

    public Task DisposeAsync()
    {
        Paths.DeleteQuietly(WorkDir);
        return Task.CompletedTask;
    }
}

/// <summary>
/// `vpspanel upgrade` from the binary under test (A) to a real second build (B), served as a release from loopback:
/// B runs afterwards with A's data and settings; the version is stamped by -p:Version at publish.
/// </summary>
public sealed class UpgradeTests(VersionBFixture b, ITestOutputHelper output) : IClassFixture<VersionBFixture>
{
    [Fact]
    public async Task Upgrade_from_A_to_B_keeps_the_data_and_settings_and_B_reports_its_version()
    {
        await using var rig = new UpgradeRig(Paths.Binary, healthTimeoutSeconds: 120);
        var versionA = await UpgradeFixtures.VersionOfAsync(rig, Paths.Binary);
        Assert.NotEqual(VersionBFixture.Version, versionA);
        // The stamp: a publish with -p:Version=99.1.0 says so.
        Assert.Equal($"vpspanel {VersionBFixture.Version}", (await rig.RunAsync(b.Binary, ["version"], TimeSpan.FromMinutes(1))).Stdout.Trim());
        rig.PublishRelease(VersionBFixture.Version, b.Binary);
        await rig.ServeReleasesAsync();
        await rig.StartPanelAsync();

        // A's data: the first admin, a token, and the release check turned on (a setting in the database).
        var web = new PanelClient(rig.Url);
        var setup = await web.SubmitAsync("/setup", new() { ["token"] = File.ReadAllText(Path.Combine(rig.DataDir, "setup-token")).Trim(), ["email"] = PanelSetup.AdminEmail, ["password"] = PanelSetup.AdminPassword });
        Assert.True(setup.Status is HttpStatusCode.Redirect or HttpStatusCode.SeeOther, setup.Html);
        var token = await rig.VpspanelAsync("token", "create", "--user", PanelSetup.AdminEmail, "--name", "upgrade-test");
        Assert.True(token.ExitCode == 0, token.Stderr);
        using var api = new HttpClient { BaseAddress = new Uri(rig.Url), Timeout = TimeSpan.FromSeconds(30) };
        api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token.Stdout.Trim());
        using (var on = await api.PutAsync("/api/settings/upgrade-check", new StringContent("""{"enabled": true}""", Encoding.UTF8, "application/json")))
            Assert.Equal(HttpStatusCode.OK, on.StatusCode);
        // Turning it on checks at once: the dashboard of A then offers B.
        var check = await UpgradeFixtures.WaitForAsync(async () => JsonNode.Parse(await api.GetStringAsync("/api/settings/upgrade-check"))!, j => (string?)j["latestVersion"] is not null);
        Assert.Equal(VersionBFixture.Version, (string?)check["newerVersion"]);
        var dashboard = await web.GetAsync("/");
        Assert.Contains(versionA, dashboard.Text("#panel-version"));
        Assert.Contains(VersionBFixture.Version, dashboard.Text("#newer-release"));

        var up = await rig.VpspanelAsync("upgrade");
        output.WriteLine(up.Stdout + up.Stderr);
        Assert.True(up.ExitCode == 0, $"{up.Stdout}\n{up.Stderr}\n{rig.PanelLog}");
        Assert.Contains($"upgraded vpspanel from {versionA} to {VersionBFixture.Version}", up.Stdout);

        // B is the binary now and the one running; A is kept beside it, the database was backed up first.
        Assert.Equal($"vpspanel {VersionBFixture.Version}", (await rig.VpspanelAsync("version")).Stdout.Trim());
        Assert.Equal(UpgradeRig.Sha256(b.Binary), UpgradeRig.Sha256(rig.Binary));
        Assert.Equal(UpgradeRig.Sha256(Paths.Binary), UpgradeRig.Sha256(rig.Binary + ".previous"));
        Assert.Contains(rig.Binary + ".previous", up.Stdout);
        var backup = Assert.Single(Directory.GetFiles(Path.Combine(rig.DataDir, "backups"), "vpspanel-backup-*.tar.gz"));
        Assert.Contains(backup, up.Stdout);
        Assert.True(await rig.AnswersHealthzAsync(TimeSpan.FromSeconds(5)));

        // The same token, user and setting work on B; the running version is B's and nothing newer is offered.
        var after = JsonNode.Parse(await api.GetStringAsync("/api/settings/upgrade-check"))!;
        Assert.Equal(VersionBFixture.Version, (string?)after["currentVersion"]);
        Assert.True((bool)after["enabled"]!);
        Assert.Null((string?)after["newerVersion"]);
        var dashboardB = await web.GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, dashboardB.Status);
        Assert.Contains(VersionBFixture.Version, dashboardB.Text("#panel-version"));
        Assert.Null(dashboardB.Text("#newer-release"));
        var audit = JsonNode.Parse(await api.GetStringAsync("/api/audit?action=panel.upgrade"))!.ToJsonString();
        Assert.Contains($"from {versionA} to {VersionBFixture.Version}", audit);
        var toggles = JsonNode.Parse(await api.GetStringAsync("/api/audit?action=settings.upgrade_check"))!.ToJsonString();
        Assert.Contains("settings.upgrade_check.on", toggles);
    }
}

public static class UpgradeFixtures
{
    /// <summary>"0.1.0" from `vpspanel version`.</summary>
    public static async Task<string> VersionOfAsync(UpgradeRig rig, string binary)
    {
        var r = await rig.RunAsync(binary, ["version"], TimeSpan.FromMinutes(1));
        Assert.True(r.ExitCode == 0, r.Stderr);
        return r.Stdout.Trim().Split(' ')[1];
    }

    public static async Task<T> WaitForAsync<T>(Func<Task<T>> get, Func<T, bool> done, int seconds = 60)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (true)
        {
            var v = await get();
            if (done(v) || DateTime.UtcNow > deadline) return v;
            await Task.Delay(250);
        }
    }
}
