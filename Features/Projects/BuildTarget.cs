using System.Text.RegularExpressions;
using Dapper;
using Microsoft.Data.Sqlite;

namespace VpsPanel.Features.Projects;

/// <summary>
/// Issue 14: the Dockerfile stage a project builds (`docker build --target`), empty for the last stage. BuildKit then
/// builds only the stages that one needs. Saved on its own, like the limits, so the project queries stay as they are.
/// </summary>
public static partial class BuildTarget
{
    // Docker's own rule for stage names (FROM … AS name), lower case; 128 is ours.
    [GeneratedRegex(@"^[a-z][a-z0-9._-]{0,127}\z")]
    private static partial Regex StageName();

    /// <summary>The message for a bad stage name, or null ("" is no target).</summary>
    public static string? Problem(string target) =>
        target == "" || StageName().IsMatch(target) ? null
            : "A build target is the name of a stage of the Dockerfile (FROM … AS name): lower-case letters, digits, '.', '_' and '-', starting with a letter, at most 128 characters. Leave it empty to build the last stage.";

    public static string? FindBuildTarget(SqliteConnection c, long projectId, SqliteTransaction? tx = null) =>
        c.ExecuteScalar<string?>("SELECT build_target FROM projects WHERE id = @projectId", new { projectId }, tx);

    /// <summary>Saves the typed target; null (a form without the field) keeps the saved one, empty clears it.</summary>
    public static void UpdateBuildTarget(SqliteConnection c, long projectId, string? target, SqliteTransaction tx)
    {
        if (target is null) return;
        c.Execute("UPDATE projects SET build_target = @target WHERE id = @projectId", new { projectId, target = target == "" ? null : target }, tx);
    }

    /// <summary>Checks the form's target into <paramref name="errors"/> (field buildTarget).</summary>
    public static void Validate(ProjectForm form, Dictionary<string, string> errors)
    {
        if (form.BuildTarget is { } t && Problem(t) is { } p) errors["buildTarget"] = p;
    }
}
