using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using VpsPanel.Features.Shared;
using VpsPanel.Tests.Deployments;
using VpsPanel.Tests.Harness;

namespace VpsPanel.Tests.Shared;

/// <summary>
/// Issue 12, finding 8: children of the panel must not outlive it. A kill -9 runs no cleanup, so the next start
/// kills what the dead instance left (Shared/ProcGroups); a timeout kills the child's whole process group.
/// </summary>
public sealed class ProcOrphanTests
{
    [Fact]
    public async Task After_kill_9_of_the_panel_during_a_slow_fetch_no_git_process_is_left_once_the_panel_has_restarted()
    {
        await using var server = StallingGitServer.Start();
        await using var env = await DeployEnv.StartAsync(new Dictionary<string, string> { ["Git__AllowedHosts"] = $"127.0.0.1:{server.Port}" });
        var url = $"http://127.0.0.1:{server.Port}/{env.Label}/app.git";
        var project = await env.CreateProjectAsync(DeployEnv.ProjectFields(env.Name(), url, $"{env.Name()}.test"));
        var deploy = await env.DeployAsync(project);
        await env.WaitForStatusAsync(deploy, TimeSpan.FromSeconds(60), "cloning");
        try { await WaitForAsync(() => GitProcessesFor(url).Count > 0 && server.Connections > 0, TimeSpan.FromSeconds(60), "git to connect to the stalling server"); }
        catch (TimeoutException e) { throw new TimeoutException($"{e.Message} ({server.Connections} connections). Log:\n{await env.LogAsync(deploy)}"); }

        env.Panel.KillHard();
        // A kill -9 cleans nothing up: the fetch is still there, waiting on the server that never answers.
        await Task.Delay(1000);
        Assert.NotEmpty(GitProcessesFor(url));

        await env.RestartHardAsync();
        await WaitForAsync(() => GitProcessesFor(url).Count == 0, TimeSpan.FromSeconds(60),
            $"the git processes of the dead panel to be killed ({string.Join("; ", GitProcessesFor(url))})");
        Assert.Equal("failed", await env.WaitForEndAsync(deploy));
        Assert.Contains("left running by the panel's previous run", env.Panel.Log);
    }

    [Fact]
    public async Task A_timeout_kills_the_whole_process_group_even_a_grandchild_that_left_the_tree_and_holds_the_output()
    {
        // The subshell starts a sleep and exits at once: the sleep is re-parented away from the child's process tree
        // but keeps its stdout. Before, the timeout killed the tree, then waited for that pipe to close: as long as
        // the sleep ran. Now the group goes, and the call returns.
        var marker = $"{Random.Shared.Next(100000, 999999)}.{Random.Shared.Next(10, 99)}";
        var watch = Stopwatch.StartNew();
        var r = await Proc.RunAsync("sh", ["-c", $"(sleep {marker} &); exec sleep {marker}"], TimeSpan.FromSeconds(2));
        watch.Stop();
        Assert.True(r.TimedOut);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(60), $"took {watch.Elapsed}");
        await WaitForAsync(() => Processes(cmd => cmd.Contains($"sleep {marker}")).Count == 0, TimeSpan.FromSeconds(10), "the sleeps to be gone");
    }

    [Fact]
    public async Task Start_up_kills_only_processes_marked_for_its_own_data_dir_by_another_instance()
    {
        var dataDir = Paths.NewTempDir("vpspanel-orphans-");
        var otherDir = Paths.NewTempDir("vpspanel-orphans-other-");
        var marker = $"{Random.Shared.Next(100000, 999999)}.{Random.Shared.Next(10, 99)}";
        var started = new List<Process>();
        Process Sleep(string? owner)
        {
            var psi = new ProcessStartInfo("setsid") { UseShellExecute = false };
            foreach (var a in new[] { "sleep", marker }) psi.ArgumentList.Add(a);
            if (owner is not null) psi.Environment[ProcGroups.MarkerVariable] = owner;
            var p = Process.Start(psi)!;
            started.Add(p);
            return p;
        }
        try
        {
            var orphan = Sleep("deadinstance:" + dataDir);
            var otherPanels = Sleep("deadinstance:" + otherDir);
            var unmarked = Sleep(null);
            // Until each setsid has exec'd into sleep: before that its command line is still "setsid sleep …".
            await WaitForAsync(() => Processes(cmd => cmd.StartsWith($"sleep {marker}")).Count == 3, TimeSpan.FromSeconds(10), "the sleeps to start");

            var killed = ProcGroups.KillOrphans(dataDir);

            Assert.Equal([$"{orphan.Id} sleep {marker}"], killed);
            Assert.True(orphan.WaitForExit(10_000));
            Assert.False(otherPanels.HasExited);
            Assert.False(unmarked.HasExited);
        }
        finally
        {
            foreach (var p in started) { try { p.Kill(); } catch (InvalidOperationException) { } p.Dispose(); }
            Paths.DeleteQuietly(dataDir);
            Paths.DeleteQuietly(otherDir);
        }
    }

    /// <summary>git and its helpers (git-remote-http), however started (the panel runs /usr/bin/git), working on the URL.</summary>
    static List<string> GitProcessesFor(string url) => Processes(cmd => Path.GetFileName(cmd.Split(' ')[0]).StartsWith("git") && cmd.Contains(url));

    /// <summary>"pid cmdline" of the processes whose command line matches.</summary>
    static List<string> Processes(Func<string, bool> match)
    {
        var found = new List<string>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid)) continue;
            string cmd;
            try { cmd = File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' ').Trim(); }
            catch (IOException) { continue; }
            catch (UnauthorizedAccessException) { continue; }
            // A zombie has an empty command line and is gone in all but name.
            if (cmd != "" && match(cmd)) found.Add($"{pid} {cmd}");
        }
        return found;
    }

    static async Task WaitForAsync(Func<bool> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"waited {timeout} for {what}");
            await Task.Delay(200);
        }
    }

    /// <summary>
    /// A Git smart-HTTP server that answers the first request's headers and then sends nothing, ever: git waits on it
    /// (no low-speed limit is set), as it would on a remote that hangs mid-fetch.
    /// </summary>
    sealed class StallingGitServer : IAsyncDisposable
    {
        readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        readonly List<TcpClient> _clients = [];
        readonly CancellationTokenSource _stop = new();
        int _connections;

        public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;
        public int Connections => Volatile.Read(ref _connections);

        public static StallingGitServer Start()
        {
            var s = new StallingGitServer();
            s._listener.Start();
            _ = s.AcceptAsync();
            return s;
        }

        async Task AcceptAsync()
        {
            try
            {
                while (!_stop.IsCancellationRequested)
                {
                    var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                    lock (_clients) _clients.Add(client);
                    Interlocked.Increment(ref _connections);
                    var head = Encoding.ASCII.GetBytes("HTTP/1.1 200 OK\r\nContent-Type: application/x-git-upload-pack-advertisement\r\n" +
                                                       "Cache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n\r\n");
                    try { await client.GetStream().WriteAsync(head, _stop.Token); }
                    catch (IOException) { }
                }
            }
            catch (OperationCanceledException) { }
            catch (ObjectDisposedException) { }
        }

        public ValueTask DisposeAsync()
        {
            _stop.Cancel();
            _listener.Stop();
            lock (_clients) foreach (var c in _clients) c.Dispose();
            _stop.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
