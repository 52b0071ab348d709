using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Docker.DotNet.Models;
using VpsPanel.Features.Docker;
using VpsPanel.Tests.Api;
using VpsPanel.Tests.Deployments;
using VpsPanel.Tests.Harness;
using static VpsPanel.Tests.Api.TestApi;

namespace VpsPanel.Tests.Services;

/// <summary>
/// Database services on the real engine, with the local Debian-built engine images (Harness/TestServiceImages): apps
/// linked to them keep data across a redeploy, reach them by name on their project's network, and nothing else does.
/// </summary>
public sealed class ServiceTests
{
    /// <summary>A panel world with the service images, an API client for its admin, and cleanup of what services leave.</summary>
    sealed class World : IAsyncDisposable
    {
        public required DeployEnv Env { get; init; }
        public required TestApi Api { get; init; }
        public TestRepo? Repo { get; set; }

        public static async Task<World> StartAsync()
        {
            await TestServiceImages.EnsureImagesAsync();
            var env = await DeployEnv.StartAsync(TestServiceImages.Settings);
            return new World { Env = env, Api = await ForUserAsync(env.Panel, PanelSetup.AdminEmail) };
        }

        public string Name(string prefix) => $"{prefix}-{Env.Label[7..]}";

        /// <summary>A repository whose Dockerfile runs the test app (python with the three drivers) on PORT.</summary>
        public TestRepo AppRepo()
        {
            if (Repo is not null) return Repo;
            Repo = TestRepo.Empty();
            Repo.CommitDockerfile($"FROM {TestServiceImages.App}\nLABEL {TestDocker.TestLabel}={Env.Label}\nEXPOSE 8080\n", "the service test app");
            return Repo;
        }

        public async Task<JsonNode> CreateServiceAsync(string engine, string name, int? publicPort = null)
        {
            var body = new JsonObject { ["engine"] = engine, ["name"] = name };
            if (publicPort is { } p) body["publicPort"] = p;
            var (status, json, _) = await Api.SendAsync(HttpMethod.Post, "/api/services", body.ToJsonString());
            Assert.True(status == HttpStatusCode.Created, $"creating {name} answered {status}: {json}");
            return json!;
        }

        public async Task WaitHealthyAsync(string name)
        {
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(180);
            JsonNode s;
            do
            {
                s = await Api.GetAsync($"/api/services/{name}");
                if ((string?)s["status"] == "running (healthy)") return;
                await Task.Delay(1000);
            } while (DateTime.UtcNow < deadline);
            throw new TimeoutException($"{name} is {s["status"]}: {await Api.Http.GetStringAsync($"/api/services/{name}/logs")}");
        }

        public async Task<string> DeployAsync(string slug)
        {
            var (status, d, _) = await Api.SendAsync(HttpMethod.Post, $"/api/projects/{slug}/deployments", "{}");
            Assert.True(status == HttpStatusCode.Accepted || status == HttpStatusCode.Created, $"deploy {slug}: {status} {d}");
            var end = await Api.WaitForEndAsync((long)d!["id"]!, TimeSpan.FromSeconds(180));
            return (string)end["status"]!;
        }

        public async Task<string> AppAsync(string domain, string path)
        {
            using var res = await Env.Caddy.GetAsync(domain, path);
            return (await res.Content.ReadAsStringAsync()).Trim();
        }

        /// <summary>The service's password, as the page's copy button gets it (owner or admin, POST with antiforgery).</summary>
        public async Task<string> PasswordAsync(string name)
        {
            var page = await Env.Client.SubmitAsync($"/services/{name}", [], $"/services/{name}?handler=Password");
            Assert.Equal(HttpStatusCode.OK, page.Status);
            return page.Html;
        }

        public async ValueTask DisposeAsync()
        {
            var panelLabel = Env.PanelLabel;
            await Env.DisposeAsync();
            // Volumes and networks outlive the containers DeployEnv removes: everything of this panel goes.
            using var docker = TestDocker.Client();
            await TestDocker.RemoveVolumesAsync(docker, panelLabel);
            await TestDocker.RemoveNetworksAsync(docker, panelLabel);
            Api.Dispose();
            Repo?.Dispose();
        }
    }

