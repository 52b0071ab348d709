using Dapper;
using Microsoft.Data.Sqlite;
using VpsPanel.Features.Deployments;
using VpsPanel.Features.Git;
using VpsPanel.Features.Projects;
using VpsPanel.Features.Settings;

namespace VpsPanel.Features.Builds;

/// <summary>Which Dockerfile a build of a commit uses, where it came from, and why (what the page, the API and the deploy log show).</summary>
public sealed record ResolvedDockerfile(string Source, string? Stack, List<string> Reasons, string Dockerfile);

/// <summary>
/// A project's Dockerfile, in this order: the one saved on the project page (an override), the repository's own at
/// the project's Dockerfile path, else one generated from what the repository is (<see cref="StackDetection"/>).
/// Also the per-project columns this needs (migration 0019): the install/build/start commands and the saved override.
/// </summary>
public static class ProjectDockerfile
{
    public const int MaxOverrideBytes = 64 * 1024;

    /// <summary>The source of a plain static site: served as files by Caddy, with no Dockerfile.</summary>
    public const string Static = "static";

    public static BuildCommands FindBuildCommands(SqliteConnection c, long projectId, SqliteTransaction? tx = null) =>
        c.QuerySingleOrDefault<BuildCommands>("SELECT install_command AS install, build_command AS build, start_command AS start FROM projects WHERE id = @projectId",
            new { projectId }, tx) ?? BuildCommands.None;

    public static void UpdateBuildCommands(SqliteConnection c, long projectId, BuildCommands b, SqliteTransaction tx) =>
        c.Execute("UPDATE projects SET install_command = @Install, build_command = @Build, start_command = @Start WHERE id = @projectId",
            new { projectId, b.Install, b.Build, b.Start }, tx);

    public static string? FindDockerfileOverride(SqliteConnection c, long projectId) =>
        c.ExecuteScalar<string?>("SELECT dockerfile_override FROM projects WHERE id = @projectId", new { projectId });

    public static void UpdateDockerfileOverride(SqliteConnection c, long projectId, string? dockerfile) =>
        c.Execute("UPDATE projects SET dockerfile_override = @dockerfile, updated_at = @now WHERE id = @projectId",
            new { projectId, dockerfile, now = Shared.Clock.Now() });

    /// <summary>Why a Dockerfile cannot be saved as the override, or null.</summary>
    public static string? OverrideProblem(string text)
    {
        if (text.Trim() == "") return "The Dockerfile is empty.";
        if (System.Text.Encoding.UTF8.GetByteCount(text) > MaxOverrideBytes) return $"The Dockerfile can be at most {MaxOverrideBytes / 1024} KiB.";
        if (text.Any(ch => char.IsControl(ch) && ch is not ('\n' or '\r' or '\t'))) return "The Dockerfile may not contain control characters.";
        return null;
    }

    /// <summary>
    /// The commands as the form gives them (a null field keeps <paramref name="current"/>; empty means "detected"), or
    /// null with messages by field (installCommand, buildCommand, startCommand) in <paramref name="errors"/>.
    /// </summary>
    public static BuildCommands? FromForm(ProjectForm f, BuildCommands current, Dictionary<string, string> errors)
    {
        var before = errors.Count;
        string? Pick(string? typed, string? saved, string field, string what)
        {
            if (typed is null) return saved;
            var v = typed.Trim();
            if (BuildCommands.Problem(v, what) is { } p) { errors[field] = p; return saved; }
            return v == "" ? null : v;
        }
        var wanted = new BuildCommands(Pick(f.InstallCommand, current.Install, "installCommand", "install"),
            Pick(f.BuildCommand, current.Build, "buildCommand", "build"), Pick(f.StartCommand, current.Start, "startCommand", "start"));
        return errors.Count == before ? wanted : null;
    }

    /// <summary>
    /// Whether the builder takes RUN --mount. The classic builder refuses it, so the cache mounts are left out until
    /// builds run on BuildKit: a `Build:Builder` setting other than "classic" (added with BuildKit) turns them on.
    /// </summary>
    public static bool CacheMounts(PanelSettings s) => s.Builder != "classic";

    /// <summary>The base directory detection looks in: the build context directory under the project's base directory ("" for the repository root).</summary>
    public static string BaseDirOf(ProjectConfig config) => InRepo(config, config.ContextDir == "." ? "" : config.ContextDir);

