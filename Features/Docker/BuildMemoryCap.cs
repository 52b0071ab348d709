using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;

namespace VpsPanel.Features.Docker;

/// <summary>
/// Issue 14: the build memory cap (Deploy:BuildMemoryMb) under BuildKit. The classic builder ran each RUN step in a
/// container with the build's memory limit; BuildKit on the engine (dockerd 20.10) runs a step in a cgroup of its own
/// under the daemon's cgroup parent, `/&lt;Docker:CgroupParent&gt;/buildkit/&lt;id&gt;` with the cgroupfs driver, with no limit, and
/// ignores both `--memory` and `--cgroup-parent` (measured: a 300 MB allocation passed under either, the step still
/// in /docker/buildkit/&lt;id&gt;; moby v20.10.24 vendor/github.com/moby/buildkit/executor/runcexecutor/executor.go:249-256
/// takes only the daemon-wide parent). Two ways to cap, by who the panel runs as:
/// * As root: while a build of the panel runs, the panel watches that directory and gives every step cgroup that
///   appears the cap, as memory.limit_in_bytes + memory.memsw.limit_in_bytes (cgroup v1) or memory.max +
///   memory.swap.max = 0 (cgroup v2): the kernel then stops the step (exit code 137) instead of letting it take the
///   host. A step is seen within one poll (<see cref="Poll"/>), long before it can allocate much. Step cgroups that
///   existed before the build started are left alone; steps of another build that run at the same time get the cap too.
/// * As the service user (install.sh): the step cgroups belong to root, but their common parent
///   `&lt;parent&gt;/buildkit` can be handed over: `vpspanel build-cgroup USER`, run as root before each start
///   (<see cref="BuildCgroupCommand"/>, install.sh's ExecStartPre=+), makes it and gives its limit files to the user.
///   The panel writes the cap there at each build: the kernel counts every step below it, so the steps of the builds
///   running at the same time share the cap (the host is protected as well; one build alone gets all of it).
/// With Docker's systemd cgroup driver (the default on cgroup v2 hosts with systemd, such as Debian 12) the steps are
/// scopes of their own in system.slice and nothing can be handed over: as the service user builds are not capped.
/// <see cref="Support"/> says which applies and why; the deploy log says so at each build and the dashboard shows it.
/// </summary>
public static partial class BuildMemoryCap
{
    static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(20);

    [DllImport("libc", EntryPoint = "geteuid")]
    static extern uint GetEuid();

    [DllImport("libc", EntryPoint = "access", SetLastError = true)]
    static extern int Access(string path, int mode);

    /// <summary>What the host allows. Shared: the cap is written on the steps' common parent (the service user's way).</summary>
    public sealed record Host(bool CanCap, string Describe, string? StepsDir, int CgroupVersion, bool Shared = false);

    static readonly ConcurrentDictionary<string, Lazy<Host>> Probed = new(StringComparer.Ordinal);

    /// <summary>What this host allows for the engine's cgroup parent; probed once (cgroup layout and the panel's user do not change while it runs).</summary>
    public static Host Support(string cgroupParent) => Probed.GetOrAdd(cgroupParent, p => new(() => Probe(p))).Value;

    /// <summary>Where BuildKit's step cgroups appear, by cgroup version; Docker's cgroupfs driver puts them under &lt;parent&gt;/buildkit.</summary>
    internal static string CgroupRoot { get; set; } = "/sys/fs/cgroup";

    [GeneratedRegex(@"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*\z")]
    private static partial Regex CgroupParentPattern();

    /// <summary>A relative cgroup path with no . or .. segment (Docker:CgroupParent).</summary>
    public static bool IsCgroupParent(string v) => CgroupParentPattern().IsMatch(v) && !v.Split('/').Any(s => s is "." or "..");

    public static bool IsRoot => !OperatingSystem.IsLinux() || GetEuid() == 0;

    /// <summary>The cgroup version with a memory controller and the directory BuildKit's steps appear in, or null.</summary>
    public static (int Version, string StepsDir)? Layout(string cgroupParent)
    {
        if (Directory.Exists(Path.Combine(CgroupRoot, "memory"))) return (1, Path.Combine(CgroupRoot, "memory", cgroupParent, "buildkit"));
        var controllers = Path.Combine(CgroupRoot, "cgroup.controllers");
        if (File.Exists(controllers) && File.ReadAllText(controllers).Split(' ', '\n').Contains("memory")) return (2, Path.Combine(CgroupRoot, cgroupParent, "buildkit"));
        return null;
    }

