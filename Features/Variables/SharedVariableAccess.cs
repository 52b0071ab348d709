using Dapper;
using Microsoft.Data.Sqlite;
using VpsPanel.Features.Shared;

namespace VpsPanel.Features.Variables;

/// <summary>One shared variable's rule: who added it, and which projects besides admins' may use it.</summary>
public sealed record SharedAccessRow
{
    public string Key { get; init; } = "";
    public string Mode { get; init; } = SharedVariableAccess.AdminsOnly;
    public string? OwnerEmail { get; init; }
    /// <summary>For 'chosen': the members and projects it is open to, as names for the page.</summary>
    public List<string> GrantedUsers { get; set; } = [];
    public List<string> GrantedProjects { get; set; } = [];

    public string Describe() => Mode switch
    {
        SharedVariableAccess.AllProjects => "all projects",
        SharedVariableAccess.Chosen when GrantedUsers.Count + GrantedProjects.Count > 0 =>
            "admins' projects and " + string.Join(", ", GrantedUsers.Select(u => "projects of " + u).Concat(GrantedProjects.Select(p => "project " + p))),
        _ => "admins' projects only",
    };
}

/// <summary>
/// Who may use a shared variable. Whoever owns a project can read what its deployments get (the app sees its
/// environment, and the owner runs the app), so the rule is about the project: a project owned by an admin may use
/// every shared variable; any other project only those an admin opened to all projects, to that project, or to its
/// owner. Checked when a project includes one (page and API) and again when a deployment starts, since an admin may
/// close a variable after projects included it.
/// </summary>
public static class SharedVariableAccess
{
    public const string AdminsOnly = "admins";
    public const string AllProjects = "all";
    public const string Chosen = "chosen";
    public static readonly string[] Modes = [AdminsOnly, AllProjects, Chosen];

    /// <summary>The keys of the shared variables this project may use now (no row for a key: admins' projects only).</summary>
    public static HashSet<string> ListKeysUsableByProject(SqliteConnection c, long projectId, SqliteTransaction? tx = null) =>
        c.Query<string>(
            """
            SELECT v.key
            FROM variables v
            JOIN projects p ON p.id = @projectId
            JOIN users o ON o.id = p.owner_id
            LEFT JOIN shared_variable_access a ON a.key = v.key
            WHERE v.project_id IS NULL
              AND (o.role = 'admin'
                   OR a.mode = 'all'
                   OR (a.mode = 'chosen' AND EXISTS (
                        SELECT 1 FROM shared_variable_grants g
                        WHERE g.key = v.key AND (g.project_id = p.id OR g.user_id = p.owner_id))))
            """, new { projectId }, tx).ToHashSet(StringComparer.Ordinal);

    /// <summary>
    /// Keeps the rules in step with the shared set inside its save: a new key gets a closed rule owned by the admin who
    /// added it; a removed key loses its rule and grants, so a later variable of that name does not inherit them.
    /// </summary>
    public static void SyncWithSharedSet(SqliteConnection c, long? actorId, SqliteTransaction tx)
    {
        const string gone = "key NOT IN (SELECT key FROM variables WHERE project_id IS NULL)";
        c.Execute($"DELETE FROM shared_variable_grants WHERE {gone}", transaction: tx);
        c.Execute($"DELETE FROM shared_variable_access WHERE {gone}", transaction: tx);
        c.Execute(
            """
            INSERT INTO shared_variable_access (key, mode, owner_id, updated_at)
            SELECT key, 'admins', @actorId, @now FROM variables
            WHERE project_id IS NULL AND key NOT IN (SELECT key FROM shared_variable_access)
            """, new { actorId, now = Clock.Now() }, tx);
    }

    /// <summary>Every shared variable's rule, by key, for the shared variables page.</summary>
    public static Dictionary<string, SharedAccessRow> ListAccessByKey(SqliteConnection c)
    {
        var rows = c.Query<SharedAccessRow>(
            """
            SELECT v.key, ifnull(a.mode, 'admins') AS mode, u.email AS owner_email
            FROM variables v
            LEFT JOIN shared_variable_access a ON a.key = v.key
            LEFT JOIN users u ON u.id = a.owner_id
            WHERE v.project_id IS NULL
            """).ToDictionary(r => r.Key, StringComparer.Ordinal);
        foreach (var g in c.Query<(string Key, string? Email, string? Project)>(
                     """
                     SELECT g.key, u.email, p.name FROM shared_variable_grants g
                     LEFT JOIN users u ON u.id = g.user_id
                     LEFT JOIN projects p ON p.id = g.project_id
                     ORDER BY u.email, p.name
                     """))
        {
            if (!rows.TryGetValue(g.Key, out var r)) continue;
            if (g.Email is not null) r.GrantedUsers.Add(g.Email);
            if (g.Project is not null) r.GrantedProjects.Add(g.Project);
        }
        return rows;
    }

    public static (List<long> UserIds, List<long> ProjectIds) ListGrants(SqliteConnection c, string key) =>
        (c.Query<long>("SELECT user_id FROM shared_variable_grants WHERE key = @key AND user_id IS NOT NULL", new { key }).AsList(),
         c.Query<long>("SELECT project_id FROM shared_variable_grants WHERE key = @key AND project_id IS NOT NULL", new { key }).AsList());

    /// <summary>
    /// Replaces a shared variable's rule. Every project that includes the key is marked "redeploy needed": what its
    /// next deployment gets may have changed, and a closed variable stays in the live container until then.
    /// </summary>
    public static void ReplaceAccess(SqliteConnection c, string key, string mode, IReadOnlyCollection<long> userIds, IReadOnlyCollection<long> projectIds)
    {
        using var tx = c.BeginTransaction();
        var now = Clock.Now();
        c.Execute(
            """
            INSERT INTO shared_variable_access (key, mode, owner_id, updated_at) VALUES (@key, @mode, NULL, @now)
            ON CONFLICT (key) DO UPDATE SET mode = excluded.mode, updated_at = excluded.updated_at
            """, new { key, mode, now }, tx);
        c.Execute("DELETE FROM shared_variable_grants WHERE key = @key", new { key }, tx);
        foreach (var userId in userIds)
            c.Execute("INSERT INTO shared_variable_grants (key, user_id) VALUES (@key, @userId)", new { key, userId }, tx);
        foreach (var projectId in projectIds)
            c.Execute("INSERT INTO shared_variable_grants (key, project_id) VALUES (@key, @projectId)", new { key, projectId }, tx);
        c.Execute(
            "UPDATE projects SET variables_version = variables_version + 1 WHERE id IN (SELECT project_id FROM project_shared_variables WHERE key = @key)",
            new { key }, tx);
        tx.Commit();
    }
}
