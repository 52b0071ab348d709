using VpsPanel.Tests.Deployments;
using VpsPanel.Tests.Harness;
using static VpsPanel.Tests.Variables.VariableTestKit;

namespace VpsPanel.Tests.Variables;

/// <summary>Variables through the real pipeline: build arguments, container environment, logs, rollback, and the bytes on disk.</summary>
public sealed class VariableDeployTests
{
    [Fact]
    public async Task Secrets_reach_build_and_container_but_never_a_log_a_page_or_a_file_in_the_data_dir()
    {
        await using var env = await DeployEnv.StartAsync();
        using var repo = EnvPrintingRepo(env.Label);
        var domain = $"{env.Name()}.test";
        var projectId = await env.CreateProjectAsync(repo, domain);
        var slug = env.Name();
        var buildSecret = "bs-" + Guid.NewGuid().ToString("N");
        var runSecret = "rs-" + Guid.NewGuid().ToString("N");
        var sharedSecret = "ss-" + Guid.NewGuid().ToString("N");
        string[] secrets = [buildSecret, runSecret, sharedSecret];

        // Shared variables on the admin page; the project includes one of them.
        var shared = await env.Client.SubmitAsync("/variables", new() { ["env"] = $"SHARED_TOKEN={sharedSecret}\nNOT_INCLUDED=nope\n", ["newSecret"] = "true", ["newRuntime"] = "true" }, "/variables?handler=Env");
        Assert.Equal(System.Net.HttpStatusCode.SeeOther, shared.Status);
        var include = await env.Client.SubmitAsync($"/projects/{projectId}/variables", new() { ["include"] = "SHARED_TOKEN" }, $"/projects/{projectId}/variables?handler=Shared");
        Assert.Equal(System.Net.HttpStatusCode.SeeOther, include.Status);

        using var api = await ApiAsync(env.Panel);
        await PutOkAsync(api, slug, $$"""
            [{"key":"SECRET","value":"{{buildSecret}}","secret":true,"buildTime":true,"runtime":true},
             {"key":"PLAIN","value":"plain-value","secret":false,"buildTime":true,"runtime":false},
             {"key":"RUNTIME_ONLY","value":"{{runSecret}}","secret":true,"buildTime":false,"runtime":true}]
            """);

        var id = await env.DeployAsync(projectId);
        await env.WaitForLiveAsync(id);

        // Build time: the build saw the secret (masked in the log), the plain value, and not the run-time-only one.
        var stored = await env.LogAsync(id);
        Assert.Contains("build saw ********", stored);
        Assert.Contains("split saw ******** end", stored);
        Assert.Contains("plain saw plain-value", stored);
        Assert.Contains("runtime-only saw []", stored);
        var streamed = await StreamedLogAsync(env.Client, id);
        Assert.Contains("build saw ********", streamed);
        Assert.Contains("event: done", streamed);
        var page = await env.Client.GetAsync($"/deployments/{id}");
        Assert.Contains("build saw ********", page.Text("#log"));

        // Run time: the container got the run-time variables and the included shared one, nothing else.
        var served = await ServedEnvAsync(env, domain);
        Assert.Contains($"SECRET={buildSecret}", served);
        Assert.Contains($"RUNTIME_ONLY={runSecret}", served);
        Assert.Contains($"SHARED_TOKEN={sharedSecret}", served);
        Assert.DoesNotContain("PLAIN=", served);
        Assert.DoesNotContain("NOT_INCLUDED", served);

        // Nowhere the panel shows or stores: logs, streams, pages, API, its own log, and every byte under the data dir.
        var variablesPage = (await env.Client.GetAsync($"/projects/{projectId}/variables?edit=SECRET")).Html;
        var sharedPage = (await env.Client.GetAsync("/variables?edit=SHARED_TOKEN")).Html;
        var apiList = await api.GetStringAsync($"/api/projects/{slug}/variables");
        await Task.Delay(1500); // the drain and retire lines are written after "live"
        foreach (var s in secrets)
        {
            Assert.DoesNotContain(s, stored);
            Assert.DoesNotContain(s, streamed);
            Assert.DoesNotContain(s, page.Html);
            Assert.DoesNotContain(s, variablesPage);
            Assert.DoesNotContain(s, sharedPage);
            Assert.DoesNotContain(s, apiList);
            Assert.DoesNotContain(s, env.Panel.Log);
            Assert.Empty(FilesContaining(env.Panel.DataDir, s));
        }
        Assert.Contains("\"value\":\"********\"", apiList);
        Assert.True(File.Exists(Path.Combine(env.Panel.DataDir, "vpspanel.db-wal")), "the test must also have searched the WAL");

        // The key ring that protects them is the panel user's alone.
        var keys = Path.Combine(env.Panel.DataDir, "keys");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(keys));
        Assert.NotEmpty(Directory.GetFiles(keys));
        foreach (var f in Directory.GetFiles(keys)) Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(f));

        // The owner's export has the values; the file is a download, not a page.
        using var export = await env.Client.Http.GetAsync($"/projects/{projectId}/variables?handler=Export");
        Assert.Equal("attachment", export.Content.Headers.ContentDisposition?.DispositionType);
        Assert.Contains($"SECRET={buildSecret}", await export.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Changing_variables_asks_for_a_redeploy_and_a_rollback_restores_the_old_values()
    {
        await using var env = await DeployEnv.StartAsync();
        using var repo = EnvPrintingRepo(env.Label);
        var domain = $"{env.Name()}.test";
        var projectId = await env.CreateProjectAsync(repo, domain);
        var slug = env.Name();
        using var api = await ApiAsync(env.Panel);
        await PutOkAsync(api, slug, """[{"key":"GREETING","value":"one","runtime":true},{"key":"TOKEN","value":"token-one","secret":true}]""");

        var first = await env.DeployAsync(projectId);
        await env.WaitForLiveAsync(first);
        Assert.Contains("GREETING=one", await ServedEnvAsync(env, domain));
        Assert.Null((await env.Client.GetAsync($"/projects/{projectId}")).Doc.QuerySelector("#redeploy-banner"));

        // A change: the live deployment is behind, the project page says so.
        await PutOkAsync(api, slug, """[{"key":"GREETING","value":"two","runtime":true},{"key":"TOKEN","value":"********","secret":true}]""");
        Assert.NotNull((await env.Client.GetAsync($"/projects/{projectId}")).Doc.QuerySelector("#redeploy-banner"));
        // Saving the same set again is no change.
        await PutOkAsync(api, slug, """[{"key":"GREETING","value":"two","runtime":true},{"key":"TOKEN","secret":true}]""");

        var second = await env.DeployAsync(projectId);
        await env.WaitForLiveAsync(second);
        var served = await ServedEnvAsync(env, domain);
        Assert.Contains("GREETING=two", served);
        Assert.Contains("TOKEN=token-one", served);
        Assert.Null((await env.Client.GetAsync($"/projects/{projectId}")).Doc.QuerySelector("#redeploy-banner"));

        // Roll back to the first deployment: its image and its variables, not today's.
        var rollback = long.Parse((await env.DeploymentActionAsync(first, "Rollback")).Split('/').Last());
        await env.WaitForLiveAsync(rollback);
        Assert.Contains("GREETING=one", await ServedEnvAsync(env, domain));
        // The live deployment now runs older variables than the project's: a redeploy is needed again.
        Assert.NotNull((await env.Client.GetAsync($"/projects/{projectId}")).Doc.QuerySelector("#redeploy-banner"));
        Assert.Empty(FilesContaining(env.Panel.DataDir, "token-one"));
    }
}
