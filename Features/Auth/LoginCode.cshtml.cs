using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using VpsPanel.Features.Data;

namespace VpsPanel.Features.Auth;

/// <summary>
/// /login/code, the second step: the password was right (the short-lived second-step cookie says whose); a current
/// TOTP code or an unused recovery code finishes the sign-in. Wrong codes count as failed sign-ins for the account
/// from this address, so the code cannot be guessed faster than a password.
/// </summary>
[AllowAnonymous]
public sealed class LoginCodeModel(Db db, LoginThrottle throttle, IDataProtectionProvider protection) : PageModel
{
    public const string WrongCodeMessage = "That code is not right, or it was used already. Enter the current code from your app, or an unused recovery code.";
    const string ExpiredMessage = "Your sign-in took too long or was not started. Enter your email and password again.";

    [BindProperty] public string? Code { get; set; }
    public string? Error { get; set; }

    public IActionResult OnGet()
    {
        using var c = db.Open();
        return SecondStep.Find(HttpContext, c, protection) is null ? Redirect("/login") : Page();
    }

    public async Task<IActionResult> OnPostAsync()
    {
        using var c = db.Open();
        if (SecondStep.Find(HttpContext, c, protection) is not var (user, returnUrl))
        {
            Error = ExpiredMessage;
            Response.StatusCode = StatusCodes.Status422UnprocessableEntity;
            return Page();
        }
        var address = AuthCookie.ClientAddress(HttpContext);
        if (throttle.Check(address, user.Email) is { } tooMany)
        {
            SecondStep.End(HttpContext);
            Error = tooMany;
            return LoginModel.Throttled(this);
        }
        if (!TwoFactor.VerifyAndUseCode(c, protection, user.Id, Code) && !TwoFactor.UseRecoveryCode(c, user.Id, Code))
        {
            throttle.RecordFailure(address, user.Email);
            Audit.AuditLog.RecordAs(c, HttpContext, user.Id, user.Email, "auth.sign_in_failed", user.Email, "wrong two-factor code", "web");
            Error = WrongCodeMessage;
            Response.StatusCode = StatusCodes.Status422UnprocessableEntity;
            return Page();
        }
        SecondStep.End(HttpContext);
        throttle.RecordSuccess(address, user.Email);
        await AuthCookie.SignInAsync(HttpContext, user);
        Audit.AuditLog.RecordAs(c, HttpContext, user.Id, user.Email, "auth.sign_in", user.Email, "with a two-factor code", "web");
        Notifications.Notify.AdminSignedIn(c, user);
        return Shared.PostRedirect.To(HttpContext, Url.IsLocalUrl(returnUrl) ? returnUrl : "/");
    }
}