    static readonly (string Engine, string Prefix, int Port, string Version, string Minor)[] Engines =
    [
        ("postgres", "po", 5432, "17", TestServiceImages.PostgresMinor),
        ("mariadb", "ma", 3306, "11", TestServiceImages.MariadbMinor),
        ("redis", "re", 6379, "7", TestServiceImages.RedisMinor),
    ];

    [Fact]
    public async Task The_panels_backup_carries_the_service_and_a_panel_restored_from_it_reads_its_password()
    {
        await using var w = await World.StartAsync();
        var name = w.Name("re");
        await w.CreateServiceAsync("redis", name);
        await w.WaitHealthyAsync(name);
        var password = await w.PasswordAsync(name);
        var outDir = Paths.NewTempDir();
        var restored = Path.Combine(Path.GetTempPath(), "vpspanel-restored-" + Guid.NewGuid().ToString("N")[..12]);
        try
        {
            var backup = await PanelCli.RunAsync(["backup", outDir, "--data-dir", w.Env.Panel.DataDir]);
            Assert.True(backup.ExitCode == 0, backup.Stderr);
            var restore = await PanelCli.RunAsync(["restore", backup.Stdout.Trim(), "--data-dir", restored]);
            Assert.True(restore.ExitCode == 0, restore.Stderr);

            // The restored panel replaces the old one (same panel id, same engine): it lists the service as it was and
            // decrypts the same password with the key ring from the archive, and that password is the one Redis wants.
            await w.Env.Panel.DisposeAsync();
            w.Env.Panel = await PanelProcess.StartAsync(w.Env.Settings, dataDir: restored);
            using var api = await TestApi.ForUserAsync(w.Env.Panel, PanelSetup.AdminEmail);
            var service = await api.GetAsync($"/api/services/{name}");
            Assert.Equal("redis", (string?)service["engine"]);
            Assert.StartsWith("running", (string?)service["status"]);
            var admin = new PanelClient(w.Env.Panel);
            var signIn = await admin.SubmitAsync("/login", new() { ["email"] = PanelSetup.AdminEmail, ["password"] = PanelSetup.AdminPassword });
            Assert.True(signIn.Status is HttpStatusCode.Redirect or HttpStatusCode.SeeOther, $"{signIn.Status}: {signIn.Html}");
            var page = await admin.SubmitAsync($"/services/{name}", [], $"/services/{name}?handler=Password");
            Assert.Equal(HttpStatusCode.OK, page.Status);
            Assert.Equal(password, page.Html);
            Assert.Equal("PONG", (await TestDocker.CliAsync("exec", ServiceName(w.Env.PanelId, name), "redis-cli", "--no-auth-warning", "-a", page.Html, "ping")).Trim());
        }
        finally
        {
            Directory.Delete(outDir, recursive: true);
            // The restored data dir is not the harness's to delete, and not while a panel runs on it.
            if (w.Env.Panel.DataDir == restored) await w.Env.Panel.StopAsync();
            Paths.DeleteQuietly(restored);
        }
    }