    /// <summary>The file that holds a cgroup's memory limit.</summary>
    public static string LimitFile(int version) => version == 1 ? "memory.limit_in_bytes" : "memory.max";

    /// <summary>Why the service user cannot cap under Docker's systemd cgroup driver.</summary>
    public const string SystemdDriverWhy =
        "Docker uses its systemd cgroup driver here (the default on cgroup v2 hosts with systemd, such as Debian 12), so Docker 20.10's BuildKit runs every " +
        "build step in a scope of its own beside the system's services (system.slice/docker-<id>.scope) and ignores docker build's --memory and " +
        "--cgroup-parent: there is no cgroup that holds the build steps, to cap or to hand to the panel's user. With \"exec-opts\": [\"native.cgroupdriver=cgroupfs\"] in " +
        "/etc/docker/daemon.json (and docker restarted) the steps run under /sys/fs/cgroup/docker/buildkit, which install.sh hands to the panel";

    static Host Probe(string cgroupParent)
    {
        const string cannot = "the build memory cap (Deploy:BuildMemoryMb) cannot be applied to BuildKit builds on this host: ";
        if (Layout(cgroupParent) is not var (version, stepsDir)) return new(false, cannot + "it has no cgroup memory controller", null, 0);
        // cgroup v2 under systemd with no <parent> cgroup at all: Docker's systemd driver (the cgroupfs driver makes
        // <parent> with the first container); then not even root knows where the steps are.
        if (version == 2 && Directory.Exists("/run/systemd/system") && !Directory.Exists(Path.GetDirectoryName(stepsDir)))
            return new(false, cannot + SystemdDriverWhy + ". Builds are not memory-capped; Build:Builder=classic caps them", null, version);
        if (IsRoot)
            return new(true, $"BuildKit build steps are capped at Deploy:BuildMemoryMb, each step (cgroup v{version}: the panel runs as root and caps every step cgroup under {stepsDir})", stepsDir, version);
        var user = Environment.UserName;
        // W_OK (2) also fails on a read-only mount (systemd's ProtectControlGroups), which a file mode would not show.
        if (Access(Path.Combine(stepsDir, LimitFile(version)), 2) == 0)
            return new(true, $"BuildKit build steps are capped at Deploy:BuildMemoryMb, the builds running at the same time together (cgroup v{version}: {stepsDir}, " +
                $"the parent of every step, was handed to {user} by `vpspanel build-cgroup`)", stepsDir, version, Shared: true);
        return new(false, cannot + $"BuildKit runs build steps in root's cgroups under {stepsDir}, and the panel runs as {user}, who may not set their limit: " +
            $"`vpspanel build-cgroup {user}` run as root before the panel starts hands that cgroup over (install.sh's service does so; the engine must use the " +
            "cgroupfs cgroup driver). Builds are not memory-capped; running the panel as root, or Build:Builder=classic, caps them", null, version);
    }

    /// <summary>Starts capping for one build; dispose when the build ends. A cap of 0, or a host that cannot cap, watches nothing.</summary>
    public static Watcher Watch(long memoryBytes, Host host) => new(memoryBytes > 0 && host.CanCap ? host : null, memoryBytes);

    public sealed class Watcher : IAsyncDisposable
    {
        readonly CancellationTokenSource _stop = new();
        readonly Task _loop;
        readonly HashSet<string> _seen = new(StringComparer.Ordinal);
        readonly Dictionary<string, string> _capped = new(StringComparer.Ordinal);
        int _killed;

        /// <summary>Steps the kernel (or the watcher, for a step already past the cap when seen) stopped at the cap.</summary>
        public int StepsKilledByCap => Volatile.Read(ref _killed);

        /// <summary>Whether this build runs under the cap (false: the host cannot cap, or the cap could not be written: <see cref="Problem"/>).</summary>
        public bool Capped { get; }

        /// <summary>Why the cap could not be written on the steps' parent (shared mode), for the deploy log.</summary>
        public string? Problem { get; }

        readonly string? _parentEvents;
        readonly long _parentOomKillsBefore;

