using System.Net;
using System.Text.Json.Nodes;
using VpsPanel.Tests.Api;
using VpsPanel.Tests.Harness;

namespace VpsPanel.Tests.Deployments;

/// <summary>
/// Issue 11, finding 6: app containers get memory, CPU and pids limits (settings, per-project overrides by admins),
/// no-new-privileges and a bounded json-file log, as `docker inspect` of the deployed app shows.
/// </summary>
public sealed class ContainerLimitsTests
{
    static async Task<JsonNode> HostConfigAsync(DeployEnv env, long deployment)
    {
        var container = (await env.PanelContainersAsync()).Single(c => c.Labels["vpspanel.deployment"] == deployment.ToString());
        var psi = new System.Diagnostics.ProcessStartInfo("docker") { RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in new[] { "inspect", "--format", "{{json .HostConfig}}", container.Id }) psi.ArgumentList.Add(a);
        using var p = System.Diagnostics.Process.Start(psi)!;
        var output = await p.StandardOutput.ReadToEndAsync();
        await p.WaitForExitAsync();
        Assert.Equal(0, p.ExitCode);
        return JsonNode.Parse(output)!;
    }

    static void AssertLimits(JsonNode host, long memoryMb, long nanoCpus, long pids)
    {
        Assert.Equal(memoryMb * 1024 * 1024, (long)host["Memory"]!);
        Assert.Equal(memoryMb * 1024 * 1024, (long)host["MemorySwap"]!);
        Assert.Equal(nanoCpus, (long)host["NanoCpus"]!);
        Assert.Equal(pids, (long)host["PidsLimit"]!);
        Assert.Contains("no-new-privileges", host["SecurityOpt"]!.AsArray().Select(o => (string)o!));
        Assert.Equal("json-file", (string)host["LogConfig"]!["Type"]!);
        Assert.Equal("2m", (string)host["LogConfig"]!["Config"]!["max-size"]!);
        Assert.Equal("4", (string)host["LogConfig"]!["Config"]!["max-file"]!);
    }

