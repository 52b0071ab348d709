using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace VpsPanel.Features.Auth;

/// <summary>POST only (antiforgery-checked), so a link on another site cannot sign anyone out. Ends the session on the server too.</summary>
[AllowAnonymous]
public sealed class LogoutModel : PageModel
{
    public IActionResult OnGet() => Redirect("/");

    public async Task<IActionResult> OnPostAsync()
    {
        if (User.Identity?.IsAuthenticated == true) Audit.AuditLog.Record(HttpContext, "auth.sign_out", User.Identity.Name ?? "");
        await AuthCookie.SignOutAsync(HttpContext);
        return Shared.PostRedirect.To(HttpContext, "/login");
    }
}
