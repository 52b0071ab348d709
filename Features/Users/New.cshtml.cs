using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using VpsPanel.Features.Data;

namespace VpsPanel.Features.Users;

/// <summary>/users/new: an admin adds a user with a starting password to hand over (the user changes it on /account).</summary>
public sealed class NewModel(Db db) : PageModel
{
    [BindProperty] public string? Email { get; set; }
    [BindProperty] public string? Password { get; set; }
    [BindProperty] public string Role { get; set; } = Roles.Member;
    public Dictionary<string, string> Errors { get; } = [];

    public void OnGet() { }

    public IActionResult OnPost()
    {
        var email = UserStore.NormalizeEmail(Email);
        if (UserStore.EmailProblem(email) is { } e) Errors["email"] = e;
        if (UserStore.PasswordProblem(Password) is { } p) Errors["password"] = p;
        if (!Roles.IsValid(Role)) Errors["role"] = "Choose admin or member.";
        using var c = db.Open();
        if (Errors.Count == 0 && UserStore.InsertUser(c, email, Password!, Role) is null)
            Errors["email"] = $"A user with the email {email} already exists.";
        if (Errors.Count > 0)
        {
            Response.StatusCode = StatusCodes.Status422UnprocessableEntity;
            return Page();
        }
        Audit.AuditLog.Record(c, HttpContext, "user.create", email, $"role {Role}");
        return Shared.PostRedirect.To(HttpContext, "/users");
    }
}
