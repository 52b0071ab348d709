using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using VpsPanel.Tests.Harness;

namespace VpsPanel.Tests.Install;

/// <summary>
/// install.sh run for real as root inside a fresh Debian 12 container (no systemd, no network), with the published
/// binary: what it lays down, the unit systemd would run, upgrades, uninstall, purge and dry runs.
/// </summary>
public sealed class InstallScriptTests
{
    const string Unit = "/etc/systemd/system/vpspanel.service";
    const string Settings = "/etc/vpspanel/appsettings.json";
    const string Caddyfile = "/etc/caddy/Caddyfile";
    static readonly string[] Install = ["--binary", DebianContainer.Binary];

    [Fact]
    public async Task Shellcheck_finds_nothing_in_install_sh()
    {
        var r = await TestDebian.RunAsync("shellcheck", [Path.Combine(Paths.RepoRoot, "install.sh")]);
        Assert.True(r.ExitCode == 0, r.All);
        Assert.Equal("", r.All.Trim());
    }

    [Fact]
    public async Task Piped_into_bash_with_no_checkout_beside_it_takes_the_Caddyfile_template_from_the_binary()
    {
        await using var c = await DebianContainer.StartAsync("install-piped");
        // As `curl -fsSL …/install.sh | sudo bash -s -- --binary …`: the script arrives on stdin, from no directory.
        var r = await c.ShAsync($"cd /tmp && bash -s -- --binary {DebianContainer.Binary} < /src/install.sh");
        Assert.True(r.ExitCode == 0, r.Stdout + r.Stderr);
        var caddyfile = await c.ReadAsync(Caddyfile);
        Assert.Contains("vpspanel-caddyfile", caddyfile);
        Assert.Contains("import /var/lib/vpspanel-caddy/sites/*.caddy", caddyfile);
        Assert.DoesNotContain("__", caddyfile);

        var template = await PanelCli.RunAsync(["caddyfile"]);
        Assert.Equal(0, template.ExitCode);
        Assert.Equal(await File.ReadAllTextAsync(Path.Combine(Paths.RepoRoot, "caddy", "Caddyfile")), template.Stdout);
    }

    [Fact]
    public async Task Under_systemd_install_starts_the_hardened_service_prints_url_and_token_and_a_rerun_restarts_it()
    {
        await using var c = await DebianContainer.StartAsync("install-systemd", systemd: true);
        var r = await c.InstallAsync(Install);
        Assert.True(r.ExitCode == 0, r.All);
        Assert.Contains("Docker engine already running", r.Stdout);
        Assert.Contains("VpsPanel is running.", r.Stdout);
        Assert.Contains("Panel URL:", r.Stdout);
        var token = (await c.ReadAsync("/var/lib/vpspanel/setup-token")).Trim();
        Assert.Contains($"Setup token: {token}", r.Stdout);
        Assert.Equal("active", (await c.ShAsync("systemctl is-active vpspanel")).Stdout.Trim());
        Assert.Equal("active", (await c.ShAsync("systemctl is-active caddy")).Stdout.Trim());

        // The sandboxing is in force for the running process, not only written in the unit.
        var props = (await c.ShAsync("systemctl show vpspanel -p User -p NoNewPrivileges -p ProtectSystem -p PrivateTmp")).Stdout;
        foreach (var p in new[] { "User=vpspanel", "NoNewPrivileges=yes", "ProtectSystem=strict", "PrivateTmp=yes" }) Assert.Contains(p, props);
        var pid = (await c.ShAsync("systemctl show -p MainPID --value vpspanel")).Stdout.Trim();
        Assert.Equal("vpspanel", (await c.ShAsync($"stat -c %U /proc/{pid}")).Stdout.Trim());
        Assert.NotEqual(0, (await c.ShAsync($"nsenter -t {pid} -m touch /usr/local/bin/probe")).ExitCode);
        // Before the start, as root, build-cgroup ran (the host's cgroups are read-only in this container, so it can only
        // say it could not); the panel started anyway.
        Assert.Contains("build-cgroup vpspanel", (await c.ShAsync("systemctl status vpspanel --no-pager")).Stdout);

        // The panel answers directly and through Caddy, as printed.
        Assert.NotNull(await c.HttpGetAsync(2081, "/healthz", TimeSpan.FromSeconds(30)));
        Assert.NotNull(await c.HttpGetAsync(2080, "/healthz", TimeSpan.FromSeconds(30)));

        // A second run is an upgrade: the service is restarted (new PID), the data stays.
        var add = await c.ShAsync("echo 'a long enough password' | runuser -u vpspanel -- /usr/local/bin/vpspanel user add --email kept@example.com --admin --data-dir /var/lib/vpspanel");
        Assert.True(add.ExitCode == 0, add.All);
        var again = await c.InstallAsync(Install);
        Assert.True(again.ExitCode == 0, again.All);
        Assert.Equal("active", (await c.ShAsync("systemctl is-active vpspanel")).Stdout.Trim());
        Assert.NotEqual(pid, (await c.ShAsync("systemctl show -p MainPID --value vpspanel")).Stdout.Trim());
        Assert.NotNull(await c.HttpGetAsync(2081, "/healthz", TimeSpan.FromSeconds(30)));
        Assert.Contains("kept@example.com", (await c.ShAsync("runuser -u vpspanel -- /usr/local/bin/vpspanel user list --data-dir /var/lib/vpspanel")).Stdout);
        Assert.DoesNotContain("Setup token:", again.Stdout);
    }

