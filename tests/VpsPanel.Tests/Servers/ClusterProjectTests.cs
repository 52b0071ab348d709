using System.Net;
using System.Text.Json.Nodes;
using VpsPanel.Tests.Api;
using VpsPanel.Tests.Deployments;
using VpsPanel.Tests.Harness;
using VpsPanel.Tests.Replicas;
using Xunit.Abstractions;

namespace VpsPanel.Tests.Servers;

/// <summary>
/// Issue 21, cluster projects, on a real two-node swarm (TestSwarm: two extra dockerds in their own namespaces; the
/// panel's engine is node 1's), a real registry (Debian's docker-registry, with a user) and a real Caddy on loopback.
/// One story, so the swarm (half a minute to form) is made once: bad placements refused; a Redis pinned to node 2
/// with its volume; an app with 2 replicas spread one per node, both answering through Caddy and both reaching Redis
/// across nodes over the overlay; a rolling update, a failing version that Swarm rolls back, a drain and a kill -9
/// of node 2, each under a steady request loop with zero failed requests; node 2 shown down and notified.
/// </summary>
public sealed class ClusterProjectTests(ITestOutputHelper output)
{
    /// <summary>busybox httpd answering "&lt;version&gt; &lt;hostname&gt;" on /, and on /cgi-bin/redis what Redis says to PING (found by its alias on the overlay).</summary>
    static void WriteApp(TestRepo repo, string version, string redisAlias, bool crash = false)
    {
        var www = Path.Combine(repo.Work, "www");
        Directory.CreateDirectory(Path.Combine(www, "cgi-bin"));
        File.Copy(TestDocker.BusyboxPath, Path.Combine(repo.Work, "busybox"), overwrite: true);
        File.WriteAllText(Path.Combine(www, "keep.txt"), version);
        var cgi = Path.Combine(www, "cgi-bin", "redis");
        // busybox nc does not resolve names in a FROM scratch image (static glibc, no NSS): nslookup does, so it asks first.
        File.WriteAllText(cgi,
            $"""
            #!/bin/busybox sh
            printf 'Content-Type: text/plain\r\n\r\n'
            ip=$(/bin/busybox nslookup {redisAlias} 2>/dev/null | /bin/busybox awk '/^Address/ && !/:53$/ {"{"}a=$NF{"}"} END {"{"}print a{"}"}')
            printf 'PING\r\nQUIT\r\n' | /bin/busybox nc "$ip" 6379

            """);
        File.SetUnixFileMode(cgi, (UnixFileMode)0b111_101_101);
        var start = crash ? "echo this version exits at once; exit 3" : $"echo {version} $(/bin/busybox hostname) > /www/index.html && exec /bin/busybox httpd -f -p 8080 -h /www";
        File.WriteAllText(Path.Combine(repo.Work, "Dockerfile"),
            $"""
            FROM scratch
            COPY busybox /bin/busybox
            COPY www /www
            EXPOSE 8080
            CMD ["/bin/busybox", "sh", "-c", "{start}"]

            """);
        repo.CommitAll(version);
    }