    [Fact]
    public async Task An_app_linked_to_each_engine_writes_is_redeployed_and_reads_back_and_only_linked_projects_reach_the_service()
    {
        await using var w = await World.StartAsync();
        var repo = w.AppRepo();
        var panel = w.Env.PanelId;

        // Three services, three linked projects, and one project linked to none.
        foreach (var (engine, prefix, _, version, _) in Engines)
        {
            var created = await w.CreateServiceAsync(engine, w.Name(prefix));
            Assert.Equal(w.Name(prefix), (string?)created["name"]);
            Assert.Equal(engine, (string?)created["engine"]);
            Assert.Equal(version, (string?)created["version"]);
            Assert.Null(created["password"]);
        }
        foreach (var (_, prefix, _, _, _) in Engines) await w.WaitHealthyAsync(w.Name(prefix));

        using var docker = TestDocker.Client();
        foreach (var (engine, prefix, port, _, _) in Engines)
        {
            var ctr = await docker.Containers.InspectContainerAsync(ServiceName(panel, w.Name(prefix)));
            // The engine's own health check, the restart policy, the memory limit, the volume; and no port on the host.
            Assert.Equal(engine switch { "postgres" => "pg_isready", "mariadb" => "mariadb-admin", _ => "redis-cli ping | grep -q PONG" }, ctr.Config.Healthcheck.Test[1]);
            Assert.Equal(RestartPolicyKind.UnlessStopped, ctr.HostConfig.RestartPolicy.Name);
            Assert.Equal(512L * 1024 * 1024, ctr.HostConfig.Memory);
            Assert.Contains(ctr.Mounts, m => m.Type == "volume" && m.Name == $"vpspanel-{panel}-svc-{w.Name(prefix)}-data");
            Assert.True(ctr.NetworkSettings.Ports is null || !ctr.NetworkSettings.Ports.TryGetValue($"{port}/tcp", out var b) || b is null || b.Count == 0,
                $"{engine} publishes {port} on the host");
        }

        var slugs = new Dictionary<string, string>();
        foreach (var (engine, prefix, _, _, _) in Engines)
        {
            var p = await w.Api.CreateProjectAsync(w.Env.Name(prefix), repo.Bare, $"{w.Env.Name(prefix)}.test", repo.Branch);
            slugs[engine] = (string)p["slug"]!;
            var (status, linked, _) = await w.Api.SendAsync(HttpMethod.Post, $"/api/services/{w.Name(prefix)}/links", new JsonObject { ["project"] = slugs[engine] }.ToJsonString());
            Assert.True(status == HttpStatusCode.Created, $"link: {status} {linked}");
        }
        var lone = (string)(await w.Api.CreateProjectAsync(w.Env.Name("lone"), repo.Bare, $"{w.Env.Name("lone")}.test", repo.Branch))["slug"]!;

        foreach (var (engine, prefix, port, _, _) in Engines)
        {
            var domain = $"{w.Env.Name(prefix)}.test";
            Assert.Equal("live", await w.DeployAsync(slugs[engine]));
            Assert.Equal("open", await w.AppAsync(domain, $"/probe?host={w.Name(prefix)}&port={port}"));
            Assert.Equal("written", await w.AppAsync(domain, $"/write?value=kept-{engine}"));
            Assert.Equal("live", await w.DeployAsync(slugs[engine]));
            Assert.Equal($"kept-{engine}", await w.AppAsync(domain, "/read"));
        }

        // The unlinked project's app cannot resolve the services' names, nor reach their addresses on their own networks.
        Assert.Equal("live", await w.DeployAsync(lone));
        foreach (var (_, prefix, port, _, _) in Engines)
        {
            Assert.Equal("unresolved", await w.AppAsync($"{w.Env.Name("lone")}.test", $"/probe?host={w.Name(prefix)}&port={port}"));
            var ctr = await docker.Containers.InspectContainerAsync(ServiceName(panel, w.Name(prefix)));
            foreach (var (net, ep) in ctr.NetworkSettings.Networks)
            {
                var got = await w.AppAsync($"{w.Env.Name("lone")}.test", $"/probe?host={ep.IPAddress}&port={port}");
                if (got == "closed") continue;
                // Seen once in a full run (never alone): say what the machine's networks and routes were, for the next look.
                var nets = await TestDocker.CliAsync("network", "ls", "-q");
                var subnets = await TestDocker.CliAsync(["network", "inspect", "--format", "{{.Name}} {{range .IPAM.Config}}{{.Subnet}} {{end}}", .. nets.Split('\n', StringSplitOptions.RemoveEmptyEntries)]);
                var routes = "";
                try
                {
                    using var ip = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("ip", "route") { RedirectStandardOutput = true })!;
                    routes = await ip.StandardOutput.ReadToEndAsync();
                }
                catch (System.ComponentModel.Win32Exception) { routes = "(no ip command)"; }
                Assert.Fail($"the unlinked app reached {ep.IPAddress}:{port} on {net}: {got}\nnetworks:\n{subnets}\nroutes:\n{routes}");
            }
        }

