using VpsPanel.Features.Api;
using VpsPanel.Features.Data;
using VpsPanel.Features.Projects;

namespace VpsPanel.Features.Notifications;

/// <summary>
/// /api/projects/{slug}/notifications (the project's owner, or an admin; a project the caller may not see is a 404 as
/// in every project route): the channels that hear about the project or are open to it, by name and type only, and
/// which of its events each sends; PUT replaces the project's subscriptions. The rule is NotifySubscriptions'.
/// </summary>
public static class NotifyProjectApi
{
    public sealed record SubscriptionRequest(long? Channel, List<string>? Events);
    public sealed record SubscriptionsRequest(List<SubscriptionRequest?>? Subscriptions);

    public static void Map(RouteGroupBuilder api)
    {
        api.MapGet("/projects/{slug}/notifications", (string slug, HttpContext ctx, Db db) =>
        {
            using var c = db.Open();
            if (ProjectApi.FindVisible(c, ctx, slug) is not { } p) return ProjectApi.NotFound(slug);
            return Results.Ok(Answer(c, p.Id));
        }).WithSummary("The channels that hear about the project or that its owner may subscribe it to (name and type, never settings), and the events each sends for it");

        api.MapPut("/projects/{slug}/notifications", async (string slug, HttpContext ctx, Db db) =>
        {
            using var c = db.Open();
            if (ProjectApi.FindVisible(c, ctx, slug) is not { } p) return ProjectApi.NotFound(slug);
            var (body, error) = await ApiProblem.ReadJson<SubscriptionsRequest>(ctx.Request);
            if (error is not null) return error;
            var wanted = (body!.Subscriptions ?? []).Select(s => new NotifySubscriptions.Subscription(s?.Channel, s?.Events?.Select(e => e?.Trim() ?? "").ToList())).ToList();
            var visible = NotifySubscriptions.ListChannelsVisibleToProject(c, p.Id);
            var errors = NotifySubscriptions.Validate(visible, wanted);
            if (errors.Count > 0) return ApiProblem.Invalid(errors);
            if (NotifySubscriptions.Save(c, p.Id, visible, wanted) is { } detail) Audit.AuditLog.Record(c, ctx, "notify.project.subscriptions", p.Slug, detail);
            return Results.Ok(Answer(c, p.Id));
        }).WithSummary("Replace the project's subscriptions: which channels hear about it and which of its events")
          .WithDescription("JSON body: {\"subscriptions\": [{\"channel\": 3, \"events\": [\"deployment.succeeded\"] (or null: every event the channel takes)}]}. " +
            "A channel for every project, or one that lists the project, always delivers; left out, it sends every event it takes, listed, only those events. " +
            "A channel limited to other projects delivers only when listed here, and only when an admin opened it to owners. deployment.failed always goes. " +
            "Events are chosen from the channel's own project events. Unknown channel or event: 422 with `errors` per field (subscriptions[i].channel, subscriptions[i].events).")
          .ProducesProblem(422);
    }

    static object Answer(Microsoft.Data.Sqlite.SqliteConnection c, long projectId) =>
        new { channels = NotifySubscriptions.ListChannelsVisibleToProject(c, projectId).Select(ch => NotifySubscriptions.Json(ch, projectId)) };
}
