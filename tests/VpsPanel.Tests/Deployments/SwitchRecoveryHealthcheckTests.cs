using VpsPanel.Tests.Harness;

namespace VpsPanel.Tests.Deployments;

/// <summary>
/// The switch recovery judges the new container by the deploy's own health rule (HealthCheck.DockerDecides): with no
/// health path set, an image with its own HEALTHCHECK is healthy when Docker says so, even if GET / would not answer.
/// </summary>
public sealed class SwitchRecoveryHealthcheckTests
{
    [Fact]
    public async Task Kill_9_mid_switch_of_an_image_with_its_own_HEALTHCHECK_and_no_health_path_finishes_the_switch_by_Dockers_health_status()
    {
        var caddy = await TestCaddy.StartAsync();
        await using var proxy = new ReliabilityTests.LoadHoldingProxy(caddy.AdminAddress);
        await using var env = await DeployEnv.StartAsync(new Dictionary<string, string> { ["Caddy__AdminAddress"] = proxy.Address }, caddy);
        using var repo = TestRepo.WithBusyboxApp("v1", env.Label);
        var domain = $"{env.Name()}.test";
        var fields = DeployEnv.ProjectFields(env.Name(), repo.Bare, domain);
        fields["healthPath"] = "";
        var project = await env.CreateProjectAsync(fields);
        var v1 = await env.DeployAsync(project);
        await env.WaitForLiveAsync(v1);

        // v2 answers GET / with 404 (no index.html) and /ok.txt with 200; its HEALTHCHECK asks /ok.txt.
        repo.CommitDockerfile($$"""
            FROM scratch
            COPY busybox /bin/busybox
            LABEL {{TestDocker.TestLabel}}={{env.Label}}
            RUN ["/bin/busybox", "sh", "-c", ": {{env.Label}}; /bin/busybox mkdir -p /srv && echo v2 > /srv/ok.txt"]
            HEALTHCHECK --interval=1s --timeout=2s --retries=3 CMD ["/bin/busybox", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/ok.txt"]
            EXPOSE 8080
            CMD ["/bin/busybox", "httpd", "-f", "-p", "8080", "-h", "/srv"]

            """, "v2 with its own HEALTHCHECK and no page at /");
        proxy.HoldLoads = true;
        var v2 = await env.DeployAsync(project);
        await proxy.LoadHeld.WaitAsync(TimeSpan.FromSeconds(180));
        Assert.Equal("switching", await env.StatusAsync(v2));
        Assert.Contains("healthy", await env.LogAsync(v2));
        env.Panel.KillHard();
        proxy.HoldLoads = false;
        await env.RestartHardAsync();

        await env.WaitForLiveAsync(v2, TimeSpan.FromSeconds(60));
        Assert.Contains("the switch was finished", await env.LogAsync(v2));
        Assert.Equal("retired", await env.StatusAsync(v1));
        using var ok = await env.Caddy.GetAsync(domain, "/ok.txt");
        Assert.Equal("v2", (await ok.Content.ReadAsStringAsync()).Trim());
        Assert.Equal("HTTP 404", await env.ServedAsync(domain));
    }
}
