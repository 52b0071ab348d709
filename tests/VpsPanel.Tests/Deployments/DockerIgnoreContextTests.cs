using System.Diagnostics;
using System.Formats.Tar;
using Docker.DotNet;
using Docker.DotNet.Models;
using VpsPanel.Features.Docker;
using VpsPanel.Tests.Harness;
using Xunit.Abstractions;

namespace VpsPanel.Tests.Deployments;

/// <summary>
/// Issue 14, finding 2: the build context is the one `docker build` sends. One checkout, two images: one built through
/// the panel's pipeline, one by Debian's docker CLI with BuildKit (the reference); both Dockerfiles `COPY . /ctx`, and
/// the two images' file lists under /ctx must be equal, dot-files included.
/// </summary>
public sealed class DockerIgnoreContextTests(ITestOutputHelper output)
{
    // Only patterns on which Docker 20.10's CLI and today's Docker agree: 20.10 skipped an excluded directory unless an
    // exception started with its name (see DockerIgnore.CouldReinclude), so no wildcard exception here reaches into an
    // excluded directory.
    const string Ignore = """
        # dependencies and secrets stay out
        node_modules
        !node_modules/pkg/keep.js
        .env
        **/__pycache__
        docs
        !docs/keep.md
        **/*.log
        !**/keep
        /build/**
        !build/*.bin
        src/**/*.test.js
          ./tmp/

        """;

    static readonly string[] Files =
    [
        ".nginx/nginx.conf", ".env.example", ".npmrc", ".env", "www/index.html", "docs/keep.md", "docs/other.md",
        "node_modules/pkg/index.js", "node_modules/pkg/keep.js", "logs/a.log", "logs/keep/b.log", "top.log",
        "src/app.js", "src/app.test.js", "src/deep/x.test.js", "src/__pycache__/m.pyc", "build/out.bin", "build/cache/c",
        "tmp/t", ".github/workflows/ci.yml", "weird name [1].txt",
    ];

    static async Task<List<string>> FilesUnderCtxAsync(DockerClient docker, string image)
    {
        var created = await docker.Containers.CreateContainerAsync(new CreateContainerParameters { Image = image, Cmd = ["/bin/busybox", "true"] });
        try
        {
            await using var tar = await docker.Containers.ExportContainerAsync(created.ID, CancellationToken.None);
            using var reader = new TarReader(tar);
            var names = new List<string>();
            while (await reader.GetNextEntryAsync() is { } e)
                if (e.Name.StartsWith("ctx/", StringComparison.Ordinal) && e.Name != "ctx/") names.Add(e.Name.TrimEnd('/') + (e.EntryType == TarEntryType.Directory ? "/" : ""));
            return names.Order(StringComparer.Ordinal).ToList();
        }
        finally
        {
            await docker.RemoveContainerIfExistsAsync(created.ID, CancellationToken.None);
        }
    }

    /// <summary>A Dockerfile that copies the whole context to /ctx and serves /ctx/www.</summary>
    static void WriteCopyAllDockerfile(TestRepo repo, string label) => File.WriteAllText(Path.Combine(repo.Work, "Dockerfile"), $"""
        FROM scratch
        COPY busybox /bin/busybox
        COPY . /ctx
        LABEL {TestDocker.TestLabel}={label}
        CMD ["/bin/busybox", "httpd", "-f", "-p", "8080", "-h", "/ctx/www"]

        """);

    static async Task<List<string>> PanelImageFilesAsync(DeployEnv env)
    {
        using var docker = TestDocker.Client();
        return await FilesUnderCtxAsync(docker, Assert.Single(await TestDocker.ImagesAsync(docker, env.PanelLabel, $"vpspanel.project={env.Name()}")));
    }

