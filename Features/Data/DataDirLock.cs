using System.Text;
using VpsPanel.Features.Settings;

namespace VpsPanel.Features.Data;

/// <summary>
/// &lt;DataDir&gt;/vpspanel.lock, held exclusively for as long as a panel serves that data dir. `vpspanel restore`
/// takes the same lock, so it can tell a running panel from a stopped one (a pid file alone lies after a crash:
/// the kernel drops the lock when the process dies, whatever is left in the file), and no panel can start
/// while a restore swaps files underneath it.
/// </summary>
public sealed class DataDirLock : IDisposable
{
    public const string FileName = "vpspanel.lock";

    readonly FileStream _file;

    DataDirLock(FileStream file) => _file = file;

    public static string PathIn(string dataDir) => Path.Combine(dataDir, FileName);

    /// <summary>The lock, or null when another process holds it.</summary>
    public static DataDirLock? TryAcquire(string dataDir)
    {
        Directory.CreateDirectory(dataDir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        FileStream f;
        try
        {
            // On Linux .NET turns FileShare.None into flock(LOCK_EX | LOCK_NB): advisory, released on process exit.
            f = new FileStream(PathIn(dataDir), new FileStreamOptions
            {
                Mode = FileMode.OpenOrCreate, Access = FileAccess.ReadWrite, Share = FileShare.None,
                UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
            });
        }
        // Only a held lock means "another process": a read-only or full disk is an IOException too, and used to be
        // reported as a second panel. .NET words a failed flock as a sharing violation ("used by another process").
        catch (IOException e) when (e.Message.Contains("another process", StringComparison.Ordinal)) { return null; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new StartupException($"cannot create the lock file {PathIn(dataDir)} in the data dir (Panel:DataDir): {DataDirCheck.Cause(e)}");
        }
        // The pid is for a person reading the file; the lock is what counts.
        f.SetLength(0);
        f.Write(Encoding.ASCII.GetBytes($"{Environment.ProcessId}\n"));
        f.Flush();
        return new DataDirLock(f);
    }

    /// <summary>The lock for a panel about to serve the data dir; a second panel on the same dir is refused.</summary>
    public static DataDirLock AcquireForPanel(string dataDir) =>
        TryAcquire(dataDir) ?? throw new StartupException(
            $"another vpspanel process is already using the data dir {dataDir} (it holds {PathIn(dataDir)}). " +
            "Stop it first, or give this one another Panel:DataDir.", ExitCodes.DataDirInUse);

    public void Dispose() => _file.Dispose();
}
