using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using VpsPanel.Features.Auth;
using VpsPanel.Features.Data;

namespace VpsPanel.Features.Users;

/// <summary>/users/{id}: change role, disable or enable, reset password. The last enabled admin cannot be demoted or disabled.</summary>
public sealed class EditModel(Db db) : PageModel
{
    public UserRow? Target { get; private set; }
    [BindProperty] public string Role { get; set; } = Roles.Member;
    [BindProperty] public bool Disabled { get; set; }
    [BindProperty] public string? NewPassword { get; set; }
    public Dictionary<string, string> Errors { get; } = [];
    public string? Saved { get; private set; }

    public IActionResult OnGet(long id)
    {
        using var c = db.Open();
        Target = UserStore.FindUserById(c, id);
        if (Target is null) return NotFound();
        Role = Target.Role;
        Disabled = Target.Disabled;
        Saved = Request.Query["saved"];
        return Page();
    }

    public IActionResult OnPostAccess(long id)
    {
        using var c = db.Open();
        using var tx = c.BeginTransaction();
        Target = UserStore.FindUserById(c, id);
        if (Target is null) return NotFound();
        if (!Roles.IsValid(Role)) Errors["role"] = "Choose admin or member.";
        var losesAdmin = Target.IsAdmin && !Target.Disabled && (Role != Roles.Admin || Disabled);
        if (losesAdmin && UserStore.CountEnabledAdmins(c) <= 1)
            Errors["role"] = "This is the last enabled admin. Make another user admin first.";
        if (Errors.Count > 0)
        {
            Response.StatusCode = StatusCodes.Status422UnprocessableEntity;
            return Page();
        }
        UserStore.UpdateRoleAndDisabled(c, id, Role, Disabled);
        tx.Commit();
        if (Role != Target.Role) Audit.AuditLog.Record(c, HttpContext, "user.role_change", Target.Email, $"{Target.Role} to {Role}");
        if (Disabled != Target.Disabled) Audit.AuditLog.Record(c, HttpContext, Disabled ? "user.disable" : "user.enable", Target.Email);
        return Shared.PostRedirect.To(HttpContext, $"/users/{id}?saved=access");
    }

    public IActionResult OnPostPassword(long id)
    {
        using var c = db.Open();
        Target = UserStore.FindUserById(c, id);
        if (Target is null) return NotFound();
        Role = Target.Role;
        Disabled = Target.Disabled;
        if (UserStore.PasswordProblem(NewPassword) is { } p)
        {
            Errors["newPassword"] = p;
            Response.StatusCode = StatusCodes.Status422UnprocessableEntity;
            return Page();
        }
        UserStore.UpdatePasswordAndEndSessions(c, id, NewPassword!);
        Audit.AuditLog.Record(c, HttpContext, "user.password_reset", Target.Email, "by an admin, on /users");
        return Shared.PostRedirect.To(HttpContext, $"/users/{id}?saved=password");
    }
}
