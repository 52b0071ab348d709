using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using VpsPanel.Tests.Harness;

namespace VpsPanel.Tests.Install;

/// <summary>
/// install.sh with no source option: a release directory built by release/build.sh from the published binary, served
/// over HTTP in the test container's own loopback in the layout GitHub (and a mirror) serves, downloaded, checked against
/// SHA256SUMS and installed; or refused, with nothing changed.
/// </summary>
public sealed class ReleaseInstallTests
{
    const string Asset = "vpspanel-linux-x64";
    const string Installed = "/usr/local/bin/vpspanel";

    [Fact]
    public async Task Piped_from_curl_with_the_release_base_on_a_loopback_server_installs_the_latest_release_and_the_service_answers_healthz()
    {
        using var release = await ReleaseRoot.BuildAsync();
        await using var c = await DebianContainer.StartAsync("release-piped", systemd: true);
        await using var server = await ReleaseServer.StartAsync(c, release.Root);

        // As the README's one-liner, with no checkout anywhere: the script comes from the server, on stdin.
        var oneLiner = $"set -o pipefail; cd /tmp && curl -fsSL {server.Base}/install.sh | VPSPANEL_RELEASE_BASE={server.Base} bash";
        var r = await c.ShAsync(oneLiner, timeout: TimeSpan.FromMinutes(5));

        Assert.True(r.ExitCode == 0, r.All);
        Assert.Contains($"release latest from {server.Base}/latest/download", r.Stdout);
        Assert.Contains($"SHA256 of {Asset} matches SHA256SUMS: {release.Sha256(Asset)}", r.Stdout);
        Assert.Contains("VpsPanel is running.", r.Stdout);
        Assert.Contains("GET /latest/download/SHA256SUMS", server.Log);
        Assert.Contains($"GET /latest/download/{Asset}", server.Log);
        Assert.Equal(release.Sha256(Asset), (await c.ShAsync($"sha256sum {Installed} | cut -d' ' -f1")).Stdout.Trim());
        Assert.Equal("755 root:root", await c.ModeAndOwnerAsync(Installed));
        Assert.Equal("active", (await c.ShAsync("systemctl is-active vpspanel")).Stdout.Trim());
        Assert.Equal(Installed, (await c.ShAsync("systemctl show -p ExecStart --value vpspanel | grep -o 'path=[^ ;]*' | cut -d= -f2")).Stdout.Trim());
        var health = await c.HttpGetAsync(2081, "/healthz", TimeSpan.FromSeconds(60));
        Assert.True(health is not null, (await c.ShAsync("journalctl -u vpspanel --no-pager | tail -40")).All);
        Assert.Contains("\"database\":{\"ok\":true", health);
        Assert.NotNull(await c.HttpGetAsync(2080, "/healthz", TimeSpan.FromSeconds(30)));

        // Run again: the latest release is what is installed, so the binary is kept (same inode) and the panel runs on.
        var inode = (await c.ShAsync($"stat -c %i {Installed}")).Stdout.Trim();
        var again = await c.ShAsync(oneLiner, timeout: TimeSpan.FromMinutes(5));
        Assert.True(again.ExitCode == 0, again.All);
        Assert.Contains($"{Installed} is already this release; keeping it", again.Stdout);
        Assert.Equal(inode, (await c.ShAsync($"stat -c %i {Installed}")).Stdout.Trim());
        Assert.Equal("active", (await c.ShAsync("systemctl is-active vpspanel")).Stdout.Trim());
        Assert.NotNull(await c.HttpGetAsync(2081, "/healthz", TimeSpan.FromSeconds(60)));
        // The download went to a temporary directory that is gone.
        Assert.Equal("", (await c.ShAsync($"find /tmp -name {Asset}")).Stdout.Trim());
    }

    public static TheoryData<string, string> Tampering => new()
    {
        { "binary", $"refusing to install: checksum mismatch for {Asset} from http://127.0.0.1:{ReleaseServer.Port}/latest/download: SHA256SUMS says " },
        { "sum", $"refusing to install: checksum mismatch for {Asset} from http://127.0.0.1:{ReleaseServer.Port}/latest/download: SHA256SUMS says " },
        { "missing-line", $"refusing to install: http://127.0.0.1:{ReleaseServer.Port}/latest/download/SHA256SUMS has no checksum line for {Asset}, so the download cannot be verified" },
        { "no-sums", $"could not download http://127.0.0.1:{ReleaseServer.Port}/latest/download/SHA256SUMS" },
    };

