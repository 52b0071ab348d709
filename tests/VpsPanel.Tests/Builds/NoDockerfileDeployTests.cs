using System.Net;
using System.Text.Json.Nodes;
using VpsPanel.Tests.Api;
using VpsPanel.Tests.Deployments;
using VpsPanel.Tests.Harness;
using Xunit.Abstractions;

namespace VpsPanel.Tests.Builds;

/// <summary>A pushed repository (bare + work tree) of exactly the given files: no Dockerfile unless one is given.</summary>
public sealed class PushedRepo : IDisposable
{
    public string Dir { get; } = Paths.NewTempDir("vpspanel-nodockerfile-");
    public string Bare => Path.Combine(Dir, "app.git");
    string Work => Path.Combine(Dir, "work");

    public PushedRepo(IDictionary<string, string> files)
    {
        TestRepo.Run(Dir, "init", "--bare", "--quiet", "--initial-branch", "main", Bare);
        TestRepo.Run(Dir, "init", "--quiet", "--initial-branch", "main", Work);
        TestRepo.Run(Work, "remote", "add", "origin", Bare);
        Commit(files);
    }

    public string Commit(IDictionary<string, string> files)
    {
        foreach (var (path, text) in files)
        {
            var full = Path.Combine(Work, path);
            Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            File.WriteAllText(full, text);
        }
        TestRepo.Run(Work, "add", "-A");
        TestRepo.Run(Work, "commit", "--quiet", "-m", "files");
        TestRepo.Run(Work, "push", "--quiet", "origin", "HEAD:refs/heads/main");
        return TestRepo.Run(Work, "rev-parse", "HEAD").Trim();
    }

    public void Dispose() => Paths.DeleteQuietly(Dir);
}

/// <summary>
/// Issue 14: apps without a Dockerfile built for real through the pipeline (real git, real engine, real Caddy) on a
/// locally made base image (TestStacks: Debian's node+npm, python3, golang-go, set as Build:BaseImages:*), with the
/// project page, GET /api/projects/{slug}/dockerfile, the per-project commands and the saved override.
/// </summary>
public sealed class NoDockerfileDeployTests(ITestOutputHelper output)
{
    public static readonly Dictionary<string, string> StaticSite = new() { ["index.html"] = "static hello\n", ["about/index.html"] = "about\n" };

    public static readonly Dictionary<string, string> NodeApp = new()
    {
        ["package.json"] = """{"name":"hello","version":"1.0.0","scripts":{"build":"node build.js","start":"node server.js"}}""",
        ["package-lock.json"] = """{"name":"hello","version":"1.0.0","lockfileVersion":3,"requires":true,"packages":{"":{"name":"hello","version":"1.0.0"}}}""",
        ["build.js"] = "require('fs').writeFileSync('built.txt', 'node built');\n",
        ["server.js"] = "const fs = require('fs');\nrequire('http').createServer((q, s) => s.end(fs.readFileSync('built.txt', 'utf8') + ' ' + process.env.NODE_ENV)).listen(+process.env.PORT);\n",
    };

    public static readonly Dictionary<string, string> PythonApp = new()
    {
        ["requirements.txt"] = "# the standard library only\n",
        ["main.py"] = """
            import http.server, os
            class Hello(http.server.BaseHTTPRequestHandler):
                def do_GET(self):
                    body = os.environ.get("GREETING", "python stdlib").encode()
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
            http.server.HTTPServer(("0.0.0.0", int(os.environ["PORT"])), Hello).serve_forever()
            """,
    };

    public static readonly Dictionary<string, string> GoApp = new()
    {
        ["go.mod"] = "module example.com/hello\n\ngo 1.19\n",
        ["main.go"] = """
            package main

            import (
            	"net/http"
            	"os"
            )

            func main() {
            	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("go stdlib")) })
            	http.ListenAndServe(":"+os.Getenv("PORT"), nil)
            }
            """,
    };

    static async Task<DeployEnv> StartAsync()
    {
        await TestStacks.EnsureImageAsync();
        // Node and npm start slowly on a loaded machine (npm run build alone took 12 s at load 25): more than the 15 tries DeployEnv gives.
        var settings = TestStacks.Settings;
        settings["Deploy__HealthRetries"] = "90";
        return await DeployEnv.StartAsync(settings);
    }

