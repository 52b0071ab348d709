using System.Diagnostics;
using Docker.DotNet;
using VpsPanel.Features.Docker;

namespace VpsPanel.Tests.Harness;

/// <summary>
/// A throw-away Docker Swarm of N extra engines ("nodes") on this one machine, for tests of the panel's cluster
/// features. The system dockerd, its swarm state and docker0 are never touched.
///
/// Each node is a dockerd in its own network namespace (so its docker0, docker_gwbridge, iptables chains, VXLAN port
/// and published ports are its own) and its own mount namespace with a private tmpfs on /var/run/docker: libnetwork
/// keeps overlay sandboxes under the fixed path /var/run/docker/netns, and two daemons sharing it break each other's
/// overlays. It is started with `unshare --mount` + `nsenter --net=/run/netns/X`, not `ip netns exec`, which remounts
/// /sys and hides the cgroups from dockerd. Each has its own data root, exec root (so its own managed containerd),
/// pidfile, containerd namespaces, cgroup parent and hostname; its socket lies in its own directory under /tmp, which
/// the test process sees (only /var/run/docker is private).
///
/// The nodes are joined by a bridge on the host (veth pairs, a /24 of 10.198/16 that no other instance holds); the
/// host's FORWARD policy is DROP, so one ACCEPT rule for that bridge is added and removed at dispose. The host reaches
/// every node address directly (host-mode published ports answer on them). No registry is reachable: build a test
/// image on node 1 and copy it to the others with <see cref="LoadImageAsync"/>.
/// </summary>
public sealed class TestSwarm : IAsyncDisposable
{
    public const string DockerCli = "/usr/bin/docker";

    /// <summary>One engine of the swarm.</summary>
    public sealed class Node
    {
        internal Node(int index, string name, string dir, string address) { Index = index; Name = name; Dir = dir; Address = address; }

        /// <summary>1-based; node 1 is the manager once the swarm is formed.</summary>
        public int Index { get; }
        /// <summary>Its network namespace, hostname (so the swarm's node hostname) and containerd namespace.</summary>
        public string Name { get; }
        public string Dir { get; }
        public string Socket => Path.Combine(Dir, "docker.sock");
        /// <summary>Its address on the test bridge: what it advertises to the swarm, and where its published ports answer.</summary>
        public string Address { get; }
        /// <summary>dockerd's --cgroup-parent, as the panel's Docker:CgroupParent names it (a path below the cgroup root).</summary>
        public string CgroupParent => Name;
        public string NetNs => "/run/netns/" + Name;
        internal string HostVeth => Name.Replace('n', 'h');
        internal Process? Process;
        internal string LogFile => Path.Combine(Dir, "dockerd.log");
        public string Log => File.Exists(LogFile) ? File.ReadAllText(LogFile) : "";
        public bool Running => Process is { HasExited: false };

        /// <summary>The library's client for this engine (the engine answers at its own API version).</summary>
        public DockerClient Client() => new DockerClientBuilder().WithEndpoint(new Uri("unix://" + Socket)).WithTimeout(TimeSpan.FromSeconds(100)).Build();

        /// <summary>The panel's way in to this engine.</summary>
        public DockerEngine Engine() => new(Socket);

        /// <summary>Runs Debian's docker CLI against this node; returns stdout, throws with stderr on a non-zero exit.</summary>
        public Task<string> CliAsync(params string[] args) => RunAsync(DockerCli, ["-H", "unix://" + Socket, .. args]);

        /// <summary>
        /// kill -9 of this node's dockerd (its managed containerd dies with it). With <paramref name="wholeServer"/> (the
        /// default) its containers and their shims are killed too, as when the server itself crashes: after a kill -9 of
        /// dockerd alone, running tasks keep answering on their published ports.
        /// </summary>
        public void KillHard(bool wholeServer = true)
        {
            if (Process is { HasExited: false } p)
            {
                Cmd.Run("kill", "-9", p.Id.ToString());
                p.WaitForExit(10_000);
            }
            if (wholeServer) KillLeftovers();
        }

