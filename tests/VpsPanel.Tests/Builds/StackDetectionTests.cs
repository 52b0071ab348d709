using System.Text;
using Microsoft.Extensions.Configuration;
using VpsPanel.Features.Builds;
using VpsPanel.Features.Settings;
using VpsPanel.Tests.Harness;

namespace VpsPanel.Tests.Builds;

/// <summary>
/// Issue 14, builds without a Dockerfile: one repository per stack (StackFixtures), read from git without a checkout;
/// what is detected, why, and the exact Dockerfile generated with the default base images. The expected text of each
/// is a file under Builds/expected (reviewed by hand; VPSPANEL_WRITE_EXPECTED=1 rewrites them after a deliberate change).
/// </summary>
public sealed class StackDetectionTests
{
    static readonly string ExpectedDir = Path.Combine(Paths.RepoRoot, "tests", "VpsPanel.Tests", "Builds", "expected");

    public static IEnumerable<object[]> Stacks => StackFixtures.All.Keys.Select(k => new object[] { k });

    static string Describe(Detection d, string dockerfile)
    {
        var sb = new StringBuilder();
        sb.Append($"# detected: {d.Label}, port {d.DefaultPort}\n");
        foreach (var r in d.Reasons) sb.Append($"# - {r}\n");
        sb.Append('\n').Append(dockerfile);
        return sb.ToString();
    }

    [Theory]
    [MemberData(nameof(Stacks))]
    public void Detects_the_stack_and_generates_the_exact_Dockerfile(string name)
    {
        var d = FixtureRepo.Detect(StackFixtures.All[name]);
        var actual = Describe(d, GeneratedDockerfile.Render(d, BaseImages.Defaults, BuildCommands.None));
        var file = Path.Combine(ExpectedDir, name + ".txt");
        if (Environment.GetEnvironmentVariable("VPSPANEL_WRITE_EXPECTED") == "1") File.WriteAllText(file, actual);
        Assert.Equal(File.ReadAllText(file), actual);
        // What no generated file may hold: BuildKit's built-in frontend on Docker 20.10 parses no heredoc, and a
        // syntax line would make it look for a frontend image.
        Assert.DoesNotContain("<<", actual);
        Assert.DoesNotContain("# syntax", actual);
    }

    [Fact]
    public void Each_stack_is_told_apart()
    {
        var seen = StackFixtures.All.ToDictionary(f => f.Key, f => FixtureRepo.Detect(f.Value).Label);
        Assert.Equal(new Dictionary<string, string>
        {
            ["static"] = "static site", ["node-express"] = "Node", ["node-plain"] = "Node", ["nextjs-standalone"] = "Node (Next.js standalone)",
            ["nextjs"] = "Node (Next.js)", ["nuxt"] = "Node (Nuxt)", ["sveltekit"] = "Node (SvelteKit)", ["remix"] = "Node (Remix)",
            ["astro"] = "Node (Astro)", ["vite-spa"] = "Node (Vite SPA)", ["flask"] = "Python (Flask)", ["django"] = "Python (Django)",
            ["fastapi"] = "Python (FastAPI)", ["python-stdlib"] = "Python", ["go"] = "Go", ["go-cmd"] = "Go", ["rust"] = "Rust",
            ["dotnet"] = ".NET", ["php"] = "PHP (Laravel)", ["rails"] = "Ruby (Rails)", ["rack"] = "Ruby (Rack)",
        }, seen);
    }

    [Fact]
    public void The_projects_commands_replace_the_detected_ones_and_the_port_and_builder_are_honoured()
    {
        var d = FixtureRepo.Detect(StackFixtures.All["node-express"]);
        var commands = new BuildCommands("npm ci --omit=optional", "npm run build:prod && npm run docs", "node dist/index.js --port \"$PORT\"");
        Assert.Equal(
            """
            FROM node:22-bookworm-slim AS build
            WORKDIR /app
            COPY package.json package-lock.json ./
            RUN npm ci --omit=optional
            COPY . .
            RUN npm run build:prod && npm run docs
            RUN npm prune --omit=dev --no-audit --no-fund

            FROM node:22-bookworm-slim
            WORKDIR /app
            ENV NODE_ENV=production
            ENV PORT=8080
            COPY --from=build /app ./
            EXPOSE 8080
            CMD ["sh","-c","node dist/index.js --port \"$PORT\""]

            """.ReplaceLineEndings("\n"),
            GeneratedDockerfile.Render(d, BaseImages.Defaults, commands, port: 8080, cacheMounts: false));
        Assert.Equal([.. d.Reasons, "install command from the project's settings: npm ci --omit=optional",
            "build command from the project's settings: npm run build:prod && npm run docs", "start command from the project's settings: node dist/index.js --port \"$PORT\""],
            GeneratedDockerfile.Reasons(d, commands));

        // Base images come from the settings.
        var images = BaseImages.Defaults.ToDictionary(i => i.Key, i => i.Value);
        images["Go"] = "registry.local:5000/build/go:1.23";
        images["GoRuntime"] = "registry.local:5000/base/static@sha256:" + new string('a', 64);
        var go = GeneratedDockerfile.Render(FixtureRepo.Detect(StackFixtures.All["go"]), images, BuildCommands.None);
        Assert.StartsWith("FROM registry.local:5000/build/go:1.23 AS build\n", go);
        Assert.Contains($"\nFROM registry.local:5000/base/static@sha256:{new string('a', 64)}\n", go);
    }

