using System.Net;
using System.Text.Json.Nodes;
using VpsPanel.Features.Caddy;
using VpsPanel.Tests.Api;
using VpsPanel.Tests.Deployments;
using VpsPanel.Tests.Harness;

namespace VpsPanel.Tests.Git;

/// <summary>
/// Git URLs aimed at the server's own services or networks (SSRF): refused when saved, by the project pages and the
/// API, judged after DNS; judged again before every fetch; no redirects followed; no remote's answer in an error.
/// </summary>
public sealed class GitHostTests
{
    const string MemberEmail = "member@example.com";
    const string MemberPassword = "member password 1";

    /// <summary>Each URL and the words its message must contain. None of them may be saved, by a member or an admin.</summary>
    static (string Url, string Message)[] BadUrls(int port) =>
    [
        ($"http://127.0.0.1:{port}/load.git", "points at 127.0.0.1, a loopback address (this machine)"),
        ($"https://localhost:{port}/x.git", "host localhost resolves to 127.0.0.1, a loopback address (this machine)"),
        ($"http://[::1]:{port}/x.git", "points at ::1, a loopback address (this machine)"),
        ("http://2130706433/x.git", "127.0.0.1, a loopback address"),
        ("http://169.254.169.254/latest/meta-data.git", "points at 169.254.169.254, a cloud metadata address"),
        ("http://[fd00:ec2::254]/x.git", "points at fd00:ec2::254, a cloud metadata address"),
        ("http://169.254.10.1/x.git", "a link-local address"),
        ("https://[fe80::1]/x.git", "a link-local address"),
        ("http://0.0.0.0:2019/x.git", "the unspecified address"),
        ("http://[::]/x.git", "the unspecified address"),
        ("http://[::ffff:127.0.0.1]/x.git", "an IPv4-mapped form of 127.0.0.1: a loopback address"),
        ("http://[::ffff:169.254.169.254]/x.git", "an IPv4-mapped form of 169.254.169.254: a cloud metadata address"),
        ("http://10.1.2.3/x.git", "a private network address (10.0.0.0/8; the operator can allow private networks with the setting Git:AllowPrivateNetworks)"),
        ("https://172.20.0.5/x.git", "a private network address (172.16.0.0/12"),
        ("ssh://git@192.168.1.10/x.git", "a private network address (192.168.0.0/16"),
        ("git@100.64.0.1:owner/x.git", "a private network address (100.64.0.0/10"),
        ("https://[fd12:3456::1]/x.git", "a private network address (fc00::/7"),
    ];

    static async Task<PanelClient> MemberAsync(PanelProcess panel, PanelClient admin)
    {
        var made = await admin.SubmitAsync("/users/new", new Dictionary<string, string> { ["email"] = MemberEmail, ["password"] = MemberPassword, ["role"] = "member" });
        Assert.Equal(HttpStatusCode.SeeOther, made.Status);
        var member = new PanelClient(panel);
        await member.LoginAsync(MemberEmail, MemberPassword);
        return member;
    }

    static string ApiError(Answer a, string field) => a.Body?["errors"]?[field]?[0]?.GetValue<string>() ?? $"(no {field} error: {(int)a.Status} {a.Body})";