        // The password: in the linked app's environment, never in the service's logs or the variables page.
        var pgName = w.Name("po");
        var password = await w.PasswordAsync(pgName);
        Assert.Equal(32, password.Length);
        var app = (await w.Env.PanelContainersAsync()).Single(c => c.Labels.TryGetValue("vpspanel.project", out var s) && s == slugs["postgres"]);
        var env = (await docker.Containers.InspectContainerAsync(app.Id)).Config.Env;
        Assert.Contains($"DATABASE_URL=postgres://{pgName.Replace('-', '_')}:{password}@{pgName}:5432/{pgName.Replace('-', '_')}", env);
        Assert.Contains($"DB_HOST={pgName}", env);
        var logs = await w.Api.Http.GetStringAsync($"/api/services/{pgName}/logs?tail=500");
        Assert.Contains("database system is ready", logs);
        Assert.DoesNotContain(password, logs);
        var projectId = (long)(await w.Api.GetAsync($"/api/projects/{slugs["postgres"]}"))["id"]!;
        var vars = await w.Env.Client.GetAsync($"/projects/{projectId}/variables");
        Assert.Contains("DATABASE_URL", vars.Text("#service-variables"));
        Assert.DoesNotContain(password, vars.Html);
        Assert.Contains(pgName, (await w.Env.Client.GetAsync($"/projects/{projectId}")).Text("#linked-services"));

        // A minor version in place: recreated on the same volume, the value is still there.
        var changed = await w.Api.SendAsync(HttpMethod.Put, $"/api/services/{pgName}/version", """{"version":"17.2"}""");
        Assert.True(changed.Status == HttpStatusCode.OK, $"{changed.Status} {changed.Body}");
        Assert.Equal("17.2", (string?)changed.Body!["version"]);
        Assert.Equal(TestServiceImages.Minor(TestServiceImages.Postgres, "17.2"), (await docker.Containers.InspectContainerAsync(ServiceName(panel, pgName))).Config.Image);
        await w.WaitHealthyAsync(pgName);
        Assert.Equal("kept-postgres", await w.AppAsync($"{w.Env.Name("po")}.test", "/read"));

        // Stop and start through the API: the state follows.
        Assert.Equal("stopped", (string?)(await w.Api.SendAsync(HttpMethod.Post, $"/api/services/{w.Name("re")}/stop")).Body!["status"]);
        Assert.False((await docker.Containers.InspectContainerAsync(ServiceName(panel, w.Name("re")))).State.Running);
        Assert.StartsWith("running", (string?)(await w.Api.SendAsync(HttpMethod.Post, $"/api/services/{w.Name("re")}/start")).Body!["status"]);

