using System.Formats.Tar;
using System.Runtime.InteropServices;

namespace VpsPanel.Features.Docker;

/// <summary>A build context or Dockerfile path that would leave the checkout; the message names the path, never what it points at.</summary>
public sealed class BuildContextException(string message) : Exception(message);

/// <summary>
/// The build context as `docker build` sends it: a tar of one directory of the checkout in which a symbolic link is
/// a symbolic link entry, never the file or directory it points at. A repository is a member's input: a committed
/// link (`ctx -> ../..`, `ctx -> /`) once made the context the panel's data dir or any host directory, so both the
/// context and the Dockerfile are resolved with every link followed (realpath) and must still be inside the checkout,
/// and the packer itself never follows a link nor opens a file outside the checkout or under the panel's data dir
/// (other than the checkout). See DeployRun.BuildAsync for the checks that name the project's settings.
/// </summary>
public static class BuildContext
{
    [DllImport("libc", EntryPoint = "realpath", SetLastError = true)]
    static extern IntPtr RealPathNative(string path, IntPtr resolved);

    [DllImport("libc", EntryPoint = "free")]
    static extern void Free(IntPtr p);

    /// <summary>The path with every symbolic link resolved (libc realpath); null when it or a link on the way does not exist.</summary>
    public static string? RealPath(string path)
    {
        var p = RealPathNative(path, IntPtr.Zero);
        if (p == IntPtr.Zero) return null;
        try { return Marshal.PtrToStringUTF8(p); }
        finally { Free(p); }
    }

    /// <summary>True when <paramref name="path"/> is <paramref name="dir"/> or inside it (both already real paths).</summary>
    public static bool IsInside(string path, string dir) =>
        path == dir || path.StartsWith(dir.TrimEnd('/') + "/", StringComparison.Ordinal);

    /// <summary>
    /// The real path of <paramref name="contextDir"/>, refused when it is outside <paramref name="checkout"/>, holds the
    /// data dir, or lies in the data dir outside the checkout. Called before the request starts, so a refusal is a plain
    /// error and not a broken upload.
    /// </summary>
    public static string Check(string contextDir, string checkout, string? dataDir)
    {
        var root = RealPath(contextDir) ?? throw new BuildContextException("the build context directory does not exist");
        var realCheckout = RealPath(checkout) ?? throw new BuildContextException("the checkout does not exist");
        if (!IsInside(root, realCheckout))
            throw new BuildContextException("the build context leads outside the repository's checkout");
        // Defence in depth: the panel's own files are never part of a context. Opening and closing vpspanel.db, -wal
        // or -shm here would also drop the panel's SQLite locks on them (see Db.OpenForCli).
        if (dataDir is not null && RealPath(dataDir) is { } realData && (IsInside(realData, root) || (IsInside(root, realData) && !IsInside(root, realCheckout))))
            throw new BuildContextException("the build context would include the panel's data directory");
        return root;
    }

    /// <summary>Writes the tar of the context (see <see cref="Check"/>, run again here) to <paramref name="output"/>.</summary>
    public static async Task WriteTarAsync(string contextDir, string checkout, string? dataDir, Stream output, CancellationToken ct)
    {
        var root = Check(contextDir, checkout, dataDir);
        await using var tar = new TarWriter(output, TarEntryFormat.Pax, leaveOpen: true);
        await AddDirectoryAsync(tar, root, "", ct);
    }

    static async Task AddDirectoryAsync(TarWriter tar, string dir, string prefix, CancellationToken ct)
    {
        var entries = new DirectoryInfo(dir).EnumerateFileSystemInfos("*", new EnumerationOptions
        {
            RecurseSubdirectories = false, AttributesToSkip = 0, IgnoreInaccessible = false, ReturnSpecialDirectories = false,
        }).OrderBy(e => e.Name, StringComparer.Ordinal);
        foreach (var e in entries)
        {
            ct.ThrowIfCancellationRequested();
            var name = prefix + e.Name;
            // TarWriter.WriteEntry reads the entry with lstat: a link becomes a SymbolicLink entry with its target
            // text, as docker build sends it; the target is never opened. A real directory is walked; nothing else is.
            if (e.LinkTarget is not null)
            {
                await tar.WriteEntryAsync(e.FullName, name, ct);
                continue;
            }
            if (e is DirectoryInfo)
            {
                await tar.WriteEntryAsync(e.FullName, name, ct);
                await AddDirectoryAsync(tar, e.FullName, name + "/", ct);
                continue;
            }
            if (e is FileInfo && (e.Attributes & (FileAttributes.Device | FileAttributes.ReparsePoint)) == 0)
                await tar.WriteEntryAsync(e.FullName, name, ct);
        }
    }
}
