using System.Globalization;
using VpsPanel.Features.Api;
using VpsPanel.Features.Auth;
using VpsPanel.Features.Data;

namespace VpsPanel.Features.Audit;

/// <summary>GET /api/audit (admins): the audit log, newest first, with the page's filters; ?before=ID pages back.</summary>
public static class AuditApi
{
    public const int DefaultLimit = 100;

    public static void Map(RouteGroupBuilder api)
    {
        // Every parameter arrives as text so a bad value is our 422 naming it, not the framework's bare 400.
        api.MapGet("/audit", (string? user, string? action, string? since, string? until, string? limit, string? before, HttpContext ctx, Db db) =>
        {
            if (!ctx.User.IsAdmin()) return ApiProblem.Result(403, "Only admins can read the audit log.");
            var (filter, errors) = AuditLog.ParseFilter(user, action, since, until);
            var n = DefaultLimit;
            if (limit is not null && (!int.TryParse(limit, NumberStyles.None, CultureInfo.InvariantCulture, out n) || n < 1 || n > AuditLog.MaxPageSize))
                errors["limit"] = $"Enter a whole number from 1 to {AuditLog.MaxPageSize}.";
            long? beforeId = null;
            if (before is not null)
            {
                if (long.TryParse(before, NumberStyles.None, CultureInfo.InvariantCulture, out var b) && b > 0) beforeId = b;
                else errors["before"] = "Enter the id of an entry (a whole number above 0): entries older than it are listed.";
            }
            if (errors.Count > 0) return ApiProblem.Invalid(errors);
            using var c = db.Open();
            return Results.Ok(AuditLog.ListNewestFirst(c, filter, n, beforeId: beforeId));
        }).WithSummary("The audit log (admins), newest first: ?user= (part of an email), ?action= (prefix, e.g. auth.), " +
                       "?since= / ?until= (a date or a UTC time), ?limit= (1–1000, default 100), ?before= (an id, to page back)")
          .Produces<List<AuditRow>>().ProducesProblem(403).ProducesProblem(422);
    }
}
