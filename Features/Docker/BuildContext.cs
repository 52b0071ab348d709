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
/// Every file is sent, dot-files included, minus what the ignore file excludes (<see cref="LoadIgnore"/>, issue 14).
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

    /// <summary>
    /// Writes the tar of the context (see <see cref="Check"/>, run again here) to <paramref name="output"/>, minus what
    /// the ignore file excludes (<see cref="LoadIgnore"/>; <paramref name="dockerfile"/> is relative to the context).
    /// </summary>
    public static async Task WriteTarAsync(string contextDir, string checkout, string? dataDir, Stream output, CancellationToken ct, string? dockerfile = null)
    {
        var root = Check(contextDir, checkout, dataDir);
        var ignore = LoadIgnore(root, dockerfile, RealPath(checkout)!);
        await using var tar = new TarWriter(output, TarEntryFormat.Pax, leaveOpen: true);
        await AddDirectoryAsync(tar, root, "", ignore, [], ct);
    }

    /// <summary>
    /// The ignore rules docker build applies to this context: `&lt;Dockerfile&gt;.dockerignore` beside the Dockerfile
    /// when there is one (BuildKit's Dockerfile-specific ignore file), else `.dockerignore` at the context's root. The
    /// Dockerfile and the ignore file are sent even when they match (the builder reads them from the context), as the
    /// CLI does. A file that leads out of the checkout, is over <see cref="DockerIgnore.MaxBytes"/>, or has a bad
    /// pattern fails the build with its name (and line); called by <see cref="Check"/>'s callers before the upload starts.
    /// </summary>
    public static DockerIgnore LoadIgnore(string contextDir, string? dockerfile, string checkout) => LoadIgnore(contextDir, dockerfile, checkout, out _, out _);

    /// <summary>
    /// Whether the plain `.dockerignore` at the context's root excludes the Dockerfile itself (no Dockerfile-specific
    /// ignore file applies): docker build then reads the Dockerfile but leaves it out of what COPY sees (BuildKitBuild).
    /// </summary>
    public static bool DockerignoreExcludesDockerfile(string contextDir, string dockerfile, string checkout)
    {
        LoadIgnore(contextDir, dockerfile, checkout, out var name, out var raw);
        return name == ".dockerignore" && raw!.IsExcluded(DockerIgnore.CleanPath(dockerfile));
    }

    /// <summary>
    /// Whether the docker CLI, walking <paramref name="contextDir"/> itself, sends what <see cref="WriteTarAsync"/> would
    /// (issue 20: measured on this engine, an uploaded tar costs BuildKit about 0.2 s more per build than its file sync
    /// of a directory, and serialises the Dockerfile's load behind the whole upload). Safety holds either way: the
    /// context is <see cref="Check"/>ed (inside the checkout, no data dir), and the CLI's walk sends a link as a link,
    /// never what it points at. What could differ is only which files the ignore rules keep, so the walk is used only
    /// where the rules are the same for both: no ignore file, or a plain `.dockerignore` that is a regular file (the CLI
    /// opens it following links) with no `!` exception (Docker 20.10 skipped an excluded directory where the panel
    /// follows today's Docker; see DockerIgnoreContextTests). A Dockerfile-specific ignore file keeps the tar.
    /// Throws as <see cref="LoadIgnore"/> does for a bad ignore file.
    /// </summary>
    public static bool CliWalkSendsTheSame(string contextDir, string dockerfile, string checkout)
    {
        LoadIgnore(contextDir, dockerfile, checkout, out var used, out var raw);
        if (used is null) return true;
        return used == ".dockerignore" && !raw!.HasExceptions
            && new FileInfo(Path.Combine(RealPath(contextDir)!, used)) is { LinkTarget: null, Attributes: var a } && (a & (FileAttributes.Device | FileAttributes.ReparsePoint)) == 0;
    }

    /// <summary><paramref name="used"/>: the ignore file read; <paramref name="raw"/>: its rules as written (nothing kept).</summary>
    static DockerIgnore LoadIgnore(string contextDir, string? dockerfile, string checkout, out string? used, out DockerIgnore? raw)
    {
        used = null;
        raw = null;
        var root = RealPath(contextDir) ?? throw new BuildContextException("the build context directory does not exist");
        var realCheckout = RealPath(checkout) ?? throw new BuildContextException("the checkout does not exist");
        string[] candidates = dockerfile is null ? [".dockerignore"] : [dockerfile + ".dockerignore", ".dockerignore"];
        foreach (var name in candidates)
        {
            // realpath of a missing file (or a link to nothing) is null: no ignore file of that name.
            if (RealPath(Path.Combine(root, name)) is not { } real) continue;
            if (!IsInside(real, realCheckout)) throw new BuildContextException($"the ignore file \"{name}\" leads outside the repository (through a symbolic link)");
            if (!File.Exists(real)) throw new BuildContextException($"the ignore file \"{name}\" is not a file");
            var size = new FileInfo(real).Length;
            if (size > DockerIgnore.MaxBytes)
                throw new BuildContextException($"the ignore file \"{name}\" is {size} bytes; the panel reads ignore files of at most {DockerIgnore.MaxBytes} bytes (1 MB)");
            DockerIgnore rules;
            try { rules = DockerIgnore.Parse(File.ReadAllText(real)); }
            catch (IgnorePatternException e) { throw new BuildContextException($"the ignore file \"{name}\", {e.Message}"); }
            used = name;
            raw = rules;
            string[] kept = dockerfile is null ? [name] : [name, DockerIgnore.CleanPath(dockerfile)];
            return rules.WithKept(kept.Where(rules.IsExcluded));
        }
        return DockerIgnore.Empty;
    }

    /// <summary>
    /// One directory of the walk. <paramref name="pending"/> are the excluded directories above it that are walked
    /// only because an exception might re-include something inside: each is written just before its first kept
    /// entry (as docker build sends them), and not at all when nothing inside is kept.
    /// </summary>
    static async Task AddDirectoryAsync(TarWriter tar, string dir, string prefix, DockerIgnore ignore, List<(string Full, string Name)> pending, CancellationToken ct)
    {
        var entries = new DirectoryInfo(dir).EnumerateFileSystemInfos("*", new EnumerationOptions
        {
            RecurseSubdirectories = false, AttributesToSkip = 0, IgnoreInaccessible = false, ReturnSpecialDirectories = false,
        }).OrderBy(e => e.Name, StringComparer.Ordinal);
        foreach (var e in entries)
        {
            ct.ThrowIfCancellationRequested();
            var name = prefix + e.Name;
            if (ignore.IsExcluded(name))
            {
                if (e is DirectoryInfo && e.LinkTarget is null && ignore.CouldReinclude(name))
                {
                    pending.Add((e.FullName, name));
                    await AddDirectoryAsync(tar, e.FullName, name + "/", ignore, pending, ct);
                    if (pending.Count > 0 && pending[^1].Name == name) pending.RemoveAt(pending.Count - 1);
                }
                continue;
            }
            var regular = (e.Attributes & (FileAttributes.Device | FileAttributes.ReparsePoint)) == 0;
            if (e.LinkTarget is null && e is not DirectoryInfo && !(e is FileInfo && regular)) continue;
            foreach (var (full, parent) in pending) await tar.WriteEntryAsync(full, parent, ct);
            pending.Clear();
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
                await AddDirectoryAsync(tar, e.FullName, name + "/", ignore, pending, ct);
                continue;
            }
            await tar.WriteEntryAsync(e.FullName, name, ct);
        }
    }
}
