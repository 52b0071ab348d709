using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using Docker.DotNet.Models;
using VpsPanel.Features.Docker;
using VpsPanel.Tests.Api;
using VpsPanel.Tests.Deployments;
using VpsPanel.Tests.Harness;
using static VpsPanel.Tests.Api.TestApi;

namespace VpsPanel.Tests.Services;

/// <summary>
/// Dumps of database services on the real engine with the local Debian-built images: dump, lose data, restore, get it
/// back, for each engine; retention; the schedule; a failed dump; a dump of another engine refused; the page.
/// </summary>
public sealed class ServiceDumpTests
{
    sealed class World : IAsyncDisposable
    {
        public required DeployEnv Env { get; init; }
        public required TestApi Api { get; init; }

        public static async Task<World> StartAsync()
        {
            await TestServiceImages.EnsureImagesAsync();
            var env = await DeployEnv.StartAsync(TestServiceImages.Settings);
            return new World { Env = env, Api = await ForUserAsync(env.Panel, PanelSetup.AdminEmail) };
        }

        public string Name(string prefix) => $"{prefix}-{Env.Label[7..]}";
        public string Container(string name) => $"vpspanel-{Env.PanelId}-svc-{name}";
        public string DumpDir(string name) => Path.Combine(Env.Panel.DataDir, "backups", "services", name);

        public async Task CreateHealthyAsync(string engine, string name)
        {
            var (status, json, _) = await Api.SendAsync(HttpMethod.Post, "/api/services", new JsonObject { ["engine"] = engine, ["name"] = name }.ToJsonString());
            Assert.True(status == HttpStatusCode.Created, $"creating {name}: {status} {json}");
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(180);
            JsonNode s;
            do
            {
                s = await Api.GetAsync($"/api/services/{name}");
                if ((string?)s["status"] == "running (healthy)") return;
                await Task.Delay(1000);
            } while (DateTime.UtcNow < deadline);
            throw new TimeoutException($"{name} is {s["status"]}");
        }

        /// <summary>POST …/dumps (202 with the id), then waits for the dump's end; returns its JSON.</summary>
        public async Task<JsonNode> DumpAsync(string name)
        {
            var (status, json, _) = await Api.SendAsync(HttpMethod.Post, $"/api/services/{name}/dumps");
            Assert.True(status == HttpStatusCode.Accepted, $"dump of {name}: {status} {json}");
            return await WaitDumpAsync(name, (long)json!["id"]!);
        }

        public async Task<JsonNode> WaitDumpAsync(string name, long id)
        {
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(180);
            while (true)
            {
                var d = (await Api.GetAsync($"/api/services/{name}/dumps")).AsArray().Single(x => (long)x!["id"]! == id)!;
                if ((string?)d["status"] != "running") return d;
                if (DateTime.UtcNow > deadline) throw new TimeoutException($"dump {id} of {name} still running");
                await Task.Delay(500);
            }
        }

        public async ValueTask DisposeAsync()
        {
            var panelLabel = Env.PanelLabel;
            await Env.DisposeAsync();
            using var docker = TestDocker.Client();
            foreach (var v in (await docker.Volumes.ListAsync(new VolumesListParameters { Filters = DockerAbsentOk.LabelFilter(panelLabel) })).Volumes ?? [])
                await docker.Volumes.RemoveAsync(v.Name, true);
            foreach (var n in await docker.Networks.ListNetworksAsync(new NetworksListParameters { Filters = DockerAbsentOk.LabelFilter(panelLabel) }))
                await docker.Networks.DeleteNetworkAsync(n.ID);
            Api.Dispose();
        }
    }

