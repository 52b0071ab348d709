using System.Text.RegularExpressions;
using Dapper;
using Microsoft.Data.Sqlite;
using VpsPanel.Features.Docker;
using VpsPanel.Features.Projects;
using VpsPanel.Features.Settings;

namespace VpsPanel.Features.Deployments;

/// <summary>
/// A plain static site (an index.html, no Dockerfile, nothing to build) needs no image and no container: Caddy serves
/// its files. Each deployment gets its own directory, &lt;Caddy:StaticDir&gt;/&lt;slug&gt;/&lt;deployment id&gt;, copied from the
/// checkout and never changed afterwards; the switch is one Caddy reload from the old `root` to the new one, which
/// Caddy swaps atomically, so a request gets the old files or the new ones, never a mix or a 404. The live directory
/// and those of the <see cref="KeepRetired"/> newest retired deployments stay for rollback (a rollback serves its
/// source's directory again, no copy); older ones go after each switch and at startup.
/// </summary>
public static partial class StaticSiteDeploy
{
    /// <summary>What the deployment page and the API say instead of a container name.</summary>
    public const string ServedBy = "static files, no container";

    /// <summary>Retired deployments whose files are kept for rollback, besides the live one.</summary>
    public const int KeepRetired = 3;

    // What may go into a Caddyfile unquoted and unexpanded: no space, quote, brace (placeholders), # or backslash.
    [GeneratedRegex(@"^(/[A-Za-z0-9._+,=@~-]+)+/?\z")]
    private static partial Regex SafeRootPattern();

    /// <summary>An absolute path a site file can name as it is: see <see cref="SafeRootPattern"/>; no . or .. segments.</summary>
    public static bool IsSafeRoot(string path) =>
        SafeRootPattern().IsMatch(path) && !path.Split('/').Any(s => s is "." or "..");

    /// <summary>
    /// The site's directory (real path) when the checkout is a plain static site, else null: there is no Dockerfile at
    /// the project's Dockerfile path (not even a link), the build context directory is inside the checkout and holds a
    /// regular file index.html, and it is what <see cref="Builds.StackDetection.IsPlainStatic"/> calls a plain static site
    /// (the rule the project page and the API use too). Anything unclear is "not static", so the Docker path and its
    /// messages decide it.
    /// </summary>
    public static string? FindPlainStaticSite(string checkout, ProjectConfig config)
    {
        if (BuildContext.RealPath(checkout) is not { } root) return null;
        // Both paths are relative to the project's base directory (monorepos); IsInside below keeps the site in the checkout.
        var baseDir = config.BaseDir is { Length: > 0 } b ? Path.Combine(root, b) : root;
        var dockerfile = Path.Combine(baseDir, config.DockerfilePath);
        if (File.Exists(dockerfile) || Directory.Exists(dockerfile) || new FileInfo(dockerfile).LinkTarget is not null) return null;
        if (BuildContext.RealPath(Path.Combine(baseDir, config.ContextDir)) is not { } site || !BuildContext.IsInside(site, root) || !Directory.Exists(site)) return null;
        var index = new FileInfo(Path.Combine(site, "index.html"));
        if (!index.Exists || index.LinkTarget is not null) return null;
        if (!Builds.StackDetection.IsPlainStatic(Builds.StackDetection.Tree.FromDirectory(site))) return null;
        return site;
    }

    /// <summary>The detection alone, for the lead's wiring with the generated-Dockerfile detection.</summary>
    public static bool IsPlainStatic(string checkout, ProjectConfig config) => FindPlainStaticSite(checkout, config) is not null;

    public static string ProjectDir(PanelSettings settings, string slug) =>
        slug.Length > 0 && !slug.Contains('/') && slug is not "." and not ".." ? Path.Combine(settings.StaticDir, slug) : throw new ArgumentException($"bad slug {slug}");

    public static string RootOf(PanelSettings settings, string slug, long deploymentId) => Path.Combine(ProjectDir(settings, slug), deploymentId.ToString());

