using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using VpsPanel.Features.Data;
using VpsPanel.Features.Users;

namespace VpsPanel.Features.Auth;

/// <summary>
/// /account/two-factor: set up two-factor sign-in (scan the QR code, confirm with a code, get recovery codes once),
/// turn it off (with a current code or the password), or replace the recovery codes (with a current code).
/// </summary>
public sealed class TwoFactorSetupModel(Db db, IDataProtectionProvider protection) : PageModel
{
    [BindProperty] public string? Code { get; set; }
    [BindProperty] public string? Password { get; set; }
    public Dictionary<string, string> Errors { get; } = [];
    public bool Enabled { get; private set; }
    public bool Required { get; private set; }
    public int UnusedRecoveryCodes { get; private set; }
    public string Secret { get; private set; } = "";
    public string QrSvg { get; private set; } = "";
    /// <summary>Set only on the response that made them: the one time they are shown.</summary>
    public List<string>? RecoveryCodes { get; private set; }
    public bool TurnedOff { get; private set; }

    public void OnGet()
    {
        TurnedOff = Request.Query.ContainsKey("off");
        Load();
    }

    void Load()
    {
        using var c = db.Open();
        var id = User.UserId();
        Enabled = TwoFactor.IsEnabled(c, id);
        Required = TwoFactor.IsRequired(c);
        if (Enabled) UnusedRecoveryCodes = TwoFactor.CountUnusedRecoveryCodes(c, id);
        else
        {
            Secret = TwoFactor.PendingSecret(c, protection, id);
            QrSvg = TwoFactor.QrSvg(TwoFactor.OtpAuthUri(User.Identity!.Name!, Secret));
        }
    }

    IActionResult Invalid(string field, string message)
    {
        Errors[field] = message;
        Load();
        Response.StatusCode = StatusCodes.Status422UnprocessableEntity;
        return Page();
    }

    public IActionResult OnPostConfirm()
    {
        using var c = db.Open();
        if (TwoFactor.IsEnabled(c, User.UserId())) return Invalid("form", "Two-factor sign-in is on already.");
        if (TwoFactor.ConfirmEnrolment(c, protection, User.UserId(), Code) is not { } codes)
            return Invalid("code", "That code does not match. Enter the 6 digits your app shows now for VpsPanel (check that the phone's clock is right).");
        RecoveryCodes = codes;
        Load();
        return Page();
    }

    public IActionResult OnPostRecoveryCodes()
    {
        using var c = db.Open();
        if (!TwoFactor.IsEnabled(c, User.UserId())) return Invalid("form", "Two-factor sign-in is off; set it up first.");
        if (!TwoFactor.VerifyAndUseCode(c, protection, User.UserId(), Code))
            return Invalid("recoveryCode", "That code is not right, or it was used already. Enter the current code from your app.");
        RecoveryCodes = TwoFactor.ReplaceRecoveryCodes(c, User.UserId());
        Load();
        return Page();
    }

    public IActionResult OnPostDisable()
    {
        using var c = db.Open();
        var user = UserStore.FindUserById(c, User.UserId())!;
        var proven = (!string.IsNullOrEmpty(Code) && TwoFactor.VerifyAndUseCode(c, protection, user.Id, Code))
                     || (!string.IsNullOrEmpty(Password) && UserStore.CheckPassword(user, Password));
        if (!proven) return Invalid("disable", "Enter a current code from your app or your password to turn two-factor sign-in off.");
        TwoFactor.RemoveTwoFactor(c, user.Id);
        return Shared.PostRedirect.To(HttpContext, TwoFactor.EnrolPath + "?off=1");
    }
}