    /// <summary>A path the project gives relative to its base directory (monorepos, Projects/ProjectPaths), as a path from the repository root.</summary>
    static string InRepo(ProjectConfig config, string relative) =>
        string.Join('/', new[] { config.BaseDir?.Trim('/'), relative.Trim('/') }.Where(p => p is { Length: > 0 } && p != "."));

    /// <summary>
    /// The Dockerfile of one commit, read from the mirror without a checkout. <paramref name="repositoryHas"/> says
    /// whether the commit has a Dockerfile at the project's path (the deploy asks its checkout, where links are judged).
    /// Throws <see cref="DetectionException"/> when a Dockerfile would have to be generated and cannot be.
    /// With <paramref name="servedAsFiles"/>, a plain static site (<see cref="StackDetection.IsPlainStatic"/>) is source
    /// "static": Caddy serves its files, no Dockerfile (the deploy makes the same decision on its checkout first).
    /// </summary>
    public static ResolvedDockerfile Resolve(string mirror, string sha, ProjectConfig config, string? saved, BuildCommands commands,
        PanelSettings settings, Func<bool>? repositoryHas = null, bool servedAsFiles = false)
    {
        if (saved is not null)
            return new ResolvedDockerfile("override", null, ["the Dockerfile saved on the project page replaces the repository's and any generated one"], saved);
        if (repositoryHas is null)
        {
            if (GitRepo.ReadFile(mirror, sha, InRepo(config, config.DockerfilePath), MaxOverrideBytes) is { } bytes)
                return new ResolvedDockerfile("repository", null, [$"{config.DockerfilePath} in the repository"], System.Text.Encoding.UTF8.GetString(bytes));
        }
        else if (repositoryHas()) return new ResolvedDockerfile("repository", null, [$"{config.DockerfilePath} in the repository"], "");
        var tree = TreeOf(mirror, sha, BaseDirOf(config));
        if (servedAsFiles && StackDetection.IsPlainStatic(tree))
            return new ResolvedDockerfile(Static, "static site", [$"no Dockerfile at \"{config.DockerfilePath}\"; index.html and nothing to build (no package.json, go.mod, …)",
                "Caddy serves the files as they are: no Dockerfile, no image, no container"], "");
        var d = StackDetection.Detect(tree);
        return new ResolvedDockerfile("generated", d.Label, GeneratedDockerfile.Reasons(d, commands),
            // Port 0: the project left it to detection, so the framework's default is EXPOSEd and then read back from the image.
            GeneratedDockerfile.Render(d, settings.BaseImages, commands, config.ContainerPort == 0 ? null : config.ContainerPort, CacheMounts(settings)));
    }

    static readonly LinkedList<(string Key, StackDetection.Tree Tree)> Trees = new();

    /// <summary>File names the cache of trees holds at most, all trees together (one tree may be up to this size).</summary>
    const int TreeCacheFiles = 50_000;

    /// <summary>
    /// A commit's tree below a base directory, from a small cache: the project page and the API show the branch head's
    /// Dockerfile at every view, and listing a whole tree is the costly part; a commit's tree never changes. Bounded by
    /// the file names held (<see cref="TreeCacheFiles"/>), not by entries, newest first.
    /// </summary>
    public static StackDetection.Tree TreeOf(string mirror, string sha, string baseDir)
    {
        var key = $"{mirror}\n{sha}\n{baseDir}";
        lock (Trees)
            for (var n = Trees.First; n is not null; n = n.Next)
                if (n.Value.Key == key)
                {
                    Trees.Remove(n);
                    Trees.AddFirst(n);
                    return n.Value.Tree;
                }
        var tree = StackDetection.Tree.FromCommit(mirror, sha, baseDir);
        lock (Trees)
        {
            Trees.AddFirst((key, tree));
            var held = tree.Files.Count;
            for (var n = Trees.First!.Next; n is not null;)
            {
                var next = n.Next;
                if ((held += n.Value.Tree.Files.Count) > TreeCacheFiles) Trees.Remove(n);
                n = next;
            }
        }
        return tree;
    }

    /// <summary>
    /// The Dockerfile the next deploy of the project's branch would build (the branch head as last fetched), or why it
    /// cannot be told: not fetched yet, or nothing to generate one from (<see cref="DetectionException"/>'s message).
    /// </summary>
    public static (ResolvedDockerfile? Dockerfile, string? Problem, bool Fetched) ForBranchHead(SqliteConnection c, GitCli git, PanelSettings settings, ProjectRow project) =>
        ForBranchHead(FindDockerfileOverride(c, project.Id), git, settings, project);

