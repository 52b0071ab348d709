using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Dapper;
using VpsPanel.Features.Data;
using VpsPanel.Features.Projects;
using VpsPanel.Tests.Api;
using VpsPanel.Tests.Deployments;
using VpsPanel.Tests.Harness;
using VpsPanel.Tests.Webhooks;

namespace VpsPanel.Tests.Projects;

/// <summary>
/// Issue 18, environments: a project with production on main and staging on develop. Signed pushes to each branch
/// deploy each environment, each container with its own variable values (the project's inherited, staging's own
/// winning); promote starts staging's image in production without a build, with production's variables; bad names,
/// a branch already taken and an unknown environment are refused clearly. Real git, engine, Caddy and webhooks.
/// </summary>
public sealed class EnvironmentTests
{
    static async Task<JsonNode> PushAsync(TestApi api, string slug, string secret, string branch, string sha)
    {
        var body = Encoding.UTF8.GetBytes(new JsonObject
        {
            ["ref"] = $"refs/heads/{branch}", ["before"] = new string('0', 40), ["after"] = sha,
            ["head_commit"] = new JsonObject { ["id"] = sha, ["message"] = "push", ["author"] = new JsonObject { ["name"] = "Test Author" } },
        }.ToJsonString());
        var (status, answer) = await WebhookEndpointTests.PostAsync(api.Http, $"/webhooks/{slug}", body, WebhookEndpointTests.Signed("github", body, secret));
        Assert.True(status == HttpStatusCode.Accepted, $"{status}: {answer}");
        return answer!;
    }

    static async Task<Dictionary<string, string>> ContainerEnvAsync(DeployEnv env, string slug, long deployment)
    {
        using var docker = TestDocker.Client();
        var inspect = await docker.Containers.InspectContainerAsync($"vpspanel-{env.PanelId}-{slug}-{deployment}");
        return inspect.Config.Env.Select(e => e.Split('=', 2)).ToDictionary(kv => kv[0], kv => kv[1]);
    }

