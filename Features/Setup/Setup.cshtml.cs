using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using VpsPanel.Features.Auth;
using VpsPanel.Features.Data;
using VpsPanel.Features.Users;

namespace VpsPanel.Features.Setup;

/// <summary>/setup: creates the first admin, once, with the setup token. Gone (404) as soon as any user exists.</summary>
[AllowAnonymous]
public sealed class SetupModel(Db db, SetupToken token) : PageModel
{
    [BindProperty] public string? Token { get; set; }
    [BindProperty] public string? Email { get; set; }
    [BindProperty] public string? Password { get; set; }
    public Dictionary<string, string> Errors { get; } = [];

    public IActionResult OnGet()
    {
        using var c = db.Open();
        return UserStore.AnyUserExists(c) ? NotFound() : Page();
    }

    public async Task<IActionResult> OnPostAsync()
    {
        using var c = db.Open();
        if (UserStore.AnyUserExists(c)) return NotFound();

        var email = UserStore.NormalizeEmail(Email);
        if (!token.Matches(Token)) Errors["token"] = "That is not the setup token. Copy it from the panel's log or from the setup-token file in the data directory.";
        if (UserStore.EmailProblem(email) is { } e) Errors["email"] = e;
        if (UserStore.PasswordProblem(Password) is { } p) Errors["password"] = p;
        if (Errors.Count > 0)
        {
            Response.StatusCode = StatusCodes.Status422UnprocessableEntity;
            return Page();
        }

        // The check above and the insert race only with another setup request; the transaction makes one win.
        using var tx = c.BeginTransaction();
        if (UserStore.AnyUserExists(c)) return NotFound();
        UserStore.InsertUser(c, email, Password!, Roles.Admin, tx);
        tx.Commit();
        Audit.AuditLog.RecordAs(c, HttpContext, null, "", "user.create", email, "role admin (the first user, through /setup)", "web");
        token.Consume();

        await AuthCookie.SignInAsync(HttpContext, UserStore.FindUserByEmail(c, email)!);
        return Shared.PostRedirect.To(HttpContext, "/");
    }
}
