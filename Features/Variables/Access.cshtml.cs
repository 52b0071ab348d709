using Dapper;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.Data.Sqlite;
using VpsPanel.Features.Auth;
using VpsPanel.Features.Data;

namespace VpsPanel.Features.Variables;

/// <summary>
/// /variables/access?key=K (admins): who may use one shared variable: admins' projects only, all projects, or the
/// members and projects an admin chooses. Members' projects and the projects of members are offered; admins' projects
/// may use every shared variable anyway.
/// </summary>
[Authorize(Policy = AuthCookie.AdminPolicy)]
public sealed class AccessModel(Db db) : PageModel
{
    public sealed record Choice(long Id, string Label);

    public string Key { get; private set; } = "";
    public string Mode { get; private set; } = SharedVariableAccess.AdminsOnly;
    public HashSet<long> ChosenUsers { get; private set; } = [];
    public HashSet<long> ChosenProjects { get; private set; } = [];
    public List<Choice> Members { get; private set; } = [];
    public List<Choice> MemberProjects { get; private set; } = [];
    public List<string> Errors { get; } = [];

    static List<Choice> ListMembers(SqliteConnection c) =>
        c.Query<Choice>("SELECT id, email AS label FROM users WHERE role <> 'admin' ORDER BY email").AsList();

    static List<Choice> ListProjectsOfMembers(SqliteConnection c) =>
        c.Query<Choice>(
            """
            SELECT p.id, p.name || ' (' || u.email || ')' AS label
            FROM projects p JOIN users u ON u.id = p.owner_id
            WHERE u.role <> 'admin' ORDER BY p.name
            """).AsList();

    static bool SharedVariableExists(SqliteConnection c, string key) =>
        c.ExecuteScalar<bool>("SELECT EXISTS (SELECT 1 FROM variables WHERE project_id IS NULL AND key = @key)", new { key });

    /// <summary>Loads the choices; false when there is no shared variable of that key.</summary>
    bool Load(SqliteConnection c, string? key)
    {
        Key = key ?? "";
        if (!SharedVariableExists(c, Key)) return false;
        Members = ListMembers(c);
        MemberProjects = ListProjectsOfMembers(c);
        return true;
    }

    public IActionResult OnGet(string? key)
    {
        using var c = db.Open();
        if (!Load(c, key)) return NotFound();
        Mode = SharedVariableAccess.ListAccessByKey(c).GetValueOrDefault(Key)?.Mode ?? SharedVariableAccess.AdminsOnly;
        var (users, projects) = SharedVariableAccess.ListGrants(c, Key);
        (ChosenUsers, ChosenProjects) = (users.ToHashSet(), projects.ToHashSet());
        return Page();
    }

    public IActionResult OnPostSave(string? key, string? mode, string[] user, string[] project)
    {
        using var c = db.Open();
        if (!Load(c, key)) return NotFound();
        Mode = mode ?? "";
        ChosenUsers = Parse(user, Members, "member");
        ChosenProjects = Parse(project, MemberProjects, "project");
        if (!SharedVariableAccess.Modes.Contains(Mode))
            Errors.Add("Choose who may use the variable: admins' projects only, all projects, or chosen members and projects.");
        else if (Mode == SharedVariableAccess.Chosen && ChosenUsers.Count + ChosenProjects.Count == 0)
            Errors.Add("Tick at least one member or project, or choose \"admins' projects only\".");
        if (Errors.Count > 0)
        {
            Response.StatusCode = StatusCodes.Status422UnprocessableEntity;
            return Page();
        }
        // Grants are kept only where they apply, so the page never shows ticks that do nothing.
        var chosen = Mode == SharedVariableAccess.Chosen;
        SharedVariableAccess.ReplaceAccess(c, Key, Mode, chosen ? ChosenUsers : [], chosen ? ChosenProjects : []);
        return Shared.PostRedirect.To(HttpContext, "/variables?saved=1#shared-access");
    }

    /// <summary>The ticked ids that are among the offered choices; anything else is reported, not saved.</summary>
    HashSet<long> Parse(string[] posted, List<Choice> offered, string what)
    {
        var ids = offered.Select(o => o.Id).ToHashSet();
        var result = new HashSet<long>();
        foreach (var p in posted)
            if (long.TryParse(p, out var id) && ids.Contains(id)) result.Add(id);
            else Errors.Add($"There is no {what} {p} to choose (an admin, or a project of an admin, may use every shared variable already).");
        return result;
    }
}