    [Fact]
    public async Task Node_Python_and_Go_apps_without_a_Dockerfile_are_built_from_a_generated_one_and_go_live()
    {
        await using var env = await StartAsync();
        using var api = await TestApi.ForUserAsync(env.Panel, PanelSetup.AdminEmail);
        var apps = new[] { ("node", NodeApp, "node built production"), ("python", PythonApp, "python stdlib"), ("go", GoApp, "go stdlib"), ("static", StaticSite, "static hello") };
        var repos = apps.Select(a => new PushedRepo(a.Item2)).ToList();
        try
        {
            var projects = new List<(string Name, long Id, string Domain, long Deployment)>();
            for (var i = 0; i < apps.Length; i++)
            {
                var name = env.Name(apps[i].Item1);
                var domain = $"{name}.test";
                var id = await env.CreateProjectAsync(DeployEnv.ProjectFields(name, repos[i].Bare, domain));
                projects.Add((name, id, domain, await env.DeployAsync(id)));
            }
            for (var i = 0; i < apps.Length; i++)
            {
                var (name, id, domain, deployment) = projects[i];
                var status = await env.WaitForEndAsync(deployment, TimeSpan.FromMinutes(5));
                var log = await env.LogAsync(deployment);
                Assert.True(status == "live", $"{name}: {status}\n{log}");
                Assert.Equal(apps[i].Item3, await env.ServedAsync(domain));
                // A plain static site (index.html, nothing to build) needs no image: Caddy serves its files (StaticSiteDeploy).
                Assert.Contains(apps[i].Item1 == "static" ? "is a plain static site (index.html, nothing to build): Caddy serves its files; no image, no container" : $"  | FROM {TestStacks.Image}", log);
                output.WriteLine($"{name}: {DeployTimes(log)}");
            }
            var nodeLog = await env.LogAsync(projects[0].Deployment);
            Assert.Contains("Dockerfile: none at \"Dockerfile\" in this commit; generated one for Node", nodeLog);
            Assert.Contains("  package-lock.json → npm", nodeLog);
            Assert.Contains("  package.json scripts.build → runs npm run build", nodeLog);
            Assert.Contains("Dockerfile: none at \"Dockerfile\" in this commit; generated one for Python", await env.LogAsync(projects[1].Deployment));
            Assert.Contains("  requirements.txt lists nothing → no pip install (standard library only)", await env.LogAsync(projects[1].Deployment));
            Assert.Contains("  go.mod → Go, built with CGO_ENABLED=0 into one static binary", await env.LogAsync(projects[2].Deployment));

            // The API and the page say the same: generated, the stack, why, and the file (escaped on the page).
            var node = await api.GetAsync($"/api/projects/{projects[0].Name}/dockerfile");
            Assert.Equal("generated", (string)node["source"]!);
            Assert.Equal("Node", (string)node["stack"]!);
            Assert.Equal(["package-lock.json → npm", "package.json scripts.build → runs npm run build", "package.json scripts.start is \"node server.js\" → runs it directly"],
                node["reasons"]!.AsArray().Select(r => (string)r!).ToArray());
            var nodeDockerfile = (string)node["dockerfile"]!;
            Assert.StartsWith($"FROM {TestStacks.Image} AS build\nWORKDIR /app\nCOPY package.json package-lock.json ./\nRUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund\n", nodeDockerfile);
            Assert.Contains("\nENV PORT=8080\n", nodeDockerfile);
            var page = await env.Client.GetAsync($"/projects/{projects[0].Id}");
            Assert.Equal("generated", page.Text("#dockerfile-source"));
            Assert.Equal("Node", page.Text("#dockerfile-stack"));
            Assert.Equal(nodeDockerfile, page.Doc.QuerySelector("pre#dockerfile-text")!.TextContent);
            Assert.Contains("-ldflags=&quot;-s -w&quot;", (await env.Client.GetAsync($"/projects/{projects[2].Id}")).Html); // the Dockerfile is escaped text, not markup
            Assert.Contains("package-lock.json → npm", page.Texts("#dockerfile-reasons li"));

            // Per-project start command (API), then a redeploy uses it.
            var bad = await api.SendAsync(HttpMethod.Patch, $"/api/projects/{projects[0].Name}", """{"startCommand":"node server.js\nRUN rm -rf /"}""");
            Assert.Equal("The start command must be one line (no line breaks or control characters).", (string)TestApi.Problem(bad, HttpStatusCode.UnprocessableEntity)["errors"]!["startCommand"]![0]!);
            Assert.Null((string?)(await api.GetAsync($"/api/projects/{projects[0].Name}"))["startCommand"]);
            var patched = await api.SendAsync(HttpMethod.Patch, $"/api/projects/{projects[0].Name}", """{"startCommand":"NODE_ENV=custom exec node server.js"}""");
            Assert.Equal(HttpStatusCode.OK, patched.Status);
            Assert.Equal("NODE_ENV=custom exec node server.js", (string)patched.Body!["startCommand"]!);
            Assert.Contains("start command from the project's settings: NODE_ENV=custom exec node server.js",
                (await api.GetAsync($"/api/projects/{projects[0].Name}/dockerfile"))["reasons"]!.AsArray().Select(r => (string)r!));
            var second = await env.DeployAsync(projects[0].Id);
            await env.WaitForLiveAsync(second, TimeSpan.FromMinutes(5));
            Assert.Equal("node built custom", await env.ServedAsync(projects[0].Domain));

            // Save as override (Python): the generated file becomes the project's own, then edited; a redeploy uses it.
            var python = projects[1];
            var saved = await env.Client.SubmitAsync($"/projects/{python.Id}", new(), $"/projects/{python.Id}?handler=SaveDockerfile");
            Assert.Equal(HttpStatusCode.SeeOther, saved.Status);
            var overridden = await api.GetAsync($"/api/projects/{python.Name}/dockerfile");
            Assert.Equal("override", (string)overridden["source"]!);
            var text = (string)overridden["dockerfile"]!;
            Assert.Contains("CMD [\"python3\",\"main.py\"]", text);
            var empty = await env.Client.SubmitAsync($"/projects/{python.Id}", new() { ["dockerfile"] = "  \n" }, $"/projects/{python.Id}?handler=SaveDockerfile");
            Assert.Equal(HttpStatusCode.UnprocessableEntity, empty.Status);
            Assert.Equal("The Dockerfile is empty.", empty.Text("#dockerfile .field-error"));
            Assert.Equal(text, (string)(await api.GetAsync($"/api/projects/{python.Name}/dockerfile"))["dockerfile"]!);
            var edited = text.Replace("ENV PORT=8080\n", "ENV PORT=8080\nENV GREETING=from-the-override\n");
            Assert.Equal(HttpStatusCode.SeeOther, (await env.Client.SubmitAsync($"/projects/{python.Id}", new() { ["dockerfile"] = edited }, $"/projects/{python.Id}?handler=SaveDockerfile")).Status);
            var third = await env.DeployAsync(python.Id);
            await env.WaitForLiveAsync(third, TimeSpan.FromMinutes(5));
            Assert.Equal("from-the-override", await env.ServedAsync(python.Domain));
            Assert.Contains("Dockerfile: the one saved on the project page (override)", await env.LogAsync(third));
            Assert.Equal(HttpStatusCode.SeeOther, (await env.Client.SubmitAsync($"/projects/{python.Id}", new(), $"/projects/{python.Id}?handler=RemoveDockerfile")).Status);
            Assert.Equal("generated", (string)(await api.GetAsync($"/api/projects/{python.Name}/dockerfile"))["source"]!);
            var audit = (await api.GetAsync("/api/audit?action=dockerfile.override")).AsArray().Select(r => (string)r!["detail"]!).ToList();
            Assert.Equal(["removed", $"edited ({edited.Length} characters)", "saved the generated Dockerfile (Python)"], audit);

            // The plain static site went live with no container, and the API and the page say just that (the same
            // decision, StackDetection.IsPlainStatic): no generated Dockerfile, nothing to save as an override.
            var site = projects[3];
            var files = await api.GetAsync($"/api/projects/{site.Name}/dockerfile");
            Assert.Equal("static", (string)files["source"]!);
            Assert.Equal("static site", (string)files["stack"]!);
            Assert.Null((string?)files["dockerfile"]);
            Assert.Contains("Caddy serves the files as they are: no Dockerfile, no image, no container", files["reasons"]!.AsArray().Select(r => (string)r!));
            var refusedSave = await env.Client.SubmitAsync($"/projects/{site.Id}", new(), $"/projects/{site.Id}?handler=SaveDockerfile");
            Assert.Equal(HttpStatusCode.UnprocessableEntity, refusedSave.Status);
            Assert.Contains("plain static site", refusedSave.Text("#dockerfile .field-error"));
            Assert.Equal("static", (string)(await api.GetAsync($"/api/projects/{site.Name}/dockerfile"))["source"]!);

            // The project page in a browser: the static site's section, then Save as override and Remove override
            // (on the Go app), as a person clicks them.
            var go = projects[2];
            await using (var browser = await Browser.LaunchAsync())
            {
                var tab = await browser.NewPageAsync();
                await Browser.SignInAsync(tab, env.Panel.Url, PanelSetup.AdminEmail, PanelSetup.AdminPassword);
                await Browser.WaitForUrlAsync(tab, u => !u.Contains("/login"));
                await tab.GotoAsync($"{env.Panel.Url}/projects/{site.Id}");
                Assert.Equal("static", (await tab.TextContentAsync("#dockerfile-source"))!.Trim());
                Assert.Equal("static site", (await tab.TextContentAsync("#dockerfile-stack"))!.Trim());
                Assert.Equal("Served as files by Caddy: no Dockerfile, no image, no container.", (await tab.TextContentAsync("#dockerfile-static"))!.Trim());
                Assert.Equal(0, await tab.Locator("#dockerfile-save").CountAsync());
                Assert.Equal(0, await tab.Locator("#dockerfile-text").CountAsync());

                await tab.GotoAsync($"{env.Panel.Url}/projects/{go.Id}");
                Assert.Equal("generated", (await tab.TextContentAsync("#dockerfile-source"))!.Trim());
                Assert.Equal("Go", (await tab.TextContentAsync("#dockerfile-stack"))!.Trim());
                Assert.Contains($"FROM {TestStacks.Image}", await tab.TextContentAsync("pre#dockerfile-text"));
                await tab.ClickAsync("#dockerfile-save");
                await tab.WaitForSelectorAsync("textarea#dockerfile-text");
                Assert.Equal("override", (await tab.TextContentAsync("#dockerfile-source"))!.Trim());
                Assert.Contains($"FROM {TestStacks.Image}", await tab.InputValueAsync("textarea#dockerfile-text"));
                await tab.ClickAsync("#dockerfile-remove");
                await tab.WaitForSelectorAsync("pre#dockerfile-text");
                Assert.Equal("generated", (await tab.TextContentAsync("#dockerfile-source"))!.Trim());
            }
            Assert.Equal("static hello", await env.ServedAsync(site.Domain));

            // The cached repository never gets the generated file; a repository Dockerfile still wins over detection.
            Assert.Empty(Directory.GetFiles(Path.Combine(env.Panel.DataDir), ".vpspanel.Dockerfile", SearchOption.AllDirectories));
        }
        finally
        {
            foreach (var r in repos) r.Dispose();
        }
    }

