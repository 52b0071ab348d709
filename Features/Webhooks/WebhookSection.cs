using Microsoft.AspNetCore.DataProtection;
using Microsoft.Data.Sqlite;
using VpsPanel.Features.Projects;
using VpsPanel.Features.Settings;

namespace VpsPanel.Features.Webhooks;

/// <summary>
/// The webhook part of the project page: the URL to paste into the Git host, the secret (null when the stored one
/// cannot be decrypted any more), the auto-deploy switch, and the delivery log with the reason for each outcome.
/// </summary>
public sealed record WebhookSection(long ProjectId, string Url, string? Secret, string Branch, bool AutoDeploy, List<DeliveryRow> Deliveries)
{
    public static WebhookSection Load(SqliteConnection c, IDataProtectionProvider protection, PanelSettings settings, ProjectRow project) =>
        new(project.Id, WebhookStore.UrlFor(settings, project.Slug), WebhookStore.EnsureSecret(c, protection, project.Id), project.Branch,
            WebhookStore.FindAutoDeploy(c, project.Id), WebhookStore.ListDeliveriesOfProject(c, project.Id));
}
