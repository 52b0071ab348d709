using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using VpsPanel.Features.Auth;
using VpsPanel.Features.Data;

namespace VpsPanel.Features.Users;

/// <summary>/users: the admin's list of users, and whether every user must use two-factor sign-in.</summary>
public sealed class IndexModel(Db db) : PageModel
{
    public List<UserRow> Users { get; private set; } = [];
    public HashSet<long> WithTwoFactor { get; private set; } = [];
    public bool TwoFactorRequired { get; private set; }
    public bool Saved { get; private set; }

    public void OnGet()
    {
        using var c = db.Open();
        Users = UserStore.ListUsersByEmail(c);
        WithTwoFactor = UserStore.ListUserIdsWithTwoFactor(c);
        TwoFactorRequired = TwoFactor.IsRequired(c);
        Saved = Request.Query.ContainsKey("saved");
    }

    /// <summary>Users without two-factor sign-in are sent to set it up on their next request (API tokens are not affected).</summary>
    public IActionResult OnPostTwoFactor(bool required)
    {
        using var c = db.Open();
        TwoFactor.SetRequired(c, required);
        return Shared.PostRedirect.To(HttpContext, "/users?saved=1");
    }
}
