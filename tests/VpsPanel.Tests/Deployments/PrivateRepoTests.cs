using System.Diagnostics;
using VpsPanel.Tests.Harness;

namespace VpsPanel.Tests.Deployments;

/// <summary>A private repository over SSH: the panel's generated deploy key against a real sshd on a loopback port.</summary>
public sealed class PrivateRepoTests
{
    /// <summary>A project whose repository is reached over SSH with the panel's generated deploy key.</summary>
    static async Task<long> CreateSshProjectAsync(DeployEnv env, TestSshd sshd, TestRepo repo, string domain)
    {
        var fields = DeployEnv.ProjectFields(env.Name(), $"ssh://root@127.0.0.1:{sshd.Port}{repo.Bare}", domain);
        fields["gitAuth"] = "ssh";
        return await env.CreateProjectAsync(fields);
    }

    [Fact]
    public async Task Deploys_from_a_private_repo_over_ssh_with_the_generated_deploy_key()
    {
        await using var sshd = await TestSshd.StartAsync();
        await using var env = await DeployEnv.StartAsync(sshd.AllowedBySettings);
        using var repo = TestRepo.WithBusyboxApp("private v1", env.Label);
        var domain = $"{env.Name()}.test";
        var project = await CreateSshProjectAsync(env, sshd, repo, domain);

        // Without the key authorised, the clone fails with ssh's refusal and nothing runs.
        var refused = await env.DeployAsync(project);
        Assert.Equal("failed", await env.WaitForEndAsync(refused));
        Assert.Contains("Permission denied", await env.LogAsync(refused));

        var page = await env.Client.GetAsync($"/projects/{project}");
        var publicKey = page.Text("#deploy-key")!;
        Assert.StartsWith("ssh-ed25519 ", publicKey);
        await File.WriteAllTextAsync(sshd.AuthorizedKeys, publicKey + "\n");

        var d = await env.DeployAsync(project);
        await env.WaitForLiveAsync(d);
        Assert.Equal("private v1", await env.ServedAsync(domain));
        // The host key was learned on first use into the panel's own known_hosts.
        Assert.Contains($"[127.0.0.1]:{sshd.Port}", await File.ReadAllTextAsync(Path.Combine(env.Panel.DataDir, "ssh", "known_hosts")));
        // The private key is stored encrypted: no file in the data dir (database and WAL included) holds it in the
        // clear, and the file a fetch used is gone once the fetch is over. The page never shows it.
        Assert.Empty(Variables.VariableTestKit.FilesContaining(env.Panel.DataDir, "PRIVATE KEY"));
        Assert.Equal(["known_hosts"], Directory.GetFiles(Path.Combine(env.Panel.DataDir, "ssh"), "*", SearchOption.AllDirectories).Select(Path.GetFileName));
        Assert.DoesNotContain("PRIVATE KEY", page.Html);
    }

    /// <summary>
    /// Panels from before deploy keys were encrypted kept the private key as a plain file under &lt;DataDir&gt;/ssh. At
    /// startup it moves into the database (encrypted) and the file goes; the key still opens the repository, and
    /// being in the database it travels with a backup to a new server.
    /// </summary>
    [Fact]
    public async Task A_plain_key_file_from_an_older_panel_moves_into_the_database_and_travels_with_a_backup()
    {
        // The panel is restarted on data dirs it did not create, so this test removes them itself.
        var dirs = new List<string>();
        try { await MoveAndRestoreAsync(dirs); }
        finally { foreach (var dir in dirs) Paths.DeleteQuietly(dir); }
    }

