using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using VpsPanel.Features.Auth;
using VpsPanel.Features.Data;

namespace VpsPanel.Features.Variables;

/// <summary>
/// /variables (admins): the panel-wide shared variables, which projects include by key on their variables page.
/// A change marks every project that includes a changed key "redeploy needed".
/// </summary>
[Authorize(Policy = AuthCookie.AdminPolicy)]
[RequestFormLimits(ValueLengthLimit = ProjectModel.MaxEnvTextChars * 4)]
public sealed class SharedModel(Db db, IDataProtectionProvider protection) : PageModel
{
    public VariableEditorView Editor { get; private set; } = new();
    public Dictionary<string, int> IncludedBy { get; private set; } = [];
    public Dictionary<string, SharedAccessRow> Access { get; private set; } = [];
    public bool Saved { get; private set; }

    void Load()
    {
        using var c = db.Open();
        Editor = new VariableEditorView { Vars = VariableStore.ListVariables(c, protection, null) };
        IncludedBy = VariableStore.CountIncludersByKey(c);
        Access = SharedVariableAccess.ListAccessByKey(c);
    }

    void Prepare()
    {
        Editor.ExportUrl = "/variables?handler=Export";
        Editor.CanReveal = true;
    }

    public void OnGet(string? edit)
    {
        Load();
        Saved = Request.Query.ContainsKey("saved");
        Editor.Edit(edit);
        Prepare();
    }

    public IActionResult OnGetExport()
    {
        Load();
        Response.Headers.CacheControl = "no-store";
        return File(System.Text.Encoding.UTF8.GetBytes(VariableEdits.ToEnvText(Editor.Vars, reveal: true)), "text/plain; charset=utf-8", "shared.env");
    }

    public IActionResult OnPostSave()
    {
        Load();
        Editor = VariableEditorView.FromForm(Request.Form, Editor.Vars);
        var (set, errors) = VariableEdits.Upsert(Editor.Vars, Editor.Input);
        Editor.FormErrors = errors;
        return Save(set, errors);
    }

    public IActionResult OnPostDelete(string key)
    {
        Load();
        return Save(VariableEdits.Remove(Editor.Vars, key), []);
    }

    public IActionResult OnPostEnv()
    {
        Load();
        Editor = VariableEditorView.FromEnvForm(Request.Form, Editor.Vars);
        var (set, errors) = Editor.EnvText!.Length > ProjectModel.MaxEnvTextChars
            ? ([], [$"the text is longer than {ProjectModel.MaxEnvTextChars / 1024} KiB"])
            : VariableEdits.FromEnvText(Editor.Vars, Editor.EnvText, Editor.NewSecret, Editor.NewBuildTime, Editor.NewRuntime);
        Editor.EnvErrors = errors;
        return Save(set, errors);
    }

    IActionResult Save(List<Variable> set, List<string> errors)
    {
        Prepare();
        if (errors.Count > 0)
        {
            Response.StatusCode = StatusCodes.Status422UnprocessableEntity;
            return Page();
        }
        using var c = db.Open();
        if (VariableStore.ReplaceVariables(c, protection, null, set, User.UserId()) is { Count: > 0 } changed) Audit.AuditLog.Record(c, HttpContext, "variables.change", "(shared)", Audit.AuditLog.Keys(changed));
        return Shared.PostRedirect.To(HttpContext, "/variables?saved=1");
    }
}