    [Fact]
    public async Task Loopback_metadata_link_local_unspecified_mapped_and_private_urls_are_refused_on_the_pages_and_the_api_and_nothing_is_saved()
    {
        await using var panel = await PanelProcess.StartAsync();
        using var admin = await PanelSetup.SignedInAdminAsync(panel);
        using var member = await MemberAsync(panel, admin);
        using var memberApi = await TestApi.ForUserAsync(panel, MemberEmail);
        using var adminApi = await TestApi.ForUserAsync(panel, PanelSetup.AdminEmail);
        // One project each to edit; its URL must stay as it was. (git.example.com does not resolve here: accepted when
        // saved, since DNS may not be set up yet; every fetch resolves again, see the fetch-time test.)
        var good = "https://git.example.com/me/app.git";
        var mine = await member.SubmitAsync("/projects/new", DeployEnv.ProjectFields("mine", good, "mine.test"));
        Assert.Equal(HttpStatusCode.SeeOther, mine.Status);
        var mineId = mine.Response.Headers.Location!.OriginalString.Split('/').Last();
        Assert.Equal(HttpStatusCode.Created, (await adminApi.SendAsync(HttpMethod.Post, "/api/projects",
            new JsonObject { ["name"] = "ours", ["gitUrl"] = good, ["branch"] = "main", ["port"] = 8080, ["domains"] = new JsonArray("ours.test") }.ToJsonString())).Status);

        var failures = new List<string>();
        var n = 0;
        foreach (var (url, message) in BadUrls(panel.Port))
        {
            n++;
            foreach (var (who, client) in new[] { ("member", member), ("admin", admin) })
            {
                var page = await client.SubmitAsync("/projects/new", DeployEnv.ProjectFields($"bad-{who}-{n}", url, $"bad{n}.test"));
                if (page.Status != HttpStatusCode.UnprocessableEntity || page.Text("#gitUrl ~ .field-error")?.Contains(message) != true)
                    failures.Add($"{who} new page {url}: {(int)page.Status} {page.Text("#gitUrl ~ .field-error")}");
                if (page.Doc.QuerySelector("#gitUrl")?.GetAttribute("value") != url) failures.Add($"{who} new page {url}: the form lost the value");
            }
            var edit = await member.SubmitAsync($"/projects/{mineId}/edit", DeployEnv.ProjectFields("mine", url, "mine.test"));
            if (edit.Status != HttpStatusCode.UnprocessableEntity || edit.Text("#gitUrl ~ .field-error")?.Contains(message) != true)
                failures.Add($"member edit page {url}: {(int)edit.Status} {edit.Text("#gitUrl ~ .field-error")}");

            foreach (var (who, api) in new[] { ("member", memberApi), ("admin", adminApi) })
            {
                var created = await api.SendAsync(HttpMethod.Post, "/api/projects",
                    new JsonObject { ["name"] = $"api-{who}-{n}", ["gitUrl"] = url, ["branch"] = "main", ["port"] = 8080, ["domains"] = new JsonArray($"api{n}.test") }.ToJsonString());
                if (created.Status != HttpStatusCode.UnprocessableEntity || !ApiError(created, "gitUrl").Contains(message))
                    failures.Add($"{who} API create {url}: {(int)created.Status} {ApiError(created, "gitUrl")}");
            }
            var patched = await adminApi.SendAsync(HttpMethod.Patch, "/api/projects/ours", new JsonObject { ["gitUrl"] = url }.ToJsonString());
            if (patched.Status != HttpStatusCode.UnprocessableEntity || !ApiError(patched, "gitUrl").Contains(message))
                failures.Add($"admin API patch {url}: {(int)patched.Status} {ApiError(patched, "gitUrl")}");
        }
        Assert.Empty(failures);

        // Nothing saved: the two projects only, with their URLs unchanged.
        Assert.Equal(["mine", "ours"], (await admin.GetAsync("/projects")).Texts("#projects tbody td:first-child").ToArray());
        Assert.Equal(good, (await memberApi.GetAsync("/api/projects/mine"))["gitUrl"]!.GetValue<string>());
        Assert.Equal(good, (await adminApi.GetAsync("/api/projects/ours"))["gitUrl"]!.GetValue<string>());
        // Admins keep local paths.
        Assert.Equal(HttpStatusCode.SeeOther, (await admin.SubmitAsync("/projects/new", DeployEnv.ProjectFields("local", "/srv/repos/app.git", "local.test"))).Status);
    }

    [Fact]
    public async Task Private_networks_are_allowed_only_by_the_operator_setting_and_loopback_and_metadata_stay_refused_with_it()
    {
        var invalid = await PanelCli.RunAsync(["config"], env: new Dictionary<string, string> { ["Git__AllowedHosts"] = "git.example.com:99999", ["Git__AllowPrivateNetworks"] = "yes" });
        Assert.Equal(2, invalid.ExitCode);
        Assert.Contains("Git:AllowedHosts", invalid.Stderr);
        Assert.Contains("Git:AllowPrivateNetworks", invalid.Stderr);

        await using var panel = await PanelProcess.StartAsync(new Dictionary<string, string> { ["Git__AllowPrivateNetworks"] = "true" });
        using var admin = await PanelSetup.SignedInAdminAsync(panel);
        using var member = await MemberAsync(panel, admin);
        foreach (var (url, i) in new[] { "http://10.1.2.3/x.git", "ssh://git@192.168.1.10/x.git", "https://[fd12:3456::1]/x.git" }.Select((u, i) => (u, i)))
        {
            var page = await member.SubmitAsync("/projects/new", DeployEnv.ProjectFields($"lan-{i}", url, $"lan{i}.test"));
            Assert.True(page.Status == HttpStatusCode.SeeOther, $"{url}: {(int)page.Status} {page.Text("#gitUrl ~ .field-error")}");
        }
        foreach (var (url, message) in new[] { ("http://127.0.0.1/x.git", "loopback"), ("http://169.254.169.254/x.git", "cloud metadata"), ("http://[fd00:ec2::254]/x.git", "cloud metadata") })
        {
            var page = await member.SubmitAsync("/projects/new", DeployEnv.ProjectFields("still-bad", url, "still-bad.test"));
            Assert.Equal(HttpStatusCode.UnprocessableEntity, page.Status);
            Assert.Contains(message, page.Text("#gitUrl ~ .field-error"));
        }
        Assert.Equal(["lan-0", "lan-1", "lan-2"], (await admin.GetAsync("/projects")).Texts("#projects tbody td:first-child").ToArray());
    }

    [Fact]
    public async Task An_access_token_with_an_http_url_is_refused_on_the_page_and_the_api()
    {
        await using var panel = await PanelProcess.StartAsync();
        using var admin = await PanelSetup.SignedInAdminAsync(panel);
        using var member = await MemberAsync(panel, admin);
        using var api = await TestApi.ForUserAsync(panel, MemberEmail);
        const string Clear = "An access token is sent only over https://: with this http:// URL it would cross the network in clear text. Use the repository's https:// URL.";
        var fields = DeployEnv.ProjectFields("clear", "http://git.example.com/me/app.git", "clear.test");
        fields["gitAuth"] = "token";
        fields["gitToken"] = "glpat-clear-text-token";
        var page = await member.SubmitAsync("/projects/new", fields);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, page.Status);
        Assert.Equal(Clear, page.Text("#gitAuth ~ .field-error"));
        var created = await api.SendAsync(HttpMethod.Post, "/api/projects", new JsonObject
        {
            ["name"] = "clear", ["gitUrl"] = "http://git.example.com/me/app.git", ["branch"] = "main", ["port"] = 8080,
            ["domains"] = new JsonArray("clear.test"), ["gitAuth"] = "token", ["gitToken"] = "glpat-clear-text-token",
        }.ToJsonString());
        Assert.Equal(HttpStatusCode.UnprocessableEntity, created.Status);
        Assert.Equal(Clear, ApiError(created, "gitAuth"));
        // The same project over https is fine, and switching it to http:// with its stored token is refused.
        fields["gitUrl"] = "https://git.example.com/me/app.git";
        var ok = await member.SubmitAsync("/projects/new", fields);
        Assert.Equal(HttpStatusCode.SeeOther, ok.Status);
        var patched = await api.SendAsync(HttpMethod.Patch, "/api/projects/clear", new JsonObject { ["gitUrl"] = "http://git.example.com/me/app.git" }.ToJsonString());
        Assert.Equal(HttpStatusCode.UnprocessableEntity, patched.Status);
        Assert.Equal(Clear, ApiError(patched, "gitAuth"));
        Assert.Equal("https://git.example.com/me/app.git", (await api.GetAsync("/api/projects/clear"))["gitUrl"]!.GetValue<string>());
        Assert.DoesNotContain("glpat-clear-text-token", await File.ReadAllTextAsync(Path.Combine(panel.DataDir, "vpspanel.db")));
    }

    /// <summary>
    /// Allowed when saved (the operator listed the host), refused at the fetch once the allowance is gone: the rule is
    /// judged again before every fetch, not only when the URL was saved. A name that no longer resolves fails the same way.
    /// </summary>
    [Fact]
    public async Task The_address_is_judged_again_before_every_fetch()
    {
        await using var gitServer = await TestCaddy.StartAsync();
        await using var env = await DeployEnv.StartAsync(new Dictionary<string, string> { ["Git__AllowedHosts"] = $"127.0.0.1:{gitServer.HttpPort}" });
        using var repo = TestRepo.WithBusyboxApp("recheck v1", env.Label);
        TestRepo.Run(repo.Dir, "--git-dir", repo.Bare, "update-server-info");
        await File.WriteAllTextAsync(Path.Combine(gitServer.SitesDir, "git.caddy"), $"http://127.0.0.1 {{\n\troot * {repo.Dir}\n\tfile_server\n}}\n");
        await new CaddyAdmin(gitServer.AdminAddress).LoadAsync(gitServer.MainCaddyfile, CancellationToken.None);
        var project = await env.CreateProjectAsync(DeployEnv.ProjectFields(env.Name(), $"http://127.0.0.1:{gitServer.HttpPort}/app.git", $"{env.Name()}.test"));
        var unresolvable = await env.CreateProjectAsync(DeployEnv.ProjectFields(env.Name("dns"), "https://git.example.com/me/app.git", $"{env.Name("dns")}.test"));

        env.Settings.Remove("Git__AllowedHosts");
        await env.RestartHardAsync();
        var d = await env.DeployAsync(project);
        Assert.Equal("failed", await env.WaitForEndAsync(d));
        var error = (await env.Client.GetAsync($"/deployments/{d}")).Text("#deploy-error")!;
        Assert.Contains("The Git URL points at 127.0.0.1, a loopback address (this machine)", error);
        // Refused before git ran: not even the mirror was made.
        Assert.False(Directory.Exists(Path.Combine(env.Panel.DataDir, "repos", $"project-{project}.git")));

        var dns = await env.DeployAsync(unresolvable);
        Assert.Equal("failed", await env.WaitForEndAsync(dns));
        Assert.Contains("the Git server's name git.example.com could not be resolved (DNS)", (await env.Client.GetAsync($"/deployments/{dns}")).Text("#deploy-error"));
    }

    /// <summary>
    /// A Git server the operator allowed that answers with a body (a 403 with text, as an internal service might) or
    /// redirects to a host that is not allowed: the error says what happened in the panel's words, never the body,
    /// and the redirect is not followed (the old behaviour deployed from the redirect's target).
    /// </summary>
    [Fact]
    public async Task A_remote_body_never_reaches_the_error_or_log_and_a_redirect_to_loopback_is_not_followed()
    {
        const string Secret = "INTERNAL-SECRET-BODY-5d1e";
        await using var gitServer = await TestCaddy.StartAsync();
        var port = gitServer.HttpPort;
        await using var env = await DeployEnv.StartAsync(new Dictionary<string, string> { ["Git__AllowedHosts"] = $"127.0.0.1:{port}" });
        using var repo = TestRepo.WithBusyboxApp("redirected v1", env.Label);
        TestRepo.Run(repo.Dir, "--git-dir", repo.Bare, "update-server-info");
        // 127.0.0.1 (allowed): /secret.git answers 403 with a text body, /moved.git redirects to localhost (not allowed),
        // where the real repository is served.
        await File.WriteAllTextAsync(Path.Combine(gitServer.SitesDir, "git.caddy"),
            $$"""
            http://127.0.0.1 {
            	handle /secret.git/* {
            		header Content-Type text/plain
            		respond "{{Secret}}" 403
            	}
            	handle /moved.git/* {
            		uri strip_prefix /moved.git
            		redir * http://localhost:{{port}}/app.git{uri} 302
            	}
            }
            http://localhost {
            	root * {{repo.Dir}}
            	file_server
            }

            """);
        await new CaddyAdmin(gitServer.AdminAddress).LoadAsync(gitServer.MainCaddyfile, CancellationToken.None);

        var secret = await env.CreateProjectAsync(DeployEnv.ProjectFields(env.Name("secret"), $"http://127.0.0.1:{port}/secret.git", $"{env.Name("secret")}.test"));
        var d = await env.DeployAsync(secret);
        Assert.Equal("failed", await env.WaitForEndAsync(d));
        var error = (await env.Client.GetAsync($"/deployments/{d}")).Text("#deploy-error")!;
        Assert.Contains("the Git server refused the access (authentication failed)", error);
        Assert.DoesNotContain(Secret, error);
        Assert.DoesNotContain(Secret, await env.LogAsync(d));

        var moved = await env.CreateProjectAsync(DeployEnv.ProjectFields(env.Name("moved"), $"http://127.0.0.1:{port}/moved.git", $"{env.Name("moved")}.test"));
        var m = await env.DeployAsync(moved);
        Assert.Equal("failed", await env.WaitForEndAsync(m));
        Assert.Contains("the Git server answered with a redirect, which the panel does not follow", (await env.Client.GetAsync($"/deployments/{m}")).Text("#deploy-error"));
        // Nothing was fetched from the redirect's target, so nothing was built or started.
        Assert.False(Directory.Exists(Path.Combine(env.Panel.DataDir, "repos", $"project-{moved}.git", "objects", "pack"))
                     && Directory.EnumerateFiles(Path.Combine(env.Panel.DataDir, "repos", $"project-{moved}.git", "objects"), "*", SearchOption.AllDirectories).Any());
        Assert.Empty(await env.PanelContainersAsync());
    }
}