    static async Task MoveAndRestoreAsync(List<string> dirs)
    {
        await using var sshd = await TestSshd.StartAsync();
        await using var env = await DeployEnv.StartAsync(sshd.AllowedBySettings);
        dirs.Add(env.Panel.DataDir);
        using var repo = TestRepo.WithBusyboxApp("legacy key v1", env.Label);
        var domain = $"{env.Name()}.test";
        var project = await CreateSshProjectAsync(env, sshd, repo, domain);

        // Put the data dir in the shape an older panel left: a key pair on disk, only the public half in the row.
        await env.Panel.StopAsync();
        var sshDir = Path.Combine(env.Panel.DataDir, "ssh");
        Directory.CreateDirectory(sshDir);
        var keyFile = Path.Combine(sshDir, $"project-{project}_ed25519");
        var keygen = Process.Start("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "older-panel", "-f", keyFile])!;
        await keygen.WaitForExitAsync();
        Assert.Equal(0, keygen.ExitCode);
        var publicKey = (await File.ReadAllTextAsync(keyFile + ".pub")).Trim();
        using (var c = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(env.Panel.DataDir, "vpspanel.db")};Pooling=false"))
        {
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = "UPDATE projects SET ssh_public_key = $k, ssh_private_key_protected = NULL WHERE id = $id";
            cmd.Parameters.AddWithValue("$k", publicKey);
            cmd.Parameters.AddWithValue("$id", project);
            Assert.Equal(1, cmd.ExecuteNonQuery());
        }
        await File.WriteAllTextAsync(sshd.AuthorizedKeys, publicKey + "\n");

        env.Panel = await PanelProcess.StartAsync(env.Settings, dataDir: env.Panel.DataDir, port: env.Panel.Port);
        Assert.False(File.Exists(keyFile));
        Assert.False(File.Exists(keyFile + ".pub"));
        Assert.Empty(Variables.VariableTestKit.FilesContaining(env.Panel.DataDir, "PRIVATE KEY"));
        Assert.Equal(publicKey, (await env.Client.GetAsync($"/projects/{project}")).Text("#deploy-key"));
        var d = await env.DeployAsync(project);
        await env.WaitForLiveAsync(d);
        Assert.Equal("legacy key v1", await env.ServedAsync(domain));

        // Backed up and restored into a fresh data dir (a move to a new server): the restored panel still fetches
        // over SSH with the same key, which the Git host already trusts.
        var outDir = Paths.NewTempDir();
        var restored = Paths.NewTempDir("vpspanel-restored-");
        dirs.Add(restored);
        try
        {
            var b = await PanelCli.RunAsync(["backup", outDir, "--data-dir", env.Panel.DataDir]);
            Assert.True(b.ExitCode == 0, b.Stderr);
            var r = await PanelCli.RunAsync(["restore", b.Stdout.Trim(), "--data-dir", restored]);
            Assert.True(r.ExitCode == 0, r.Stderr);
            Assert.False(Directory.Exists(Path.Combine(restored, "ssh")) && Directory.EnumerateFiles(Path.Combine(restored, "ssh"), "project-*").Any());
            await env.Panel.StopAsync();
            env.Panel = await PanelProcess.StartAsync(env.Settings, dataDir: restored, port: env.Panel.Port);
            repo.CommitApp("legacy key v2 after restore", env.Label, "v2");
            var again = await env.DeployAsync(project);
            await env.WaitForLiveAsync(again);
            Assert.Equal("legacy key v2 after restore", await env.ServedAsync(domain));
        }
        finally
        {
            Paths.DeleteQuietly(outDir);
        }
    }
}

/// <summary>Debian's sshd on a loopback port with its own host key and authorized_keys file (root login by key only).</summary>
public sealed class TestSshd : IAsyncDisposable
{
    Process? _process;
    public string Dir { get; } = Paths.NewTempDir("vpspanel-sshd-");
    public int Port { get; } = Paths.FreePort();
    public string AuthorizedKeys => Path.Combine(Dir, "authorized_keys");

    /// <summary>The operator's allowance for this sshd: a loopback Git server is refused unless listed in Git:AllowedHosts.</summary>
    public Dictionary<string, string> AllowedBySettings => new() { ["Git__AllowedHosts"] = $"127.0.0.1:{Port}" };

    public static async Task<TestSshd> StartAsync()
    {
        var s = new TestSshd();
        Directory.CreateDirectory("/run/sshd");
        File.WriteAllText(s.AuthorizedKeys, "");
        Run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", Path.Combine(s.Dir, "host_key"));
        File.WriteAllText(Path.Combine(s.Dir, "sshd_config"),
            $"""
            Port {s.Port}
            ListenAddress 127.0.0.1
            HostKey {Path.Combine(s.Dir, "host_key")}
            AuthorizedKeysFile {s.AuthorizedKeys}
            PidFile {Path.Combine(s.Dir, "sshd.pid")}
            PermitRootLogin prohibit-password
            PasswordAuthentication no
            KbdInteractiveAuthentication no
            StrictModes no
            UsePAM no

            """);
        var psi = new ProcessStartInfo("/usr/sbin/sshd") { UseShellExecute = false, RedirectStandardError = true };
        foreach (var a in new[] { "-D", "-e", "-f", Path.Combine(s.Dir, "sshd_config") }) psi.ArgumentList.Add(a);
        s._process = Process.Start(psi)!;
        for (var i = 0; i < 50; i++)
        {
            try
            {
                using var tcp = new System.Net.Sockets.TcpClient();
                await tcp.ConnectAsync("127.0.0.1", s.Port);
                return s;
            }
            catch (System.Net.Sockets.SocketException) { await Task.Delay(100); }
            if (s._process.HasExited) throw new InvalidOperationException("sshd exited: " + await s._process.StandardError.ReadToEndAsync());
        }
        throw new TimeoutException("sshd did not listen");
    }

    static void Run(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"{file} failed");
    }

    public ValueTask DisposeAsync()
    {
        if (_process is { HasExited: false }) { _process.Kill(entireProcessTree: true); _process.WaitForExit(5000); }
        _process?.Dispose();
        Paths.DeleteQuietly(Dir);
        return ValueTask.CompletedTask;
    }
}
