using System.Diagnostics;
using VpsPanel.Tests.Harness;

namespace VpsPanel.Tests.Deployments;

/// <summary>A private repository over SSH: the panel's generated deploy key against a real sshd on a loopback port.</summary>
public sealed class PrivateRepoTests
{
    [Fact]
    public async Task Deploys_from_a_private_repo_over_ssh_with_the_generated_deploy_key()
    {
        await using var env = await DeployEnv.StartAsync();
        using var repo = TestRepo.WithBusyboxApp("private v1", env.Label);
        await using var sshd = await TestSshd.StartAsync();
        var domain = $"{env.Name()}.test";
        var fields = DeployEnv.ProjectFields(env.Name(), $"ssh://root@127.0.0.1:{sshd.Port}{repo.Bare}", domain);
        fields["gitAuth"] = "ssh";
        var project = await env.CreateProjectAsync(fields);

        // Without the key authorised, the clone fails with ssh's refusal and nothing runs.
        var refused = await env.DeployAsync(project);
        Assert.Equal("failed", await env.WaitForEndAsync(refused));
        Assert.Contains("Permission denied", await env.LogAsync(refused));

        var page = await env.Client.GetAsync($"/projects/{project}");
        var publicKey = page.Text("#deploy-key")!;
        Assert.StartsWith("ssh-ed25519 ", publicKey);
        await File.WriteAllTextAsync(sshd.AuthorizedKeys, publicKey + "\n");

        var d = await env.DeployAsync(project);
        Assert.Equal("live", await env.WaitForEndAsync(d));
        Assert.Equal("private v1", await env.ServedAsync(domain));
        // The host key was learned on first use into the panel's own known_hosts.
        Assert.Contains($"[127.0.0.1]:{sshd.Port}", await File.ReadAllTextAsync(Path.Combine(env.Panel.DataDir, "ssh", "known_hosts")));
        // The private key never leaves the data dir and is readable by the panel's user only.
        var keyFile = Directory.GetFiles(Path.Combine(env.Panel.DataDir, "ssh"), "project-*_ed25519").Single();
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(keyFile));
        Assert.DoesNotContain("PRIVATE KEY", page.Html);
    }
}

/// <summary>Debian's sshd on a loopback port with its own host key and authorized_keys file (root login by key only).</summary>
public sealed class TestSshd : IAsyncDisposable
{
    Process? _process;
    public string Dir { get; } = Paths.NewTempDir("vpspanel-sshd-");
    public int Port { get; } = Paths.FreePort();
    public string AuthorizedKeys => Path.Combine(Dir, "authorized_keys");

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