    [Fact]
    public async Task Fresh_install_lays_down_binary_user_dirs_settings_caddyfile_and_a_unit_systemd_accepts_then_the_panel_starts_as_printed()
    {
        await using var c = await DebianContainer.StartAsync("install-fresh");
        var debianCaddyfile = await c.ReadAsync(Caddyfile);

        var r = await c.InstallAsync(Install);

        Assert.True(r.ExitCode == 0, r.All);
        Assert.Contains("systemd is not running here", r.Stdout);
        Assert.Contains("Docker is already installed", r.Stdout);
        Assert.Contains("the OpenSSH client is already installed; keeping it", r.Stdout);

        // The binary: the one given, root-owned, executable by all.
        Assert.Equal("755 root:root", await c.ModeAndOwnerAsync("/usr/local/bin/vpspanel"));
        Assert.Equal(0, (await c.ShAsync($"cmp {DebianContainer.Binary} /usr/local/bin/vpspanel")).ExitCode);

        // The user: a system account without a login shell, in the docker group.
        var passwd = (await c.ShAsync("getent passwd vpspanel")).Stdout.Trim().Split(':');
        Assert.True(int.Parse(passwd[2]) < 1000, $"vpspanel should be a system user: {string.Join(':', passwd)}");
        Assert.Equal("/var/lib/vpspanel", passwd[5]);
        Assert.Equal("/usr/sbin/nologin", passwd[6]);
        Assert.Contains("docker", (await c.ShAsync("id -nG vpspanel")).Stdout.Split(' ', StringSplitOptions.TrimEntries));

        // Directories and settings.
        Assert.Equal("700 vpspanel:vpspanel", await c.ModeAndOwnerAsync("/var/lib/vpspanel"));
        Assert.Equal("2750 vpspanel:caddy", await c.ModeAndOwnerAsync("/var/lib/vpspanel-caddy/sites"));
        Assert.Equal("750 root:vpspanel", await c.ModeAndOwnerAsync("/etc/vpspanel"));
        Assert.Equal("640 root:vpspanel", await c.ModeAndOwnerAsync(Settings));
        var settings = JsonNode.Parse(await c.ReadAsync(Settings))!;
        Assert.Equal("/var/lib/vpspanel", settings["Panel"]!["DataDir"]!.GetValue<string>());
        Assert.Equal("/var/lib/vpspanel-caddy/sites", settings["Caddy"]!["SitesDir"]!.GetValue<string>());
        Assert.Equal("http://127.0.0.1:2081", settings["Urls"]!.GetValue<string>());

        // The Caddyfile: ours, Debian's kept aside, valid, and its imports readable by Caddy's own user.
        var caddyfile = await c.ReadAsync(Caddyfile);
        Assert.Contains("vpspanel-caddyfile", caddyfile);
        Assert.Contains("admin 127.0.0.1:2019", caddyfile);
        Assert.Contains("grace_period", caddyfile);
        Assert.Contains("import /var/lib/vpspanel-caddy/sites/*.caddy", caddyfile);
        Assert.Contains(":2080 {\n\treverse_proxy 127.0.0.1:2081\n}", caddyfile);
        Assert.Equal(debianCaddyfile, await c.ReadAsync("/etc/caddy/Caddyfile.before-vpspanel"));
        var site = await c.ShAsync("runuser -u vpspanel -- bash -c 'umask 0027; printf \"app.example.test {\\n\\trespond ok\\n}\\n\" > /var/lib/vpspanel-caddy/sites/app.caddy' && runuser -u caddy -- caddy adapt --config /etc/caddy/Caddyfile");
        Assert.True(site.ExitCode == 0, site.All);
        Assert.Contains("app.example.test", site.Stdout);
        // Static sites' files (Caddy:StaticDir's default, beside the sites dir): made by the panel's user with its
        // umask, as StaticSiteDeploy does, and read by Caddy's own user.
        Assert.Equal("2750 vpspanel:caddy", await c.ModeAndOwnerAsync("/var/lib/vpspanel-caddy/static"));
        var files = await c.ShAsync("runuser -u vpspanel -- bash -c 'umask 0027; mkdir -p /var/lib/vpspanel-caddy/static/app/1 && echo static-ok > /var/lib/vpspanel-caddy/static/app/1/index.html' && runuser -u caddy -- cat /var/lib/vpspanel-caddy/static/app/1/index.html");
        Assert.True(files.ExitCode == 0, files.All);
        Assert.Contains("static-ok", files.Stdout);

        // The unit: hardened, and systemd's own checker accepts it.
        var unit = await c.ReadAsync(Unit);
        foreach (var line in new[] { "User=vpspanel", "SupplementaryGroups=docker", "ExecStart=/usr/local/bin/vpspanel", "NoNewPrivileges=true",
                     "ExecStartPre=-+/usr/bin/env DOTNET_BUNDLE_EXTRACT_BASE_DIR=/run/vpspanel-build-cgroup /usr/local/bin/vpspanel build-cgroup vpspanel",
                     "ReadWritePaths=-/sys/fs/cgroup/memory/docker/buildkit -/sys/fs/cgroup/docker/buildkit",
                     "ProtectSystem=strict", "ReadWritePaths=/var/lib/vpspanel /var/lib/vpspanel-caddy /var/cache/vpspanel", "PrivateTmp=true", "Restart=on-failure" })
            Assert.Contains(line + "\n", unit);
        var verify = await c.ShAsync($"systemd-analyze verify {Unit}");
        Assert.True(verify.ExitCode == 0, verify.All);
        Assert.DoesNotContain("vpspanel.service", verify.All);

        // Start the panel exactly as install.sh told us to; it reads /etc/vpspanel and serves on 127.0.0.1:2081.
        var startLine = r.Stdout.Split('\n').Select(l => l.Trim()).Single(l => l.StartsWith("runuser -u vpspanel", StringComparison.Ordinal));
        await c.StartDetachedAsync(startLine + " > /tmp/panel.log 2>&1");
        var health = await c.HttpGetAsync(2081, "/healthz", TimeSpan.FromSeconds(30));
        Assert.True(health is not null, await c.ReadAsync("/tmp/panel.log"));
        Assert.Contains("\"database\":{\"ok\":true", health);
        Assert.Equal("600 vpspanel:vpspanel", await c.ModeAndOwnerAsync("/var/lib/vpspanel/setup-token"));
        Assert.Equal("vpspanel:vpspanel", (await c.ModeAndOwnerAsync("/var/lib/vpspanel/vpspanel.db")).Split(' ')[1]);
    }

