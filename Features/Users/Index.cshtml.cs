using Microsoft.AspNetCore.Mvc.RazorPages;
using VpsPanel.Features.Data;

namespace VpsPanel.Features.Users;

/// <summary>/users: the admin's list of users.</summary>
public sealed class IndexModel(Db db) : PageModel
{
    public List<UserRow> Users { get; private set; } = [];

    public void OnGet()
    {
        using var c = db.Open();
        Users = UserStore.ListUsersByEmail(c);
    }
}