    /// <summary>
    /// Copies the site into this deployment's own directory (or takes a rollback's source directory as it is), checks
    /// the health path against the files, and records the directory on the row. Returns the directory. A directory it
    /// made is removed again when anything fails.
    /// </summary>
    public static string Prepare(SqliteConnection c, PanelSettings settings, long id, string slug, string? site, string? reuse, ProjectConfig config,
        DeployLog.Writer log, Action<string> step, CancellationToken ct)
    {
        string root;
        if (reuse is not null)
        {
            root = reuse;
            if (!Directory.Exists(root)) throw new DeployFailure($"the static files of that deployment ({root}) no longer exist; redeploy its commit instead");
            log.Important($"rollback: serving the static files in {root} again, no copy");
        }
        else
        {
            step(DeployStates.Building);
            root = RootOf(settings, slug, id);
            if (!IsSafeRoot(root))
                throw new DeployFailure($"the static files directory {root} has characters a Caddyfile cannot name (a space, quote, brace, # or backslash); set Caddy:StaticDir to a plain path");
            log.Important($"no Dockerfile at \"{config.DockerfilePath}\" and \"{config.ContextDir}\" is a plain static site (index.html, nothing to build): Caddy serves its files; no image, no container");
            try { Copy(site!, root, log, ct); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Delete(root);
                throw new DeployFailure($"copying the static files to {root} failed (setting Caddy:StaticDir): {e.Message}");
            }
            catch { Delete(root); throw; }
        }
        try
        {
            step(DeployStates.HealthChecking);
            log.Important($"health check: GET {config.HealthPath} → {CheckHealthPath(root, config.HealthPath)}");
            c.Execute("UPDATE deployments SET static_root = @root WHERE id = @id", new { id, root });
        }
        catch { if (reuse is null) Delete(root); throw; }
        return root;
    }

    /// <summary>
    /// The health check of files: nothing runs, so what can fail is a missing page, seen on disk before the switch
    /// (a request through Caddy could only be made after the switch it is meant to guard). The path maps as Caddy's
    /// file_server maps it: a directory serves its index.html. Returns what Caddy will serve.
    /// </summary>
    public static string CheckHealthPath(string root, string healthPath)
    {
        var path = Uri.UnescapeDataString(healthPath.Split('?', 2)[0]);
        var full = Path.GetFullPath(Path.Combine(root, path.TrimStart('/')));
        if (!BuildContext.IsInside(full, root.TrimEnd('/')))
            throw new DeployFailure($"the health check path {healthPath} leads outside the site's files");
        var file = Directory.Exists(full) ? Path.Combine(full, "index.html") : full;
        if (!File.Exists(file))
            throw new DeployFailure($"Caddy would answer GET {healthPath} with 404: the site's files have no {Path.GetRelativePath(root, file)} (the project's health check path)");
        using (File.OpenRead(file)) { }
        return $"{Path.GetRelativePath(root, file)} ({new FileInfo(file).Length} bytes), healthy";
    }

    /// <summary>
    /// Copies the site: into &lt;id&gt;.partial, then renamed to &lt;id&gt;, so the directory a site file names is always
    /// complete. Never follows a link out of the site: a link to a file inside it is copied as that file, any other
    /// link is skipped (and said so in the log); no link is ever made here, so Caddy has none to follow. .git is
    /// skipped. Files and directories are made with the default modes less the panel's umask (install.sh: 0027, group
    /// caddy by the setgid folder they are in), as the site files are.
    /// </summary>
    static void Copy(string site, string root, DeployLog.Writer log, CancellationToken ct)
    {
        var partial = root + ".partial";
        Delete(partial);
        Delete(root);
        Directory.CreateDirectory(Path.GetDirectoryName(root)!, DirMode);
        Directory.CreateDirectory(partial, DirMode);
        long files = 0, bytes = 0;
        var started = DateTime.UtcNow;
        void Walk(string from, string to)
        {
            foreach (var e in new DirectoryInfo(from).EnumerateFileSystemInfos("*", new EnumerationOptions
                     { RecurseSubdirectories = false, AttributesToSkip = 0, IgnoreInaccessible = false }).OrderBy(e => e.Name, StringComparer.Ordinal))
            {
                ct.ThrowIfCancellationRequested();
                var rel = Path.GetRelativePath(site, e.FullName);
                var target = Path.Combine(to, e.Name);
                if (e.Name == ".git") continue;
                if (e.LinkTarget is not null)
                {
                    var real = BuildContext.RealPath(e.FullName);
                    if (real is null || !BuildContext.IsInside(real, site) || Path.GetRelativePath(site, real).Split('/').Contains(".git")) log.Line($"skipped {rel}: a symbolic link that leads outside the site's files or nowhere");
                    else if (!File.Exists(real)) log.Line($"skipped {rel}: a symbolic link to a directory (only links to files are followed)");
                    else { bytes += CopyFile(real, target); files++; }
                    continue;
                }
                if (e is DirectoryInfo) { Directory.CreateDirectory(target, DirMode); Walk(e.FullName, target); }
                else if (e is FileInfo && (e.Attributes & (FileAttributes.Device | FileAttributes.ReparsePoint)) == 0) { bytes += CopyFile(e.FullName, target); files++; }
            }
        }
        Walk(site, partial);
        Directory.Move(partial, root);
        log.Important($"copied {files} files ({bytes / 1024.0:0.#} KiB) to {root} in {(DateTime.UtcNow - started).TotalMilliseconds:0} ms");
    }