        /// <summary>Every process still in this node: its cgroups (containers) and its network namespace (containerd, shims).</summary>
        internal void KillLeftovers()
        {
            for (var round = 0; round < 10; round++)
            {
                var pids = CgroupDirs().SelectMany(d => ReadPids(Path.Combine(d, "cgroup.procs")))
                    .Concat(NetNsPids()).Where(p => p != Environment.ProcessId).Distinct().ToList();
                if (pids.Count == 0) return;
                foreach (var pid in pids)
                    try { System.Diagnostics.Process.GetProcessById(pid).Kill(); } catch (ArgumentException) { } catch (InvalidOperationException) { }
                Thread.Sleep(200);
            }
        }

        /// <summary>This node's cgroup directories in every v1 controller, deepest first.</summary>
        internal IEnumerable<string> CgroupDirs() =>
            Directory.EnumerateDirectories("/sys/fs/cgroup").Select(c => Path.Combine(c, Name)).Where(Directory.Exists)
                .SelectMany(root => Directory.EnumerateDirectories(root, "*", SearchOption.AllDirectories).Append(root))
                .OrderByDescending(d => d.Length).ToList();

        IEnumerable<int> NetNsPids()
        {
            if (!File.Exists(NetNs)) return [];
            var r = RunAsync("ip", ["netns", "pids", Name]).GetAwaiter().GetResult();
            return r.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse);
        }

