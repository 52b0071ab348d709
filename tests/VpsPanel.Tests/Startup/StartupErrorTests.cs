using System.Net;
using System.Net.Sockets;
using VpsPanel.Features.Settings;
using VpsPanel.Tests.Harness;

namespace VpsPanel.Tests.Startup;

/// <summary>
/// Every start-up and local-CLI error the operator can cause ends as one line on stderr that names the cause and the
/// setting, with its own exit code from ExitCodes (README "Exit codes"), and never a stack trace.
///
/// The tests run as root, and root ignores permission bits, so "not writable" and "owned by another user" run the
/// real binary as nobody (setpriv, with its own bundle-extraction dir); "read-only" is a real read-only tmpfs mount.
/// </summary>
public sealed class StartupErrorTests
{
    const int Nobody = 65534;

    static void AssertOneLineError(CliResult r, int exitCode, params string[] mentions)
    {
        var all = $"exit {r.ExitCode}\nstderr:\n{r.Stderr}\nstdout:\n{r.Stdout}";
        Assert.True(r.ExitCode == exitCode, $"expected exit {exitCode}; {all}");
        var lines = r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, $"expected one line on stderr; {all}");
        Assert.StartsWith("vpspanel: ", lines[0]);
        foreach (var m in mentions) Assert.True(lines[0].Contains(m), $"stderr should mention \"{m}\"; {all}");
        // The console log writes a logged exception on one line, so "   at " is searched anywhere, on both streams.
        Assert.DoesNotContain("   at ", r.Stderr + r.Stdout);
        Assert.DoesNotContain("Exception", lines[0]);
    }

    /// <summary>The panel (no command) with its data dir and a free loopback port; Docker and Caddy point nowhere.</summary>
    static Task<CliResult> ServeAsync(string dataDir, IDictionary<string, string>? settings = null, string[]? args = null, string? binary = null)
    {
        var env = new Dictionary<string, string>
        {
            ["Panel__DataDir"] = dataDir,
            ["Docker__Socket"] = "/nonexistent/docker.sock",
            ["Caddy__AdminAddress"] = $"http://127.0.0.1:{Paths.FreePort()}",
            ["Caddy__Caddyfile"] = "/nonexistent/Caddyfile",
            ["Caddy__AutomaticHttps"] = "false",
            ["Backup__Schedule"] = "",
        };
        if (settings is not null) foreach (var (k, v) in settings) env[k] = v;
        return PanelCli.RunAsync(args ?? ["--urls", $"http://127.0.0.1:{Paths.FreePort()}"], env: env, binary: binary);
    }

    /// <summary>The binary as user nobody: setpriv drops to its uid/gid, and .NET unpacks its native libraries into a dir nobody owns.</summary>
    static Task<CliResult> ServeAsNobodyAsync(string dataDir, string extractDir) =>
        PanelCli.RunAsync(["--reuid", $"{Nobody}", "--regid", $"{Nobody}", "--clear-groups", "--", Paths.Binary, "--urls", $"http://127.0.0.1:{Paths.FreePort()}"],
            env: new Dictionary<string, string>
            {
                ["Panel__DataDir"] = dataDir,
                ["Docker__Socket"] = "/nonexistent/docker.sock",
                ["Caddy__AdminAddress"] = $"http://127.0.0.1:{Paths.FreePort()}",
                ["Caddy__Caddyfile"] = "/nonexistent/Caddyfile",
                ["Backup__Schedule"] = "",
                ["DOTNET_BUNDLE_EXTRACT_BASE_DIR"] = extractDir,
                ["HOME"] = extractDir,
            },
            binary: "/usr/bin/setpriv");


    /// <summary>A read-only tmpfs mounted on a new directory; unmounted and removed by the returned action.</summary>
    static (string Dir, Action Unmount) ReadOnlyMount(string parent)
    {
        var dir = Path.Combine(parent, "ro");
        Directory.CreateDirectory(dir);
        Cmd.Run("mount", "-t", "tmpfs", "-o", "ro,size=1m,mode=0700", "vpspanel-test-ro", dir);
        return (dir, () => Cmd.Run("umount", dir));
    }

    static string NobodysDir(string parent, string name, UnixFileMode mode)
    {
        var dir = Path.Combine(parent, name);
        Directory.CreateDirectory(dir);
        Cmd.Run("chown", $"{Nobody}:{Nobody}", dir);
        File.SetUnixFileMode(dir, mode);
        return dir;
    }

    [Fact]
    public async Task An_unwritable_Caddy_SitesDir_stops_the_panel_with_a_non_zero_exit_naming_the_setting()
    {
        var dir = Paths.NewTempDir();
        var (ro, unmount) = ReadOnlyMount(dir);
        try
        {
            var r = await ServeAsync(Path.Combine(dir, "data"), new Dictionary<string, string> { ["Caddy__SitesDir"] = ro });
            AssertOneLineError(r, ExitCodes.SitesDir, "Caddy:SitesDir", ro, "read-only file system");
            Assert.NotEqual(0, r.ExitCode);
        }
        finally { unmount(); Paths.DeleteQuietly(dir); }
    }

    [Fact]
    public async Task A_read_only_data_dir_is_reported_as_read_only_not_as_another_process()
    {
        var dir = Paths.NewTempDir();
        var (ro, unmount) = ReadOnlyMount(dir);
        try
        {
            var r = await ServeAsync(ro);
            AssertOneLineError(r, ExitCodes.DataDir, "Panel:DataDir", ro, "read-only file system");
            Assert.DoesNotContain("another vpspanel process", r.Stderr);
        }
        finally { unmount(); Paths.DeleteQuietly(dir); }
    }

    [Fact]
    public async Task A_data_dir_the_panels_user_cannot_write_and_one_owned_by_another_user_are_named_as_such()
    {
        var dir = Paths.NewTempDir();
        // nobody must reach the directories below /tmp/…; NewTempDir is 0755 already, this makes it explicit.
        File.SetUnixFileMode(dir, (UnixFileMode)0b111_101_101);
        var extract = NobodysDir(dir, "bundle", (UnixFileMode)0b111_000_000);
        try
        {
            // Owned by nobody but without write permission for anyone.
            var unwritable = NobodysDir(dir, "unwritable", (UnixFileMode)0b101_000_000);
            var r = await ServeAsNobodyAsync(unwritable, extract);
            AssertOneLineError(r, ExitCodes.DataDir, "Panel:DataDir", unwritable, "not writable", "permission denied", "nobody");
            Assert.Empty(Directory.GetFileSystemEntries(unwritable));

            // root's directory (0755): nobody may read it, and may not write or chmod it.
            var foreign = Path.Combine(dir, "roots");
            Directory.CreateDirectory(foreign);
            var f = await ServeAsNobodyAsync(foreign, extract);
            AssertOneLineError(f, ExitCodes.DataDir, "Panel:DataDir", foreign, "belongs to another user", "chown");
            Assert.Empty(Directory.GetFileSystemEntries(foreign));
        }
        finally { Paths.DeleteQuietly(dir); }
    }

    [Fact]
    public async Task A_malformed_settings_file_next_to_the_binary_names_the_file_and_the_position()
    {
        // The binary reads appsettings.json next to itself (and /etc/vpspanel/appsettings.json, which a test must
        // not touch): a copy of the single-file binary in a temp dir runs alone, with the bad file beside it.
        var dir = Paths.NewTempDir();
        try
        {
            var binary = Path.Combine(dir, "vpspanel");
            File.Copy(Paths.Binary, binary);
            File.SetUnixFileMode(binary, (UnixFileMode)0b111_101_101);
            var settingsFile = Path.Combine(dir, "appsettings.json");
            await File.WriteAllTextAsync(settingsFile, "{ \"Panel\": { \"DataDir\": \"/x\", }\n  \"Caddy\" oops }\n");
            var r = await ServeAsync(Path.Combine(dir, "data"), binary: binary);
            AssertOneLineError(r, ExitCodes.BadSetting, settingsFile, "not valid JSON");
            Assert.False(Directory.Exists(Path.Combine(dir, "data")));

            // The CLI reads the same file and fails the same way.
            var cli = await PanelCli.RunAsync(["config"], binary: binary);
            AssertOneLineError(cli, ExitCodes.BadSetting, settingsFile, "not valid JSON");
        }
        finally { Paths.DeleteQuietly(dir); }
    }

    [Fact]
    public async Task A_port_in_use_and_a_malformed_urls_name_the_address_and_the_switch()
    {
        var dir = Paths.NewTempDir();
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;
        try
        {
            var r = await ServeAsync(Path.Combine(dir, "a"), args: ["--urls", $"http://127.0.0.1:{port}"]);
            AssertOneLineError(r, ExitCodes.Listen, $"http://127.0.0.1:{port}", "--urls", "already in use");

            var bad = await ServeAsync(Path.Combine(dir, "b"), args: ["--urls", "not-a-url"]);
            AssertOneLineError(bad, ExitCodes.BadSetting, "\"not-a-url\"", "--urls", "not valid");
            // The same through the environment, as a systemd unit sets it.
            var env = await ServeAsync(Path.Combine(dir, "c"), new Dictionary<string, string> { ["ASPNETCORE_URLS"] = "http://127.0.0.1:notaport" }, args: []);
            AssertOneLineError(env, ExitCodes.BadSetting, "ASPNETCORE_URLS", "notaport");
        }
        finally { Paths.DeleteQuietly(dir); }
    }

    [Fact]
    public async Task A_data_dir_that_is_a_file_stops_the_panel_and_the_cli()
    {
        var dir = Paths.NewTempDir();
        try
        {
            var file = Path.Combine(dir, "data");
            await File.WriteAllTextAsync(file, "not a directory");
            AssertOneLineError(await ServeAsync(file), ExitCodes.DataDir, "Panel:DataDir", file, "is a file");
            AssertOneLineError(await PanelCli.RunAsync(["user", "list", "--data-dir", file]), ExitCodes.DataDir, "Panel:DataDir", file, "is a file");
            Assert.Equal("not a directory", await File.ReadAllTextAsync(file));
        }
        finally { Paths.DeleteQuietly(dir); }
    }

    [Fact]
    public async Task Cli_commands_never_create_a_data_dir_a_mistyped_one_is_an_error()
    {
        var dir = Paths.NewTempDir();
        try
        {
            var typo = Path.Combine(dir, "vpspnael");
            foreach (var args in new[] { new[] { "user", "list" }, ["token", "list"], ["projects", "list"] })
            {
                var r = await PanelCli.RunAsync([.. args, "--data-dir", typo]);
                AssertOneLineError(r, ExitCodes.DataDir, typo, "does not exist", "--data-dir");
                Assert.False(Directory.Exists(typo), $"{string.Join(' ', args)} created the data dir");
            }
        }
        finally { Paths.DeleteQuietly(dir); }
    }

    [Fact]
    public async Task Backup_into_a_path_that_cannot_be_written_names_the_path()
    {
        var dir = Paths.NewTempDir();
        try
        {
            Assert.Equal(0, (await PanelCli.RunAsync(["user", "list", "--data-dir", dir])).ExitCode);
            var r = await PanelCli.RunAsync(["backup", "/proc/x", "--data-dir", dir]);
            AssertOneLineError(r, ExitCodes.PathArgument, "/proc", "PATH");
            Assert.False(File.Exists("/proc/x"));
        }
        finally { Paths.DeleteQuietly(dir); }
    }
}
