using Microsoft.Extensions.Configuration;
using VpsPanel.Features.Settings;
using VpsPanel.Tests.Harness;

namespace VpsPanel.Tests.Settings;

public sealed class SettingsTests
{
    static PanelSettings Load(params (string Key, string Value)[] values) =>
        PanelSettings.Load(new ConfigurationBuilder().AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value))).Build());

    [Fact]
    public void Defaults_are_the_documented_ones()
    {
        var s = Load();
        Assert.Equal(Path.GetFullPath("./data"), s.DataDir);
        Assert.Equal("/var/run/docker.sock", s.DockerSocket);
        Assert.Equal("http://127.0.0.1:2019", s.CaddyAdminAddress);
        Assert.Equal("/etc/caddy/Caddyfile", s.CaddyCaddyfile);
        Assert.Equal(Path.Combine(Path.GetFullPath("./data"), "caddy", "sites"), s.CaddySitesDir);
        Assert.True(s.AutomaticHttps);
        Assert.Equal((3001, 9999), (s.PortFrom, s.PortTo));
        Assert.Equal(2, s.MaxParallelBuilds);
        Assert.Equal(300, s.WebhookDeliveriesPerMinute);
        Assert.Equal(1024L * 1024 * 1024, s.AppMemoryBytes);
        Assert.Equal(1_000_000_000, s.AppNanoCpus);
        Assert.Equal(512, s.AppPidsLimit);
        Assert.Equal((10, 3), (s.LogMaxSizeMb, s.LogMaxFiles));
        Assert.Equal((TimeSpan.FromSeconds(30), 3), (s.HealthProbeInterval, s.HealthFailuresBeforeAlert));
    }

    [Fact]
    public void App_limits_are_read_from_the_settings()
    {
        var s = Load(("Apps:MemoryMb", "256"), ("Apps:Cpus", "1.25"), ("Apps:PidsLimit", "64"), ("Apps:LogMaxSizeMb", "5"), ("Apps:LogMaxFiles", "2"), ("Apps:RestartPolicy", "on-failure"));
        Assert.Equal("on-failure", s.AppRestartPolicy);
        Assert.Equal(256L * 1024 * 1024, s.AppMemoryBytes);
        Assert.Equal(1_250_000_000, s.AppNanoCpus);
        Assert.Equal(64, s.AppPidsLimit);
        Assert.Equal((5, 2), (s.LogMaxSizeMb, s.LogMaxFiles));
    }

    [Theory]
    [InlineData("Deploy:PortRange", "abc")]
    [InlineData("Deploy:PortRange", "9000-3000")]
    [InlineData("Deploy:PortRange", "80-90")]
    [InlineData("Deploy:MaxParallelBuilds", "0")]
    [InlineData("Deploy:MaxParallelBuilds", "two")]
    [InlineData("Caddy:AutomaticHttps", "yes please")]
    [InlineData("Caddy:AdminAddress", "not a url")]
    [InlineData("Docker:Socket", "relative/docker.sock")]
    [InlineData("Panel:PublicUrl", "ftp://x")]
    [InlineData("Caddy:AcmeEmail", "not an email")]
    [InlineData("Caddy:AcmeEmail", "a@example.com {")]
    [InlineData("Caddy:AcmeEmail", "a@example.com\n}\nevil.test {")]
    [InlineData("Caddy:InternalTls", "maybe")]
    [InlineData("Webhooks:MaxDeliveriesPerMinute", "0")]
    [InlineData("Webhooks:MaxDeliveriesPerMinute", "lots")]
    [InlineData("Apps:MemoryMb", "5")]
    [InlineData("Apps:MemoryMb", "1g")]
    [InlineData("Apps:Cpus", "0")]
    [InlineData("Apps:Cpus", "0.005")]
    [InlineData("Apps:Cpus", "1,5")]
    [InlineData("Apps:Cpus", "-1")]
    [InlineData("Apps:PidsLimit", "8")]
    [InlineData("Apps:RestartPolicy", "sometimes")]
    [InlineData("Apps:LogMaxSizeMb", "0")]
    [InlineData("Apps:LogMaxFiles", "101")]
    [InlineData("Deploy:CaddyRetrySeconds", "-1")]
    [InlineData("Deploy:CaddyRetrySeconds", "3601")]
    [InlineData("Deploy:CaddyRetrySeconds", "2m")]
    [InlineData("Deploy:ReconcileSeconds", "1")]
    [InlineData("Deploy:ReconcileSeconds", "soon")]
    [InlineData("Build:Builder", "kaniko")]
    [InlineData("Build:Builder", "")]
    [InlineData("Build:DockerCli", "docker")]
    [InlineData("Health:ProbeSeconds", "0")]
    [InlineData("Health:ProbeSeconds", "30s")]
    [InlineData("Health:FailuresBeforeAlert", "0")]
    [InlineData("Health:FailuresBeforeAlert", "1001")]
    public void An_invalid_value_names_the_key_and_what_is_allowed(string key, string value)
    {
        var e = Assert.Throws<SettingsException>(() => Load((key, value)));
        Assert.Contains(key, e.Message);
        Assert.Contains("expected", e.Message);
    }

    [Fact]
    public async Task The_panel_stops_at_startup_on_an_invalid_setting_with_the_key_in_the_message()
    {
        var dir = Paths.NewTempDir();
        try
        {
            var r = await PanelCli.RunAsync(["--urls", $"http://127.0.0.1:{Paths.FreePort()}"],
                env: new Dictionary<string, string> { ["Panel__DataDir"] = dir, ["Deploy__PortRange"] = "70000-80000" });
            Assert.Equal(2, r.ExitCode);
            Assert.Contains("Deploy:PortRange", r.Stderr);
            Assert.Contains("1024", r.Stderr);
        }
        finally { Paths.DeleteQuietly(dir); }
    }

    [Fact]
    public async Task Config_prints_effective_settings_from_env_and_masks_secrets()
    {
        var dir = Paths.NewTempDir();
        try
        {
            var r = await PanelCli.RunAsync(["config", "--data-dir", dir], env: new Dictionary<string, string>
            {
                ["Deploy__MaxParallelBuilds"] = "5",
                ["VpsPanel__Caddy__AutomaticHttps"] = "false",
                ["Auth__SetupToken"] = "super-secret-setup-token-value",
            });
            Assert.Equal(0, r.ExitCode);
            Assert.Contains("Deploy:MaxParallelBuilds = 5", r.Stdout);
            Assert.Contains("Caddy:AutomaticHttps = false", r.Stdout);
            Assert.Contains($"Panel:DataDir = {dir}", r.Stdout);
            Assert.Contains($"Caddy:SitesDir = {Path.Combine(dir, "caddy", "sites")}", r.Stdout);
            Assert.Contains("Auth:SetupToken = ********", r.Stdout);
            Assert.DoesNotContain("super-secret-setup-token-value", r.Stdout);
        }
        finally { Paths.DeleteQuietly(dir); }
    }

    [Fact]
    public async Task Config_with_an_invalid_setting_fails_on_stderr()
    {
        var r = await PanelCli.RunAsync(["config"], env: new Dictionary<string, string> { ["Deploy__MaxParallelBuilds"] = "-1" });
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("Deploy:MaxParallelBuilds", r.Stderr);
    }
}