    [Fact]
    public void A_base_directory_is_read_on_its_own()
    {
        using var repo = new FixtureRepo(new Dictionary<string, string>
        {
            ["README.md"] = "monorepo\n",
            ["apps/api/go.mod"] = "module example.com/api\n\ngo 1.22\n", ["apps/api/main.go"] = "package main\n\nfunc main() {}\n",
            ["apps/web/package.json"] = """{"scripts":{"start":"node server.js"}}""", ["apps/web/server.js"] = "\n",
        });
        Assert.Equal("Go", repo.Detect("apps/api").Label);
        Assert.Equal("Node", repo.Detect("apps/web/").Label);
        var e = Assert.Throws<DetectionException>(() => repo.Detect(""));
        Assert.Equal("nothing to build a Dockerfile from: looked for index.html (static site), package.json (Node), requirements.txt or pyproject.toml (Python), " +
            "go.mod (Go), Cargo.toml (Rust), one *.csproj or *.fsproj (.NET), composer.json (PHP), Gemfile (Ruby)", e.Message);
        Assert.Throws<DetectionException>(() => repo.Detect("apps/missing"));
    }

    [Fact]
    public void Bad_input_gets_a_clear_message()
    {
        var bad = Assert.Throws<DetectionException>(() => FixtureRepo.Detect(new() { ["package.json"] = "{\n  \"name\": \"app\",\n  \"scripts\": { \"start\": \"node .\" \n}\n" }));
        Assert.StartsWith("package.json is not valid JSON at line 5, column 1: ", bad.Message);
        var trailing = Assert.Throws<DetectionException>(() => FixtureRepo.Detect(new() { ["package.json"] = "{\"name\": \"app\",}" }));
        Assert.StartsWith("package.json is not valid JSON at line 1, column 16: ", trailing.Message);
        Assert.Equal("package.json is not a JSON object", Assert.Throws<DetectionException>(() => FixtureRepo.Detect(new() { ["package.json"] = "[1]" })).Message);
        Assert.Contains("none of server.js, index.js, app.js, main.js exists", Assert.Throws<DetectionException>(() => FixtureRepo.Detect(new() { ["package.json"] = "{}" })).Message);
        Assert.Contains("several commands (cmd/a, cmd/b)", Assert.Throws<DetectionException>(() => FixtureRepo.Detect(new()
        {
            ["go.mod"] = "module x\n", ["cmd/a/main.go"] = "package main\n", ["cmd/b/main.go"] = "package main\n",
        })).Message);
        Assert.Contains("several web projects (a/A.csproj, b/B.csproj)", Assert.Throws<DetectionException>(() => FixtureRepo.Detect(new()
        {
            ["a/A.csproj"] = "<Project Sdk=\"Microsoft.NET.Sdk.Web\"/>", ["b/B.csproj"] = "<Project Sdk=\"Microsoft.NET.Sdk.Web\"/>",
        })).Message);
        Assert.Contains("Cargo.toml has no [package] name", Assert.Throws<DetectionException>(() => FixtureRepo.Detect(new() { ["Cargo.toml"] = "[workspace]\nmembers = [\"a\"]\n" })).Message);
    }

    [Fact]
    public void Commands_and_base_images_are_validated()
    {
        Assert.Null(BuildCommands.Problem("npm ci && npm run build", "build"));
        Assert.Equal("The build command must be one line (no line breaks or control characters).", BuildCommands.Problem("npm ci\nRUN curl evil", "build"));
        Assert.Equal("The start command may not end with a backslash.", BuildCommands.Problem("node server.js \\", "start"));
        Assert.NotNull(BuildCommands.Problem(new string('x', 1001), "install"));

        foreach (var ok in new[] { "node:22-bookworm-slim", "gcr.io/distroless/static-debian12", "localhost:5000/my/node:22", "vpspanel-test/stacks:bookworm-e3de177c",
            "debian@sha256:" + new string('0', 64) })
            Assert.True(BaseImages.IsValidReference(ok), ok);
        foreach (var bad in new[] { "", "node:22\nRUN rm -rf /", "node 22", "Node:22", "node:22 AS x", "-node", "node:" })
            Assert.False(BaseImages.IsValidReference(bad), bad);

        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Build:BaseImages:Node"] = "node:22 AS evil", ["Build:BaseImages:Python"] = "localhost:5000/py:3",
        }).Build();
        var e = Assert.Throws<SettingsException>(() => PanelSettings.Load(config));
        Assert.Contains("setting Build:BaseImages:Node = \"node:22 AS evil\" is not valid: expected an image reference such as node:22-bookworm-slim", e.Message);
        Assert.DoesNotContain("Python", e.Message);
    }
}