    [Fact]
    public async Task A_repository_with_nothing_to_build_or_a_broken_package_json_fails_with_a_clear_message()
    {
        await using var env = await DeployEnv.StartAsync(TestStacks.Settings);
        using var api = await TestApi.ForUserAsync(env.Panel, PanelSetup.AdminEmail);
        using var nothing = new PushedRepo(new Dictionary<string, string> { ["README.md"] = "notes\n", ["docs/guide.txt"] = "x\n" });
        using var broken = new PushedRepo(new Dictionary<string, string> { ["package.json"] = "{\n  \"name\": \"app\"\n  \"version\": \"1.0.0\"\n}\n" });

        var a = await env.CreateProjectAsync(DeployEnv.ProjectFields(env.Name("nothing"), nothing.Bare, $"{env.Name("nothing")}.test"));
        // Before the first fetch there is nothing to read yet, and the page and the API say so.
        Assert.Contains("has not been fetched yet", TestApi.Problem(await api.SendAsync(HttpMethod.Get, $"/api/projects/{env.Name("nothing")}/dockerfile"), HttpStatusCode.Conflict)["detail"]!.ToString());
        Assert.Contains("has not been fetched yet", (await env.Client.GetAsync($"/projects/{a}")).Text("#dockerfile-problem"));
        var first = await env.DeployAsync(a);
        Assert.Equal("failed", await env.WaitForEndAsync(first));
        const string lookedFor = "nothing to build a Dockerfile from: looked for index.html (static site), package.json (Node), requirements.txt or pyproject.toml (Python), " +
            "go.mod (Go), Cargo.toml (Rust), one *.csproj or *.fsproj (.NET), composer.json (PHP), Gemfile (Ruby)";
        Assert.Contains($"FAILED at building: there is no Dockerfile at \"Dockerfile\" in this commit, and {lookedFor}", await env.LogAsync(first));
        Assert.Contains(lookedFor, (await env.Client.GetAsync($"/projects/{a}")).Text("#dockerfile-problem"));
        Assert.Contains(lookedFor, (string)TestApi.Problem(await api.SendAsync(HttpMethod.Get, $"/api/projects/{env.Name("nothing")}/dockerfile"), HttpStatusCode.UnprocessableEntity)["detail"]!);
        // "Save as override" has nothing to save; nothing is saved.
        var save = await env.Client.SubmitAsync($"/projects/{a}", new(), $"/projects/{a}?handler=SaveDockerfile");
        Assert.Equal(HttpStatusCode.UnprocessableEntity, save.Status);
        Assert.Contains(lookedFor, save.Text("#dockerfile .field-error"));

        var b = await env.CreateProjectAsync(DeployEnv.ProjectFields(env.Name("broken"), broken.Bare, $"{env.Name("broken")}.test"));
        var second = await env.DeployAsync(b);
        Assert.Equal("failed", await env.WaitForEndAsync(second));
        var log = await env.LogAsync(second);
        Assert.Contains("there is no Dockerfile at \"Dockerfile\" in this commit, and package.json is not valid JSON at line 3, column 3: ", log);
        Assert.Empty(await env.PanelContainersAsync());
    }

    static string DeployTimes(string log) => string.Join("; ", log.Split('\n').Where(l => l.Contains("==>")).Select(l => l.Trim()).Take(8));
}