    [Fact]
    public async Task Deployed_apps_get_the_settings_limits_an_admins_override_and_bad_or_members_values_are_refused_and_change_nothing()
    {
        await using var env = await DeployEnv.StartAsync(new Dictionary<string, string>
        {
            ["Apps__MemoryMb"] = "300", ["Apps__Cpus"] = "0.5", ["Apps__PidsLimit"] = "100", ["Apps__LogMaxSizeMb"] = "2", ["Apps__LogMaxFiles"] = "4",
        });
        using var repo = TestRepo.WithBusyboxApp("limits v1", env.Label);
        var name = env.Name();
        var domain = $"{name}.test";
        var project = await env.CreateProjectAsync(repo, domain);
        var d1 = await env.DeployAsync(project);
        await env.WaitForLiveAsync(d1);
        Assert.Equal("limits v1", await env.ServedAsync(domain));
        AssertLimits(await HostConfigAsync(env, d1), 300, 500_000_000, 100);
        Assert.Contains("limits: memory 300 MiB, 0.5 CPUs, 100 processes", await env.LogAsync(d1));

        using var admin = await TestApi.ForUserAsync(env.Panel, PanelSetup.AdminEmail);
        // Bad values on the edit page: 422, a message next to each field, nothing saved.
        var edit = DeployEnv.ProjectFields(name, repo.Bare, domain, repo.Branch);
        edit.Remove("domains");
        var bad = await env.Client.SubmitAsync($"/projects/{project}/edit", new(edit) { ["memoryMb"] = "5", ["cpus"] = "0.001", ["pidsLimit"] = "many" });
        Assert.Equal(HttpStatusCode.UnprocessableEntity, bad.Status);
        Assert.Contains("a whole number from 6 to 1048576", bad.Text("#memoryMb ~ .field-error"));
        Assert.Contains("a number from 0.01 to", bad.Text("#cpus ~ .field-error"));
        Assert.Contains("a whole number from 16 to 4194304", bad.Text("#pidsLimit ~ .field-error"));
        // … and through the API.
        var badApi = await admin.SendAsync(HttpMethod.Patch, $"/api/projects/{name}", """{"memoryMb": 2000000, "cpus": 100000, "pidsLimit": 3}""");
        var problem = TestApi.Problem(badApi, HttpStatusCode.UnprocessableEntity);
        Assert.Contains("MiB", (string)problem["errors"]!["memoryMb"]![0]!);
        Assert.Contains("CPU", (string)problem["errors"]!["cpus"]![0]!);
        Assert.Contains("process limit", (string)problem["errors"]!["pidsLimit"]![0]!);
        var unchanged = await admin.GetAsync($"/api/projects/{name}");
        Assert.Null(unchanged["memoryMb"]);
        Assert.Null(unchanged["cpus"]);
        Assert.Null(unchanged["pidsLimit"]);

        // A member may not raise (or set) their own project's limits.
        var member = await PanelCli.RunAsync(["user", "add", "--email", "limits-member@example.com", "--data-dir", env.Panel.DataDir], "member password 12\n");
        Assert.True(member.ExitCode == 0, member.Stderr);
        using var m = await TestApi.ForUserAsync(env.Panel, "limits-member@example.com");
        var own = await m.SendAsync(HttpMethod.Post, "/api/projects",
            $$"""{"name": "{{name}}-m", "gitUrl": "https://git.example.com/me/app.git", "branch": "main", "port": 8080, "domains": ["{{name}}-m.test"], "memoryMb": 4096}""");
        Assert.Equal("Only an admin can change a project's limits.", (string)TestApi.Problem(own, HttpStatusCode.UnprocessableEntity)["errors"]!["memoryMb"]![0]!);
        var created = await m.SendAsync(HttpMethod.Post, "/api/projects",
            $$"""{"name": "{{name}}-m", "gitUrl": "https://git.example.com/me/app.git", "branch": "main", "port": 8080, "domains": ["{{name}}-m.test"]}""");
        Assert.Equal(HttpStatusCode.Created, created.Status);
        var raise = await m.SendAsync(HttpMethod.Patch, $"/api/projects/{name}-m", """{"pidsLimit": 100000}""");
        Assert.Equal("Only an admin can change a project's limits.", (string)TestApi.Problem(raise, HttpStatusCode.UnprocessableEntity)["errors"]!["pidsLimit"]![0]!);
        Assert.Null((await m.GetAsync($"/api/projects/{name}-m"))["pidsLimit"]);

        // An admin's override, through the API, shows in the next deployment's container.
        var ok = await admin.SendAsync(HttpMethod.Patch, $"/api/projects/{name}", """{"memoryMb": 200, "cpus": 0.25, "pidsLimit": 64}""");
        Assert.True(ok.Status == HttpStatusCode.OK, $"{ok.Status}: {ok.Body}");
        Assert.Equal(200, (long)ok.Body!["memoryMb"]!);
        Assert.Equal(0.25m, (decimal)ok.Body["cpus"]!);
        Assert.Equal(64, (long)ok.Body["pidsLimit"]!);
        var editPage = await env.Client.GetAsync($"/projects/{project}/edit");
        Assert.Equal("0.25", editPage.Doc.QuerySelector("#cpus")?.GetAttribute("value"));
        var d2 = await env.DeployAsync(project);
        await env.WaitForLiveAsync(d2);
        AssertLimits(await HostConfigAsync(env, d2), 200, 250_000_000, 64);
        // Saving the form with an empty field goes back to the panel's default.
        var back = await env.Client.SubmitAsync($"/projects/{project}/edit", new(edit) { ["memoryMb"] = "", ["cpus"] = "0.25", ["pidsLimit"] = "64" });
        Assert.True(back.Status is HttpStatusCode.Redirect or HttpStatusCode.SeeOther, $"{back.Status}: {back.Text(".field-error")}");
        Assert.Null((await admin.GetAsync($"/api/projects/{name}"))["memoryMb"]);
    }
}
