using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using VpsPanel.Features.Data;
using VpsPanel.Features.Users;

namespace VpsPanel.Features.Auth;

/// <summary>/account: the signed-in user changes their password; every other session of theirs ends.</summary>
public sealed class AccountModel(Db db) : PageModel
{
    [BindProperty] public string? CurrentPassword { get; set; }
    [BindProperty] public string? NewPassword { get; set; }
    public Dictionary<string, string> Errors { get; } = [];
    public bool Changed { get; set; }

    public void OnGet() => Changed = Request.Query.ContainsKey("changed");

    public async Task<IActionResult> OnPostAsync()
    {
        using var c = db.Open();
        var user = UserStore.FindUserById(c, User.UserId())!;
        if (CurrentPassword is null || CurrentPassword.Length > UserStore.MaxPasswordLength || !UserStore.VerifyPassword(user, CurrentPassword))
            Errors["currentPassword"] = "That is not your current password.";
        if (UserStore.PasswordProblem(NewPassword) is { } p) Errors["newPassword"] = p;
        if (Errors.Count > 0)
        {
            Response.StatusCode = StatusCodes.Status422UnprocessableEntity;
            return Page();
        }
        UserStore.UpdatePasswordAndEndSessions(c, user.Id, NewPassword!);
        Audit.AuditLog.Record(c, HttpContext, "user.password_change", user.Email, "by the user, on /account");
        // This session gets a fresh cookie with the new stamp; all others fail validation on their next request.
        await AuthCookie.SignInAsync(HttpContext, UserStore.FindUserById(c, user.Id)!);
        return Shared.Htmx.RedirectAfterPost(HttpContext, "/account?changed=1");
    }
}