    /// <summary>As above, with the project's saved Dockerfile (or null) already read (the project page keeps it with its data).</summary>
    public static (ResolvedDockerfile? Dockerfile, string? Problem, bool Fetched) ForBranchHead(string? saved, GitCli git, PanelSettings settings, ProjectRow project)
    {
        var mirror = git.MirrorPath(project.Id);
        if (!Directory.Exists(mirror))
            return saved is not null ? (Resolve(mirror, "", project.Config, saved, project.Commands, settings), null, false)
                : (null, "The repository has not been fetched yet: deploy once, then this shows the Dockerfile the build uses.", false);
        try
        {
            var head = GitRepo.ReadCommit(mirror, project.Branch, null);
            return (Resolve(mirror, head.Sha, project.Config, saved, project.Commands, settings, servedAsFiles: true), null, true);
        }
        catch (DetectionException e) { return (null, $"No Dockerfile at \"{project.DockerfilePath}\", and {e.Message}.", true); }
        catch (GitException e) { return (null, $"The repository cannot be read: {e.Message}", true); }
    }

    /// <summary>
    /// Before a build: when the project has a saved Dockerfile, or the commit has none at the project's path, writes
    /// the saved or a generated one into the build checkout (never the cached repository) as
    /// <see cref="GeneratedDockerfile.FileName"/> in the context directory and returns the config pointing at it. The
    /// log gets where it came from, why, and the file itself. Otherwise the config is returned as it was.
    /// </summary>
    public static ProjectConfig PrepareBuild(SqliteConnection c, PanelSettings settings, long projectId, string mirror, string sha, string checkout,
        ProjectConfig config, Action<string> log)
    {
        // A base directory that leads out of the checkout is named as such before anything looks for a Dockerfile in it.
        if (Docker.BuildContext.RealPath(checkout) is { } checkoutRoot) Projects.BaseDirectory.Resolve(checkoutRoot, config.BaseDir);
        ResolvedDockerfile r;
        try
        {
            r = Resolve(mirror, sha, config, FindDockerfileOverride(c, projectId), FindBuildCommands(c, projectId), settings,
                repositoryHas: () => File.Exists(Path.Combine(checkout, InRepo(config, config.DockerfilePath))) || new FileInfo(Path.Combine(checkout, InRepo(config, config.DockerfilePath))).LinkTarget is not null);
        }
        catch (DetectionException e)
        {
            throw new DeployFailure($"there is no Dockerfile at \"{config.DockerfilePath}\" in this commit, and {e.Message}");
        }
        if (r.Source == "repository") return config;
        log(r.Source == "override"
            ? "Dockerfile: the one saved on the project page (override)"
            : $"Dockerfile: none at \"{config.DockerfilePath}\" in this commit; generated one for {r.Stack}" + (BaseDirOf(config) is { Length: > 0 } b ? $" in {b}/" : ""));
        foreach (var reason in r.Reasons) log("  " + reason);
        foreach (var line in r.Dockerfile.TrimEnd('\n').Split('\n')) log("  | " + line);

        var root = Docker.BuildContext.RealPath(checkout) ?? throw new DeployFailure("the checkout of this commit is missing");
        var context = Docker.BuildContext.RealPath(BaseDirOf(config) is { Length: > 0 } dir ? Path.Combine(root, dir) : root);
        // The build's own checks (DeployRun.ResolveBuildPaths) name a missing or escaping context; nothing is written there.
        if (context is null || !Docker.BuildContext.IsInside(context, root) || !Directory.Exists(context)) return config;
        var file = Path.Combine(context, GeneratedDockerfile.FileName);
        // A committed file or link of that name is removed first, so the write can never follow a link out of the checkout.
        if (File.Exists(file) || new FileInfo(file).LinkTarget is not null) File.Delete(file);
        if (Directory.Exists(file)) throw new DeployFailure($"the repository has a directory named {GeneratedDockerfile.FileName}, the name the panel gives its Dockerfile");
        using (var stream = new FileStream(file, FileMode.CreateNew, FileAccess.Write)) stream.Write(System.Text.Encoding.UTF8.GetBytes(r.Dockerfile));
        var path = config.ContextDir == "." ? GeneratedDockerfile.FileName : $"{config.ContextDir.TrimEnd('/')}/{GeneratedDockerfile.FileName}";
        return config with { DockerfilePath = path };
    }
}