    [Theory]
    [MemberData(nameof(Tampering))]
    public async Task A_tampered_binary_a_tampered_sum_or_a_missing_sum_is_refused_and_nothing_changes(string tamper, string message)
    {
        using var release = await ReleaseRoot.BuildAsync();
        var latest = Path.Combine(release.Root, "latest", "download");
        var sums = Path.Combine(latest, "SHA256SUMS");
        switch (tamper)
        {
            case "binary":
                // One byte changed in the middle of the file: still the same size, still an ELF file.
                await using (var f = new FileStream(Path.Combine(latest, Asset), FileMode.Open, FileAccess.ReadWrite))
                {
                    f.Position = f.Length / 2;
                    var b = f.ReadByte();
                    f.Position = f.Length / 2;
                    f.WriteByte((byte)(b ^ 0xff));
                }
                break;
            case "sum":
                await File.WriteAllTextAsync(sums, (await File.ReadAllTextAsync(sums)).Replace(release.Sha256(Asset), new string('0', 64)));
                break;
            case "missing-line":
                await File.WriteAllLinesAsync(sums, (await File.ReadAllLinesAsync(sums)).Where(l => !l.EndsWith("  " + Asset, StringComparison.Ordinal)));
                Assert.DoesNotContain(Asset, await File.ReadAllTextAsync(sums));
                break;
            case "no-sums":
                File.Delete(sums);
                break;
        }
        await using var c = await DebianContainer.StartAsync("release-tampered");
        await using var server = await ReleaseServer.StartAsync(c, release.Root);
        var before = await InstallScriptTests.SnapshotAsync(c);

        var r = await c.ShAsync($"set -o pipefail; cd /tmp && curl -fsSL {server.Base}/install.sh | VPSPANEL_RELEASE_BASE={server.Base} bash");

        Assert.Equal(1, r.ExitCode);
        Assert.Contains(message, r.Stderr);
        Assert.Contains("Nothing was changed.", r.Stderr);
        Assert.DoesNotContain("+ ", r.Stdout);
        Assert.False(await c.ExistsAsync(Installed));
        Assert.False(await c.ExistsAsync("/etc/vpspanel"));
        Assert.Equal(before, await InstallScriptTests.SnapshotAsync(c));
    }

    [Fact]
    public async Task Dry_run_downloads_and_verifies_into_a_temporary_directory_says_the_sum_matched_and_changes_nothing()
    {
        using var release = await ReleaseRoot.BuildAsync();
        await using var c = await DebianContainer.StartAsync("release-dryrun");
        await using var server = await ReleaseServer.StartAsync(c, release.Root);
        var env = new Dictionary<string, string> { ["VPSPANEL_RELEASE_BASE"] = server.Base };
        var before = await InstallScriptTests.SnapshotAsync(c);

        var r = await c.InstallAsync(["--dry-run"], env);

        Assert.True(r.ExitCode == 0, r.All);
        Assert.Contains($"SHA256 of {Asset} matches SHA256SUMS: {release.Sha256(Asset)}", r.Stdout);
        Assert.Contains($"GET /latest/download/{Asset}", server.Log);
        // The rest is the ordinary dry run: every step printed, the Caddyfile template read from the verified download.
        Assert.Contains($"+ install -m 0755 -o root -g root /tmp/", r.Stdout);
        Assert.Contains("+ write /etc/caddy/Caddyfile", r.Stdout);
        Assert.Contains("dry run finished: nothing was changed", r.Stdout);
        Assert.Equal(before, await InstallScriptTests.SnapshotAsync(c));

        // A mismatch in a dry run: said, non-zero, and still nothing changed.
        var latest = Path.Combine(release.Root, "latest", "download");
        await File.AppendAllTextAsync(Path.Combine(latest, Asset), "tampered");
        var bad = await c.InstallAsync(["--dry-run"], env);
        Assert.Equal(1, bad.ExitCode);
        Assert.Contains($"checksum mismatch for {Asset}", bad.Stderr);
        Assert.Equal(before, await InstallScriptTests.SnapshotAsync(c));
    }

