using Microsoft.Extensions.Configuration;
using VpsPanel.Features.Caddy;
using VpsPanel.Features.Deployments;
using VpsPanel.Features.Projects;
using VpsPanel.Features.Settings;
using VpsPanel.Tests.Harness;

namespace VpsPanel.Tests.Deployments;

/// <summary>
/// Issue 14: which checkouts are plain static sites (StaticSiteDeploy.FindPlainStaticSite), the site file that serves
/// one (exact text, and Caddy 2.6.2's own /adapt accepts it), the health check of files, and the Caddy:StaticDir setting.
/// </summary>
public sealed class StaticSiteDetectionTests : IDisposable
{
    readonly string _dir = Paths.NewTempDir("vpspanel-static-detect-");
    string Checkout => Path.Combine(_dir, "checkout");

    static ProjectConfig Config(string dockerfile = "Dockerfile", string context = ".") =>
        new("https://git.example.com/a.git", "main", dockerfile, context, 8080, "/", []);

    void Write(string rel, string text = "x")
    {
        var path = Path.Combine(Checkout, rel);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
    }

    public StaticSiteDetectionTests() => Directory.CreateDirectory(Checkout);

    public void Dispose() => Paths.DeleteQuietly(_dir);

    [Fact]
    public void An_index_html_with_no_Dockerfile_and_no_build_manifest_is_a_plain_static_site()
    {
        Write("index.html", "<h1>hi</h1>");
        Write("style.css");
        Write(".well-known/security.txt");
        Assert.True(StaticSiteDeploy.IsPlainStatic(Checkout, Config()));
        Assert.Equal(Checkout, StaticSiteDeploy.FindPlainStaticSite(Checkout, Config()));
    }

    [Theory]
    [InlineData("package.json")]
    [InlineData("requirements.txt")]
    [InlineData("pyproject.toml")]
    [InlineData("go.mod")]
    [InlineData("Cargo.toml")]
    [InlineData("composer.json")]
    [InlineData("Gemfile")]
    [InlineData("Web.csproj")]
    // Nested projects too: the rule is StackDetection.IsPlainStatic, the one the project page and the API use.
    [InlineData("src/Web/Web.fsproj")]
    [InlineData("Dockerfile")]
    public void A_build_manifest_or_a_Dockerfile_means_it_is_not(string file)
    {
        Write("index.html");
        Write(file);
        Assert.False(StaticSiteDeploy.IsPlainStatic(Checkout, Config()));
    }

    [Fact]
    public void No_index_html_a_linked_index_a_dangling_Dockerfile_link_or_a_context_outside_the_checkout_is_not_static()
    {
        Write("about.html");
        Assert.False(StaticSiteDeploy.IsPlainStatic(Checkout, Config()));

        File.CreateSymbolicLink(Path.Combine(Checkout, "index.html"), "about.html");
        Assert.False(StaticSiteDeploy.IsPlainStatic(Checkout, Config()));
        File.Delete(Path.Combine(Checkout, "index.html"));
        Write("index.html");
        Assert.True(StaticSiteDeploy.IsPlainStatic(Checkout, Config()));

        // A Dockerfile path that is a link, even to nowhere, is the Docker path's to judge (and to refuse).
        File.CreateSymbolicLink(Path.Combine(Checkout, "Dockerfile"), "/nonexistent/Dockerfile");
        Assert.False(StaticSiteDeploy.IsPlainStatic(Checkout, Config()));
        File.Delete(Path.Combine(Checkout, "Dockerfile"));

        // The site is the build context directory; one that leads out of the checkout is never served.
        var outside = Path.Combine(_dir, "outside");
        Directory.CreateDirectory(outside);
        File.WriteAllText(Path.Combine(outside, "index.html"), "host file");
        File.CreateSymbolicLink(Path.Combine(Checkout, "site"), outside);
        Assert.False(StaticSiteDeploy.IsPlainStatic(Checkout, Config(context: "site")));
        Assert.False(StaticSiteDeploy.IsPlainStatic(Checkout, Config(context: "../outside")));

        Write("public/index.html");
        Assert.Equal(Path.Combine(Checkout, "public"), StaticSiteDeploy.FindPlainStaticSite(Checkout, Config(context: "public")));
        Assert.True(StaticSiteDeploy.IsPlainStatic(Checkout, Config(dockerfile: "docker/Dockerfile")));
    }