    [Fact]
    public async Task Pushes_to_main_and_develop_deploy_production_and_staging_with_their_own_variables_and_promote_moves_the_image_without_a_build()
    {
        await using var env = await DeployEnv.StartAsync();
        using var repo = TestRepo.WithBusyboxApp("production v1", env.Label);
        using var api = await TestApi.ForUserAsync(env.Panel, PanelSetup.AdminEmail);
        var (project, slug, domain, _, secret) = await WebhookOrderTests.WebhookProjectAsync(env, repo, api);
        // develop: a branch with other content.
        TestRepo.Run(repo.Work, "checkout", "--quiet", "-b", "develop");
        TestDocker.WriteBusyboxApp(repo.Work, "staging v2", extraDockerfile: $"LABEL {TestDocker.TestLabel}={env.Label}\n");
        TestRepo.Run(repo.Work, "add", "-A");
        TestRepo.Run(repo.Work, "commit", "--quiet", "-m", "staging work");
        TestRepo.Run(repo.Work, "push", "--quiet", "origin", "HEAD:refs/heads/develop");
        var developSha = TestRepo.Run(repo.Work, "rev-parse", "HEAD").Trim();
        var mainSha = TestRepo.Run(repo.Work, "rev-parse", "main").Trim();

        // Bad input first: nothing is made.
        foreach (var (name, why) in new[] { ("my staging", "no spaces"), ("..", "no spaces, dots or slashes"), ("a/b", "no spaces"), ("", "Enter the environment's name"), ("Staging", "lower-case") })
        {
            var bad = TestApi.Problem(await api.SendAsync(HttpMethod.Post, $"/api/projects/{slug}/environments", new JsonObject { ["name"] = name, ["branch"] = "develop" }.ToJsonString()), HttpStatusCode.UnprocessableEntity);
            Assert.Contains(why, (string)bad["errors"]!["name"]![0]!);
        }
        var sameBranch = TestApi.Problem(await api.SendAsync(HttpMethod.Post, $"/api/projects/{slug}/environments", """{"name":"qa","branch":"main"}"""), HttpStatusCode.UnprocessableEntity);
        Assert.Contains("The environment production deploys branch main already", (string)sameBranch["errors"]!["branch"]![0]!);
        var badBranch = TestApi.Problem(await api.SendAsync(HttpMethod.Post, $"/api/projects/{slug}/environments", """{"name":"qa","branch":"a..b"}"""), HttpStatusCode.UnprocessableEntity);
        Assert.Contains("not a valid Git branch name", (string)badBranch["errors"]!["branch"]![0]!);
        Assert.Single((await api.GetAsync($"/api/projects/{slug}/environments")).AsArray());

        // Staging on develop, through the CLI; then a second environment on develop is refused.
        var cliEnv = new Dictionary<string, string> { ["VPSPANEL_URL"] = env.Panel.Url, ["VPSPANEL_TOKEN"] = api.Token };
        var added = await PanelCli.RunAsync(["projects", "add-environment", slug, "staging", "develop"], env: cliEnv);
        Assert.True(added.ExitCode == 0, added.Stderr);
        Assert.Equal($"staging\t{slug}-staging\tdevelop", added.Stdout.Trim());
        var twice = await PanelCli.RunAsync(["projects", "add-environment", slug, "qa", "develop"], env: cliEnv);
        Assert.NotEqual(0, twice.ExitCode);
        Assert.Contains("The environment staging deploys branch develop already", twice.Stderr);
        var staging = $"{slug}-staging";
        var stagingDomain = $"staging.{domain}";
        Assert.Equal(HttpStatusCode.OK, (await api.SendAsync(HttpMethod.Patch, $"/api/projects/{staging}", new JsonObject { ["domains"] = new JsonArray(stagingDomain) }.ToJsonString())).Status);
        // Variables: the project's are inherited; staging's own GREETING wins.
        Assert.Equal(HttpStatusCode.OK, (await api.SendAsync(HttpMethod.Put, $"/api/projects/{slug}/variables",
            """[{"key":"GREETING","value":"hello production"},{"key":"SHARED_SETTING","value":"from the project"}]""")).Status);
        Assert.Equal(HttpStatusCode.OK, (await api.SendAsync(HttpMethod.Put, $"/api/projects/{staging}/variables",
            """[{"key":"GREETING","value":"hello staging","secret":true}]""")).Status);

        // A push to each branch, to the project's one webhook URL, deploys its environment.
        var toProduction = await PushAsync(api, slug, secret, "main", mainSha);
        var toStaging = await PushAsync(api, slug, secret, "develop", developSha);
        Assert.Contains("of staging", (string)toStaging["reason"]!);
        var prodDeployment = (long)toProduction["deploymentId"]!;
        var stagingDeployment = (long)toStaging["deploymentId"]!;
        await env.WaitForLiveAsync(prodDeployment);
        await env.WaitForLiveAsync(stagingDeployment);
        Assert.Equal(slug, (string?)(await api.GetAsync($"/api/deployments/{prodDeployment}"))["project"]);
        Assert.Equal(staging, (string?)(await api.GetAsync($"/api/deployments/{stagingDeployment}"))["project"]);
        Assert.Equal("production v1", await env.ServedAsync(domain));
        Assert.Equal("staging v2", await env.ServedAsync(stagingDomain));
        var prodVars = await ContainerEnvAsync(env, slug, prodDeployment);
        var stagingVars = await ContainerEnvAsync(env, staging, stagingDeployment);
        Assert.Equal("hello production", prodVars["GREETING"]);
        Assert.Equal("hello staging", stagingVars["GREETING"]);
        Assert.Equal("from the project", stagingVars["SHARED_SETTING"]);
        // A push to a branch no environment deploys is ignored, and says which branches do.
        var other = Encoding.UTF8.GetBytes(new JsonObject { ["ref"] = "refs/heads/feature", ["after"] = mainSha, ["head_commit"] = new JsonObject { ["id"] = mainSha } }.ToJsonString());
        var (_, ignored) = await WebhookEndpointTests.PostAsync(api.Http, $"/webhooks/{slug}", other, WebhookEndpointTests.Signed("github", other, secret));
        Assert.Equal("ignored", (string?)ignored!["outcome"]);
        Assert.Contains("main (production) or develop (staging)", (string)ignored["reason"]!);

        // Side by side: the API, the CLI and the page list both with their live commits.
        var envs = (await api.GetAsync($"/api/projects/{slug}/environments")).AsArray();
        Assert.Equal(["production", "staging"], envs.Select(e => (string)e!["name"]!));
        Assert.Equal([mainSha, developSha], envs.Select(e => (string)e!["liveCommit"]!));
        var listed = await PanelCli.RunAsync(["projects", "environments", slug], env: cliEnv);
        Assert.Contains($"staging\t{staging}\tdevelop\t#{stagingDeployment}\t{developSha}", listed.Stdout);
        var page = await env.Client.GetAsync($"/projects/{project}");
        Assert.Contains(developSha[..7], page.Doc.QuerySelector("#environments-table tr[data-environment=staging] .env-live")!.TextContent);
        Assert.Contains(mainSha[..7], page.Doc.QuerySelector("#environments-table tr[data-environment=production] .env-live")!.TextContent);

        // Deploy with --env, and an unknown environment refused.
        var unknown = TestApi.Problem(await api.SendAsync(HttpMethod.Post, $"/api/projects/{slug}/deployments", """{"environment":"nope"}"""), HttpStatusCode.UnprocessableEntity);
        Assert.Contains("has no environment \"nope\"; it has production, staging", (string)unknown["errors"]!["environment"]![0]!);
        var cliDeploy = await PanelCli.RunAsync(["deploy", slug, "--env", "staging"], env: cliEnv);
        Assert.True(cliDeploy.ExitCode == 0, cliDeploy.Stderr);
        var redeployed = long.Parse(cliDeploy.Stdout.Trim());
        await env.WaitForLiveAsync(redeployed);
        Assert.Equal(staging, (string?)(await api.GetAsync($"/api/deployments/{redeployed}"))["project"]);

        // Promote staging to production: staging's image, production's variables, no build.
        var promoted = await PanelCli.RunAsync(["projects", "promote", slug, "--from", "staging"], env: cliEnv);
        Assert.True(promoted.ExitCode == 0, promoted.Stderr);
        var promotion = long.Parse(promoted.Stdout.Trim());
        await env.WaitForLiveAsync(promotion);
        var log = await env.LogAsync(promotion);
        Assert.Contains("promote from staging", log);
        Assert.DoesNotContain("==> building", log);
        Assert.DoesNotContain("==> cloning", log);
        Assert.Equal("staging v2", await env.ServedAsync(domain));
        Assert.Equal("hello production", (await ContainerEnvAsync(env, slug, promotion))["GREETING"]);
        var promotedJson = await api.GetAsync($"/api/deployments/{promotion}");
        Assert.Equal(slug, (string?)promotedJson["project"]);
        Assert.Equal(developSha, (string?)promotedJson["commitSha"]);
        Assert.Contains($"vpspanel/{env.PanelId}-{slug}:{promotion}", await TestDocker.ImagesAsync(TestDocker.Client(), env.PanelLabel));
        // Promoting to itself, or from an environment with nothing live, is refused.
        var self = TestApi.Problem(await api.SendAsync(HttpMethod.Post, $"/api/projects/{slug}/environments/staging/promote", """{"from":"staging"}"""), HttpStatusCode.Conflict);
        Assert.Contains("cannot be promoted to itself", (string)self["detail"]!);

        // Deleting the project takes its environments with it.
        var deleted = await env.Client.SubmitAsync($"/projects/{project}/edit", new() { ["confirm"] = slug }, $"/projects/{project}/edit?handler=Delete");
        Assert.Equal(HttpStatusCode.SeeOther, deleted.Status);
        Assert.Empty(await env.PanelContainersAsync());
        Assert.Equal(HttpStatusCode.NotFound, (await api.SendAsync(HttpMethod.Get, $"/api/projects/{staging}")).Status);
    }