    [Fact]
    public async Task Version_downloads_from_that_releases_directory_with_or_without_the_v()
    {
        using var release = await ReleaseRoot.BuildAsync();
        // The latest release is broken, so anything taken from it would be refused: only v1.2.0's directory is good.
        await File.AppendAllTextAsync(Path.Combine(release.Root, "latest", "download", Asset), "not this one");
        await using var c = await DebianContainer.StartAsync("release-version");
        await using var server = await ReleaseServer.StartAsync(c, release.Root);
        var env = new Dictionary<string, string> { ["VPSPANEL_RELEASE_BASE"] = server.Base + "/" };
        var before = await InstallScriptTests.SnapshotAsync(c);

        foreach (var v in new[] { "1.2.0", "v1.2.0" })
        {
            var dry = await c.InstallAsync(["--dry-run", "--version", v], env);
            Assert.True(dry.ExitCode == 0, dry.All);
            Assert.Contains($"release v1.2.0 from {server.Base}/download/v1.2.0", dry.Stdout);
            Assert.Contains($"SHA256 of {Asset} matches SHA256SUMS: {release.Sha256(Asset)}", dry.Stdout);
        }
        Assert.Contains($"GET /download/v1.2.0/{Asset}", server.Log);
        Assert.DoesNotContain("/latest/", server.Log);
        Assert.Equal(before, await InstallScriptTests.SnapshotAsync(c));

        // A release that is not there, and a version that is not one: clear messages, nothing changed.
        var missing = await c.InstallAsync(["--version", "9.9.9"], env);
        Assert.Equal(1, missing.ExitCode);
        Assert.Contains($"could not download {server.Base}/download/v9.9.9/SHA256SUMS", missing.Stderr);
        var nonsense = await c.InstallAsync(["--version", "latest;rm"], env);
        Assert.Equal(1, nonsense.ExitCode);
        Assert.Contains("--version 'latest;rm' is not a release like 1.2.0 or v1.2.0", nonsense.Stderr);
        var both = await c.InstallAsync(["--version", "1.2.0", "--binary", DebianContainer.Binary], env);
        Assert.Equal(1, both.ExitCode);
        Assert.Contains("--version picks a release to download; it cannot go with --binary", both.Stderr);
        Assert.Equal(before, await InstallScriptTests.SnapshotAsync(c));

        // And installed for real.
        var r = await c.InstallAsync(["--version", "1.2.0"], env);
        Assert.True(r.ExitCode == 0, r.All);
        Assert.Equal(release.Sha256(Asset), (await c.ShAsync($"sha256sum {Installed} | cut -d' ' -f1")).Stdout.Trim());
    }

    [Fact]
    public async Task Build_script_makes_a_release_directory_that_sha256sum_checks_and_refuses_bad_input()
    {
        using var release = await ReleaseRoot.BuildAsync();
        var dir = Path.Combine(release.Root, "latest", "download");
        Assert.Equal(new[] { "SHA256SUMS", "install.sh", Asset }, Directory.GetFiles(dir).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray());
        var check = await TestDebian.RunAsync("bash", ["-c", "cd \"$1\" && sha256sum --check --strict SHA256SUMS", "check", dir]);
        Assert.True(check.ExitCode == 0, check.All);
        Assert.Equal($"{Asset}: OK\ninstall.sh: OK\n", check.Stdout);
        Assert.Equal(await File.ReadAllBytesAsync(Paths.Binary), await File.ReadAllBytesAsync(Path.Combine(dir, Asset)));
        Assert.Equal(await File.ReadAllTextAsync(Path.Combine(Paths.RepoRoot, "install.sh")), await File.ReadAllTextAsync(Path.Combine(dir, "install.sh")));

        var script = Path.Combine(Paths.RepoRoot, "release", "build.sh");
        var notEmpty = await TestDebian.RunAsync("bash", [script, dir, $"linux-x64={Paths.Binary}"]);
        Assert.NotEqual(0, notEmpty.ExitCode);
        Assert.Contains("is not empty", notEmpty.Stderr);
        var empty = Paths.NewTempDir("vpspanel-release-");
        try
        {
            var rid = await TestDebian.RunAsync("bash", [script, empty, "linux-riscv64"]);
            Assert.NotEqual(0, rid.ExitCode);
            Assert.Contains("unknown runtime 'linux-riscv64': releases are linux-x64 and linux-arm64", rid.Stderr);
            var version = await TestDebian.RunAsync("env", ["VERSION=latest", "bash", script, empty, $"linux-x64={Paths.Binary}"]);
            Assert.NotEqual(0, version.ExitCode);
            Assert.Contains("VERSION 'latest' is not a version like 1.2.3", version.Stderr);
            // With a version, VERSION names it without the v: what `vpspanel upgrade` reads from latest/download/VERSION.
            var stamped = await TestDebian.RunAsync("env", ["VERSION=v1.2.3", "bash", script, empty, $"linux-x64={Paths.Binary}"]);
            Assert.True(stamped.ExitCode == 0, stamped.All);
            Assert.Equal("1.2.3\n", await File.ReadAllTextAsync(Path.Combine(empty, "VERSION")));

            // The upload step checks what it would attach before it talks to GitHub.
            var upload = await TestDebian.RunAsync("bash", [Path.Combine(Paths.RepoRoot, "release", "upload.sh"), "v1.2.0", dir]);
            Assert.NotEqual(0, upload.ExitCode);
            Assert.Contains($"{dir}/vpspanel-linux-arm64 is missing", upload.Stderr);
        }
        finally { Paths.DeleteQuietly(empty); }
    }

