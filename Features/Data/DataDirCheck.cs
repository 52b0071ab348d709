using VpsPanel.Features.Settings;

namespace VpsPanel.Features.Data;

/// <summary>
/// Checks a directory the panel must write (the data dir, Caddy:SitesDir) before anything uses it, so each way it can
/// be wrong stops startup with one line naming the setting and the cause, instead of a stack trace from whichever
/// call first touched it (a read-only data dir used to be reported as "another vpspanel process is already using
/// the data dir", because opening the lock file failed with an IOException like a held lock does).
/// </summary>
public static class DataDirCheck
{
    /// <summary>The data dir for a serving panel: created when missing (0700), then it must be ours and writable.</summary>
    public static void ForPanel(PanelSettings settings) =>
        Writable(settings.DataDir, "Panel:DataDir", ExitCodes.DataDir, create: true);

    /// <summary>
    /// The data dir for a local CLI command: it must already exist. A command never creates one: `user list` with a
    /// mistyped --data-dir used to make an empty database there and report "no users" with exit 0.
    /// </summary>
    public static void ForCli(PanelSettings settings)
    {
        if (File.Exists(settings.DataDir))
            throw new StartupException($"the data dir {settings.DataDir} (Panel:DataDir / --data-dir) is a file, not a directory");
        if (!Directory.Exists(settings.DataDir))
            throw new StartupException($"the data dir {settings.DataDir} (Panel:DataDir / --data-dir) does not exist; " +
                "give the panel's data dir with --data-dir (commands never create one; the panel does on its first start)");
        Writable(settings.DataDir, "Panel:DataDir", ExitCodes.DataDir, create: false);
    }

    /// <summary>
    /// Throws a <see cref="StartupException"/> with <paramref name="exitCode"/> unless <paramref name="dir"/> is a
    /// directory this process owns (or may chmod, as root may) and can create files in.
    /// </summary>
    public static void Writable(string dir, string setting, int exitCode, bool create)
    {
        string Fail(string cause) => $"the directory {dir} ({setting}) cannot be used: {cause}";
        var user = Environment.UserName;
        if (File.Exists(dir))
            throw new StartupException(Fail("it is a file, not a directory"), exitCode);
        if (!Directory.Exists(dir))
        {
            if (!create) throw new StartupException(Fail("it does not exist"), exitCode);
            try { Directory.CreateDirectory(dir, Db.OwnerOnlyDir); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new StartupException(Fail($"it does not exist and cannot be created ({Cause(e)}, as user {user})"), exitCode);
            }
        }
        // Ours: owned by this process's user (root may use any). Asked with statx, not with a chmod to the directory's
        // own mode: under the hardened unit (RestrictSUIDSGID) a chmod that keeps the setgid bit of the sites dir is
        // refused, and outside it the kernel would silently clear that bit for a user not in the dir's group.
        if (OwnerOf(dir) is { } owner && geteuid() is var me && me != 0 && owner != me)
            throw new StartupException(Fail($"it belongs to another user, and the panel runs as {user}; " +
                $"give it to that user (chown -R {user} {dir}) or run the panel as its owner"), exitCode);
        var probe = Path.Combine(dir, $".vpspanel-write-test-{Environment.ProcessId}");
        try
        {
            File.WriteAllBytes(probe, []);
            File.Delete(probe);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new StartupException(Fail($"it is not writable ({Cause(e)}, as user {user})"), exitCode);
        }
    }

    /// <summary>The owner's uid, or null when statx cannot tell (then the write probe decides alone).</summary>
    static uint? OwnerOf(string path)
    {
        // struct statx has the same layout on every architecture (unlike struct stat): stx_uid is at byte 20.
        var buffer = new byte[256];
        try { return statx(AtFdCwd, path, 0, StatxUid, buffer) == 0 ? BitConverter.ToUInt32(buffer, 20) : null; }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { return null; }
    }

    const int AtFdCwd = -100;
    const uint StatxUid = 0x8;

    [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
    static extern int statx(int dirfd, string pathname, int flags, uint mask, byte[] buffer);

    [System.Runtime.InteropServices.DllImport("libc")]
    static extern uint geteuid();

    /// <summary>What the OS said, without .NET's "Access to the path … is denied" wrapping that repeats the path.</summary>
    public static string Cause(Exception e) => e switch
    {
        UnauthorizedAccessException => "permission denied",
        IOException io when io.Message.Contains("Read-only file system", StringComparison.OrdinalIgnoreCase) => "read-only file system",
        IOException io when io.Message.Contains("No space left", StringComparison.OrdinalIgnoreCase) => "no space left on the device",
        _ => e.Message,
    };
}
