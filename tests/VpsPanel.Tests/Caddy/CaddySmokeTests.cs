using VpsPanel.Features.Caddy;
using VpsPanel.Tests.Harness;

namespace VpsPanel.Tests.Caddy;

/// <summary>Proves the harness and the panel's Caddy admin client against a real Caddy on loopback ports.</summary>
public sealed class CaddySmokeTests
{
    [Fact]
    public async Task Load_a_config_through_the_admin_API_and_route_a_request_by_host()
    {
        await using var caddy = await TestCaddy.StartAsync();
        var admin = new CaddyAdmin(caddy.AdminAddress);
        await admin.PingAsync(CancellationToken.None);

        // A site file in the imported directory, then the main Caddyfile loaded through the admin API.
        File.WriteAllText(Path.Combine(caddy.SitesDir, "smoke.caddy"), "http://smoke.test {\n\trespond \"smoke ok\" 200\n}\n");
        await admin.LoadAsync(File.ReadAllText(caddy.CaddyfilePath), CancellationToken.None);

        using var res = await caddy.GetAsync("smoke.test");
        Assert.Equal(200, (int)res.StatusCode);
        Assert.Equal("smoke ok", await res.Content.ReadAsStringAsync());

        using var other = await caddy.GetAsync("other.test");
        Assert.NotEqual("smoke ok", await other.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_bad_config_is_refused_and_the_running_one_keeps_serving()
    {
        await using var caddy = await TestCaddy.StartAsync();
        var admin = new CaddyAdmin(caddy.AdminAddress);
        File.WriteAllText(Path.Combine(caddy.SitesDir, "a.caddy"), "http://a.test {\n\trespond \"a\" 200\n}\n");
        await admin.LoadAsync(caddy.MainCaddyfile, CancellationToken.None);

        var e = await Assert.ThrowsAsync<CaddyException>(() => admin.LoadAsync(caddy.MainCaddyfile + "\nhttp://b.test {\n\tnot_a_directive\n}\n", CancellationToken.None));
        Assert.Contains(caddy.AdminAddress, e.Message);
        using var res = await caddy.GetAsync("a.test");
        Assert.Equal("a", await res.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task An_unreachable_admin_API_is_a_clear_error_naming_the_address()
    {
        var admin = new CaddyAdmin($"http://127.0.0.1:{Paths.FreePort()}");
        var e = await Assert.ThrowsAsync<CaddyException>(() => admin.PingAsync(CancellationToken.None));
        Assert.Contains(admin.Address, e.Message);
    }
}
