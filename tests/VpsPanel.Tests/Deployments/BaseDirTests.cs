using System.Net;
using VpsPanel.Tests.Api;
using VpsPanel.Tests.Harness;

namespace VpsPanel.Tests.Deployments;

/// <summary>
/// Issue 14: a project's base directory (monorepos). The build context and the Dockerfile path are relative to it; one
/// outside the repository is refused when saved (as text, on the page and through the API) and, when a committed
/// symbolic link leads out, when deployed. Real repository, real engine, real Caddy.
/// </summary>
public sealed class BaseDirTests
{
    [Fact]
    public async Task A_monorepo_app_deploys_from_its_base_directory_and_one_outside_the_repository_is_refused_on_save_and_at_deploy()
    {
        await using var env = await DeployEnv.StartAsync();
        using var api = await TestApi.ForUserAsync(env.Panel, PanelSetup.AdminEmail);
        using var repo = TestRepo.WithBusyboxApp("root app", env.Label);
        TestDocker.WriteBusyboxApp(Path.Combine(repo.Work, "apps", "web"), "web app", extraDockerfile: $"LABEL {TestDocker.TestLabel}={env.Label}");
        File.CreateSymbolicLink(Path.Combine(repo.Work, "apps", "up"), "../..");
        File.CreateSymbolicLink(Path.Combine(repo.Work, "apps", "etc"), "/etc");
        repo.CommitAll("a monorepo with links out");

        // As text, on the page: nothing is created and the form keeps what was typed.
        foreach (var (value, message) in new[] { ("../x", "must stay inside the repository"), ("/srv/app", "must be relative to the repository root"), ("apps/../..", "must stay inside") })
        {
            var fields = DeployEnv.ProjectFields(env.Name("bad"), repo.Bare, $"{env.Name("bad")}.test");
            fields["baseDir"] = value;
            var page = await env.Client.SubmitAsync("/projects/new", fields);
            Assert.Equal(HttpStatusCode.UnprocessableEntity, page.Status);
            Assert.Contains(message, page.Doc.QuerySelector("#baseDir ~ .field-error")!.TextContent);
            Assert.Equal(value, page.Doc.QuerySelector("#baseDir")!.GetAttribute("value"));
        }
        Assert.Empty((await api.GetAsync("/api/projects")).AsArray());

        var fieldsWeb = DeployEnv.ProjectFields(env.Name("web"), repo.Bare, $"{env.Name("web")}.test");
        fieldsWeb["baseDir"] = "apps/web/";
        var project = await env.CreateProjectAsync(fieldsWeb);
        var slug = env.Name("web");
        Assert.Equal("apps/web", (string)(await api.GetAsync($"/api/projects/{slug}"))["baseDir"]!);
        var d = await env.DeployAsync(project);
        await env.WaitForLiveAsync(d);
        Assert.Equal("web app", await env.ServedAsync($"{slug}.test"));

        // As text, through the API: 422 naming the field, and the saved value stays.
        var bad = TestApi.Problem(await api.SendAsync(HttpMethod.Patch, $"/api/projects/{slug}", """{"baseDir":"../other"}"""), HttpStatusCode.UnprocessableEntity);
        Assert.Contains("must stay inside the repository", (string)bad["errors"]!["baseDir"]![0]!);
        bad = TestApi.Problem(await api.SendAsync(HttpMethod.Patch, $"/api/projects/{slug}", """{"baseDir":"/etc"}"""), HttpStatusCode.UnprocessableEntity);
        Assert.Contains("must be relative", (string)bad["errors"]!["baseDir"]![0]!);
        Assert.Equal("apps/web", (string)(await api.GetAsync($"/api/projects/{slug}"))["baseDir"]!);

        // Through a committed link: fine as text, refused at deploy; the live app keeps serving.
        foreach (var link in new[] { "apps/up", "apps/etc" })
        {
            var saved = await api.SendAsync(HttpMethod.Patch, $"/api/projects/{slug}", $$"""{"baseDir":"{{link}}"}""");
            Assert.True(saved.Status == HttpStatusCode.OK, $"{saved.Status}: {saved.Body}");
            var failed = await env.DeployAsync(project);
            Assert.Equal("failed", await env.WaitForEndAsync(failed));
            var error = (await env.Client.GetAsync($"/deployments/{failed}")).Text("#deploy-error")!;
            Assert.Contains($"the base directory \"{link}\" leads outside the repository (through a symbolic link)", error);
            Assert.Contains("Failed at building", error);
            Assert.Equal("web app", await env.ServedAsync($"{slug}.test"));
        }

        // Back to the root ("" through the API): the root app builds.
        var root = await api.SendAsync(HttpMethod.Patch, $"/api/projects/{slug}", """{"baseDir":""}""");
        Assert.True(root.Status == HttpStatusCode.OK, $"{root.Status}: {root.Body}");
        Assert.Null(root.Body!["baseDir"]);
        var again = await env.DeployAsync(project);
        await env.WaitForLiveAsync(again);
        Assert.Equal("root app", await env.ServedAsync($"{slug}.test"));
    }
}
