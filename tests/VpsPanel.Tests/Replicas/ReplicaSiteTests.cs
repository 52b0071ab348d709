using VpsPanel.Features.Caddy;

namespace VpsPanel.Tests.Replicas;

/// <summary>The site file of a project with replicas: one reverse_proxy over every replica's port, tested by exact text.</summary>
public sealed class ReplicaSiteTests
{
    const string Header = "# Managed by VpsPanel for project shop. Regenerated from the panel's database: edits here are overwritten.\n";
    static readonly TlsOptions Http = new(AutomaticHttps: false);

    static ProjectSite Shop(IReadOnlyList<int>? others, string? healthUri) =>
        new("shop", [new SiteDomain("shop.example.com")], false, false, 3005, null, others, healthUri);

    [Fact]
    public void Replicas_are_balanced_round_robin_with_retries_and_passive_and_active_health_checks()
    {
        Assert.Equal(
            Header +
            "http://shop.example.com {\n" +
            "\treverse_proxy 127.0.0.1:3005 127.0.0.1:3006 127.0.0.1:3010 {\n" +
            "\t\tlb_policy round_robin\n" +
            "\t\tlb_try_duration 10s\n" +
            "\t\tlb_try_interval 250ms\n" +
            "\t\tfail_duration 10s\n" +
            "\t\tmax_fails 1\n" +
            "\t\thealth_uri /healthz?deep=1\n" +
            "\t\thealth_interval 2s\n" +
            "\t\thealth_timeout 2s\n" +
            "\t}\n" +
            "}\n",
            CaddySite.Render(Shop([3006, 3010], "/healthz?deep=1"), Http));
    }

    [Fact]
    public void Without_a_probed_path_only_passive_checks_and_one_replica_renders_as_before_replicas()
    {
        Assert.DoesNotContain("health_uri", CaddySite.Render(Shop([3006], null), Http));
        Assert.Contains("\treverse_proxy 127.0.0.1:3005 127.0.0.1:3006 {\n\t\tlb_policy round_robin\n", CaddySite.Render(Shop([3006], null), Http));
        Assert.Equal(CaddySite.Render(Shop(null, null), Http), CaddySite.Render(Shop([], "/"), Http));
        Assert.Contains("\treverse_proxy 127.0.0.1:3005 {\n\t\tlb_try_duration 10s\n\t\tlb_try_interval 250ms\n\t}\n", CaddySite.Render(Shop(null, null), Http));
    }

    [Fact]
    public void A_health_path_that_could_be_Caddyfile_syntax_is_refused()
    {
        Assert.Throws<ArgumentException>(() => CaddySite.Render(Shop([3006], "/a b"), Http));
        Assert.Throws<ArgumentException>(() => CaddySite.Render(Shop([3006], "/{env.X}"), Http));
    }
}