        internal Watcher(Host? host, long bytes)
        {
            _loop = Task.CompletedTask;
            if (host?.StepsDir is not { } dir) return;
            if (host.Shared)
            {
                // One limit on the parent, written at each build (the setting may have changed since the last one).
                try { WriteLimit(dir, host.CgroupVersion, bytes); }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    Problem = $"the build memory cap could not be written to {dir}: {e.Message}; this build is not memory-capped";
                    return;
                }
                Capped = true;
                // v2 counts the kills of every step below the parent in its memory.events; v1 keeps them in each step's
                // own cgroup, gone with the step, so there the step's exit code 137 under the cap tells (BuildError).
                if (host.CgroupVersion == 2)
                {
                    _parentEvents = Path.Combine(dir, "memory.events");
                    _parentOomKillsBefore = OomKills(_parentEvents);
                }
                return;
            }
            Capped = true;
            foreach (var d in List(dir)) _seen.Add(d);
            _loop = Task.Run(() => LoopAsync(host, dir, bytes));
        }

        /// <summary>The cap on one cgroup; no swap on top of it, so a runaway build is stopped instead of thrashing the host.</summary>
        static void WriteLimit(string cgroup, int version, long bytes)
        {
            var value = bytes.ToString(System.Globalization.CultureInfo.InvariantCulture);
            if (version == 2)
            {
                File.WriteAllText(Path.Combine(cgroup, "memory.max"), value);
                var swap = Path.Combine(cgroup, "memory.swap.max");
                if (File.Exists(swap)) File.WriteAllText(swap, "0");
                return;
            }
            // v1 wants memory ≤ memory+swap at every moment: lowering, the memory limit goes first; raising, the combined one.
            var memory = Path.Combine(cgroup, "memory.limit_in_bytes");
            var memsw = Path.Combine(cgroup, "memory.memsw.limit_in_bytes");
            if (!File.Exists(memsw)) { File.WriteAllText(memory, value); return; }
            try { File.WriteAllText(memory, value); }
            catch (IOException)
            {
                File.WriteAllText(memsw, value);
                File.WriteAllText(memory, value);
                return;
            }
            File.WriteAllText(memsw, value);
        }

        static IEnumerable<string> List(string dir)
        {
            try { return Directory.GetDirectories(dir); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return []; }
        }

        async Task LoopAsync(Host host, string dir, long bytes)
        {
            while (!_stop.IsCancellationRequested)
            {
                foreach (var step in List(dir))
                    if (_seen.Add(step)) Cap(host, step, bytes);
                foreach (var (step, events) in _capped.ToList())
                    if (OomKills(events) > 0) { _capped.Remove(step); Interlocked.Increment(ref _killed); }
                try { await Task.Delay(Poll, _stop.Token); } catch (OperationCanceledException) { }
            }
        }

        void Cap(Host host, string step, long bytes)
        {
            try
            {
                WriteLimit(step, host.CgroupVersion, bytes);
                _capped[step] = Path.Combine(step, host.CgroupVersion == 1 ? "memory.oom_control" : "memory.events");
            }
            catch (IOException e) when (Directory.Exists(step) && e.Message.Contains("busy", StringComparison.OrdinalIgnoreCase))
            {
                // Already past the cap when seen (v1 refuses a limit below the usage): stopped as the kernel would.
                foreach (var pid in Pids(step)) ProcKill(pid);
                Interlocked.Increment(ref _killed);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // The step ended (its cgroup is gone) before it was seen: nothing to cap.
            }
        }

        static long OomKills(string eventsFile)
        {
            try
            {
                foreach (var line in File.ReadLines(eventsFile))
                    if (line.StartsWith("oom_kill ", StringComparison.Ordinal)) return long.Parse(line[9..], System.Globalization.CultureInfo.InvariantCulture);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException) { }
            return 0;
        }

        static IEnumerable<int> Pids(string step)
        {
            try { return File.ReadAllLines(Path.Combine(step, "cgroup.procs")).Select(int.Parse).ToList(); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException) { return []; }
        }

        [DllImport("libc", EntryPoint = "kill")]
        static extern int Kill(int pid, int signal);

        static void ProcKill(int pid)
        {
            if (pid > 1) Kill(pid, 9);
        }

        public async ValueTask DisposeAsync()
        {
            _stop.Cancel();
            await _loop;
            _stop.Dispose();
            // One last look: a step the kernel stopped just before the build ended is still counted.
            foreach (var (_, events) in _capped)
                if (OomKills(events) > 0) Interlocked.Increment(ref _killed);
            if (_parentEvents is not null && OomKills(_parentEvents) > _parentOomKillsBefore) Interlocked.Increment(ref _killed);
        }
    }
}
