using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using VpsPanel.Features.Auth;
using VpsPanel.Features.Data;

namespace VpsPanel.Features.Tokens;

/// <summary>/tokens: the signed-in user's API tokens; create (shown once) and revoke.</summary>
public sealed class IndexModel(Db db) : PageModel
{
    [BindProperty] public string? Name { get; set; }
    [BindProperty] public int? ExpiresInDays { get; set; }
    public Dictionary<string, string> Errors { get; } = [];
    public List<ApiTokenRow> Tokens { get; private set; } = [];
    public string? NewToken { get; private set; }

    void Load()
    {
        using var c = db.Open();
        Tokens = ApiTokens.ListTokensOfUser(c, User.UserId());
    }

    public void OnGet() => Load();

    public IActionResult OnPostCreate()
    {
        if (!ModelState.IsValid && ModelState[nameof(ExpiresInDays)]?.Errors.Count > 0)
            Errors["expiresInDays"] = "Enter a whole number of days, or leave it empty.";
        if (ApiTokens.NameProblem(Name) is { } n) Errors["name"] = n;
        if (ApiTokens.ExpiryProblem(ExpiresInDays) is { } x) Errors["expiresInDays"] = x;
        if (Errors.Count > 0)
        {
            Load();
            Response.StatusCode = StatusCodes.Status422UnprocessableEntity;
            return Page();
        }
        using (var c = db.Open())
        {
            NewToken = ApiTokens.CreateToken(c, User.UserId(), Name!, ExpiresInDays).Token;
            Audit.AuditLog.Record(c, HttpContext, "token.create", Name!.Trim(), ExpiresInDays is { } d ? $"expires in {d} days" : "never expires");
        }
        // Rendered directly (not redirected): the token exists in this response only.
        Name = null;
        ExpiresInDays = null;
        Load();
        return Page();
    }

    public IActionResult OnPostRevoke(long id)
    {
        using var c = db.Open();
        if (!ApiTokens.RevokeToken(c, id, User.UserId())) return NotFound();
        Audit.AuditLog.Record(c, HttpContext, "token.revoke", $"token {id}");
        return Shared.PostRedirect.To(HttpContext, "/tokens");
    }
}
