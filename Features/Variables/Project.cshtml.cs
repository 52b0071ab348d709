using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using VpsPanel.Features.Auth;
using VpsPanel.Features.Data;
using VpsPanel.Features.Deployments;
using VpsPanel.Features.Projects;

namespace VpsPanel.Features.Variables;

/// <summary>
/// /projects/{id}/variables: the project's variables (one at a time, or all as .env), which shared variables it
/// includes, and the .env export. Every change marks the project "redeploy needed".
/// </summary>
[RequestFormLimits(ValueLengthLimit = MaxEnvTextChars * 4)]
public sealed class ProjectModel(Db db, IDataProtectionProvider protection) : PageModel
{
    /// <summary>A pasted .env: room for the largest valid set, with quoting and comments.</summary>
    public const int MaxEnvTextChars = VariableStore.MaxTotalChars * 2;

    public ProjectRow? Project { get; private set; }
    public VariableEditorView Editor { get; private set; } = new();
    public List<Variable> Shared { get; private set; } = [];
    public HashSet<string> Included { get; private set; } = [];
    /// <summary>Included keys the project may no longer use (or that are gone): deployments leave them out.</summary>
    public List<string> ClosedIncludes { get; private set; } = [];
    public List<string> SharedErrors { get; private set; } = [];
    public bool RedeployNeeded { get; private set; }
    public bool Saved { get; private set; }

    bool Load(long id)
    {
        using var c = db.Open();
        Project = ProjectStore.FindProjectVisibleTo(c, id, User.UserId(), User.IsAdmin());
        if (Project is null) return false;
        Editor = new VariableEditorView { Vars = VariableStore.ListVariables(c, protection, id) };
        Shared = VariableStore.ListSharedVariablesUsableByProject(c, protection, id);
        Included = VariableStore.ListIncludedSharedKeys(c, id).ToHashSet();
        ClosedIncludes = Included.Where(k => Shared.All(v => v.Key != k)).Order(StringComparer.Ordinal).ToList();
        RedeployNeeded = DeployVariables.RedeployNeeded(c, id, DeployStore.FindLiveDeployment(c, id)?.ConfigJson);
        return true;
    }

    void Prepare()
    {
        Editor.ExportUrl = $"/projects/{Project!.Id}/variables?handler=Export";
        Editor.CanReveal = CanReveal;
    }

    /// <summary>Secret values leave the panel only in an export by an admin or the project's owner.</summary>
    bool CanReveal => User.IsAdmin() || Project!.OwnerId == User.UserId();

    public IActionResult OnGet(long id, string? edit)
    {
        if (!Load(id)) return NotFound();
        Saved = Request.Query.ContainsKey("saved");
        Editor.Edit(edit);
        Prepare();
        return Page();
    }

    public IActionResult OnGetExport(long id)
    {
        if (!Load(id)) return NotFound();
        var text = VariableEdits.ToEnvText(Editor.Vars, CanReveal);
        Response.Headers.CacheControl = "no-store";
        return File(System.Text.Encoding.UTF8.GetBytes(text), "text/plain; charset=utf-8", $"{Project!.Slug}.env");
    }

    public IActionResult OnPostSave(long id)
    {
        if (!Load(id)) return NotFound();
        Editor = VariableEditorView.FromForm(Request.Form, Editor.Vars);
        var (set, errors) = VariableEdits.Upsert(Editor.Vars, Editor.Input);
        Editor.FormErrors = errors;
        return Save(set, errors);
    }

    public IActionResult OnPostDelete(long id, string key)
    {
        if (!Load(id)) return NotFound();
        return Save(VariableEdits.Remove(Editor.Vars, key), []);
    }

    public IActionResult OnPostEnv(long id)
    {
        if (!Load(id)) return NotFound();
        Editor = VariableEditorView.FromEnvForm(Request.Form, Editor.Vars);
        var (set, errors) = Editor.EnvText!.Length > MaxEnvTextChars
            ? ([], [$"the text is longer than {MaxEnvTextChars / 1024} KiB"])
            : VariableEdits.FromEnvText(Editor.Vars, Editor.EnvText, Editor.NewSecret, Editor.NewBuildTime, Editor.NewRuntime);
        Editor.EnvErrors = errors;
        return Save(set, errors);
    }

    /// <summary>Sets which shared variables the project includes (checkboxes named include).</summary>
    public IActionResult OnPostShared(long id, string[] include)
    {
        if (!Load(id)) return NotFound();
        var known = Shared.Select(v => v.Key).ToHashSet();
        if (include.FirstOrDefault(k => !known.Contains(k)) is { } unknown)
        {
            // The same words whether the key exists or not: a member learns nothing about variables not open to them.
            SharedErrors.Add(NotUsableMessage(unknown) + " Nothing was changed.");
            Prepare();
            return Invalid();
        }
        using var c = db.Open();
        if (VariableStore.ReplaceIncludedSharedKeys(c, id, include.Distinct().ToList())) Audit.AuditLog.Record(c, HttpContext, "variables.change", Project!.Slug, "shared keys included: " + string.Join(", ", include.Distinct().Order(StringComparer.Ordinal)));
        return SavedRedirect(id);
    }

    public static string NotUsableMessage(string key) =>
        $"{key} is not a shared variable this project may use; an admin can open one to it on the Shared variables page.";

    IActionResult Save(List<Variable> set, List<string> errors)
    {
        Prepare();
        if (errors.Count > 0) return Invalid();
        using var c = db.Open();
        if (VariableStore.ReplaceVariables(c, protection, Project!.Id, set) is { Count: > 0 } changed) Audit.AuditLog.Record(c, HttpContext, "variables.change", Project.Slug, Audit.AuditLog.Keys(changed));
        return SavedRedirect(Project.Id);
    }

    IActionResult SavedRedirect(long id) => Features.Shared.PostRedirect.To(HttpContext, $"/projects/{id}/variables?saved=1");

    IActionResult Invalid()
    {
        Response.StatusCode = StatusCodes.Status422UnprocessableEntity;
        return Page();
    }
}