    [Fact]
    public void A_database_from_before_environments_opens_with_every_project_its_own_production_with_the_same_webhook_secret()
    {
        var dir = Paths.NewTempDir();
        try
        {
            using var c = Db.OpenFile(Path.Combine(dir, "old.db"));
            Migrations.Apply(c, Migrations.Embedded.Where(m => m.Version <= 28).ToList());
            c.Execute("""
                INSERT INTO users (id, email, password_hash, role, security_stamp, created_at, updated_at) VALUES (1, 'a@example.com', 'x', 'admin', 's', 't', 't');
                INSERT INTO projects (id, name, slug, owner_id, git_url, branch, container_port, webhook_secret_protected, created_at, updated_at)
                    VALUES (1, 'shop', 'shop', 1, '/r.git', 'main', 80, 'protected-secret-1', 't', 't'),
                           (2, 'blog', 'blog', 1, '/b.git', '', 80, 'protected-secret-2', 't', 't');
                INSERT INTO deployments (id, project_id, status, trigger, config_json, created_at, commit_sha) VALUES (1, 1, 'live', 'manual', '{}', 't', 'abc1234def');
                """);
            Assert.True(Migrations.Apply(c) >= 1);
            var shop = Assert.Single(ProjectEnvironments.ListEnvironmentsOfProject(c, 1));
            Assert.Equal((1L, "shop", "production", "main", 1L), (shop.Id, shop.Slug, shop.Environment, shop.Branch, shop.LiveDeploymentId!.Value));
            Assert.Equal("production", Assert.Single(ProjectEnvironments.ListEnvironmentsOfProject(c, 2)).Environment);
            // The webhook URL is the slug's, and its target and secret are the project's as before.
            var target = Features.Webhooks.WebhookStore.FindWebhookTargetBySlug(c, "shop")!;
            Assert.Equal((1L, "protected-secret-1"), (target.Id, target.WebhookSecretProtected));
            Assert.Equal(1L, Features.Webhooks.WebhookStore.FindRootProjectId(c, 1));
            Assert.Equal(1L, c.ExecuteScalar<long>("SELECT project_id FROM deployments WHERE id = 1"));
            Assert.Equal(0L, c.ExecuteScalar<long>("SELECT count(*) FROM projects WHERE parent_id IS NOT NULL"));
        }
        finally { Paths.DeleteQuietly(dir); }
    }
}
