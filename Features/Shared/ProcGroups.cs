using System.Runtime.InteropServices;
using System.Text;

namespace VpsPanel.Features.Shared;

/// <summary>
/// Issue 12, finding 8: a `git fetch` outlived a kill -9 of the panel until the remote closed the connection.
/// Nothing runs in a process that is killed with SIGKILL, so cleanup cannot happen at exit; it happens at the next
/// start instead, and a timeout kills a child's whole process group:
/// * Every child starts as the leader of its own session and process group (util-linux setsid, which execs the
///   program in place when its caller is not a group leader: the child's pid is the group's id). git's helpers
///   (git-remote-http, ssh, index-pack) inherit the group, so killing the group kills them all, even the ones
///   already re-parented to init, which a walk of the process tree would miss.
/// * Every child of a panel carries <see cref="MarkerVariable"/> = "&lt;instance&gt;:&lt;data dir&gt;" in its environment,
///   and so does everything it starts. At start-up the panel reads /proc/&lt;pid&gt;/environ of the processes it may
///   signal (its own user's) and kills those marked for its data dir by another instance: DataDirLock guarantees
///   that instance is dead. Reading the marker from the process itself, at the moment of the kill, is what makes
///   this safe: a pid or group id the kernel has since given to someone else carries no marker (a list of pids
///   written to a file would name whoever has that pid now).
/// </summary>
public static class ProcGroups
{
    public const string MarkerVariable = "VPSPANEL_PROC_OWNER";
    const string SetsidPath = "/usr/bin/setsid";
    const int SIGKILL = 9;

    /// <summary>This process's instance: a fresh value per start, so a restarted panel tells its own children from its predecessor's.</summary>
    static readonly string Instance = Guid.NewGuid().ToString("N");

    /// <summary>The marker children get; null until <see cref="MarkChildrenOf"/> (the CLI's children are not marked).</summary>
    public static string? Marker { get; private set; }

    /// <summary>Called once by the panel at start-up, before anything runs a child.</summary>
    public static void MarkChildrenOf(string dataDir) => Marker = Instance + ":" + Path.GetFullPath(dataDir);

    /// <summary>setsid runs the program in a new session and process group; without it (not Linux) children run as before.</summary>
    internal static string? Setsid => File.Exists(SetsidPath) ? SetsidPath : null;

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    static extern int Kill(int pid, int signal);

    /// <summary>SIGKILL to every process in the group (a group id is the pid of its leader). A gone group is not an error.</summary>
    public static void KillGroup(int pgid)
    {
        // Never group 0 or 1, nor -1 ("every process we may signal"), nor our own group.
        if (pgid > 1 && pgid != Environment.ProcessId && pgid != GroupOf(Environment.ProcessId)) Kill(-pgid, SIGKILL);
    }

    /// <summary>
    /// Kills every process left by an earlier instance of the panel on this data dir, with its process group.
    /// Returns what was killed ("pid command"), for the log.
    /// </summary>
    public static List<string> KillOrphans(string dataDir)
    {
        var killed = new List<string>();
        if (!Directory.Exists("/proc")) return killed;
        var suffix = ":" + Path.GetFullPath(dataDir);
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid) || pid == Environment.ProcessId) continue;
            var marker = MarkerOf(pid);
            if (marker is null || !marker.EndsWith(suffix, StringComparison.Ordinal) || marker == Marker) continue;
            var command = CommandOf(pid);
            if (GroupOf(pid) is { } pgid) KillGroup(pgid);
            Kill(pid, SIGKILL);
            killed.Add($"{pid} {command}");
        }
        return killed;
    }

    /// <summary>The value of the marker in a process's environment, or null (no marker, not ours to read, or gone).</summary>
    internal static string? MarkerOf(int pid)
    {
        byte[] environ;
        try { environ = File.ReadAllBytes($"/proc/{pid}/environ"); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
        var prefix = Encoding.UTF8.GetBytes(MarkerVariable + "=");
        foreach (var entry in environ.AsSpan().Split((byte)0))
        {
            var bytes = environ.AsSpan(entry);
            if (bytes.StartsWith(prefix)) return Encoding.UTF8.GetString(bytes[prefix.Length..]);
        }
        return null;
    }

    /// <summary>The process group of a process (field 5 of /proc/&lt;pid&gt;/stat, counted after the command in parentheses).</summary>
    internal static int? GroupOf(int pid)
    {
        string stat;
        try { stat = File.ReadAllText($"/proc/{pid}/stat"); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
        // The command may itself contain spaces and ')': the last ')' ends it.
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return fields.Length > 2 && int.TryParse(fields[2], out var pgid) ? pgid : null;
    }

    static string CommandOf(int pid)
    {
        try { return File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ').Trim(); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return "?"; }
    }
}
