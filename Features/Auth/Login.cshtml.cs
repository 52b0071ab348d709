using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using VpsPanel.Features.Data;
using VpsPanel.Features.Users;

namespace VpsPanel.Features.Auth;

[AllowAnonymous]
public sealed class LoginModel(Db db, LoginThrottle throttle) : PageModel
{
    [BindProperty] public string? Email { get; set; }
    [BindProperty] public string? Password { get; set; }
    [BindProperty(SupportsGet = true)] public string? ReturnUrl { get; set; }
    public string? Error { get; set; }

    public IActionResult OnGet()
    {
        using var c = db.Open();
        if (!UserStore.AnyUserExists(c)) return Redirect("/setup");
        return Page();
    }

    public async Task<IActionResult> OnPostAsync()
    {
        var email = UserStore.NormalizeEmail(Email);
        if (email.Length > UserStore.MaxEmailLength) email = email[..UserStore.MaxEmailLength];
        var ip = HttpContext.Connection.RemoteIpAddress?.ToString() ?? "unknown";
        if (throttle.Check(ip, email) is { } tooMany)
        {
            Error = tooMany;
            Response.StatusCode = StatusCodes.Status429TooManyRequests;
            Response.Headers.RetryAfter = ((int)LoginThrottle.Window.TotalSeconds).ToString();
            return Page();
        }

        using var c = db.Open();
        var user = email == "" ? null : UserStore.FindUserByEmail(c, email);
        var ok = user is not null && Password is { Length: <= UserStore.MaxPasswordLength } && UserStore.VerifyPassword(user, Password);
        if (!ok || user!.Disabled)
        {
            throttle.RecordFailure(email);
            Audit.AuditLog.RecordAs(c, HttpContext, user?.Id, email, "auth.sign_in_failed", email, ok ? "the account is disabled" : user is null ? "no such user" : "wrong password", "web");
            // One message for unknown email and wrong password, so the form does not reveal who has an account.
            Error = ok ? "This account is disabled. Ask an admin to enable it." : "Wrong email or password.";
            Response.StatusCode = StatusCodes.Status422UnprocessableEntity;
            return Page();
        }

        throttle.RecordSuccess(email);
        await AuthCookie.SignInAsync(HttpContext, user);
        Audit.AuditLog.RecordAs(c, HttpContext, user.Id, user.Email, "auth.sign_in", user.Email, "", "web");
        var target = Url.IsLocalUrl(ReturnUrl) ? ReturnUrl! : "/";
        return Shared.Htmx.RedirectAfterPost(HttpContext, target);
    }
}