    /// <summary>The reference: the same commit, checked out anew, built by Debian's docker CLI with BuildKit from the directory; its files under /ctx.</summary>
    static async Task<List<string>> CliImageFilesAsync(TestRepo repo, string sha, string cliImage)
    {
        var checkout = Paths.NewTempDir("vpspanel-cli-ctx-");
        using var docker = TestDocker.Client();
        try
        {
            TestRepo.Run(checkout, "clone", "--quiet", repo.Bare, "src");
            var src = Path.Combine(checkout, "src");
            TestRepo.Run(src, "checkout", "--quiet", "--detach", sha);
            Directory.Delete(Path.Combine(src, ".git"), recursive: true);
            var psi = new ProcessStartInfo("/usr/bin/docker") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = src };
            foreach (var a in new[] { "build", "--progress=plain", "-t", cliImage, "." }) psi.ArgumentList.Add(a);
            psi.Environment["DOCKER_BUILDKIT"] = "1";
            using (var p = Process.Start(psi)!)
            {
                var stdout = p.StandardOutput.ReadToEndAsync();
                var stderr = await p.StandardError.ReadToEndAsync();
                await p.WaitForExitAsync();
                Assert.True(p.ExitCode == 0, $"docker build failed: {stderr}");
                _ = await stdout;
            }
            return await FilesUnderCtxAsync(docker, cliImage);
        }
        finally
        {
            await docker.RemoveImageIfUnusedAsync(cliImage, CancellationToken.None);
            Paths.DeleteQuietly(checkout);
        }
    }

    [Fact]
    public async Task The_image_holds_exactly_the_files_docker_build_puts_in_it_dot_files_included()
    {
        await using var env = await DeployEnv.StartAsync();
        using var repo = TestRepo.WithBusyboxApp("v1", env.Label);
        foreach (var f in Files)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(repo.Work, f))!);
            File.WriteAllText(Path.Combine(repo.Work, f), f == "www/index.html" ? "ctx" : f);
        }
        File.WriteAllText(Path.Combine(repo.Work, ".dockerignore"), Ignore);
        WriteCopyAllDockerfile(repo, env.Label);
        var sha = repo.CommitAll("a context with dot-files and a .dockerignore");

        var domain = $"{env.Name()}.test";
        var project = await env.CreateProjectAsync(repo, domain);
        var d = await env.DeployAsync(project);
        await env.WaitForLiveAsync(d);
        Assert.Equal("ctx", await env.ServedAsync(domain));

        var panel = await PanelImageFilesAsync(env);
        var cli = await CliImageFilesAsync(repo, sha, $"vpspanel-test-ctx-{env.Label}:cli");
        output.WriteLine("docker build: " + string.Join(" ", cli));
        Assert.Equal(cli, panel);

        // What the rules mean, spelled out (and so proof the reference itself applied them).
        foreach (var kept in new[] { "ctx/.nginx/nginx.conf", "ctx/.env.example", "ctx/.npmrc", "ctx/.github/workflows/ci.yml", "ctx/.dockerignore",
                     "ctx/Dockerfile", "ctx/node_modules/pkg/keep.js", "ctx/docs/keep.md", "ctx/logs/keep/b.log", "ctx/build/out.bin", "ctx/src/app.js",
                     "ctx/weird name [1].txt" })
            Assert.Contains(kept, panel);
        foreach (var gone in new[] { "ctx/.env", "ctx/node_modules/pkg/index.js", "ctx/docs/other.md", "ctx/logs/a.log", "ctx/top.log",
                     "ctx/src/app.test.js", "ctx/src/deep/x.test.js", "ctx/src/__pycache__/", "ctx/build/cache/", "ctx/tmp/" })
            Assert.DoesNotContain(gone, panel);
    }

    [Fact]
    public async Task A_Dockerfile_and_dockerignore_that_dockerignore_lists_are_read_by_the_build_but_stay_out_of_the_image_as_with_docker_build()
    {
        await using var env = await DeployEnv.StartAsync();
        using var repo = TestRepo.WithBusyboxApp("v1", env.Label);
        File.WriteAllText(Path.Combine(repo.Work, "www", "index.html"), "ctx");
        File.WriteAllText(Path.Combine(repo.Work, "keep.txt"), "kept");
        File.WriteAllText(Path.Combine(repo.Work, "notes.txt"), "left out");
        File.WriteAllText(Path.Combine(repo.Work, ".dockerignore"), "Dockerfile\n.dockerignore\nnotes.txt\n");
        WriteCopyAllDockerfile(repo, env.Label);
        var sha = repo.CommitAll("a .dockerignore that lists the Dockerfile");
        var domain = $"{env.Name()}.test";
        var d = await env.DeployAsync(await env.CreateProjectAsync(repo, domain));
        Assert.True(await env.WaitForEndAsync(d) == "live", await env.LogAsync(d));
        Assert.Contains(".dockerignore excludes Dockerfile: the docker CLI reads the context directory itself", await env.LogAsync(d));
        Assert.Equal("ctx", await env.ServedAsync(domain));

        var panel = await PanelImageFilesAsync(env);
        Assert.Equal(await CliImageFilesAsync(repo, sha, $"vpspanel-test-ctx-{env.Label}:cli"), panel);
        Assert.Contains("ctx/keep.txt", panel);
        Assert.Contains("ctx/busybox", panel);
        foreach (var gone in new[] { "ctx/Dockerfile", "ctx/.dockerignore", "ctx/notes.txt" }) Assert.DoesNotContain(gone, panel);
    }

    [Fact]
    public async Task A_plain_dockerignore_without_exceptions_gives_the_image_docker_build_gives_where_the_CLI_walks_the_directory()
    {
        // Issue 20: this context is one the CLI walks itself (BuildContext.CliWalkSendsTheSame), a link inside included.
        await using var env = await DeployEnv.StartAsync();
        using var repo = TestRepo.WithBusyboxApp("v1", env.Label);
        File.WriteAllText(Path.Combine(repo.Work, "www", "index.html"), "walked");
        foreach (var f in new[] { ".env", ".npmrc", "logs/a.log", "src/app.js", "node_modules/pkg/index.js" })
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(repo.Work, f))!);
            File.WriteAllText(Path.Combine(repo.Work, f), f);
        }
        File.CreateSymbolicLink(Path.Combine(repo.Work, "app-link.js"), "src/app.js");
        File.WriteAllText(Path.Combine(repo.Work, ".dockerignore"), ".env\nnode_modules\n**/*.log\n");
        WriteCopyAllDockerfile(repo, env.Label);
        var sha = repo.CommitAll("a plain .dockerignore");
        var domain = $"{env.Name()}.test";
        var d = await env.DeployAsync(await env.CreateProjectAsync(repo, domain));
        Assert.True(await env.WaitForEndAsync(d) == "live", await env.LogAsync(d));
        Assert.Equal("walked", await env.ServedAsync(domain));

        var panel = await PanelImageFilesAsync(env);
        Assert.Equal(await CliImageFilesAsync(repo, sha, $"vpspanel-test-ctx-{env.Label}:cli"), panel);
        foreach (var kept in new[] { "ctx/.npmrc", "ctx/.dockerignore", "ctx/Dockerfile", "ctx/src/app.js", "ctx/app-link.js" }) Assert.Contains(kept, panel);
        foreach (var gone in new[] { "ctx/.env", "ctx/logs/a.log", "ctx/node_modules/" }) Assert.DoesNotContain(gone, panel);
    }
}
