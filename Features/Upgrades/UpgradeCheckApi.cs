using VpsPanel.Features.Api;
using VpsPanel.Features.Auth;
using VpsPanel.Features.Data;

namespace VpsPanel.Features.Upgrades;

/// <summary>
/// /api/settings/upgrade-check (admins): the running version, whether the daily release check is on, and what it
/// found; PUT {"enabled": true|false} turns it on (a check runs at once) or off, as the Settings page does.
/// </summary>
public static class UpgradeCheckApi
{
    public sealed record Body(bool? Enabled);

    public static void Map(RouteGroupBuilder api)
    {
        api.MapGet("/settings/upgrade-check", (HttpContext ctx, Db db) =>
        {
            if (!ctx.User.IsAdmin()) return OnlyAdmins();
            using var c = db.Open();
            return Results.Ok(Json(UpgradeCheckState.Load(c)));
        }).WithSummary("The running version and the release check (admins): enabled, latestVersion, newerVersion, checkedAt, error");

        api.MapPut("/settings/upgrade-check", async (HttpContext ctx, Db db) =>
        {
            if (!ctx.User.IsAdmin()) return OnlyAdmins();
            var (body, error) = await ApiProblem.ReadJson<Body>(ctx.Request);
            if (error is not null) return error;
            if (body!.Enabled is not { } enabled) return ApiProblem.Invalid(new Dictionary<string, string> { ["enabled"] = "Required: true (check daily for a newer release) or false." });
            using var c = db.Open();
            return Results.Ok(Json(UpgradeCheckState.Toggle(c, ctx, enabled)));
        }).WithSummary("Turn the daily release check on or off (admins); on checks at once")
          .WithDescription("JSON body: {\"enabled\": true|false}. The check reads <Release:BaseUrl>/latest/download/VERSION; the dashboard then says when a newer release exists.");
    }

    static Dictionary<string, object?> Json(UpgradeCheckState s) => new()
    {
        ["currentVersion"] = UpgradeCheckState.Current,
        ["enabled"] = s.Enabled,
        ["latestVersion"] = s.Latest,
        ["newerVersion"] = s.Newer,
        ["checkedAt"] = s.CheckedAt,
        ["error"] = s.Error,
    };

    static IResult OnlyAdmins() => ApiProblem.Result(403, "Only admins can read or change the release check.");
}