        // Unlink and delete everything with its data: nothing of the services is left on the engine.
        foreach (var (engine, prefix, _, _, _) in Engines)
        {
            Assert.Equal(HttpStatusCode.NoContent, (await w.Api.SendAsync(HttpMethod.Delete, $"/api/services/{w.Name(prefix)}/links/{slugs[engine]}")).Status);
            Assert.Equal(HttpStatusCode.NoContent, (await w.Api.SendAsync(HttpMethod.Delete, $"/api/services/{w.Name(prefix)}?deleteVolume=true")).Status);
            Assert.Null(await docker.InspectContainerOrNullAsync(ServiceName(panel, w.Name(prefix)), default));
            Assert.DoesNotContain((await docker.Volumes.ListAsync(new VolumesListParameters())).Volumes ?? [], v => v.Name == $"vpspanel-{panel}-svc-{w.Name(prefix)}-data");
        }
        Assert.Empty((await w.Api.GetAsync("/api/services")).AsArray());
    }

    [Fact]
    public async Task Bad_input_gets_a_clear_message_and_changes_nothing_and_a_public_port_is_reachable()
    {
        await using var w = await World.StartAsync();
        var panel = w.Env.PanelId;
        var re = w.Name("re");
        await w.CreateServiceAsync("redis", re);
        var before = (await w.Api.GetAsync("/api/services")).ToJsonString();

        async Task Refused(string body, string field, string words)
        {
            var answer = Problem(await w.Api.SendAsync(HttpMethod.Post, "/api/services", body), HttpStatusCode.UnprocessableEntity);
            var message = string.Join(" ", answer["errors"]![field]!.AsArray().Select(e => (string?)e));
            Assert.Contains(words, message);
        }
        using var taken = new TcpListener(IPAddress.Any, 0);
        taken.Start();
        var takenPort = ((IPEndPoint)taken.LocalEndpoint).Port;
        await Refused(Body("redis", re), "name", "already a service named");
        await Refused(Body("mongodb", w.Name("mo")), "engine", "postgres, mariadb or redis");
        await Refused(Body("redis", "Bad_Name"), "name", "lower-case letters");
        await Refused(Body("postgres", "pg-main"), "name", "PostgreSQL reserves");
        await Refused(Body("redis", w.Name("r2"), 80), "publicPort", "privileged");
        await Refused(Body("redis", w.Name("r2"), 25000), "publicPort", "Deploy:PortRange");
        await Refused(Body("redis", w.Name("r2"), takenPort), "publicPort", "in use");
        await Refused("""{"engine":"postgres","name":"vv","version":"latest"}""", "version", "major version number");
        Assert.Equal(before, (await w.Api.GetAsync("/api/services")).ToJsonString());
        using var docker = TestDocker.Client();
        Assert.Empty((await TestDocker.ContainersAsync(docker, w.Env.PanelLabel)).Where(c => !c.Names[0].Contains(re)));

        // A major version change is refused with the steps; the service keeps its version and container.
        var major = Problem(await w.Api.SendAsync(HttpMethod.Put, $"/api/services/{re}/version", """{"version":"8"}"""), HttpStatusCode.UnprocessableEntity);
        var steps = string.Join(" ", major["errors"]!["version"]!.AsArray().Select(e => (string?)e));
        Assert.Contains("major version", steps);
        Assert.Contains("dump", steps);
        Assert.Contains("restore", steps);
        Assert.Equal("7", (string?)(await w.Api.GetAsync($"/api/services/{re}"))["version"]);
        Assert.Equal(TestServiceImages.Redis, (await docker.Containers.InspectContainerAsync(ServiceName(panel, re))).Config.Image);

        // Deleting a linked service is refused with the projects' names.
        var repo = w.AppRepo();
        var slug = (string)(await w.Api.CreateProjectAsync(w.Env.Name("one"), repo.Bare, $"{w.Env.Name("one")}.test", repo.Branch))["slug"]!;
        Assert.Equal(HttpStatusCode.Created, (await w.Api.SendAsync(HttpMethod.Post, $"/api/services/{re}/links", $$"""{"project":"{{slug}}"}""")).Status);
        var linkedTwice = Problem(await w.Api.SendAsync(HttpMethod.Post, $"/api/services/{re}/links", $$"""{"project":"{{slug}}"}"""), HttpStatusCode.Conflict);
        Assert.Contains("already linked", (string?)linkedTwice["detail"]);
        var refused = Problem(await w.Api.SendAsync(HttpMethod.Delete, $"/api/services/{re}?deleteVolume=true"), HttpStatusCode.Conflict);
        Assert.Contains(slug, (string?)refused["detail"]);
        Assert.NotNull(await docker.InspectContainerOrNullAsync(ServiceName(panel, re), default));
        Assert.Equal([slug], (await w.Api.GetAsync($"/api/services/{re}"))["links"]!.AsArray().Select(l => (string?)l));

        // The CLI says the same on stderr with a non-zero exit, and creates through the API.
        string[] connect = ["--url", w.Env.Panel.Url, "--token", w.Api.Token];
        var bad = await PanelCli.RunAsync(["services", "create", "--engine", "mongodb", "--name", w.Name("cli"), .. connect]);
        Assert.NotEqual(0, bad.ExitCode);
        Assert.Contains("postgres, mariadb or redis", bad.Stderr);

        // A public port: published on the host, so the engine answers there (and asks for its password).
        var pub = w.Name("pub");
        var port = FreePortOutside(20000, 29999);
        var made = await PanelCli.RunAsync(["services", "create", "--engine", "redis", "--name", pub, "--public-port", port.ToString(), .. connect]);
        Assert.True(made.ExitCode == 0, made.Stderr);
        Assert.Equal(port, (int)JsonNode.Parse(made.Stdout)!["publicPort"]!);
        await w.WaitHealthyAsync(pub);
        Assert.StartsWith("-NOAUTH", await RedisPingAsync(port));
        Assert.Contains("open on every address", (await w.Env.Client.GetAsync($"/services/{pub}")).Text("#public-port-warning") ?? "");
        var listed = await PanelCli.RunAsync(["services", "list", .. connect]);
        Assert.Contains(pub, listed.Stdout);
    }

    [Fact]
    public async Task Browser_creates_a_postgres_service_links_it_and_sees_DATABASE_URL_masked()
    {
        await using var w = await World.StartAsync();
        var repo = w.AppRepo();
        var slug = (string)(await w.Api.CreateProjectAsync(w.Env.Name("web"), repo.Bare, $"{w.Env.Name("web")}.test", repo.Branch))["slug"]!;
        var projectId = (long)(await w.Api.GetAsync($"/api/projects/{slug}"))["id"]!;
        await using var browser = await Browser.LaunchAsync();
        var page = await browser.NewPageAsync();
        await Browser.SignInAsync(page, w.Env.Panel.Url, PanelSetup.AdminEmail, PanelSetup.AdminPassword);
        await Browser.WaitForUrlAsync(page, w.Env.Panel.Url + "/");
        await page.ClickAsync("nav a[href='/services']");
        await page.ClickAsync("#new-service");
        await page.SelectOptionAsync("#engine", "postgres");
        var name = w.Name("db");
        await page.FillAsync("#name", name);
        await page.ClickAsync("#create-service");
        await Browser.WaitForUrlAsync(page, $"{w.Env.Panel.Url}/services/{name}");
        Assert.Equal("********", await page.TextContentAsync("#service-password"));
        Assert.True(await page.IsVisibleAsync("#copy-password"));
        await page.SelectOptionAsync("#project", slug);
        await page.ClickAsync("#link");
        await page.WaitForSelectorAsync("#done");
        Assert.Contains(slug, await page.TextContentAsync("#links"));
        await page.ClickAsync("#links a");
        await Browser.WaitForUrlAsync(page, $"{w.Env.Panel.Url}/projects/{projectId}");
        Assert.Contains(name, await page.TextContentAsync("#linked-services"));
        await page.ClickAsync("#variables-link");
        var row = page.Locator("#service-variables tr", new() { HasText = "DATABASE_URL" });
        Assert.Contains("********", await row.TextContentAsync());
        Assert.Contains($"service {name}", await row.TextContentAsync());
        var password = await w.PasswordAsync(name);
        Assert.DoesNotContain(password, await page.ContentAsync());
    }

    static string Body(string engine, string name, int? port = null) =>
        new JsonObject { ["engine"] = engine, ["name"] = name, ["publicPort"] = port }.ToJsonString();

    static string ServiceName(string panel, string name) => $"vpspanel-{panel}-svc-{name}";

    static int FreePortOutside(int from, int to)
    {
        for (var i = 0; i < 50; i++)
        {
            var p = Paths.FreePort();
            if (p >= 1024 && (p < from || p > to)) return p;
        }
        throw new InvalidOperationException("no free port outside the app range");
    }

    static async Task<bool> TcpOpensAsync(IPAddress address, int port)
    {
        using var client = new TcpClient();
        try { await client.ConnectAsync(address, port).WaitAsync(TimeSpan.FromSeconds(3)); return true; }
        catch (Exception) { return false; }
    }

    static async Task<string> RedisPingAsync(int port)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, port);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes("PING\r\n"));
        var buffer = new byte[256];
        var n = await stream.ReadAsync(buffer).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        return Encoding.ASCII.GetString(buffer, 0, n);
    }
}
