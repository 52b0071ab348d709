using System.CommandLine;
using System.Runtime.InteropServices;
using VpsPanel.Features.Cli;
using VpsPanel.Features.Settings;

namespace VpsPanel.Features.Docker;

/// <summary>
/// `vpspanel build-cgroup USER`, run as root before the panel starts (install.sh's unit: ExecStartPre=+): hands the
/// cgroup BuildKit runs every build step under (&lt;Docker:CgroupParent&gt;/buildkit, cgroupfs driver) to the panel's user,
/// so the panel can cap builds without root (<see cref="BuildMemoryCap"/>). Made again at every start: cgroups do not
/// survive a reboot. With Docker's systemd cgroup driver there is nothing to hand over: it says why and exits 0, so
/// the service still starts (the dashboard then says builds are not capped).
/// </summary>
public static class BuildCgroupCommand
{
    [DllImport("libc", EntryPoint = "getpwnam")]
    static extern IntPtr GetPwNam(string name);

    [DllImport("libc", EntryPoint = "chown", SetLastError = true)]
    static extern int Chown(string path, uint owner, uint group);

    public static Command Build()
    {
        var user = new Argument<string>("USER") { Description = "The user the panel runs as (install.sh: vpspanel)" };
        var cmd = new Command("build-cgroup", "As root, before the panel starts: give the panel's user the cgroup BuildKit runs build steps under, so the build memory cap works without root") { user };
        cmd.SetAction(async (p, ct) =>
        {
            Console.WriteLine(await PrepareAsync(CliApp.LoadSettings(p), p.GetValue(user)!, ct));
            return 0;
        });
        return cmd;
    }

    /// <summary>Does it; returns what was done, or why nothing was. Bad input (not root, no such user) is a CliException.</summary>
    public static async Task<string> PrepareAsync(PanelSettings settings, string user, CancellationToken ct)
    {
        if (!BuildMemoryCap.IsRoot) throw new CliException("build-cgroup: must run as root (install.sh's service runs it as ExecStartPre=+…)", 1);
        var pw = GetPwNam(user);
        if (pw == IntPtr.Zero) throw new CliException($"build-cgroup: there is no user \"{user}\"", 2);
        // struct passwd: char *pw_name, char *pw_passwd, uid_t pw_uid, gid_t pw_gid, …
        var uid = (uint)Marshal.ReadInt32(pw, 2 * IntPtr.Size);
        var gid = (uint)Marshal.ReadInt32(pw, 2 * IntPtr.Size + 4);
        string? driver = null;
        using (var engine = new DockerEngine(settings.DockerSocket))
        {
            try { driver = (await (await engine.ClientAsync(ct)).System.GetSystemInfoAsync(ct)).CgroupDriver; }
            catch (Exception e) when (DockerEngine.IsDockerError(e)) { }
        }
        if (driver == "systemd") return "build-cgroup: nothing to hand over: " + BuildMemoryCap.SystemdDriverWhy;
        if (BuildMemoryCap.Layout(settings.CgroupParent) is not var (version, steps))
            return "build-cgroup: nothing to hand over: this host has no cgroup memory controller";
        try { Hand(settings, version, steps, uid, gid, user); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CliException($"build-cgroup: could not give {steps} to {user}: {e.Message}", 1);
        }
        return $"build-cgroup: {steps} (cgroup v{version}) now belongs to {user}: the panel caps BuildKit builds there (Deploy:BuildMemoryMb)" +
            (driver is null ? "; the Docker engine did not answer, so its cgroup driver is assumed to be cgroupfs" : "");
    }

    static void Hand(PanelSettings settings, int version, string steps, uint uid, uint gid, string user)
    {
        if (version == 2)
        {
            // The memory controller must reach <parent>/buildkit: enabled in the subtree of the root and of each level above it.
            var dir = BuildMemoryCap.CgroupRoot;
            foreach (var part in settings.CgroupParent.Split('/').Append("buildkit"))
            {
                File.WriteAllText(Path.Combine(dir, "cgroup.subtree_control"), "+memory");
                dir = Path.Combine(dir, part);
                Directory.CreateDirectory(dir);
            }
        }
        else Directory.CreateDirectory(steps);
        string[] files = version == 1 ? ["memory.limit_in_bytes", "memory.memsw.limit_in_bytes"] : ["memory.max", "memory.swap.max"];
        foreach (var path in files.Select(f => Path.Combine(steps, f)).Where(File.Exists).Prepend(steps))
            if (Chown(path, uid, gid) != 0) throw new IOException($"{path}: {Marshal.GetLastPInvokeErrorMessage()}");
    }
}
