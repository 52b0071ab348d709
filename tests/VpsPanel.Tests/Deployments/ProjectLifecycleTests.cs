using System.Net;
using VpsPanel.Tests.Harness;

namespace VpsPanel.Tests.Deployments;

public sealed class ProjectLifecycleTests
{
    [Fact]
    public async Task Redeploy_an_older_commit_then_delete_the_project_and_everything_it_had_on_the_machine()
    {
        await using var env = await DeployEnv.StartAsync();
        using var repo = TestRepo.WithBusyboxApp("life v1", env.Label);
        var v1Sha = TestRepo.Run(repo.Work, "rev-parse", "HEAD").Trim();
        var domain = $"{env.Name()}.test";
        var name = env.Name();
        var project = await env.CreateProjectAsync(repo, domain, name);

        var d1 = await env.DeployAsync(project);
        await env.WaitForLiveAsync(d1);
        repo.CommitApp("life v2", env.Label, "v2");
        var d2 = await env.DeployAsync(project);
        await env.WaitForLiveAsync(d2);
        Assert.Equal("life v2", await env.ServedAsync(domain));

        // "Redeploy this commit" on the first deployment: a new build of exactly that commit.
        var target = await env.DeploymentActionAsync(d1, "Redeploy");
        var d3 = long.Parse(target.Split('/').Last());
        await env.WaitForLiveAsync(d3);
        Assert.Equal("life v1", await env.ServedAsync(domain));
        var d3Page = await env.Client.GetAsync($"/deployments/{d3}");
        Assert.Contains(v1Sha[..7], d3Page.Html);
        Assert.Contains("building", await env.LogAsync(d3));

        // Delete: a wrong confirmation deletes nothing.
        var slug = name;
        var wrong = await env.Client.SubmitAsync($"/projects/{project}/edit", new() { ["confirm"] = "not-the-slug" }, $"/projects/{project}/edit?handler=Delete");
        Assert.Equal(HttpStatusCode.UnprocessableEntity, wrong.Status);
        Assert.Contains("to confirm", wrong.Text(".field-error"));
        Assert.Equal("life v1", await env.ServedAsync(domain));
        Assert.NotEmpty(await env.PanelContainersAsync());

        var deleted = await env.Client.SubmitAsync($"/projects/{project}/edit", new() { ["confirm"] = slug }, $"/projects/{project}/edit?handler=Delete");
        Assert.Equal(HttpStatusCode.SeeOther, deleted.Status);
        Assert.Equal(HttpStatusCode.NotFound, (await env.Client.GetAsync($"/projects/{project}")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await env.Client.GetAsync($"/deployments/{d1}")).Status);
        Assert.Empty(await env.PanelContainersAsync());
        // With no site left, Caddy may not even listen on its HTTP port: either way, nothing serves the app.
        string after;
        try { after = await env.ServedAsync(domain); } catch (HttpRequestException) { after = "no listener"; }
        Assert.NotEqual("life v1", after);
        Assert.Empty(Directory.GetFiles(env.Caddy.SitesDir, $"{slug}.*"));
        using var docker = TestDocker.Client();
        Assert.Empty(await TestDocker.ImagesAsync(docker, env.PanelLabel, $"vpspanel.project={slug}"));
        Assert.DoesNotContain(slug, (await env.Client.GetAsync("/projects")).Html);
    }
}