    [Fact]
    public async Task Second_run_upgrades_the_binary_keeps_data_settings_and_caddyfile_and_backs_up_first()
    {
        await using var c = await DebianContainer.StartAsync("install-upgrade");
        Assert.Equal(0, (await c.InstallAsync(Install)).ExitCode);
        await AddUserAsync(c, "kept@example.com");
        // The operator's own edits, which an upgrade must not undo.
        Assert.Equal(0, (await c.ShAsync($"sed -i 's/\"Keep\": \"7\"/\"Keep\": \"5\"/' {Settings} && echo '# my edit' >> {Caddyfile}")).ExitCode);
        var settingsBefore = await c.ReadAsync(Settings);
        var caddyfileBefore = await c.ReadAsync(Caddyfile);
        Assert.Contains("\"Keep\": \"5\"", settingsBefore);
        var inodeBefore = (await c.ShAsync("stat -c %i /usr/local/bin/vpspanel")).Stdout.Trim();

        var r = await c.InstallAsync(Install);

        Assert.True(r.ExitCode == 0, r.All);
        Assert.DoesNotContain("+ useradd", r.Stdout);
        Assert.Contains("keeping the existing /etc/vpspanel/appsettings.json", r.Stdout);
        Assert.Contains("keeping /etc/caddy/Caddyfile", r.Stdout);
        Assert.Equal(settingsBefore, await c.ReadAsync(Settings));
        Assert.Equal(caddyfileBefore, await c.ReadAsync(Caddyfile));
        // Replaced by a new file (rename), not rewritten in place under a running panel.
        Assert.NotEqual(inodeBefore, (await c.ShAsync("stat -c %i /usr/local/bin/vpspanel")).Stdout.Trim());
        Assert.Equal(0, (await c.ShAsync($"cmp {DebianContainer.Binary} /usr/local/bin/vpspanel")).ExitCode);
        // The old binary backed the data up before it was replaced.
        var backups = (await c.ShAsync("ls /var/lib/vpspanel/backups")).Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(backups);
        Assert.Matches(@"^vpspanel-backup-\d{8}T\d{9}Z\.tar\.gz$", backups[0]);

        // The upgraded panel starts on the kept data.
        await c.StartDetachedAsync("runuser -u vpspanel -- env HOME=/var/lib/vpspanel /usr/local/bin/vpspanel > /tmp/panel.log 2>&1");
        Assert.NotNull(await c.HttpGetAsync(2081, "/healthz", TimeSpan.FromSeconds(30)));
        Assert.Contains("kept@example.com", await UserEmailsAsync(c));
        Assert.False(await c.ExistsAsync("/var/lib/vpspanel/setup-token"));
    }