    /// <summary>Debian's redis-server and the libraries it links, in a FROM scratch image (no image can be pulled here).</summary>
    static async Task<TestRepo> RedisRepoAsync()
    {
        var repo = TestRepo.Empty();
        var root = Path.Combine(repo.Work, "rootfs");
        void Copy(string from, string to)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(root, to.TrimStart('/')))!);
            File.Copy(from, Path.Combine(root, to.TrimStart('/')), overwrite: true);
        }
        var binary = Path.GetFullPath(Path.Combine("/usr/bin", File.ResolveLinkTarget("/usr/bin/redis-server", true)?.Name ?? "redis-server"));
        Copy(binary, "/usr/bin/redis-server");
        foreach (var line in (await TestDebian.RunAsync("ldd", [binary])).Stdout.Split('\n'))
        {
            var parts = line.Trim().Split(' ');
            var lib = parts.Length >= 3 && parts[1] == "=>" ? parts[2] : parts.Length >= 1 && parts[0].StartsWith('/') ? parts[0] : null;
            if (lib is not null && File.Exists(lib)) Copy(lib, lib);
        }
        Directory.CreateDirectory(Path.Combine(root, "etc"));
        File.WriteAllText(Path.Combine(root, "etc", "passwd"), "root:x:0:0:root:/root:/bin/sh\n");
        File.WriteAllText(Path.Combine(repo.Work, "Dockerfile"),
            """
            FROM scratch
            COPY rootfs /
            EXPOSE 6379
            CMD ["/usr/bin/redis-server", "--port", "6379", "--protected-mode", "no", "--dir", "/data", "--appendonly", "yes"]

            """);
        repo.CommitAll("redis");
        return repo;
    }

    static async Task<JsonNode?> PatchAsync(TestApi admin, string slug, string json, HttpStatusCode expected = HttpStatusCode.OK)
    {
        var (status, body, _) = await admin.SendAsync(HttpMethod.Patch, $"/api/projects/{slug}", json);
        Assert.True(status == expected, $"PATCH {json}: {status} {body}");
        return body;
    }

    static async Task<List<string>> NodesOfAsync(TestSwarm swarm, string service) =>
        (await swarm.Manager.CliAsync("service", "ps", "--filter", "desired-state=running", "--format", "{{.Node}} {{.CurrentState}}", service))
        .Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l.Contains(" Running")).Select(l => l.Split(' ')[0]).Order().ToList();

    async Task<List<string>> UnderLoadAsync(DeployEnv env, string domain, string what, Func<Task> act)
    {
        var load = new ReplicaTests.Load(env.Caddy, domain);
        load.Start();
        await Task.Delay(1000);
        await act();
        await Task.Delay(2000);
        var (answers, failures) = await load.StopAsync();
        output.WriteLine($"{what}: {answers.Count} requests answered, {failures.Count} failed, {load.Resets} kept-alive connections reset by Caddy's reload");
        Assert.True(failures.Count == 0, $"{what}: {failures.Count} failed requests: {string.Join(" | ", failures.Take(5))}");
        Assert.True(answers.Count > 20, $"{what}: only {answers.Count} requests answered");
        return answers;
    }

    [Fact]
    public async Task Cluster_projects_spread_pin_roll_roll_back_drain_and_survive_a_lost_node_with_no_failed_request()
    {
        await using var swarm = await TestSwarm.StartAsync(2);
        var (n1, n2) = (swarm.Nodes[0], swarm.Nodes[1]);
        await using var registry = await TestRegistry.StartAsync(swarm.HostAddress);
        var settings = new Dictionary<string, string>(registry.PanelSettings())
        {
            ["Docker__Socket"] = n1.Socket, ["Docker__CgroupParent"] = n1.CgroupParent, ["Deploy__PortRange"] = "30000-39999",
        };
        await using var env = await DeployEnv.StartAsync(settings);
        using var admin = await TestApi.ForUserAsync(env.Panel, PanelSetup.AdminEmail);
        using var rx = new Notifications.Receiver();
        using (var api = await Notifications.NotifyKit.AdminApiAsync(env.Panel))
            await Notifications.NotifyKit.CreateAsync(api, new JsonObject
            {
                ["type"] = "webhook", ["name"] = "servers", ["settings"] = new JsonObject { ["url"] = rx.Url + "/hook", ["secret"] = "cluster-hook-secret" },
                ["events"] = new JsonArray("server.down"), ["allowPrivateNetwork"] = true,
            });
        var servers = (await admin.GetAsync("/api/servers")).AsArray();
        Assert.Equal(2, servers.Count);
        var node2Id = (string)servers.Single(s => (string?)s!["hostname"] == n2.Name)!["id"]!;

        // The app: created on this server as usual, then moved to the cluster. Bad placements are refused and change nothing.
        using var app = TestRepo.Empty();
        var name = env.Name("web");
        var domain = name + ".test";
        var redisName = env.Name("redis");
        WriteApp(app, "v1", redisName);
        var project = await env.CreateProjectAsync(app, domain, name);
        foreach (var (body, field, says) in new[]
                 {
                     ("""{"target": "cluster", "placement": "label:zone=nowhere"}""", "placement", "No active server has the label zone=nowhere"),
                     ("""{"target": "cluster", "placement": "spread", "replicas": 3}""", "replicas", "3 replicas need 3 active servers"),
                     ("""{"target": "cluster", "placement": "node:no-such-server"}""", "placement", "No server of the cluster is called no-such-server"),
                     ("""{"target": "elsewhere"}""", "target", "\"server\" (this server's containers) or \"cluster\""),
                     ("""{"target": "cluster", "placement": "zone=b"}""", "placement", "Placement is one of: any, spread"),
                 })
        {
            var refused = await PatchAsync(admin, name, body, HttpStatusCode.UnprocessableEntity);
            Assert.Contains(says, (string?)refused!["errors"]![field]![0]);
        }
        // The CLI gets the same refusal on stderr with a non-zero exit; the form shows it under the field.
        string[] remote = ["--url", env.Panel.Url, "--token", admin.Token];
        var cli = await PanelCli.RunAsync(["projects", "place", .. remote, name, "cluster", "--placement", "label:zone=nowhere"]);
        Assert.NotEqual(0, cli.ExitCode);
        Assert.Contains("No active server has the label zone=nowhere", cli.Stderr);
        var form = await env.Client.GetAsync($"/projects/{project}/edit");
        Assert.Equal("server", form.Doc.QuerySelector("#target option[selected]")?.GetAttribute("value"));
        Assert.Equal("any", form.Doc.QuerySelector("#placement")?.GetAttribute("value"));
        var fields = DeployEnv.ProjectFields(name, app.Bare, domain);
        fields["target"] = "cluster";
        fields["placement"] = "node:no-such-server";
        var refusedForm = await env.Client.SubmitAsync($"/projects/{project}/edit", fields);
        Assert.Contains("No server of the cluster is called no-such-server", refusedForm.Text("#placement ~ .field-error"));
        var unchanged = await admin.GetAsync($"/api/projects/{name}");
        Assert.Equal(("server", "any", 1), ((string?)unchanged["target"], (string?)unchanged["placement"], (int)unchanged["replicas"]!));
        var placed = await PanelCli.RunAsync(["projects", "place", .. remote, name, "cluster", "--placement", "spread"]);
        Assert.True(placed.ExitCode == 0, placed.Stderr);
        Assert.Contains("runs on the cluster, placement spread", placed.Stdout);
        var moved = await PatchAsync(admin, name, """{"replicas": 2}""");
        Assert.Equal(("cluster", "spread", 2), ((string?)moved!["target"], (string?)moved["placement"], (int)moved["replicas"]!));

        // Redis pinned to node 2 with its volume (a volume needs a pinned node).
        using var redis = await RedisRepoAsync();
        var redisFields = DeployEnv.ProjectFields(redisName, redis.Bare, redisName + ".test");
        redisFields["containerPort"] = "6379";
        redisFields["healthPath"] = "";
        var redisProject = await env.CreateProjectAsync(redisFields);
        Assert.Equal(HttpStatusCode.OK, (await admin.SendAsync(HttpMethod.Put, $"/api/projects/{redisName}/volumes", Volumes.VolumeTestKit.VolumeList(("data", "/data")))).Status);
        var unpinned = await PatchAsync(admin, redisName, """{"target": "cluster", "placement": "any"}""", HttpStatusCode.UnprocessableEntity);
        Assert.Contains("must be pinned to one server", (string?)unpinned!["errors"]!["placement"]![0]);
        await PatchAsync(admin, redisName, $$"""{"target": "cluster", "placement": "node:{{n2.Name}}"}""");
        var r1 = await env.DeployAsync(redisProject);
        await env.WaitForLiveAsync(r1, TimeSpan.FromMinutes(4));
        var redisService = $"vpspanel-{env.PanelId}-{redisName}";
        Assert.Equal([n2.Name], await NodesOfAsync(swarm, redisService));
        Assert.Contains("/data", await n1.CliAsync("service", "inspect", "--format", "{{json .Spec.TaskTemplate.ContainerSpec.Mounts}}", redisService));

        // The app: one task per node, each answering through Caddy, each reaching Redis on node 2 over the overlay.
        var d1 = await env.DeployAsync(project);
        await env.WaitForLiveAsync(d1, TimeSpan.FromMinutes(4));
        var service = $"vpspanel-{env.PanelId}-{name}";
        Assert.Equal(new[] { n1.Name, n2.Name }.Order(), await NodesOfAsync(swarm, service));
        var log = await env.LogAsync(d1);
        Assert.Contains($"pushing {registry.Address}/vpspanel/{env.PanelId}-{name}:{d1}", log);
        Assert.Contains($"{registry.Address}/vpspanel/{env.PanelId}-{name}@sha256:", await n1.CliAsync("service", "inspect", "--format", "{{.Spec.TaskTemplate.ContainerSpec.Image}}", service));
        var projectPage = await env.Client.GetAsync($"/projects/{project}");
        Assert.True(projectPage.Doc.QuerySelector("#cluster-placement") is not null, $"{projectPage.Status}: {projectPage.Text("#replicas") ?? projectPage.Text("body")}");
        Assert.Contains($"Runs on the cluster, placement spread; live as service {service}, tasks at", projectPage.Text("#cluster-placement"));
        var site = await File.ReadAllTextAsync(Path.Combine(env.Caddy.SitesDir, name + ".caddy"));
        Assert.Contains(n1.Address + ":", site);
        Assert.Contains(n2.Address + ":", site);
        var tasks = (await n1.CliAsync("service", "ps", "--filter", "desired-state=running", "-q", "--no-trunc", service)).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, tasks.Length);
        var hosts = new List<string>();
        foreach (var t in tasks) hosts.Add((await n1.CliAsync("inspect", "--format", "{{.Status.ContainerStatus.ContainerID}}", t)).Trim()[..12]);
        var v1Answers = hosts.Select(h => "v1 " + h).Order().ToList();
        Assert.Equal(v1Answers, await ReplicaTests.AnswersAsync(env, domain, v1Answers, 20));
        var pongs = new HashSet<string>();
        using (var http = new HttpClient())
            for (var i = 0; i < 20 && pongs.Count < 1; i++)
            {
                using var res = await env.Caddy.GetAsync(domain, "/cgi-bin/redis", http);
                var text = await res.Content.ReadAsStringAsync();
                Assert.True(res.StatusCode == HttpStatusCode.OK, $"{res.StatusCode} {text}");
                if (text.Contains("+PONG")) pongs.Add(text);
            }
        Assert.NotEmpty(pongs);

        // A rolling update under a steady request loop: no request fails, and afterwards every answer is v2. Placement
        // any, so each new task starts before the old one stops (spread allows one task per node: stop-first).
        Assert.Contains("stop-first", await n1.CliAsync("service", "inspect", "--format", "{{.Spec.UpdateConfig.Order}}", service));
        await PatchAsync(admin, name, """{"placement": "any"}""");
        WriteApp(app, "v2", redisName);
        long d2 = 0;
        var rolling = await UnderLoadAsync(env, domain, "rolling update v1 → v2", async () =>
        {
            d2 = await env.DeployAsync(project);
            await env.WaitForLiveAsync(d2, TimeSpan.FromMinutes(4));
        });
        Assert.Contains(rolling, a => a.StartsWith("v2 "));
        Assert.Contains("start-first", await n1.CliAsync("service", "inspect", "--format", "{{.Spec.UpdateConfig.Order}}", service));
        await TestDocker.WaitUntilAsync(async () =>
        {
            using var res = await env.Caddy.GetAsync(domain);
            return (await res.Content.ReadAsStringAsync()).StartsWith("v2 ");
        }, TimeSpan.FromSeconds(30), "v2 served");

        // A version whose tasks exit at once: Swarm rolls the service back by itself, the deploy fails, v2 keeps serving.
        WriteApp(app, "v3", redisName, crash: true);
        var failedAnswers = await UnderLoadAsync(env, domain, "failing version v3", async () =>
        {
            var d3 = await env.DeployAsync(project);
            Assert.Equal("failed", await env.WaitForEndAsync(d3, TimeSpan.FromMinutes(4)));
            Assert.Contains("rolled the service back", await env.LogAsync(d3));
        });
        Assert.All(failedAnswers, a => Assert.StartsWith("v2 ", a));
        Assert.Equal(d2, (long)(await admin.GetAsync($"/api/projects/{name}"))["liveDeploymentId"]!);

        // Drain node 2 under load (placement any, so its task may move): both tasks end on node 1, nothing fails.
        await UnderLoadAsync(env, domain, "drain node 2", async () =>
        {
            Assert.Equal(HttpStatusCode.OK, (await admin.SendAsync(HttpMethod.Patch, $"/api/servers/{node2Id}", """{"availability": "drain"}""")).Status);
            await TestDocker.WaitUntilAsync(async () => (await NodesOfAsync(swarm, service)).SequenceEqual([n1.Name, n1.Name]), TimeSpan.FromSeconds(90), "both tasks on node 1");
            await TestDocker.WaitUntilAsync(async () => !(await File.ReadAllTextAsync(Path.Combine(env.Caddy.SitesDir, name + ".caddy"))).Contains(n2.Address + ":"),
                TimeSpan.FromSeconds(30), "node 2 out of the site file");
        });
        Assert.Equal(HttpStatusCode.OK, (await admin.SendAsync(HttpMethod.Patch, $"/api/servers/{node2Id}", """{"availability": "active"}""")).Status);

        // Back to one task per node, then kill -9 of node 2 (its engine and everything in it) under load.
        await PatchAsync(admin, name, """{"placement": "spread"}""");
        WriteApp(app, "v5", redisName);
        var d5 = await env.DeployAsync(project);
        await env.WaitForLiveAsync(d5, TimeSpan.FromMinutes(4));
        Assert.Equal(new[] { n1.Name, n2.Name }.Order(), await NodesOfAsync(swarm, service));
        var afterKill = await UnderLoadAsync(env, domain, "kill -9 of node 2", async () =>
        {
            n2.KillHard();
            await Task.Delay(6000);
        });
        Assert.All(afterKill, a => Assert.StartsWith("v5 ", a));
        await TestDocker.WaitUntilAsync(async () =>
            (await admin.GetAsync("/api/servers")).AsArray().Any(s => (string?)s!["hostname"] == n2.Name && (string?)s["state"] == "down"),
            TimeSpan.FromSeconds(90), "node 2 shown down");
        var page = await env.Client.GetAsync("/servers");
        Assert.Equal("down", page.Text($"tr[data-hostname='{n2.Name}'] td.state"));
        // deployment.failed (v3) reaches every channel whatever it chose; server.down is the one this channel asked for.
        await TestDocker.WaitUntilAsync(() => Task.FromResult(rx.At("/hook").Any(r => (string?)r.Json["event"] == "server.down")), TimeSpan.FromSeconds(90), "server.down notified");
        var down = rx.At("/hook").First(r => (string?)r.Json["event"] == "server.down").Json;
        Assert.Contains($"Server {n2.Name}", (string)down["message"]!);
    }
}
