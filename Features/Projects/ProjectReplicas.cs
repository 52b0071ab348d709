using System.Globalization;
using Dapper;
using Microsoft.Data.Sqlite;

namespace VpsPanel.Features.Projects;

/// <summary>
/// How many containers of the live version a project runs (Deployments/ReplicaSet), 1–10. Admins only, for the
/// reason the limits are (ProjectLimits): every replica is one more copy of the app with the project's full memory,
/// CPU and process limits, so a member who could raise it would multiply their share of the machine past what the
/// limits allow.
/// </summary>
public static class ProjectReplicas
{
    public static int FindReplicas(SqliteConnection c, long projectId, SqliteTransaction? tx = null) =>
        c.ExecuteScalar<int?>("SELECT replicas FROM projects WHERE id = @projectId", new { projectId }, tx) ?? 1;

    public static void UpdateReplicas(SqliteConnection c, long projectId, int replicas, SqliteTransaction tx) =>
        c.Execute("UPDATE projects SET replicas = @replicas WHERE id = @projectId", new { projectId, replicas }, tx);

    /// <summary>
    /// The count the form asks for (a null field, as in a member's form, keeps <paramref name="current"/>), or null
    /// with a message under "replicas" in <paramref name="errors"/>.
    /// </summary>
    public static int? FromForm(ProjectForm f, int current, bool isAdmin, Dictionary<string, string> errors)
    {
        if (f.Replicas is not { } raw || raw == current.ToString(CultureInfo.InvariantCulture)) return current;
        if (!int.TryParse(raw, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n < Deployments.ReplicaSet.Min || n > Deployments.ReplicaSet.Max)
        {
            var shown = raw.Length > 40 ? raw[..40] + "…" : raw;
            errors["replicas"] = $"Enter the number of replicas as a whole number from {Deployments.ReplicaSet.Min} to {Deployments.ReplicaSet.Max}; “{shown}” is not.";
            return null;
        }
        if (!isAdmin)
        {
            errors["replicas"] = "Only an admin can change a project's replicas: each one is another copy of the app with the project's full limits.";
            return null;
        }
        return n;
    }
}
