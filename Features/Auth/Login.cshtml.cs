using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using VpsPanel.Features.Data;
using VpsPanel.Features.Users;

namespace VpsPanel.Features.Auth;

/// <summary>/login, the password step. With two-factor sign-in on, a right password leads to /login/code.</summary>
[AllowAnonymous]
public sealed class LoginModel(Db db, LoginThrottle throttle, IDataProtectionProvider protection) : PageModel
{
    /// <summary>The one message for an unknown email, a wrong password and a disabled account, so the form tells nobody which it was.</summary>
    public const string WrongMessage = "Wrong email or password.";

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
        var address = AuthCookie.ClientAddress(HttpContext);
        if (throttle.Check(address, email) is { } tooMany)
        {
            Error = tooMany;
            return Throttled(this);
        }

        using var c = db.Open();
        var user = email == "" ? null : UserStore.FindUserByEmail(c, email);
        // Always one password hash check, also for an unknown email, so the response time does not tell whether the
        // account exists (issue 11, finding 7). A disabled account's message is the wrong-password one for the same reason.
        var ok = UserStore.CheckPassword(user, Password);
        if (!ok || user!.Disabled)
        {
            throttle.RecordFailure(address, email);
            Audit.AuditLog.RecordAs(c, HttpContext, user?.Id, email, "auth.sign_in_failed", email, user is null ? "no such user" : ok ? "the account is disabled" : "wrong password", "web");
            Error = WrongMessage;
            Response.StatusCode = StatusCodes.Status422UnprocessableEntity;
            return Page();
        }

        // The password was right: an old-format hash becomes bcrypt now, whatever the second step does.
        UserStore.RehashIfNeeded(c, user, Password!);
        var target = Url.IsLocalUrl(ReturnUrl) ? ReturnUrl! : "/";
        if (TwoFactor.IsEnabled(c, user.Id))
        {
            // The failures stay counted until the code is right too: a stolen password alone does not clear them.
            SecondStep.Begin(HttpContext, protection, user, target);
            return Shared.PostRedirect.To(HttpContext, "/login/code");
        }
        throttle.RecordSuccess(address, email);
        await AuthCookie.SignInAsync(HttpContext, user);
        Audit.AuditLog.RecordAs(c, HttpContext, user.Id, user.Email, "auth.sign_in", user.Email, "", "web");
        Notifications.Notify.AdminSignedIn(c, user);
        return Shared.PostRedirect.To(HttpContext, target);
    }

    /// <summary>The throttled answer both sign-in steps give: 429 and when to come back (the page shows the message).</summary>
    public static IActionResult Throttled(PageModel page)
    {
        page.Response.StatusCode = StatusCodes.Status429TooManyRequests;
        page.Response.Headers.RetryAfter = ((int)LoginThrottle.Window.TotalSeconds).ToString();
        return page.Page();
    }
}
