using VpsPanel.Features.Caddy;
using VpsPanel.Tests.Harness;

namespace VpsPanel.Tests.Caddy;

/// <summary>The site file is a pure function of the project's domains, options and upstream port: tested by exact text.</summary>
public sealed class CaddySiteTests
{
    const string Proxy3005 = "\treverse_proxy 127.0.0.1:3005 {\n\t\tlb_try_duration 10s\n\t\tlb_try_interval 250ms\n\t}\n";
    const string Header = "# Managed by VpsPanel for project shop. Regenerated from the panel's database: edits here are overwritten.\n";
    static readonly TlsOptions Https = new(AutomaticHttps: true);
    static readonly TlsOptions Http = new(AutomaticHttps: false);

    static ProjectSite Shop(bool redirectAliases = false, bool redirectWww = false, params SiteDomain[] domains) =>
        new("shop", domains.Length > 0 ? domains : [new("shop.example.com"), new("shop.example.net")], redirectAliases, redirectWww, 3005);

    [Fact]
    public void Aliases_served_share_one_block_with_the_primary()
    {
        Assert.Equal(
            Header +
            "shop.example.com, shop.example.net {\n" + Proxy3005 + "}\n",
            CaddySite.Render(Shop(), Https));
    }

    [Fact]
    public void Aliases_redirected_answer_308_to_the_primary_with_the_path()
    {
        Assert.Equal(
            Header +
            "shop.example.com {\n" + Proxy3005 + "}\n" +
            "shop.example.net, shop.example.org {\n" +
            "\tredir https://shop.example.com{uri} 308\n" +
            "}\n",
            CaddySite.Render(Shop(redirectAliases: true, domains: [new("shop.example.com"), new("shop.example.net"), new("shop.example.org")]), Https));
    }

    [Fact]
    public void Automatic_https_off_renders_every_name_as_http()
    {
        Assert.Equal(
            Header +
            "http://shop.example.com {\n" + Proxy3005 + "}\n" +
            "http://shop.example.net {\n" +
            "\tredir http://shop.example.com{uri} 308\n" +
            "}\n",
            CaddySite.Render(Shop(redirectAliases: true), Http));
    }

    [Fact]
    public void Http_only_domains_get_their_own_http_block_without_tls_and_IPs_are_fine_there()
    {
        Assert.Equal(
            Header +
            "shop.example.com {\n" +
            "\ttls internal\n" +
            Proxy3005 + "}\n" +
            "http://shop.internal.lan, http://192.168.1.10, http://[fd00::1] {\n" + Proxy3005 + "}\n",
            CaddySite.Render(Shop(domains: [new("shop.example.com"), new("shop.internal.lan", true), new("192.168.1.10", true), new("[fd00::1]", true)]),
                new TlsOptions(true, InternalTls: true)));
    }

    [Fact]
    public void An_http_only_primary_is_the_http_target_of_redirects()
    {
        Assert.Equal(
            Header +
            "http://shop.lan {\n" + Proxy3005 + "}\n" +
            "shop.example.com {\n" +
            "\tredir http://shop.lan{uri} 308\n" +
            "}\n",
            CaddySite.Render(Shop(redirectAliases: true, domains: [new("shop.lan", true), new("shop.example.com")]), Https));
    }

    [Fact]
    public void Www_to_apex_when_the_primary_is_the_apex()
    {
        Assert.Equal(
            Header +
            "example.com {\n" + Proxy3005 + "}\n" +
            "www.example.com {\n" +
            "\tredir https://example.com{uri} 308\n" +
            "}\n",
            CaddySite.Render(Shop(redirectWww: true, domains: [new("example.com")]), Https));
    }

    [Fact]
    public void Apex_to_www_when_the_primary_is_www_and_a_listed_counterpart_is_redirected_not_served()
    {
        Assert.Equal(
            Header +
            "www.example.com, shop.example.net {\n" + Proxy3005 + "}\n" +
            "example.com {\n" +
            "\tredir https://www.example.com{uri} 308\n" +
            "}\n",
            CaddySite.Render(Shop(redirectWww: true, domains: [new("www.example.com"), new("shop.example.net"), new("example.com")]), Https));
    }

