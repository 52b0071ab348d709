using System.Net;
using System.Text.Json.Nodes;
using VpsPanel.Tests.Harness;
using static VpsPanel.Tests.Variables.VariableTestKit;

namespace VpsPanel.Tests.Deployments;

/// <summary>
/// A deployed app's container logs on the page and through the API, for real: the app prints its secret to stdout
/// and stderr at start; what the panel shows has ******** in its place, and the text around it.
/// </summary>
public sealed class ContainerLogsTests
{
    /// <summary>
    /// The busybox app, printing 5000 filler lines of 1 KB (more than the panel reads at once), then API_KEY (a
    /// secret) to stdout and stderr and GREETING (not one), before it starts serving: the entrypoint prints, then
    /// execs the app's usual command (httpd). The pause after the filler lets Docker's stdout copier catch up: stdout
    /// and stderr are copied separately, and under load the stderr line was logged over 200 lines before the last
    /// filler line, out of the default tail.
    /// </summary>
    static TestRepo SecretPrintingRepo(string label) => TestRepo.WithBusyboxApp("logs app", label, extraDockerfile:
        """ENTRYPOINT ["/bin/busybox", "sh", "-c", "x=$(printf '%01000d' 0); i=0; while [ $i -lt 5000 ]; do echo \"filler $i $x\"; i=$((i+1)); done; /bin/busybox sleep 3; echo \"token=$API_KEY (stdout) $GREETING\"; echo \"err $API_KEY (stderr)\" >&2; exec \"$@\"", "sh"]""");

    static async Task<JsonNode> ProblemAsync(HttpResponseMessage res, HttpStatusCode status)
    {
        var body = await res.Content.ReadAsStringAsync();
        Assert.True(res.StatusCode == status, $"expected {status}, got {res.StatusCode}: {body}");
        Assert.Equal("application/problem+json", res.Content.Headers.ContentType?.MediaType);
        return JsonNode.Parse(body)!;
    }

