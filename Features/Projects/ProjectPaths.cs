using Dapper;
using Microsoft.Data.Sqlite;
using VpsPanel.Features.Docker;

namespace VpsPanel.Features.Projects;

/// <summary>
/// Where in a repository a project lives (issue 14, monorepos). <paramref name="BaseDir"/>: the directory the build
/// context and the Dockerfile path are relative to (null: the repository root). <paramref name="WatchPaths"/>: patterns,
/// one per line, in .dockerignore syntax (<see cref="DockerIgnore"/>: `*`, `?`, `[a-z]`, `**`, `!` exceptions, a
/// directory matches everything in it), relative to the repository root, not the base directory, so a shared library
/// beside the app can be watched too; a push that changes no file they match is skipped (null: every push deploys).
/// </summary>
public sealed record ProjectPaths(string? BaseDir, string? WatchPaths)
{
    public static readonly ProjectPaths None = new(null, null);

    public const int MaxWatchPaths = 100, MaxWatchPathLength = 255;

    public List<string> WatchPathList => WatchPaths?.Split('\n').ToList() ?? [];

    public static ProjectPaths FindProjectPaths(SqliteConnection c, long projectId, SqliteTransaction? tx = null) =>
        c.QuerySingleOrDefault<ProjectPaths>("SELECT base_dir, watch_paths FROM projects WHERE id = @projectId", new { projectId }, tx) ?? None;

    public static void UpdateProjectPaths(SqliteConnection c, long projectId, ProjectPaths p, SqliteTransaction tx) =>
        c.Execute("UPDATE projects SET base_dir = @BaseDir, watch_paths = @WatchPaths WHERE id = @projectId", new { projectId, p.BaseDir, p.WatchPaths }, tx);

    /// <summary>
    /// What the form asks for (a null field keeps <paramref name="current"/>; empty or "." is the repository root, no
    /// watch paths is every push), or null with messages under baseDir / watchPaths in <paramref name="errors"/>.
    /// </summary>
    public static ProjectPaths? FromForm(ProjectForm f, ProjectPaths current, Dictionary<string, string> errors)
    {
        var before = errors.Count;
        var baseDir = current.BaseDir;
        if (f.BaseDir is { } b)
        {
            var v = b.Trim().TrimEnd('/');
            if (v.StartsWith("./", StringComparison.Ordinal)) v = v[2..];
            if (v is "" or ".") baseDir = null;
            else if (ProjectStore.BaseDirProblem(v) is { } problem) errors["baseDir"] = problem;
            else baseDir = v;
        }
        var watch = current.WatchPaths;
        if (f.WatchPaths is { } w)
        {
            var lines = w.Split('\n').Select(l => l.Trim()).Where(l => l != "").ToList();
            if (lines.Count > MaxWatchPaths) errors["watchPaths"] = $"Enter at most {MaxWatchPaths} watch paths.";
            else if (lines.FirstOrDefault(l => l.Length > MaxWatchPathLength) is { } tooLong)
                errors["watchPaths"] = $"A watch path can be at most {MaxWatchPathLength} characters (line {lines.IndexOf(tooLong) + 1}).";
            else if (lines.Any(l => l.Any(char.IsControl))) errors["watchPaths"] = "Watch paths may not contain control characters.";
            else
            {
                try
                {
                    var rules = DockerIgnore.Parse(string.Join('\n', lines));
                    watch = rules.IsEmpty ? null : string.Join('\n', lines);
                }
                catch (IgnorePatternException e) { errors["watchPaths"] = $"Watch path on {e.Message}."; }
            }
        }
        return errors.Count == before ? new ProjectPaths(baseDir, watch) : null;
    }
}

public static class BaseDirectory
{
    /// <summary>
    /// The real path of the base directory in a checkout (<paramref name="root"/>, already real). Saved settings are
    /// checked as text, but a committed symbolic link (`apps -> /`, `web -> ../..`) could still lead out, so the path
    /// is resolved with every link followed and must stay inside the checkout, as DeployRun.ResolveBuildPaths does for
    /// the context and the Dockerfile. The message names the setting, never what a link points at.
    /// </summary>
    public static string Resolve(string root, string? baseDir)
    {
        if (baseDir is null or "" or ".") return root;
        if (ProjectStore.BaseDirProblem(baseDir) is { } problem) throw new Deployments.DeployFailure($"the base directory \"{baseDir}\" is not valid: {problem}");
        var real = BuildContext.RealPath(Path.Combine(root, baseDir));
        if (real is not null && !BuildContext.IsInside(real, root))
            throw new Deployments.DeployFailure($"the base directory \"{baseDir}\" leads outside the repository (through a symbolic link); it must be a directory of the repository");
        if (real is null || !Directory.Exists(real))
            throw new Deployments.DeployFailure($"the base directory \"{baseDir}\" does not exist in this commit");
        return real;
    }
}

public static partial class ProjectStore
{
    /// <summary>The base directory's text rules: the same as the build context's, so "../x" and "/srv" never get saved.</summary>
    public static string? BaseDirProblem(string v) => RepoPathProblem(v, "base directory", allowDot: true);
}
