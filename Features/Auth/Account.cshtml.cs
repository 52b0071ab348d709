using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using VpsPanel.Features.Data;
using VpsPanel.Features.Users;

namespace VpsPanel.Features.Auth;

/// <summary>/account: the signed-in user changes their password (every other session of theirs ends), sees their sessions and can end the others.</summary>
public sealed class AccountModel(Db db) : PageModel
{
    [BindProperty] public string? CurrentPassword { get; set; }
    [BindProperty] public string? NewPassword { get; set; }
    public Dictionary<string, string> Errors { get; } = [];
    public string? Done { get; set; }
    public bool TwoFactorOn { get; private set; }
    public List<SessionRow> SessionList { get; private set; } = [];
    public string ThisSession { get; private set; } = "";

    public void OnGet()
    {
        Done = Request.Query["done"];
        Load();
    }

    void Load()
    {
        using var c = db.Open();
        TwoFactorOn = TwoFactor.IsEnabled(c, User.UserId());
        SessionList = Sessions.ListSessionsOfUser(c, User.UserId());
        ThisSession = User.SessionToken() is { } t ? Sessions.Hash(t) : "";
    }

    public IActionResult OnPost()
    {
        using var c = db.Open();
        var user = UserStore.FindUserById(c, User.UserId())!;
        if (CurrentPassword is null || CurrentPassword.Length > UserStore.MaxPasswordLength || !UserStore.VerifyPassword(user, CurrentPassword))
            Errors["currentPassword"] = "That is not your current password.";
        if (UserStore.PasswordProblem(NewPassword) is { } p) Errors["newPassword"] = p;
        if (Errors.Count > 0)
        {
            Load();
            Response.StatusCode = StatusCodes.Status422UnprocessableEntity;
            return Page();
        }
        // This session stays (its cookie names it); every other one ends.
        UserStore.UpdatePasswordAndEndSessions(c, user.Id, NewPassword!, User.SessionToken());
        Audit.AuditLog.Record(c, HttpContext, "user.password_change", user.Email, "by the user, on /account");
        return Shared.PostRedirect.To(HttpContext, "/account?done=password");
    }

    public IActionResult OnPostEndOthers()
    {
        using var c = db.Open();
        Sessions.EndOtherSessionsOfUser(c, User.UserId(), User.SessionToken());
        return Shared.PostRedirect.To(HttpContext, "/account?done=sessions");
    }
}