    /// <summary>`docker exec` of a client inside the service container (Debian's CLI); its trimmed stdout, or a failed assertion with stderr.</summary>
    static async Task<string> ExecAsync(string container, params string[] args)
    {
        var psi = new ProcessStartInfo("/usr/bin/docker") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in (string[])["exec", container, .. args]) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = await p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        Assert.True(p.ExitCode == 0, $"docker exec {container} {string.Join(' ', args)}: {stderr}");
        return (await stdout).Trim();
    }

    // The clients as an operator would run them in the container: psql over the local socket (trusted), mariadb and
    // redis-cli with the password the container's environment already holds.
    static Task<string> Sql(string engine, string container, string db, string sql) => engine == "postgres"
        ? ExecAsync(container, "psql", "-U", db, "-d", db, "-tAc", sql)
        : ExecAsync(container, "sh", "-c", "MYSQL_PWD=\"$MARIADB_PASSWORD\" mariadb -u \"$MARIADB_USER\" -N -e \"$1\" \"$MARIADB_DATABASE\"", "sh", sql);

    static Task<string> Redis(string container, params string[] args) => ExecAsync(container, ["redis-cli", .. args]);

    static async Task WriteAsync(string engine, string container, string db)
    {
        if (engine == "redis") { Assert.Equal("OK", await Redis(container, "SET", "greeting", "kept-by-dump")); return; }
        await Sql(engine, container, db, "CREATE TABLE notes (body VARCHAR(100)); INSERT INTO notes VALUES ('kept-by-dump');");
    }

    static async Task LoseAsync(string engine, string container, string db)
    {
        if (engine == "redis") { Assert.Equal("1", await Redis(container, "DEL", "greeting")); return; }
        await Sql(engine, container, db, "DROP TABLE notes;");
    }

    /// <summary>The value, or "" when it is gone (a dropped table answers with an error, which counts as gone).</summary>
    static async Task<string> ReadAsync(string engine, string container, string db)
    {
        if (engine == "redis") return await Redis(container, "GET", "greeting");
        try { return await Sql(engine, container, db, "SELECT body FROM notes;"); }
        catch (Xunit.Sdk.TrueException) { return ""; }
    }

    // Not "pg": PostgreSQL refuses role names that start with pg_, and the service name becomes the role name.
    static readonly (string Engine, string Prefix, string Magic)[] Engines = [("postgres", "po", "PGDMP"), ("mariadb", "ma", "-- MariaDB dump"), ("redis", "re", "REDIS")];

    [Fact]
    public async Task Each_engine_dumps_drops_restores_and_the_row_is_back_retention_keeps_N_and_another_engines_dump_is_refused()
    {
        await using var w = await World.StartAsync();
        await Task.WhenAll(Engines.Select(e => w.CreateHealthyAsync(e.Engine, w.Name(e.Prefix))));
        var dumps = new Dictionary<string, JsonNode>();
        await Task.WhenAll(Engines.Select(async e =>
        {
            var name = w.Name(e.Prefix);
            var ctr = w.Container(name);
            var db = name.Replace('-', '_');
            await WriteAsync(e.Engine, ctr, db);
            var dump = await w.DumpAsync(name);
            Assert.True((string?)dump["status"] == "ok", $"{e.Engine} dump: {dump}");
            lock (dumps) dumps[e.Engine] = dump;
            var file = Path.Combine(w.DumpDir(name), (string)dump["file"]!);
            Assert.Equal(new FileInfo(file).Length, (long)dump["sizeBytes"]!);
            var head = new byte[16];
            await using (var f = File.OpenRead(file)) await f.ReadExactlyAsync(head);
            // mariadb-dump 11 starts with a /*M!999999 sandbox line before its banner; Debian's 10.11 with the banner.
            var text = System.Text.Encoding.ASCII.GetString(head);
            Assert.True(text.StartsWith(e.Magic, StringComparison.Ordinal) || (e.Engine == "mariadb" && text.StartsWith("/*M!", StringComparison.Ordinal)), text);

            await LoseAsync(e.Engine, ctr, db);
            Assert.Equal("", await ReadAsync(e.Engine, ctr, db));
            var (status, json, _) = await w.Api.SendAsync(HttpMethod.Post, $"/api/services/{name}/dumps/{dump["id"]}/restore");
            Assert.True(status == HttpStatusCode.OK, $"{e.Engine} restore: {status} {json}");
            if (e.Engine == "redis")
            {
                // Restarted on the restored files: wait for it to answer again.
                var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
                while (DateTime.UtcNow < deadline)
                {
                    try { if (await Redis(ctr, "PING") == "PONG") break; } catch (Xunit.Sdk.TrueException) { }
                    await Task.Delay(500);
                }
            }
            Assert.Equal("kept-by-dump", await ReadAsync(e.Engine, ctr, db));
        }));

        // A dump of another engine is refused, told by its first bytes, and the service's data is untouched.
        var pg = w.Name("po");
        var pgCtr = w.Container(pg);
        await Sql("postgres", pgCtr, pg.Replace('-', '_'), "INSERT INTO notes VALUES ('after-restore');");
        var (refused, problem, _) = await w.Api.SendAsync(HttpMethod.Post, $"/api/services/{pg}/dumps/{dumps["redis"]["id"]}/restore");
        Assert.Equal(HttpStatusCode.Conflict, refused);
        Assert.Contains("is a Redis dump", (string?)problem!["detail"]);
        Assert.Contains("Nothing was changed", (string?)problem["detail"]);
        Assert.Equal("kept-by-dump\nafter-restore", await Sql("postgres", pgCtr, pg.Replace('-', '_'), "SELECT body FROM notes ORDER BY body DESC;"));
        var (refused2, _, _) = await w.Api.SendAsync(HttpMethod.Post, $"/api/services/{w.Name("re")}/dumps/{dumps["mariadb"]["id"]}/restore");
        Assert.Equal(HttpStatusCode.Conflict, refused2);
        Assert.Equal("kept-by-dump", await Redis(w.Container(w.Name("re")), "GET", "greeting"));

        // Retention: keep 2, make 4 more: the newest 2 stay (files and list), the rest are gone.
        var ma = w.Name("ma");
        var (saved, schedule, _) = await w.Api.SendAsync(HttpMethod.Put, $"/api/services/{ma}/dumps/schedule", """{"schedule":"","keep":2}""");
        Assert.True(saved == HttpStatusCode.OK, $"{saved} {schedule}");
        Assert.Equal(2, (long)schedule!["keep"]!);
        var made = new List<long>();
        for (var i = 0; i < 4; i++) made.Add((long)(await w.DumpAsync(ma))["id"]!);
        var listed = (await w.Api.GetAsync($"/api/services/{ma}/dumps")).AsArray();
        Assert.Equal(made.TakeLast(2).Reverse(), listed.Where(d => (string?)d!["status"] == "ok").Select(d => (long)d!["id"]!));
        Assert.Equal(listed.Where(d => (string?)d!["status"] == "ok").Select(d => (string)d!["file"]!).Order(), Directory.GetFiles(w.DumpDir(ma)).Select(Path.GetFileName).Order());
        var (gone, _, _) = await w.Api.SendAsync(HttpMethod.Get, $"/api/services/{ma}/dumps/{made[0]}/file");
        Assert.Equal(HttpStatusCode.NotFound, gone);
        using var download = await w.Api.Http.GetAsync($"/api/services/{ma}/dumps/{made[^1]}/file");
        Assert.Equal(HttpStatusCode.OK, download.StatusCode);
        Assert.Contains("-- MariaDB dump", await download.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task The_schedule_fires_bad_schedules_are_refused_a_failed_dump_shows_and_leaves_no_file_and_the_page_makes_a_dump()
    {
        await using var w = await World.StartAsync();
        var name = w.Name("re");
        await w.CreateHealthyAsync("redis", name);
        var before = (await w.Api.GetAsync($"/api/services/{name}/dumps/schedule")).ToJsonString();
        Assert.Contains("0 0 3 * * ?", before);
        Assert.Contains("\"keep\":7", before);

        // Bad input: a clear message per field, nothing saved (API and page).
        foreach (var (body, field, words) in new[]
                 {
                     ("""{"schedule":"every day at 3"}""", "schedule", "is not a Quartz cron expression"),
                     ("""{"schedule":"0 0 25 * * ?"}""", "schedule", "is not a Quartz cron expression"),
                     ("""{"keep":0}""", "keep", "from 1 to 1000"),
                     ("""{"keep":1001}""", "keep", "from 1 to 1000"),
                 })
        {
            var (status, json, _) = await w.Api.SendAsync(HttpMethod.Put, $"/api/services/{name}/dumps/schedule", body);
            Assert.True(status == HttpStatusCode.UnprocessableEntity, $"{body}: {status} {json}");
            Assert.Contains(words, (string?)json!["errors"]![field]![0]);
        }
        var page = await w.Env.Client.SubmitAsync($"/services/{name}", new() { ["schedule"] = "not a cron", ["keep"] = "3" }, $"/services/{name}/dumps?handler=Schedule");
        Assert.Equal(HttpStatusCode.UnprocessableEntity, page.Status);
        Assert.Contains("is not a Quartz cron expression", page.Html);
        Assert.Equal(before, (await w.Api.GetAsync($"/api/services/{name}/dumps/schedule")).ToJsonString());

        // The schedule fires (every 3 seconds here) and makes a dump; then it is turned off from the page.
        var (saved, _, _) = await w.Api.SendAsync(HttpMethod.Put, $"/api/services/{name}/dumps/schedule", """{"schedule":"0/3 * * * * ?"}""");
        Assert.Equal(HttpStatusCode.OK, saved);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        JsonNode? scheduled = null;
        while (scheduled is null && DateTime.UtcNow < deadline)
        {
            scheduled = (await w.Api.GetAsync($"/api/services/{name}/dumps")).AsArray().FirstOrDefault(d => (string?)d!["trigger"] == "schedule" && (string?)d["status"] == "ok");
            await Task.Delay(1000);
        }
        Assert.NotNull(scheduled);
        Assert.True(File.Exists(Path.Combine(w.DumpDir(name), (string)scheduled!["file"]!)));
        page = await w.Env.Client.SubmitAsync($"/services/{name}", new() { ["schedule"] = "", ["keep"] = "7" }, $"/services/{name}/dumps?handler=Schedule");
        Assert.Equal(HttpStatusCode.SeeOther, page.Status);
        Assert.Equal("", (string?)(await w.Api.GetAsync($"/api/services/{name}/dumps/schedule"))["schedule"]);
        foreach (var d in (await w.Api.GetAsync($"/api/services/{name}/dumps")).AsArray().Where(d => (string?)d!["status"] == "running"))
            await w.WaitDumpAsync(name, (long)d!["id"]!);

        // A dump of a stopped service fails: its error on the service page and the dashboard, and no file.
        var files = Directory.GetFiles(w.DumpDir(name)).Order().ToList();
        var (stopped, _, _) = await w.Api.SendAsync(HttpMethod.Post, $"/api/services/{name}/stop");
        Assert.Equal(HttpStatusCode.OK, stopped);
        var failed = await w.DumpAsync(name);
        Assert.Equal("failed", (string?)failed["status"]);
        Assert.Contains("is not running", (string?)failed["error"]);
        Assert.Null(failed["file"]);
        var after = Directory.GetFiles(w.DumpDir(name)).Order().ToList();
        Assert.True(files.SequenceEqual(after), $"before: {string.Join(", ", files.Select(Path.GetFileName))}; after: {string.Join(", ", after.Select(Path.GetFileName))}; dumps: {(await w.Api.GetAsync($"/api/services/{name}/dumps")).ToJsonString()}");
        var show = await w.Env.Client.GetAsync($"/services/{name}");
        Assert.Contains("is not running", show.Text($"#dumps-table tr[data-dump='{failed["id"]}'] .dump-error"));
        var dashboard = await w.Env.Client.GetAsync("/");
        Assert.Contains("is not running", dashboard.Text($"#failed-dumps li[data-service='{name}']"));

        // Browser: start it again, make a dump on the page, see it listed as ok; the dashboard line goes.
        Assert.Equal(HttpStatusCode.OK, (await w.Api.SendAsync(HttpMethod.Post, $"/api/services/{name}/start")).Status);
        await using var browser = await Browser.LaunchAsync();
        var tab = await browser.NewPageAsync();
        await Browser.SignInAsync(tab, w.Env.Panel.Url, PanelSetup.AdminEmail, PanelSetup.AdminPassword);
        await Browser.WaitForUrlAsync(tab, w.Env.Panel.Url + "/");
        await tab.GotoAsync($"{w.Env.Panel.Url}/services/{name}");
        var count = await tab.Locator("#dumps-table tbody tr").CountAsync();
        await tab.ClickAsync("#make-dump");
        await tab.WaitForSelectorAsync("#dumps-done");
        await tab.WaitForSelectorAsync("#dumps-table tbody tr:first-child[data-status='ok']", new() { Timeout = 120_000 });
        Assert.Equal(count + 1, await tab.Locator("#dumps-table tbody tr").CountAsync());
        Assert.Contains("B", await tab.TextContentAsync("#dumps-table tbody tr:first-child td:nth-child(3)"));
        Assert.Null((await w.Env.Client.GetAsync("/")).Text("#failed-dumps"));
    }
}