    [Fact]
    public void Default_domain_is_one_more_alias_and_the_acme_email_goes_on_every_https_block()
    {
        // The caller appends the default domain (<slug>.<base>) to the list; it then follows the alias mode.
        Assert.Equal(
            Header +
            "shop.example.com {\n" +
            "\ttls ops@example.com\n" +
            Proxy3005 + "}\n" +
            "shop.apps.example.org {\n" +
            "\ttls ops@example.com\n" +
            "\tredir https://shop.example.com{uri} 308\n" +
            "}\n",
            CaddySite.Render(Shop(redirectAliases: true, domains: [new("shop.example.com"), new("shop.apps.example.org")]), new TlsOptions(true, AcmeEmail: "ops@example.com")));
    }

    [Fact]
    public void Only_a_default_domain()
    {
        Assert.Equal(
            Header + "shop.apps.example.org {\n" + Proxy3005 + "}\n",
            CaddySite.Render(Shop(domains: [new("shop.apps.example.org")]), Https));
    }

    [Fact]
    public void A_wildcard_name_gets_certificates_on_demand()
    {
        Assert.Equal(
            Header +
            "*.shop.example.com, shop.example.com {\n" +
            "\ttls {\n\t\ton_demand\n\t}\n" +
            Proxy3005 + "}\n",
            CaddySite.Render(Shop(domains: [new("*.shop.example.com"), new("shop.example.com")]), Https));
    }

    [Fact]
    public void The_panel_site_proxies_to_the_panel_itself()
    {
        Assert.Equal(
            "# Managed by VpsPanel: the panel's own site (Settings → panel domain). Edits here are overwritten.\n" +
            "panel.example.com {\n" +
            "\treverse_proxy 127.0.0.1:8080\n" +
            "}\n",
            CaddySite.RenderPanel("panel.example.com", "127.0.0.1:8080", Https));
        Assert.Equal(
            "# Managed by VpsPanel: the panel's own site (Settings → panel domain). Edits here are overwritten.\n" +
            "http://panel.example.com {\n" +
            "\treverse_proxy 127.0.0.1:8080\n" +
            "}\n",
            CaddySite.RenderPanel("panel.example.com", "127.0.0.1:8080", Http));
    }

    /// <summary>Every shape above is a Caddyfile the real Caddy accepts (its /adapt endpoint, nothing loaded).</summary>
    [Fact]
    public async Task Every_rendered_option_is_accepted_by_real_Caddy()
    {
        await using var caddy = await TestCaddy.StartAsync();
        var admin = new CaddyAdmin(caddy.AdminAddress);
        var texts = new[]
        {
            CaddySite.Render(Shop(), Https),
            CaddySite.Render(Shop(redirectAliases: true), Http),
            CaddySite.Render(Shop(domains: [new("shop.example.com"), new("shop.internal.lan", true), new("192.168.1.10", true), new("[fd00::1]", true)]), new TlsOptions(true, InternalTls: true)),
            CaddySite.Render(Shop(redirectAliases: true, domains: [new("shop.lan", true), new("shop.example.com")]), Https),
            CaddySite.Render(Shop(redirectWww: true, domains: [new("www.example.com"), new("shop.example.net"), new("example.com")]), Https),
            CaddySite.Render(Shop(redirectAliases: true, domains: [new("shop.example.com"), new("shop.apps.example.org")]), new TlsOptions(true, AcmeEmail: "ops@example.com")),
            CaddySite.Render(Shop(domains: [new("*.shop.example.com"), new("shop.example.com")]), new TlsOptions(true, InternalTls: true)),
            CaddySite.RenderPanel("panel.example.com", "127.0.0.1:8080", Https),
        };
        foreach (var t in texts) await admin.AdaptAsync(t, CancellationToken.None);
    }
}
