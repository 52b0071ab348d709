using System.Net;
using VpsPanel.Tests.Api;
using VpsPanel.Tests.Deployments;
using VpsPanel.Tests.Harness;
using Xunit.Abstractions;

namespace VpsPanel.Tests.Replicas;

/// <summary>
/// Issue 16, replicas on one server, against the real engine and a real Caddy: N containers of the live version,
/// each answering through Caddy's balancing; one killed under a steady request loop, a redeploy under load, and a
/// change of the count on the live deployment, each with zero failed requests.
/// </summary>
public sealed class ReplicaTests(ITestOutputHelper output)
{
    /// <summary>
    /// The test app: busybox httpd serving "&lt;version&gt; &lt;hostname&gt;", the hostname written at start, so every
    /// answer says which container (Docker names each by its id) and which version served it.
    /// </summary>
    static TestRepo HostnameApp(string version, string label, TestRepo? repo = null)
    {
        var r = repo ?? TestRepo.Empty();
        Directory.CreateDirectory(Path.Combine(r.Work, "www"));
        File.Copy(TestDocker.BusyboxPath, Path.Combine(r.Work, "busybox"), overwrite: true);
        File.WriteAllText(Path.Combine(r.Work, "www", "keep.txt"), version);
        File.WriteAllText(Path.Combine(r.Work, "Dockerfile"),
            $"""
            FROM scratch
            COPY busybox /bin/busybox
            COPY www /www
            LABEL {TestDocker.TestLabel}={label}
            EXPOSE 8080
            CMD ["/bin/busybox", "sh", "-c", "echo {version} $(/bin/busybox hostname) > /www/index.html && exec /bin/busybox httpd -f -p 8080 -h /www"]

            """);
        r.CommitAll(version);
        return r;
    }

    /// <summary>A steady request loop through Caddy (a few clients at once) until stopped: every answer's body, and every failure with why.</summary>
    internal sealed class Load(TestCaddy caddy, string host, int clients = 4)
    {
        readonly CancellationTokenSource _stop = new();
        readonly List<string> _answers = [];
        readonly List<string> _failures = [];
        int _resets;
        Task? _running;

        /// <summary>Requests whose kept-alive connection Caddy's reload reset (see LoopAsync).</summary>
        public int Resets => _resets;

        public void Start() => _running = Task.WhenAll(Enumerable.Range(0, clients).Select(_ => Task.Run(LoopAsync)));

        async Task LoopAsync()
        {
            using var http = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, UseProxy = false }) { Timeout = TimeSpan.FromSeconds(30) };
            while (!_stop.IsCancellationRequested)
            {
                try
                {
                    using var res = await caddy.GetAsync(host, "/", http);
                    var body = (await res.Content.ReadAsStringAsync()).Trim();
                    lock (_answers) (res.StatusCode == HttpStatusCode.OK ? _answers : _failures).Add(res.StatusCode == HttpStatusCode.OK ? body : $"HTTP {(int)res.StatusCode}: {body}");
                }
                // A kept-alive connection that Caddy closes as its reload stops the old config's server: the request sent
                // on it at that instant sees the transport fail (a reset), which HTTP clients retry for GET. Counted
                // apart and reported, as in StaticSiteDeployTests, and bounded by the caller; a wrong answer, an HTTP
                // error or a timeout is a failure.
                catch (HttpRequestException e) when (e.InnerException is IOException)
                {
                    Interlocked.Increment(ref _resets);
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                {
                    lock (_answers) _failures.Add(e.Message);
                }
                await Task.Delay(5);
            }
        }