    [Fact]
    public async Task Uninstall_keeps_data_and_settings_and_purge_removes_everything_it_made()
    {
        await using var c = await DebianContainer.StartAsync("install-uninstall");
        var debianCaddyfile = await c.ReadAsync(Caddyfile);
        Assert.Equal(0, (await c.InstallAsync(Install)).ExitCode);
        await AddUserAsync(c, "stays@example.com");

        var un = await c.InstallAsync(["--uninstall"]);

        Assert.True(un.ExitCode == 0, un.All);
        Assert.False(await c.ExistsAsync("/usr/local/bin/vpspanel"));
        Assert.False(await c.ExistsAsync(Unit));
        Assert.True(await c.ExistsAsync("/var/lib/vpspanel/vpspanel.db"));
        Assert.True(await c.ExistsAsync(Settings));
        Assert.Equal(0, (await c.ShAsync("id vpspanel")).ExitCode);

        // Installing again brings it all back, data included.
        Assert.Equal(0, (await c.InstallAsync(Install)).ExitCode);
        Assert.Contains("stays@example.com", await UserEmailsAsync(c));

        var purge = await c.InstallAsync(["--purge"]);

        Assert.True(purge.ExitCode == 0, purge.All);
        foreach (var gone in new[] { "/usr/local/bin/vpspanel", Unit, "/var/lib/vpspanel", "/var/lib/vpspanel-caddy", "/etc/vpspanel", "/var/cache/vpspanel", "/etc/caddy/Caddyfile.before-vpspanel" })
            Assert.False(await c.ExistsAsync(gone), $"{gone} should be gone after --purge");
        Assert.NotEqual(0, (await c.ShAsync("id vpspanel")).ExitCode);
        Assert.Equal(debianCaddyfile, await c.ReadAsync(Caddyfile));
        // Docker, Caddy and git stay: other things on the server may use them.
        Assert.Equal(0, (await c.ShAsync("command -v dockerd && command -v caddy && command -v git")).ExitCode);
    }