    [Fact]
    public async Task The_site_file_of_a_static_site_serves_its_directory_and_Caddy_accepts_it()
    {
        var site = new ProjectSite("blog", [new("blog.example.com"), new("www.blog.example.com")], RedirectAliases: true, RedirectWww: false, 0,
            StaticRoot: "/var/lib/vpspanel-caddy/static/blog/42");
        var text = CaddySite.Render(site, new TlsOptions(AutomaticHttps: true));
        Assert.Equal(
            "# Managed by VpsPanel for project blog. Regenerated from the panel's database: edits here are overwritten.\n" +
            "blog.example.com {\n\troot * /var/lib/vpspanel-caddy/static/blog/42\n\tfile_server\n}\n" +
            "www.blog.example.com {\n\tredir https://blog.example.com{uri} 308\n}\n",
            text);

        await using var caddy = await TestCaddy.StartAsync();
        await new CaddyAdmin(caddy.AdminAddress).AdaptAsync(text, CancellationToken.None);
    }

    [Theory]
    [InlineData("/var/lib/vpspanel-caddy/static", true)]
    [InlineData("/srv/www_1/static.d/a+b@c~d=e,f", true)]
    [InlineData("relative/static", false)]
    [InlineData("/srv/my static", false)]
    [InlineData("/srv/{host}", false)]
    [InlineData("/srv/a\"b", false)]
    [InlineData("/srv/#x", false)]
    [InlineData("/srv/../etc", false)]
    [InlineData("/srv/a\\b", false)]
    [InlineData("/srv/a\nb", false)]
    public void Only_a_plain_absolute_path_can_be_a_static_root(string path, bool safe)
    {
        Assert.Equal(safe, StaticSiteDeploy.IsSafeRoot(path));
        string Render() => CaddySite.Render(new ProjectSite("a", [new("a.example.com")], false, false, 0, path), new TlsOptions(false));
        if (safe) Assert.Contains($"\troot * {path}\n", Render());
        else Assert.Throws<ArgumentException>(Render);
    }

    static PanelSettings Load(params (string Key, string Value)[] values) =>
        PanelSettings.Load(new ConfigurationBuilder().AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value))).Build());

    [Fact]
    public void Caddy_StaticDir_defaults_to_a_folder_beside_the_sites_dir_and_a_bad_one_names_the_key()
    {
        Assert.Equal("/var/lib/vpspanel-caddy/static", Load(("Caddy:SitesDir", "/var/lib/vpspanel-caddy/sites")).StaticDir);
        Assert.Equal("/srv/vp/caddy/static", Load(("Panel:DataDir", "/srv/vp")).StaticDir);
        Assert.Equal("/srv/files", Load(("Caddy:StaticDir", "/srv/files")).StaticDir);
        foreach (var bad in new[] { "static", "/srv/my files", "/srv/{x}" })
        {
            var e = Assert.Throws<SettingsException>(() => Load(("Caddy:StaticDir", bad)));
            Assert.Contains("Caddy:StaticDir", e.Message);
            Assert.Contains("expected", e.Message);
        }
    }

    [Fact]
    public void The_health_check_of_files_maps_paths_as_file_server_does_and_never_leaves_the_site()
    {
        Write("index.html", "home");
        Write("docs/index.html", "docs");
        Write("health.txt", "ok");
        Assert.StartsWith("index.html (4 bytes)", StaticSiteDeploy.CheckHealthPath(Checkout, "/"));
        Assert.StartsWith("docs/index.html", StaticSiteDeploy.CheckHealthPath(Checkout, "/docs"));
        Assert.StartsWith("docs/index.html", StaticSiteDeploy.CheckHealthPath(Checkout, "/docs/?x=1"));
        Assert.StartsWith("health.txt", StaticSiteDeploy.CheckHealthPath(Checkout, "/health.txt"));
        Assert.Contains("404", Assert.Throws<DeployFailure>(() => StaticSiteDeploy.CheckHealthPath(Checkout, "/healthz")).Message);
        Assert.Contains("outside", Assert.Throws<DeployFailure>(() => StaticSiteDeploy.CheckHealthPath(Checkout, "/%2e%2e/x")).Message);
    }
}
