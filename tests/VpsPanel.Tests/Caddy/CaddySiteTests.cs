using VpsPanel.Features.Caddy;

namespace VpsPanel.Tests.Caddy;

/// <summary>The site file is a pure function of the project's domains and upstream port: tested by exact text.</summary>
public sealed class CaddySiteTests
{
    [Fact]
    public void Renders_plain_http_sites_when_automatic_https_is_off()
    {
        Assert.Equal(
            "# Managed by VpsPanel for project shop. Regenerated on every deploy: edits here are overwritten.\n" +
            "http://shop.example.com, http://www.shop.example.com {\n" +
            "\treverse_proxy 127.0.0.1:3005 {\n" +
            "\t\tlb_try_duration 10s\n" +
            "\t\tlb_try_interval 250ms\n" +
            "\t}\n" +
            "}\n",
            CaddySite.Render("shop", ["shop.example.com", "www.shop.example.com"], 3005, automaticHttps: false));
    }

    [Fact]
    public void Renders_bare_hostnames_when_Caddy_manages_https()
    {
        Assert.Equal(
            "# Managed by VpsPanel for project blog. Regenerated on every deploy: edits here are overwritten.\n" +
            "blog.example.org {\n" +
            "\treverse_proxy 127.0.0.1:4000 {\n" +
            "\t\tlb_try_duration 10s\n" +
            "\t\tlb_try_interval 250ms\n" +
            "\t}\n" +
            "}\n",
            CaddySite.Render("blog", ["blog.example.org"], 4000, automaticHttps: true));
    }
}