    [Fact]
    public async Task Dry_run_prints_every_step_and_changes_nothing_for_install_and_purge()
    {
        await using var c = await DebianContainer.StartAsync("install-dryrun");
        var before = await SnapshotAsync(c);

        var r = await c.InstallAsync(["--dry-run", .. Install]);

        Assert.True(r.ExitCode == 0, r.All);
        foreach (var step in new[] { "+ useradd --system", "+ usermod -aG docker vpspanel", "+ install -d -m 0700 -o vpspanel -g vpspanel /var/lib/vpspanel",
                     "+ write /etc/vpspanel/appsettings.json", "+ write /etc/caddy/Caddyfile", "+ write /etc/systemd/system/vpspanel.service",
                     "ProtectSystem=strict", "+ mv -f /usr/local/bin/vpspanel.new /usr/local/bin/vpspanel", "dry run finished: nothing was changed" })
            Assert.Contains(step, r.Stdout);
        Assert.Equal(before, await SnapshotAsync(c));

        Assert.Equal(0, (await c.InstallAsync(Install)).ExitCode);
        var installed = await SnapshotAsync(c);
        var purge = await c.InstallAsync(["--dry-run", "--purge"]);
        Assert.True(purge.ExitCode == 0, purge.All);
        Assert.Contains("+ rm -rf /var/lib/vpspanel", purge.Stdout);
        Assert.Contains("+ userdel vpspanel", purge.Stdout);
        Assert.Equal(installed, await SnapshotAsync(c));
    }

    // ---- bad input: a clear message, a non-zero exit, and nothing changed --------------------------------

    [Theory]
    [InlineData("ID=centos\nVERSION_ID=\"9\"\nPRETTY_NAME=\"CentOS Stream 9\"\n", "unsupported OS: CentOS Stream 9")]
    [InlineData("ID=ubuntu\nVERSION_ID=\"20.04\"\nPRETTY_NAME=\"Ubuntu 20.04.6 LTS\"\n", "unsupported OS: Ubuntu 20.04.6 LTS")]
    [InlineData("ID=debian\nVERSION_ID=\"11\"\nPRETTY_NAME=\"Debian GNU/Linux 11 (bullseye)\"\n", "unsupported OS: Debian GNU/Linux 11 (bullseye)")]
    public async Task Unsupported_os_is_refused_and_nothing_changes(string osRelease, string message)
    {
        await using var c = await DebianContainer.StartAsync("install-os");
        Assert.Equal(0, (await c.ShAsync($"printf %s {DebianContainer.Quote(osRelease)} > /etc/os-release.test")).ExitCode);
        var before = await SnapshotAsync(c);

        var r = await c.InstallAsync(Install, new Dictionary<string, string> { ["VPSPANEL_OS_RELEASE"] = "/etc/os-release.test" });

        Assert.Equal(1, r.ExitCode);
        Assert.Contains(message, r.Stderr);
        Assert.Contains("VpsPanel supports Debian 12, Ubuntu 22.04 and Ubuntu 24.04", r.Stderr);
        Assert.Equal(before, await SnapshotAsync(c));
    }

    [Fact]
    public async Task Supported_ubuntu_passes_the_os_check()
    {
        await using var c = await DebianContainer.StartAsync("install-os-ok");
        Assert.Equal(0, (await c.ShAsync("printf 'ID=ubuntu\\nVERSION_ID=\"24.04\"\\nPRETTY_NAME=\"Ubuntu 24.04.1 LTS\"\\n' > /etc/os-release.test")).ExitCode);
        var r = await c.InstallAsync(["--dry-run", .. Install], new Dictionary<string, string> { ["VPSPANEL_OS_RELEASE"] = "/etc/os-release.test" });
        Assert.True(r.ExitCode == 0, r.All);
        Assert.Contains("OS: Ubuntu 24.04.1 LTS (supported)", r.Stdout);
    }

    [Theory]
    [InlineData("riscv64")]
    [InlineData("armv7l")]
    [InlineData("i686")]
    public async Task Unsupported_architecture_is_refused_and_nothing_changes(string arch)
    {
        await using var c = await DebianContainer.StartAsync("install-arch");
        var before = await SnapshotAsync(c);

        var r = await c.InstallAsync(Install, new Dictionary<string, string> { ["VPSPANEL_ARCH"] = arch });

        Assert.Equal(1, r.ExitCode);
        Assert.Contains($"unsupported architecture: {arch}. VpsPanel runs on x86_64 (amd64) and aarch64 (arm64).", r.Stderr);
        Assert.Equal(before, await SnapshotAsync(c));
    }

    [Fact]
    public async Task Not_root_is_refused_and_nothing_changes()
    {
        await using var c = await DebianContainer.StartAsync("install-notroot");
        var before = await SnapshotAsync(c);

        var r = await c.InstallAsync(Install, user: "nobody");

        Assert.Equal(1, r.ExitCode);
        Assert.Contains("install.sh must run as root: sudo /src/install.sh --binary /opt/new/vpspanel", r.Stderr);
        Assert.Equal(before, await SnapshotAsync(c));
    }

