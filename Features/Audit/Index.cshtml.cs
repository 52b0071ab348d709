using System.Globalization;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc.RazorPages;
using VpsPanel.Features.Auth;
using VpsPanel.Features.Data;

namespace VpsPanel.Features.Audit;

/// <summary>/audit (admins): the audit log, newest first, 50 a page, filtered by a GET form (user, action prefix, dates).</summary>
[Authorize(Policy = AuthCookie.AdminPolicy)]
public sealed class IndexModel(Db db) : PageModel
{
    public const int PageSize = 50;

    public string UserFilter { get; private set; } = "";
    public string ActionFilter { get; private set; } = "";
    public string Since { get; private set; } = "";
    public string Until { get; private set; } = "";
    public int PageNumber { get; private set; } = 1;
    public bool HasOlder { get; private set; }
    public List<AuditRow> Rows { get; private set; } = [];
    public Dictionary<string, string> Errors { get; private set; } = [];

    // Read from the query string by hand: "page" (and "action" in MVC) are route value names, which model binding
    // would prefer over the query string.
    public void OnGet()
    {
        string? Q(string name) => Request.Query.TryGetValue(name, out var v) ? v.ToString() : null;
        var (user, action, since, until, page) = (Q("user"), Q("action"), Q("since"), Q("until"), Q("page"));
        (UserFilter, ActionFilter, Since, Until) = (user ?? "", action ?? "", since ?? "", until ?? "");
        (var filter, Errors) = AuditLog.ParseFilter(user, action, since, until);
        if (page is not null)
        {
            if (int.TryParse(page, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n is >= 1 and <= 100_000) PageNumber = n;
            else Errors["page"] = "The page is a whole number from 1.";
        }
        if (Errors.Count > 0)
        {
            Response.StatusCode = StatusCodes.Status422UnprocessableEntity;
            return;
        }
        using var c = db.Open();
        Rows = AuditLog.ListNewestFirst(c, filter, PageSize + 1, (PageNumber - 1) * PageSize);
        HasOlder = Rows.Count > PageSize;
        if (HasOlder) Rows.RemoveAt(PageSize);
    }

    /// <summary>This page's URL with the same filters and another page number.</summary>
    public string PageUrl(int page) =>
        "/audit" + new Microsoft.AspNetCore.Http.Extensions.QueryBuilder(
            new[] { ("user", UserFilter), ("action", ActionFilter), ("since", Since), ("until", Until), ("page", page.ToString(CultureInfo.InvariantCulture)) }
                .Where(p => p.Item2 != "").Select(p => new KeyValuePair<string, string>(p.Item1, p.Item2))).ToQueryString();
}