    const UnixFileMode DirMode = (UnixFileMode)0b111_101_101;
    const UnixFileMode FileCreateMode = (UnixFileMode)0b110_100_100;

    static long CopyFile(string from, string to)
    {
        using var source = new FileStream(from, FileMode.Open, FileAccess.Read, FileShare.Read);
        using var dest = new FileStream(to, new FileStreamOptions { Mode = System.IO.FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = FileCreateMode });
        source.CopyTo(dest);
        return dest.Length;
    }

    /// <summary>Removes one deployment's directory (its switch failed).</summary>
    public static void DeleteFiles(string root) => Delete(root);

    static void Delete(string dir)
    {
        if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
    }

    /// <summary>
    /// Removes the static files of a project's deployments that have ended and are neither live nor among the
    /// <see cref="KeepRetired"/> newest retired ones (those stay for rollback; a rollback's row keeps its source's
    /// directory), and what an interrupted copy left (*.partial). A queued or running deployment's directory is never
    /// touched: it may be copying into it right now. At <paramref name="startup"/>, when nothing runs, a directory
    /// with no row of this project goes too (ids handed out again after restoring an older backup). Only names this
    /// code makes (digits, digits.partial) are looked at.
    /// </summary>
    public static void Prune(SqliteConnection c, PanelSettings settings, long projectId, string slug, Action<string> log, bool startup = false)
    {
        var dir = ProjectDir(settings, slug);
        if (!Directory.Exists(dir)) return;
        var keep = c.Query<string>(
            """
            SELECT static_root FROM deployments WHERE project_id = @projectId AND static_root IS NOT NULL AND status = 'live'
            UNION
            SELECT static_root FROM (SELECT static_root FROM deployments WHERE project_id = @projectId AND static_root IS NOT NULL AND status = 'retired'
                                     ORDER BY id DESC LIMIT @keep)
            """, new { projectId, keep = KeepRetired }).ToHashSet();
        var status = c.Query<(long Id, string Status)>("SELECT id, status FROM deployments WHERE project_id = @projectId", new { projectId })
            .ToDictionary(r => r.Id.ToString(), r => r.Status);
        foreach (var sub in Directory.EnumerateDirectories(dir))
        {
            var name = Path.GetFileName(sub);
            var id = name.EndsWith(".partial", StringComparison.Ordinal) ? name[..^".partial".Length] : name;
            if (id.Length == 0 || !id.All(char.IsAsciiDigit) || keep.Contains(sub)) continue;
            var ended = status.TryGetValue(id, out var s) ? s is DeployStates.Failed or DeployStates.Cancelled or DeployStates.Superseded or DeployStates.Retired : startup;
            if (!ended) continue;
            try
            {
                Delete(sub);
                log($"removed the static files of deployment {id} ({sub}); kept: the live deployment's and the {KeepRetired} newest retired ones'");
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { log($"could not remove {sub}: {e.Message}"); }
        }
    }

    /// <summary>At startup, after Caddy was loaded from the database: prunes every project's files, and removes those of projects that are gone.</summary>
    public static void PruneAll(SqliteConnection c, PanelSettings settings, Action<string> log)
    {
        if (!Directory.Exists(settings.StaticDir)) return;
        var projects = c.Query<(long Id, string Slug)>("SELECT id, slug FROM projects").ToDictionary(p => p.Slug, p => p.Id);
        foreach (var sub in Directory.EnumerateDirectories(settings.StaticDir))
        {
            var slug = Path.GetFileName(sub);
            if (projects.TryGetValue(slug, out var projectId)) Prune(c, settings, projectId, slug, log, startup: true);
            else if (slug.Length > 0 && char.IsAsciiLetterLower(slug[0]) && ProjectStore.Slugify(slug) == slug)
            {
                try { Delete(sub); log($"removed the static files of {slug}, a project that no longer exists"); }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException) { log($"could not remove {sub}: {e.Message}"); }
            }
        }
    }

    /// <summary>Deleting a project takes its static files with it (after its site file is gone).</summary>
    public static void DeleteProjectFiles(PanelSettings settings, string slug) => Delete(ProjectDir(settings, slug));
}