    [Theory]
    [InlineData("/opt/missing/vpspanel", "", "--binary /opt/missing/vpspanel does not exist")]
    [InlineData("/opt/bad/vpspanel", "mkdir -p /opt/bad/vpspanel", "--binary /opt/bad/vpspanel is not a regular file")]
    [InlineData("/opt/bad/vpspanel", "mkdir -p /opt/bad && echo 'not a program' > /opt/bad/vpspanel && chmod 0644 /opt/bad/vpspanel", "--binary /opt/bad/vpspanel is not executable")]
    [InlineData("/opt/bad/vpspanel", "mkdir -p /opt/bad && printf '#!/bin/sh\\necho hello\\n' > /opt/bad/vpspanel && chmod 0755 /opt/bad/vpspanel", "--binary /opt/bad/vpspanel is not a vpspanel binary")]
    [InlineData("/opt/bad/vpspanel", "mkdir -p /opt/bad && head -c 4096 /dev/urandom > /opt/bad/vpspanel && chmod 0755 /opt/bad/vpspanel", "--binary /opt/bad/vpspanel is not a vpspanel binary")]
    public async Task A_binary_that_is_not_an_executable_vpspanel_is_refused_and_nothing_changes(string path, string arrange, string message)
    {
        await using var c = await DebianContainer.StartAsync("install-binary");
        if (arrange != "") Assert.Equal(0, (await c.ShAsync(arrange)).ExitCode);
        var before = await SnapshotAsync(c);

        var r = await c.InstallAsync(["--binary", path]);

        Assert.Equal(1, r.ExitCode);
        Assert.Contains(message, r.Stderr);
        Assert.Equal(before, await SnapshotAsync(c));
    }

    [Fact]
    public async Task No_binary_source_downloads_the_latest_release_from_github_and_without_a_network_says_so_and_changes_nothing()
    {
        await using var c = await DebianContainer.StartAsync("install-nosource");
        var before = await SnapshotAsync(c);
        var r = await c.InstallAsync([]);
        Assert.Equal(1, r.ExitCode);
        // The canonical repository's releases (the test container has no network): the sums first, so nothing unverified lands.
        Assert.Contains("release latest from https://github.com/vpspanel/vpspanel/releases/latest/download", r.Stdout);
        Assert.Contains("could not download https://github.com/vpspanel/vpspanel/releases/latest/download/SHA256SUMS", r.Stderr);
        Assert.Contains("Nothing was changed.", r.Stderr);
        Assert.Equal(before, await SnapshotAsync(c));
    }

    // ---- helpers ----------------------------------------------------------------------------------------

    /// <summary>The file system, minus /tmp's own timestamp (the binary check unpacks into a temp dir it then removes).</summary>
    internal static async Task<string> SnapshotAsync(DebianContainer c)
    {
        var lines = (await c.SnapshotAsync()).Split('\n').Where(l => !l.StartsWith("/tmp ", StringComparison.Ordinal)).ToList();
        // A broken find would compare two empty lists and prove nothing.
        Assert.Contains(lines, l => l.StartsWith("/etc/passwd ", StringComparison.Ordinal));
        Assert.True(lines.Count > 5000, $"the snapshot lists only {lines.Count} paths");
        return string.Join('\n', lines);
    }

    static async Task AddUserAsync(DebianContainer c, string email)
    {
        var r = await c.ShAsync($"echo 'a long enough password' | runuser -u vpspanel -- env HOME=/var/lib/vpspanel /usr/local/bin/vpspanel user add --email {email} --admin");
        Assert.True(r.ExitCode == 0, r.All);
    }

    /// <summary>The users table, read from a copy of the data dir (database, WAL and all) with SQLite itself.</summary>
    static async Task<List<string>> UserEmailsAsync(DebianContainer c)
    {
        var dir = Paths.NewTempDir();
        try
        {
            await c.CopyOutAsync("/var/lib/vpspanel/.", dir);
            using var db = new SqliteConnection($"Data Source={Path.Combine(dir, "vpspanel.db")};Pooling=False");
            db.Open();
            using var cmd = db.CreateCommand();
            cmd.CommandText = "SELECT email FROM users ORDER BY email";
            using var rd = cmd.ExecuteReader();
            var list = new List<string>();
            while (rd.Read()) list.Add(rd.GetString(0));
            return list;
        }
        finally { Paths.DeleteQuietly(dir); }
    }
}