    [Fact]
    public async Task Container_logs_mask_the_secret_refuse_a_bad_tail_say_when_the_container_or_engine_is_gone_and_are_hidden_from_other_members()
    {
        await using var env = await DeployEnv.StartAsync();
        using var repo = SecretPrintingRepo(env.Label);
        var projectId = await env.CreateProjectAsync(repo, $"{env.Name()}.test");
        var slug = env.Name();
        var secret = "ak-" + Guid.NewGuid().ToString("N");
        using var api = await ApiAsync(env.Panel);
        await PutOkAsync(api, slug, $$"""
            [{"key":"API_KEY","value":"{{secret}}","secret":true,"runtime":true},
             {"key":"GREETING","value":"hello-plain","secret":false,"runtime":true}]
            """);

        var first = await env.DeployAsync(projectId);
        await env.WaitForLiveAsync(first);

        // The deployment page links to its container's logs.
        var show = await env.Client.GetAsync($"/deployments/{first}");
        Assert.Equal($"/deployments/{first}/container-logs", show.Doc.QuerySelector("#container-logs-link")?.GetAttribute("href"));

        // API: masked lines, with the text around the secret and the plain variable as they were printed.
        using (var res = await api.GetAsync($"/api/deployments/{first}/container-logs"))
        {
            var text = await res.Content.ReadAsStringAsync();
            Assert.True(res.StatusCode == HttpStatusCode.OK, $"{res.StatusCode}: {text}");
            Assert.Equal("text/plain", res.Content.Headers.ContentType?.MediaType);
            Assert.Contains("token=******** (stdout) hello-plain", text);
            Assert.Contains("err ******** (stderr)", text);
            Assert.DoesNotContain(secret, text);
            Assert.DoesNotContain(secret[3..20], text); // not even a part of it
        }
        Assert.Single((await api.GetStringAsync($"/api/deployments/{first}/container-logs?tail=1")).TrimEnd('\n').Split('\n'));

        // The page: the same lines, stderr marked as such.
        var page = await env.Client.GetAsync($"/deployments/{first}/container-logs");
        Assert.Equal(HttpStatusCode.OK, page.Status);
        Assert.Contains("token=******** (stdout) hello-plain", page.Text("#container-log"));
        Assert.Contains("err ******** (stderr)", page.Doc.QuerySelector("#container-log .stderr")?.TextContent);
        Assert.DoesNotContain(secret, page.Html);

        // The secret changes but the container still runs with the old value: the old value stays masked too.
        await PutOkAsync(api, slug, """[{"key":"API_KEY","value":"a-new-value-123","secret":true,"runtime":true},{"key":"GREETING","value":"hello-plain","runtime":true}]""");
        var afterChange = await api.GetStringAsync($"/api/deployments/{first}/container-logs");
        Assert.Contains("token=******** (stdout)", afterChange);
        Assert.DoesNotContain(secret, afterChange);
        Assert.DoesNotContain(secret, (await env.Client.GetAsync($"/deployments/{first}/container-logs")).Html);

        // A tail out of 1–5000 (or not a number): 422 naming tail on the API, a message on the page.
        foreach (var tail in new[] { "0", "6000", "-1", "abc" })
        {
            using var res = await api.GetAsync($"/api/deployments/{first}/container-logs?tail={tail}");
            var problem = await ProblemAsync(res, HttpStatusCode.UnprocessableContent);
            Assert.NotNull(problem["errors"]?["tail"]);
            Assert.Contains("tail", (string?)problem["detail"]);
            var bad = await env.Client.GetAsync($"/deployments/{first}/container-logs?tail={tail}");
            Assert.Equal(HttpStatusCode.UnprocessableContent, bad.Status);
            Assert.Contains("from 1 to 5000", bad.Text("#tail-error"));
            Assert.Null(bad.Doc.QuerySelector("#container-log"));
        }

        // 5000 lines of 1 KB are more than the 4 MB kept: the oldest are left out (the newest, with the secret lines
        // the app printed last, are shown masked), and that is said on the page and in the API's answer.
        var big = await env.Client.GetAsync($"/deployments/{first}/container-logs?tail=5000");
        Assert.Equal(HttpStatusCode.OK, big.Status);
        Assert.Contains("only the newest 4 MB are shown", big.Text("#logs-cut"));
        Assert.Contains("token=******** (stdout)", big.Text("#container-log"));
        Assert.StartsWith("filler ", big.Doc.QuerySelector("#container-log span")?.TextContent.Split(' ', 2)[1]);
        Assert.Null((await env.Client.GetAsync($"/deployments/{first}/container-logs")).Doc.QuerySelector("#logs-cut"));
        using (var res = await api.GetAsync($"/api/deployments/{first}/container-logs?tail=5000"))
        {
            Assert.Equal(HttpStatusCode.OK, res.StatusCode);
            Assert.Equal("true", res.Headers.GetValues("X-Logs-Truncated").Single());
            var text = await res.Content.ReadAsStringAsync();
            Assert.InRange(text.Length, 3_500_000, 4_300_000);
            Assert.EndsWith("vpspanel: These lines came to more than 4 MB: only the newest 4 MB are shown, the oldest lines asked for are left out.\n", text);
            Assert.Contains("err ******** (stderr)", text);
            Assert.DoesNotContain(secret, text);
        }

        // Another member sees neither the page nor the API answer: 404, as for any deployment they may not see.
        var add = await PanelCli.RunAsync(["user", "add", "--email", "other@example.com", "--data-dir", env.Panel.DataDir], stdin: "another member password\n");
        Assert.Equal(0, add.ExitCode);
        using (var member = new PanelClient(env.Panel))
        {
            Assert.True((await member.LoginAsync("other@example.com", "another member password")).Status is HttpStatusCode.Redirect or HttpStatusCode.SeeOther);
            var theirs = await member.GetAsync($"/deployments/{first}/container-logs");
            Assert.Equal(HttpStatusCode.NotFound, theirs.Status);
            Assert.DoesNotContain("token=", theirs.Html);
            using var memberApi = await Api.TestApi.ForUserAsync(env.Panel, "other@example.com");
            using var res = await memberApi.Http.GetAsync($"/api/deployments/{first}/container-logs");
            Assert.Contains($"Deployment {first}", (string?)(await ProblemAsync(res, HttpStatusCode.NotFound))["detail"]);
            using var badTail = await memberApi.Http.GetAsync($"/api/deployments/{first}/container-logs?tail=0");
            await ProblemAsync(badTail, HttpStatusCode.NotFound); // visibility first: a bad tail tells them nothing either
        }

        // A new deployment retires the first: its container is removed after the drain.
        var second = await env.DeployAsync(projectId);
        await env.WaitForLiveAsync(second);
        HttpStatusCode status = 0;
        for (var i = 0; i < 60 && status != HttpStatusCode.Conflict; i++)
        {
            using var res = await api.GetAsync($"/api/deployments/{first}/container-logs");
            status = res.StatusCode;
            if (status != HttpStatusCode.Conflict) await Task.Delay(250);
        }
        using (var gone = await api.GetAsync($"/api/deployments/{first}/container-logs"))
        {
            var detail = (string?)(await ProblemAsync(gone, HttpStatusCode.Conflict))["detail"];
            Assert.Contains($"The container of deployment {first}", detail);
            Assert.Contains("no longer exists", detail);
        }
        var gonePage = await env.Client.GetAsync($"/deployments/{first}/container-logs");
        Assert.Equal(HttpStatusCode.OK, gonePage.Status);
        Assert.Contains($"The container of deployment {first}", gonePage.Text("#container-gone"));
        Assert.Contains("no longer exists", gonePage.Text("#container-gone"));
        Assert.Null((await env.Client.GetAsync($"/deployments/{first}")).Doc.QuerySelector("#container-logs-link"));

        // The new deployment runs with the new value, masked as well.
        var secondLogs = await api.GetStringAsync($"/api/deployments/{second}/container-logs");
        Assert.Contains("token=******** (stdout) hello-plain", secondLogs);
        Assert.DoesNotContain("a-new-value-123", secondLogs);

        // The endpoint is in the API's description.
        var openapi = await api.GetStringAsync("/api/openapi.json");
        Assert.Contains("/api/deployments/{id}/container-logs", openapi);

        // The panel restarted without a reachable engine: the page and the API say so, not a bare 500.
        env.Settings["Docker__Socket"] = "/run/vpspanel-test-no-docker/docker.sock";
        await env.RestartHardAsync();
        var down = await env.Client.GetAsync($"/deployments/{second}/container-logs");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, down.Status);
        Assert.Contains("/run/vpspanel-test-no-docker/docker.sock", down.Text("#engine-error"));
        using (var res = await api.GetAsync($"/api/deployments/{second}/container-logs"))
            Assert.Contains("cannot be read from Docker", (string?)(await ProblemAsync(res, HttpStatusCode.ServiceUnavailable))["detail"]);
    }
}
