using System.Diagnostics;
using System.Text;
using VpsPanel.Features.Caddy;
using VpsPanel.Tests.Harness;

namespace VpsPanel.Tests.Deployments;

/// <summary>
/// A private repository reached with an access token: a real Caddy serves the bare repository over Git's HTTP
/// protocol behind basic auth (what GitHub/GitLab/Gitea accept a token as), on a loopback port.
/// </summary>
public sealed class TokenRepoTests
{
    const string Token = "glpat-test-token-4f9a2c7e1b";

    [Fact]
    public async Task Deploys_with_the_stored_token_fails_clearly_with_a_wrong_one_and_never_stores_it_in_plain_text()
    {
        // The Git server is on this machine: the operator lists it (a loopback address is refused otherwise, and a
        // token goes over plain http:// only to such a listed loopback host).
        await using var gitServer = await TestCaddy.StartAsync();
        await using var env = await DeployEnv.StartAsync(new Dictionary<string, string> { ["Git__AllowedHosts"] = $"127.0.0.1:{gitServer.HttpPort}" });
        using var repo = TestRepo.WithBusyboxApp("token v1", env.Label);
        TestRepo.Run(repo.Dir, "--git-dir", repo.Bare, "update-server-info");
        var hash = Run("caddy", "hash-password", "--plaintext", Token).Trim();
        await File.WriteAllTextAsync(Path.Combine(gitServer.SitesDir, "git.caddy"),
            $"http://127.0.0.1 {{\n\tbasicauth {{\n\t\tx-access-token {hash}\n\t}}\n\troot * {repo.Dir}\n\tfile_server\n}}\n");
        await new CaddyAdmin(gitServer.AdminAddress).LoadAsync(gitServer.MainCaddyfile, CancellationToken.None);

        var domain = $"{env.Name()}.test";
        var fields = DeployEnv.ProjectFields(env.Name(), $"http://127.0.0.1:{gitServer.HttpPort}/app.git", domain);
        fields["gitAuth"] = "token";
        fields["gitToken"] = "wrong-token-value";
        var project = await env.CreateProjectAsync(fields);

        var refused = await env.DeployAsync(project);
        Assert.Equal("failed", await env.WaitForEndAsync(refused));
        var refusedLog = await env.LogAsync(refused);
        Assert.Contains("cloning", refusedLog);
        Assert.DoesNotContain("wrong-token-value", refusedLog);

        // Replace the token (the form never shows the stored one), then the deploy goes live.
        fields["gitToken"] = Token;
        var edit = await env.Client.SubmitAsync($"/projects/{project}/edit", fields);
        Assert.True(edit.Status is System.Net.HttpStatusCode.SeeOther or System.Net.HttpStatusCode.Redirect, edit.Html);
        Assert.DoesNotContain(Token, (await env.Client.GetAsync($"/projects/{project}/edit")).Html);
        var d = await env.DeployAsync(project);
        await env.WaitForLiveAsync(d);
        Assert.Equal("token v1", await env.ServedAsync(domain));
        Assert.DoesNotContain(Token, await env.LogAsync(d));

        // Nowhere in the data dir in plain text: database, WAL, logs, repositories.
        // (vpspanel.lock is held exclusively by the running panel and is empty.)
        foreach (var file in Directory.EnumerateFiles(env.Panel.DataDir, "*", SearchOption.AllDirectories).Where(f => !f.EndsWith("vpspanel.lock")))
        {
            var bytes = await File.ReadAllBytesAsync(file);
            Assert.False(Encoding.Latin1.GetString(bytes).Contains(Token), $"{file} holds the token in plain text");
        }
    }

    static string Run(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return output;
    }
}