        public async Task<(List<string> Answers, List<string> Failures)> StopAsync()
        {
            _stop.Cancel();
            await _running!;
            lock (_answers)
            {
                Assert.True(_resets * 100 <= _answers.Count, $"{_resets} kept-alive connections reset against {_answers.Count} answers (at most 1 %)");
                return (_answers.ToList(), _failures.ToList());
            }
        }
    }

    /// <summary>
    /// The distinct answers of requests through Caddy, asked in rounds of <paramref name="requests"/> until they are
    /// exactly <paramref name="expected"/> or a minute has passed. Caddy may keep a fresh replica out for a moment
    /// (its first active check timed out on a loaded machine, or one request to it failed and max_fails holds it out
    /// for fail_duration), so one round is not the answer; every request of every round must still succeed.
    /// </summary>
    internal static async Task<List<string>> AnswersAsync(DeployEnv env, string host, IEnumerable<string> expected, int requests)
    {
        var want = expected.Order().ToList();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            var seen = new HashSet<string>();
            for (var i = 0; i < requests; i++)
            {
                using var res = await env.Caddy.GetAsync(host);
                Assert.Equal(HttpStatusCode.OK, res.StatusCode);
                seen.Add((await res.Content.ReadAsStringAsync()).Trim());
            }
            var got = seen.Order().ToList();
            if (got.SequenceEqual(want) || DateTime.UtcNow > deadline) return got;
            await Task.Delay(1000);
        }
    }

    static async Task<List<DeployEnv.PanelContainer>> ContainersOfAsync(DeployEnv env, long deployment) =>
        (await env.PanelContainersAsync()).Where(c => c.Labels["vpspanel.deployment"] == deployment.ToString()).OrderBy(c => c.Name).ToList();

    [Fact]
    public async Task Three_replicas_each_answer_and_a_kill_a_redeploy_a_live_scale_and_a_rollback_under_load_fail_no_request()
    {
        await using var env = await DeployEnv.StartAsync(new Dictionary<string, string> { ["Deploy__ReconcileSeconds"] = "5" });
        using var admin = await TestApi.ForUserAsync(env.Panel, PanelSetup.AdminEmail);
        using var repo = HostnameApp("v1", env.Label);
        var name = env.Name();
        var domain = $"{name}.test";
        var project = await env.CreateProjectAsync(repo, domain);
        // Nothing is live yet: the count is saved for the first deploy.
        var set = await admin.SendAsync(HttpMethod.Patch, $"/api/projects/{name}", """{"replicas": 3}""");
        Assert.Equal(HttpStatusCode.OK, set.Status);
        Assert.Equal(3, (int)set.Body!["replicas"]!);

        var d1 = await env.DeployAsync(project);
        await env.WaitForLiveAsync(d1);
        var first = $"vpspanel-{env.PanelId}-{name}-{d1}";
        var containers = await ContainersOfAsync(env, d1);
        Assert.Equal([first, first + "-r2", first + "-r3"], containers.Select(c => c.Name));
        Assert.All(containers, c => Assert.Equal("running", c.State));
        var site = await File.ReadAllTextAsync(Path.Combine(env.Caddy.SitesDir, name + ".caddy"));
        Assert.Contains("lb_policy round_robin", site);
        Assert.Contains("health_uri /", site);

        // Each replica answers through Caddy: the three hostnames are the three containers' ids.
        var expected = containers.Select(c => "v1 " + c.Id[..12]).Order().ToList();
        Assert.Equal(expected, await AnswersAsync(env, domain, expected, 60));

        // The page shows the count and each replica's state.
        var page = await env.Client.GetAsync($"/projects/{project}");
        Assert.Contains("3 replicas wanted", page.Text("#replica-count"));
        Assert.Equal(3, page.Doc.QuerySelectorAll("#replica-states tr[data-replica]").Length);
        Assert.All(page.Texts("#replica-states tr[data-replica] .status"), s => Assert.StartsWith("running", s));

        // docker kill one replica during a steady request loop: no request fails.
        var load = new Load(env.Caddy, domain);
        load.Start();
        await Task.Delay(1500);
        await TestDocker.CliAsync("kill", first + "-r2");
        await Task.Delay(4000);
        var (killAnswers, killFailures) = await load.StopAsync();
        output.WriteLine($"kill one of 3 replicas: {killAnswers.Count} requests answered, {killFailures.Count} failed, {load.Resets} kept-alive connections reset by Caddy's reload");
        Assert.True(killFailures.Count == 0, $"{killFailures.Count} failed requests: {string.Join(" | ", killFailures.Take(5))}");
        Assert.True(killAnswers.Count > 100, $"only {killAnswers.Count} requests in 5.5 s");
        // … and the killed replica runs again (Docker's restart policy or the reconciler's pass over replicas).
        await TestDocker.WaitUntilAsync(async () => (await ContainersOfAsync(env, d1)).All(c => c.State == "running"), TimeSpan.FromSeconds(60), "the killed replica running again");

        // A redeploy with 3 replicas under a steady request loop: no request fails, and afterwards every answer is v2.
        HostnameApp("v2", env.Label, repo);
        load = new Load(env.Caddy, domain);
        load.Start();
        await Task.Delay(1000);
        var d2 = await env.DeployAsync(project);
        await env.WaitForLiveAsync(d2);
        await Task.Delay(3000);
        var (deployAnswers, deployFailures) = await load.StopAsync();
        var v1Count = deployAnswers.Count(a => a.StartsWith("v1 "));
        output.WriteLine($"redeploy with 3 replicas: {deployAnswers.Count} requests answered ({v1Count} by v1, {deployAnswers.Count - v1Count} by v2), {deployFailures.Count} failed, {load.Resets} kept-alive connections reset by Caddy's reload");
        Assert.True(deployFailures.Count == 0, $"{deployFailures.Count} failed requests: {string.Join(" | ", deployFailures.Take(5))}\n{await env.LogAsync(d2)}");
        Assert.Contains(deployAnswers, a => a.StartsWith("v1 "));
        Assert.Contains(deployAnswers, a => a.StartsWith("v2 "));
        var v2Answers = (await ContainersOfAsync(env, d2)).Select(c => "v2 " + c.Id[..12]).Order().ToList();
        Assert.Equal(v2Answers, await AnswersAsync(env, domain, v2Answers, 60));
        // The old replicas were drained and removed: only the new deployment's containers are left.
        await TestDocker.WaitUntilAsync(async () => (await ContainersOfAsync(env, d1)).Count == 0, TimeSpan.FromSeconds(30), "the old replicas removed");
        Assert.Equal(3, (await env.PanelContainersAsync()).Count);

        // Changing the count on the live deployment applies at once, under load, with no failed request.
        load = new Load(env.Caddy, domain);
        load.Start();
        var down = await admin.SendAsync(HttpMethod.Patch, $"/api/projects/{name}", """{"replicas": 1}""");
        Assert.Equal(HttpStatusCode.OK, down.Status);
        var up = await admin.SendAsync(HttpMethod.Patch, $"/api/projects/{name}", """{"replicas": 2}""");
        Assert.Equal(HttpStatusCode.OK, up.Status);
        await Task.Delay(1000);
        var (scaleAnswers, scaleFailures) = await load.StopAsync();
        output.WriteLine($"scale 3 → 1 → 2 on the live deployment: {scaleAnswers.Count} requests answered, {scaleFailures.Count} failed, {load.Resets} kept-alive connections reset by Caddy's reload");
        Assert.True(scaleFailures.Count == 0, $"{scaleFailures.Count} failed requests: {string.Join(" | ", scaleFailures.Take(5))}");
        var scaled = await ContainersOfAsync(env, d2);
        var second = $"vpspanel-{env.PanelId}-{name}-{d2}";
        Assert.Equal([second, second + "-r2"], scaled.Select(c => c.Name));
        var scaledAnswers = scaled.Select(c => "v2 " + c.Id[..12]).Order().ToList();
        Assert.Equal(scaledAnswers, await AnswersAsync(env, domain, scaledAnswers, 30));
        Assert.Contains("replicas: scaling from 1 to 2", await env.LogAsync(d2));

        // A rollback starts the current count of the old image, under load, with no failed request.
        load = new Load(env.Caddy, domain);
        load.Start();
        var d3 = long.Parse((await env.DeploymentActionAsync(d1, "Rollback")).Split('/').Last());
        await env.WaitForLiveAsync(d3);
        await Task.Delay(2000);
        var (rollbackAnswers, rollbackFailures) = await load.StopAsync();
        output.WriteLine($"rollback with 2 replicas: {rollbackAnswers.Count} requests answered, {rollbackFailures.Count} failed, {load.Resets} kept-alive connections reset by Caddy's reload");
        Assert.True(rollbackFailures.Count == 0, $"{rollbackFailures.Count} failed requests: {string.Join(" | ", rollbackFailures.Take(5))}");
        var rolledBack = await ContainersOfAsync(env, d3);
        Assert.Equal(2, rolledBack.Count);
        var rolledBackAnswers = rolledBack.Select(c => "v1 " + c.Id[..12]).Order().ToList();
        Assert.Equal(rolledBackAnswers, await AnswersAsync(env, domain, rolledBackAnswers, 30));
        await TestDocker.WaitUntilAsync(async () => (await ContainersOfAsync(env, d2)).Count == 0, TimeSpan.FromSeconds(30), "the retired replicas removed");
    }

    [Fact]
    public async Task Bad_replica_counts_are_refused_on_the_page_the_api_and_the_cli_and_change_nothing()
    {
        await using var panel = await PanelProcess.StartAsync();
        using var client = await PanelSetup.SignedInAdminAsync(panel);
        using var admin = await TestApi.ForUserAsync(panel, PanelSetup.AdminEmail);
        var name = "replicas-" + Guid.NewGuid().ToString("N")[..8];
        Assert.Equal(HttpStatusCode.Created, (await admin.SendAsync(HttpMethod.Post, "/api/projects",
            $$"""{"name": "{{name}}", "gitUrl": "https://git.example.com/me/app.git", "branch": "main", "port": 8080, "domains": ["{{name}}.test"]}""")).Status);
        var id = (long)(await admin.GetAsync($"/api/projects/{name}"))["id"]!;

        foreach (var bad in new[] { "0", "11", "-1", "abc", "1e9", "2.5", "" })
        {
            var fields = DeployEnv.ProjectFields(name, "https://git.example.com/me/app.git", "", "main");
            fields.Remove("domains");
            fields["replicas"] = bad;
            var page = await client.SubmitAsync($"/projects/{id}/edit", fields);
            Assert.Equal(HttpStatusCode.UnprocessableEntity, page.Status);
            Assert.Contains("whole number from 1 to 10", page.Text("#replicas ~ .field-error"));
        }
        foreach (var bad in new[] { "0", "11", "-1", "\"abc\"", "1e9", "2.5", "true" })
        {
            var answer = await admin.SendAsync(HttpMethod.Patch, $"/api/projects/{name}", $$"""{"replicas": {{bad}}, "branch": "other"}""");
            var problem = TestApi.Problem(answer, HttpStatusCode.UnprocessableEntity);
            Assert.Contains("whole number from 1 to 10", (string)problem["errors"]!["replicas"]![0]!);
        }
        string[] remote = ["--url", panel.Url, "--token", admin.Token];
        foreach (var bad in new[] { "0", "11", "-1", "abc", "1000000000" })
        {
            // After "--" so that "-1" is the count, not an option.
            var cli = await PanelCli.RunAsync(["projects", "scale", .. remote, name, "--", bad]);
            Assert.NotEqual(0, cli.ExitCode);
            Assert.Contains("replicas", cli.Stderr);
            Assert.Contains("whole number from 1 to 10", cli.Stderr);
        }
        // Nothing changed: neither the count nor the branch sent beside a bad count.
        var unchanged = await admin.GetAsync($"/api/projects/{name}");
        Assert.Equal(1, (int)unchanged["replicas"]!);
        Assert.Equal("main", (string)unchanged["branch"]!);

        // In a browser, as an admin: a bad count gets its message under the field; a good one shows on the project page.
        await using (var browser = await Browser.LaunchAsync())
        {
            var tab = await browser.NewPageAsync();
            await Browser.SignInAsync(tab, panel.Url, PanelSetup.AdminEmail, PanelSetup.AdminPassword);
            await Browser.WaitForUrlAsync(tab, u => !u.Contains("/login"));
            await tab.GotoAsync($"{panel.Url}/projects/{id}/edit");
            Assert.Equal("1", await tab.InputValueAsync("#replicas"));
            await tab.FillAsync("#replicas", "11");
            await tab.ClickAsync("#project-form button[type=submit]");
            await tab.WaitForSelectorAsync("#replicas ~ .field-error");
            Assert.Contains("whole number from 1 to 10", await tab.TextContentAsync("#replicas ~ .field-error"));
            await tab.FillAsync("#replicas", "3");
            await tab.ClickAsync("#project-form button[type=submit]");
            await Browser.WaitForUrlAsync(tab, u => u.EndsWith($"/projects/{id}?saved=1"));
            await tab.WaitForSelectorAsync("#replica-count");
            Assert.Contains("3 replicas wanted", await tab.TextContentAsync("#replica-count"));
        }
        Assert.Equal(3, (int)(await admin.GetAsync($"/api/projects/{name}"))["replicas"]!);

        // A member may not change the count, even of their own project (each replica multiplies its share of the machine).
        var member = await PanelCli.RunAsync(["user", "add", "--email", "replicas-member@example.com", "--data-dir", panel.DataDir], "member password 12\n");
        Assert.True(member.ExitCode == 0, member.Stderr);
        using var m = await TestApi.ForUserAsync(panel, "replicas-member@example.com");
        Assert.Equal(HttpStatusCode.Created, (await m.SendAsync(HttpMethod.Post, "/api/projects",
            $$"""{"name": "{{name}}-m", "gitUrl": "https://git.example.com/me/app.git", "branch": "main", "port": 8080, "domains": ["{{name}}-m.test"]}""")).Status);
        var refused = TestApi.Problem(await m.SendAsync(HttpMethod.Patch, $"/api/projects/{name}-m", """{"replicas": 2}"""), HttpStatusCode.UnprocessableEntity);
        Assert.Contains("Only an admin", (string)refused["errors"]!["replicas"]![0]!);
        Assert.Equal(1, (int)(await m.GetAsync($"/api/projects/{name}-m"))["replicas"]!);

        // A good count through the CLI: saved (nothing is live, so it applies from the first deploy).
        var ok = await PanelCli.RunAsync(["projects", "scale", name, "4", .. remote]);
        Assert.True(ok.ExitCode == 0, ok.Stderr);
        Assert.Contains("4 replica", ok.Stdout);
        Assert.Equal(4, (int)(await admin.GetAsync($"/api/projects/{name}"))["replicas"]!);
    }
}