    /// <summary>
    /// A directory laid out as VPSPANEL_RELEASE_BASE must serve: install.sh at the top (the one-liner's URL),
    /// latest/download/* and download/v1.2.0/*, each a release directory release/build.sh made from the binary under test.
    /// </summary>
    sealed class ReleaseRoot : IDisposable
    {
        public string Root { get; } = Paths.NewTempDir("vpspanel-release-");
        readonly Dictionary<string, string> sums = [];

        public string Sha256(string file) => sums[file];

        public static async Task<ReleaseRoot> BuildAsync()
        {
            var root = new ReleaseRoot();
            var latest = Path.Combine(root.Root, "latest", "download");
            var build = await TestDebian.RunAsync("bash", [Path.Combine(Paths.RepoRoot, "release", "build.sh"), latest, $"linux-x64={Paths.Binary}"]);
            Assert.True(build.ExitCode == 0, build.All);
            foreach (var line in await File.ReadAllLinesAsync(Path.Combine(latest, "SHA256SUMS")))
                root.sums[line[66..]] = line[..64];
            Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync(Paths.Binary))), root.sums[Asset]);
            var pinned = Directory.CreateDirectory(Path.Combine(root.Root, "download", "v1.2.0")).FullName;
            foreach (var f in Directory.GetFiles(latest)) File.Copy(f, Path.Combine(pinned, Path.GetFileName(f)));
            File.Copy(Path.Combine(latest, "install.sh"), Path.Combine(root.Root, "install.sh"));
            return root;
        }

        public void Dispose() => Paths.DeleteQuietly(Root);
    }

    /// <summary>
    /// A static file server (python3 -m http.server) on 127.0.0.1 inside the test container's own network namespace
    /// (nsenter): the container keeps --network none, its loopback reaches the server, and the fixed port cannot clash
    /// with another test's, since each container has its own loopback. Any static server is a valid mirror.
    /// </summary>
    sealed class ReleaseServer : IAsyncDisposable
    {
        public const int Port = 8765;
        public string Base => $"http://127.0.0.1:{Port}";
        readonly Process process;
        readonly StringBuilder log = new();

        /// <summary>The server's request log ("GET /latest/download/SHA256SUMS HTTP/1.1" 200 ...).</summary>
        public string Log { get { lock (log) return log.ToString(); } }

        ReleaseServer(Process p) => process = p;

        public static async Task<ReleaseServer> StartAsync(DebianContainer c, string root)
        {
            var pid = (await TestDebian.RunAsync("docker", ["inspect", "-f", "{{.State.Pid}}", c.Id])).Stdout.Trim();
            var psi = new ProcessStartInfo("nsenter") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var a in new[] { "-t", pid, "-n", "/usr/bin/python3", "-u", "-m", "http.server", Port.ToString(), "--bind", "127.0.0.1", "--directory", root })
                psi.ArgumentList.Add(a);
            var server = new ReleaseServer(Process.Start(psi)!);
            server.process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (server.log) server.log.AppendLine(e.Data); };
            server.process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (server.log) server.log.AppendLine(e.Data); };
            server.process.BeginOutputReadLine();
            server.process.BeginErrorReadLine();
            for (var i = 0; i < 120; i++)
            {
                if (server.process.HasExited) throw new InvalidOperationException($"the release server exited: {server.Log}");
                if ((await c.ShAsync($"curl -fsS -o /dev/null {server.Base}/install.sh")).ExitCode == 0) return server;
                await Task.Delay(250);
            }
            await server.DisposeAsync();
            throw new InvalidOperationException($"the release server did not answer in the container: {server.Log}");
        }

        public async ValueTask DisposeAsync()
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            process.Dispose();
        }
    }
}
