using Microsoft.AspNetCore.DataProtection;
using VpsPanel.Features.Data;
using VpsPanel.Features.Projects;
using VpsPanel.Features.Settings;

namespace VpsPanel.Features.Webhooks;

/// <summary>
/// /api/projects/{slug}/webhook-…: what the project page's webhook card does, for scripts. Same access as the
/// project itself (<see cref="ProjectApi.FindVisible"/>): a project the token's user may not see is a 404.
/// </summary>
public static class WebhookApi
{
    public sealed record NewSecretAnswer(string WebhookUrl, string WebhookSecret);

    public static void Map(RouteGroupBuilder api)
    {
        api.MapGet("/projects/{slug}/webhook-deliveries", (string slug, HttpContext ctx, Db db) =>
        {
            using var c = db.Open();
            return ProjectApi.FindVisible(c, ctx, slug) is { } p ? Results.Ok(WebhookStore.ListDeliveriesOfProject(c, p.Id)) : ProjectApi.NotFound(slug);
        }).WithSummary("What the project's push webhook received (last 100, newest first; refused ones counted per minute in `times`): outcome and why").Produces<List<DeliveryRow>>();

        api.MapPost("/projects/{slug}/webhook-secret", (string slug, HttpContext ctx, Db db, IDataProtectionProvider protection, PanelSettings settings) =>
        {
            using var c = db.Open();
            if (ProjectApi.FindVisible(c, ctx, slug) is not { } p) return ProjectApi.NotFound(slug);
            var secret = WebhookStore.ReplaceSecret(c, protection, p.Id);
            Audit.AuditLog.Record(c, ctx, "webhook_secret.rotate", p.Slug);
            return Results.Ok(new NewSecretAnswer(WebhookStore.UrlFor(settings, p.Slug), secret));
        }).WithSummary("Replace the project's webhook secret (leaked, or unreadable after a key ring change)")
          .WithDescription("Deliveries signed with the old secret are refused from now on. Paste the new secret into the Git host.")
          .Produces<NewSecretAnswer>().ProducesProblem(404);
    }
}