        static IEnumerable<int> ReadPids(string file)
        {
            try { return File.ReadAllLines(file).Where(l => l.Length > 0).Select(int.Parse).ToList(); }
            catch (IOException) { return []; }
        }
    }

    public string Id { get; } = Guid.NewGuid().ToString("N")[..6];
    /// <summary>The host's bridge joining the nodes.</summary>
    public string Bridge => "vsw" + Id;
    /// <summary>The host's own address on the bridge (the nodes' default gateway).</summary>
    public string HostAddress => Prefix + ".1";
    public IReadOnlyList<Node> Nodes => _nodes;
    public Node Manager => _nodes[0];

    readonly List<Node> _nodes = [];
    readonly List<string> _guestVeths = [];
    string Prefix = "";
    string? _subnetLock;
    bool _bridgeMade, _ruleAdded;

    /// <summary>
    /// Starts <paramref name="nodes"/> engines; with <paramref name="formSwarm"/> node 1 runs `swarm init` on its bridge
    /// address and the others join as workers, and this returns once every node is Ready.
    /// </summary>
    public static async Task<TestSwarm> StartAsync(int nodes = 2, bool formSwarm = true)
    {
        var s = new TestSwarm();
        try
        {
            s.ClaimSubnet();
            Cmd.Run("ip", "link", "add", "name", s.Bridge, "type", "bridge");
            s._bridgeMade = true;
            Cmd.Run("ip", "addr", "add", s.HostAddress + "/24", "dev", s.Bridge);
            Cmd.Run("ip", "link", "set", s.Bridge, "up");
            Cmd.Run("iptables", "-I", "FORWARD", "-i", s.Bridge, "-o", s.Bridge, "-j", "ACCEPT");
            s._ruleAdded = true;
            for (var i = 1; i <= nodes; i++)
            {
                var name = $"vsw{s.Id}n{i}";
                var node = new Node(i, name, Path.Combine("/tmp", name), $"{s.Prefix}.{i + 1}");
                s._nodes.Add(node);
                Directory.CreateDirectory(node.Dir);
                Cmd.Run("ip", "netns", "add", name);
                Cmd.Run("ip", "link", "add", node.HostVeth, "type", "veth", "peer", "name", name + "p");
                Cmd.Run("ip", "link", "set", node.HostVeth, "master", s.Bridge, "up");
                Cmd.Run("ip", "link", "set", name + "p", "netns", name);
                Cmd.Run("ip", "-n", name, "link", "set", name + "p", "name", "eth0");
                Cmd.Run("ip", "-n", name, "addr", "add", node.Address + "/24", "dev", "eth0");
                Cmd.Run("ip", "-n", name, "link", "set", "eth0", "up");
                Cmd.Run("ip", "-n", name, "link", "set", "lo", "up");
                Cmd.Run("ip", "-n", name, "route", "add", "default", "via", s.HostAddress);
            }
            await Task.WhenAll(s._nodes.Select(StartDaemonAsync));
            if (formSwarm) await s.FormSwarmAsync();
        }
        catch
        {
            await s.DisposeAsync();
            throw;
        }
        return s;
    }

    /// <summary>
    /// Puts another network namespace on the swarm's bridge, e.g. a container's that is to join the swarm as a server
    /// of its own: a veth pair, one end on the bridge, the other moved into the namespace of process
    /// <paramref name="pid"/> as eth1 with the next guest address (.101, .102, …, apart from the nodes'). Its existing
    /// routes stay (a container keeps its default route out through docker0); the bridge's /24, so the manager and
    /// <see cref="HostAddress"/>, is reached through eth1, under the one FORWARD rule the bridge already has. The pair
    /// goes when the namespace does, and at dispose. Returns the address.
    /// </summary>
    public string AttachNamespace(int pid)
    {
        var k = _guestVeths.Count + 1;
        var (hostEnd, address) = ($"vsw{Id}g{k}", $"{Prefix}.{100 + k}");
        Cmd.Run("ip", "link", "add", hostEnd, "type", "veth", "peer", "name", hostEnd + "p");
        _guestVeths.Add(hostEnd);
        Cmd.Run("ip", "link", "set", hostEnd, "master", Bridge, "up");
        Cmd.Run("ip", "link", "set", hostEnd + "p", "netns", pid.ToString());
        var ns = $"--net=/proc/{pid}/ns/net";
        Cmd.Run("nsenter", ns, "--", "ip", "link", "set", hostEnd + "p", "name", "eth1");
        Cmd.Run("nsenter", ns, "--", "ip", "addr", "add", address + "/24", "dev", "eth1");
        Cmd.Run("nsenter", ns, "--", "ip", "link", "set", "eth1", "up");
        return address;
    }

    /// <summary>A /24 of 10.198/16 that no other running instance (of any test process) holds: a lock file per subnet.</summary>
    void ClaimSubnet()
    {
        foreach (var n in Enumerable.Range(1, 253).OrderBy(_ => Random.Shared.Next()))
        {
            var lockFile = $"/tmp/vsw-subnet-10.198.{n}.lock";
            try
            {
                using (File.Open(lockFile, FileMode.CreateNew)) { }
            }
            catch (IOException) { continue; }
            _subnetLock = lockFile;
            Prefix = $"10.198.{n}";
            File.WriteAllText(lockFile, Bridge);
            return;
        }
        throw new InvalidOperationException("no free 10.198.N.0/24 for a test swarm (stale /tmp/vsw-subnet-*.lock files?)");
    }

    /// <summary>Starts dockerd for <paramref name="node"/> (again after <see cref="Node.KillHard"/>) and waits until it answers.</summary>
    public static async Task StartDaemonAsync(Node node)
    {
        // The pid Process.Start returns is dockerd's own: unshare, sh and nsenter each exec the next (none forks), so
        // a kill -9 of it is a kill -9 of the engine. The script is fixed; values go in as positional parameters
        // ($0 is a name, $1 the hostname, $2 the netns; the rest are dockerd's).
        var psi = new ProcessStartInfo("unshare") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[]
                 {
                     "--mount", "--uts", "--propagation", "private", "sh", "-c",
                     "hostname \"$1\" && mount -t tmpfs tmpfs /var/run/docker && ns=\"$2\" && shift 2 && exec nsenter --net=\"$ns\" -- dockerd \"$@\"",
                     "sh", node.Name, node.NetNs,
                     "--host", "unix://" + node.Socket, "--data-root", Path.Combine(node.Dir, "data"),
                     "--exec-root", Path.Combine(node.Dir, "exec"), "--pidfile", Path.Combine(node.Dir, "docker.pid"),
                     "--containerd-namespace", node.Name, "--containerd-plugins-namespace", node.Name + "p",
                     "--cgroup-parent", "/" + node.CgroupParent,
                     // The cluster's registry (TestRegistry) listens on the host's bridge address over plain HTTP.
                     "--insecure-registry", "10.198.0.0/16",
                 })
            psi.ArgumentList.Add(a);
        var p = Process.Start(psi)!;
        node.Process = p;
        var log = File.AppendText(node.LogFile);
        log.AutoFlush = true;
        void Write(string? line) { if (line is null) return; lock (log) log.WriteLine(line); }
        p.OutputDataReceived += (_, e) => Write(e.Data);
        p.ErrorDataReceived += (_, e) => Write(e.Data);
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        using var client = node.Client();
        for (var i = 0; i < 900; i++)
        {
            if (p.HasExited) throw new InvalidOperationException($"the dockerd of {node.Name} exited with {p.ExitCode}:\n{node.Log}");
            try
            {
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await client.System.PingAsync(cts.Token);
                return;
            }
            catch (Exception e) when (DockerEngine.IsDockerError(e) || e is OperationCanceledException) { }
            await Task.Delay(100);
        }
        throw new TimeoutException($"the dockerd of {node.Name} did not answer within 90 s:\n{node.Log}");
    }

    /// <summary>Node 1 inits the swarm on its bridge address, the others join as workers; waits until all are Ready.</summary>
    public async Task FormSwarmAsync()
    {
        await Manager.CliAsync("swarm", "init", "--advertise-addr", Manager.Address);
        var token = (await Manager.CliAsync("swarm", "join-token", "-q", "worker")).Trim();
        foreach (var n in _nodes.Skip(1))
            await n.CliAsync("swarm", "join", "--token", token, "--advertise-addr", n.Address, Manager.Address + ":2377");
        await WaitForReadyNodesAsync(_nodes.Count, TimeSpan.FromSeconds(90));
    }

    /// <summary>Waits until the manager lists <paramref name="count"/> nodes with status Ready.</summary>
    public async Task WaitForReadyNodesAsync(int count, TimeSpan timeout)
    {
        var last = "";
        await TestDocker.WaitUntilAsync(async () =>
        {
            last = await Manager.CliAsync("node", "ls", "--format", "{{.Hostname}} {{.Status}}");
            return last.Split('\n').Count(l => l.EndsWith(" Ready")) >= count;
        }, timeout, $"{count} Ready nodes (last: {last})");
    }

    /// <summary>
    /// Builds <paramref name="contextDir"/> as <paramref name="tag"/> on node 1 (classic builder: BuildKit would want
    /// a frontend image it cannot pull) and copies it to every other node with docker save | docker load.
    /// </summary>
    public async Task LoadImageAsync(string tag, string contextDir)
    {
        await RunAsync(DockerCli, ["-H", "unix://" + Manager.Socket, "build", "-q", "-t", tag, contextDir], ("DOCKER_BUILDKIT", "0"));
        foreach (var n in _nodes.Skip(1)) await CopyImageAsync(tag, Manager, n);
    }

    /// <summary>docker save on one node piped into docker load on another.</summary>
    public static async Task CopyImageAsync(string tag, Node from, Node to)
    {
        var save = Start(DockerCli, ["-H", "unix://" + from.Socket, "save", tag], stdin: false);
        var load = Start(DockerCli, ["-H", "unix://" + to.Socket, "load", "-q"], stdin: true);
        var saveErr = save.StandardError.ReadToEndAsync();
        var loadOut = load.StandardOutput.ReadToEndAsync();
        var loadErr = load.StandardError.ReadToEndAsync();
        await save.StandardOutput.BaseStream.CopyToAsync(load.StandardInput.BaseStream);
        load.StandardInput.Close();
        await Task.WhenAll(save.WaitForExitAsync(), load.WaitForExitAsync());
        if (save.ExitCode != 0 || load.ExitCode != 0)
            throw new InvalidOperationException($"copying {tag} from {from.Name} to {to.Name} failed: {await saveErr} {await loadErr} {await loadOut}");
    }

    /// <summary>A build context for a busybox app on <paramref name="port"/> that answers every GET with its own hostname
    /// (the task's container id), so a test tells replicas apart. busybox wget segfaults in FROM scratch here: use nc.</summary>
    public static void WriteHostnameApp(string dir, int port = 8080)
    {
        Directory.CreateDirectory(dir);
        File.Copy(TestDocker.BusyboxPath, Path.Combine(dir, "busybox"), overwrite: true);
        File.WriteAllText(Path.Combine(dir, "Dockerfile"),
            $"""
            FROM scratch
            COPY busybox /bin/busybox
            EXPOSE {port}
            CMD ["/bin/busybox", "sh", "-c", "/bin/busybox mkdir -p /www && /bin/busybox hostname > /www/index.html && exec /bin/busybox httpd -f -p {port} -h /www"]

            """);
    }

    static Process Start(string file, string[] args, bool stdin)
    {
        var psi = new ProcessStartInfo(file) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = stdin };
        foreach (var a in args) psi.ArgumentList.Add(a);
        return Process.Start(psi)!;
    }

    static async Task<string> RunAsync(string file, string[] args, params (string Key, string Value)[] env)
    {
        var psi = new ProcessStartInfo(file) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var (k, v) in env) psi.Environment[k] = v;
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        if (p.ExitCode != 0) throw new InvalidOperationException($"{file} {string.Join(' ', args)} exited {p.ExitCode}: {await stderr}");
        return await stdout;
    }

    public async ValueTask DisposeAsync()
    {
        // Engines first, politely (dockerd stops its containers on SIGTERM), then whatever outlived them.
        await Task.WhenAll(_nodes.Select(n => Task.Run(() =>
        {
            if (n.Process is { HasExited: false } p)
            {
                try { Cmd.Run("kill", "-TERM", p.Id.ToString()); } catch (InvalidOperationException) { }
                if (!p.WaitForExit(30_000)) n.KillHard(wholeServer: false);
            }
        })));
        foreach (var n in _nodes)
        {
            n.KillLeftovers();
            n.Process?.Dispose();
            foreach (var d in n.CgroupDirs())
                try { Directory.Delete(d); } catch (IOException) { }
            Quiet("ip", "netns", "del", n.Name);
            Quiet("ip", "link", "del", n.HostVeth);
            // dockerd's mounts lived in its private mount namespace, gone with its last process; any in ours are a bug
            // elsewhere, unmounted deepest first so the directory can go.
            foreach (var mount in File.ReadAllLines("/proc/self/mountinfo").Select(l => l.Split(' ')[4])
                         .Where(m => m.StartsWith(n.Dir + "/", StringComparison.Ordinal)).OrderByDescending(m => m.Length))
                Quiet("umount", "-l", mount);
            Paths.DeleteQuietly(n.Dir);
        }
        // Usually gone already, with the namespace they were put into.
        foreach (var veth in _guestVeths) if (Directory.Exists("/sys/class/net/" + veth)) Quiet("ip", "link", "del", veth);
        if (_ruleAdded) Quiet("iptables", "-D", "FORWARD", "-i", Bridge, "-o", Bridge, "-j", "ACCEPT");
        if (_bridgeMade) Quiet("ip", "link", "del", Bridge);
        if (_subnetLock is not null) File.Delete(_subnetLock);
    }

    static void Quiet(string file, params string[] args)
    {
        try { Cmd.Run(file, args); } catch (InvalidOperationException) { }
    }
}
