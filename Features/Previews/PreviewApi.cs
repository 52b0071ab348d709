using VpsPanel.Features.Api;
using VpsPanel.Features.Data;
using VpsPanel.Features.Projects;
using VpsPanel.Features.Settings;

namespace VpsPanel.Features.Previews;

/// <summary>
/// GET /api/projects/{slug}/previews: the project's pull request previews; PUT the same path {"enabled", "allowForks"}
/// switches them on or off and says whether a fork's request gets the preview variables' secrets.
/// </summary>
public static class PreviewApi
{
    public sealed record PreviewJson(long Number, string Title, string Author, string CommitSha, string Url, string? Status, string Slug, bool FromFork, string? RequestUrl);

    public sealed record SwitchesJson(bool Enabled, bool AllowForks);

    public sealed record SwitchesRequest(bool? Enabled, bool? AllowForks);

    public static void Map(RouteGroupBuilder api)
    {
        api.MapGet("/projects/{slug}/previews", (string slug, HttpContext ctx, Db db, PanelSettings settings) =>
        {
            using var c = db.Open();
            if (ProjectApi.FindVisible(c, ctx, slug) is not { } p) return ProjectApi.NotFound(slug);
            var scheme = settings.AutomaticHttps ? "https" : "http";
            return Results.Ok(PreviewDeploys.ListPreviewsOfProject(c, p.RootId).Select(v =>
                new PreviewJson(v.Number, v.Title, v.Author, v.HeadSha, v.Domain is { } d ? $"{scheme}://{d}/" : "", v.Status, v.Slug, v.FromFork, v.WebUrl)));
        }).WithSummary("The project's pull/merge request previews: number, title, author, commit, URL and the status of its latest deployment").Produces<List<PreviewJson>>();

        api.MapPut("/projects/{slug}/previews", async (string slug, HttpContext ctx, Db db) =>
        {
            using var c = db.Open();
            if (ProjectApi.FindVisible(c, ctx, slug) is not { } p) return ProjectApi.NotFound(slug);
            var (body, error) = await ApiProblem.ReadJson<SwitchesRequest>(ctx.Request);
            if (error is not null) return error;
            if (p.ParentId is not null)
                return ApiProblem.Invalid(new Dictionary<string, string> { ["enabled"] = $"{p.Slug} is an environment: previews are switched on its project." });
            var (enabled, forks) = PreviewDeploys.FindPreviewSwitches(c, p.Id);
            var next = new SwitchesJson(body!.Enabled ?? enabled, body.AllowForks ?? forks);
            PreviewDeploys.UpdatePreviewSwitches(c, p.Id, next.Enabled, next.AllowForks);
            Audit.AuditLog.Record(c, ctx, "previews.change", p.Slug, $"previews {(next.Enabled ? "on" : "off")}, forks {(next.AllowForks ? "get the preview secrets" : "get no secrets")}");
            return Results.Ok(next);
        }).WithSummary("Previews on or off for the project, and whether a fork's request gets the preview variables' secrets: {\"enabled\": true, \"allowForks\": false}")
          .Produces<SwitchesJson>();
    }
}
