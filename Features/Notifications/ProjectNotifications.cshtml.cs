using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using VpsPanel.Features.Auth;
using VpsPanel.Features.Data;
using VpsPanel.Features.Projects;

namespace VpsPanel.Features.Notifications;

/// <summary>What the project's notifications section shows: the channels it may see (name and type only) and their events.</summary>
public sealed record ProjectNotificationsView(long ProjectId, List<ProjectChannel> Channels, Dictionary<string, string> Errors, string? Notice)
{
    public static ProjectNotificationsView Load(Db db, long projectId, string? notice = null)
    {
        using var c = db.Open();
        return new(projectId, NotifySubscriptions.ListChannelsVisibleToProject(c, projectId), [], notice);
    }
}

/// <summary>
/// /projects/{id}/notifications (the project's owner, or an admin): which channels hear about the project and which of
/// its events (NotifySubscriptions has the rule). The project page shows the same section (_ProjectNotifications);
/// its form posts here, and a refused one is shown here with the messages next to the channel.
/// </summary>
public sealed class ProjectNotificationsModel(Db db) : PageModel
{
    public ProjectRow? Project { get; private set; }
    public ProjectNotificationsView View { get; private set; } = new(0, [], [], null);

    bool Load(long id)
    {
        using var c = db.Open();
        Project = ProjectStore.FindProjectVisibleTo(c, id, User.UserId(), User.IsAdmin());
        if (Project is null) return false;
        View = ProjectNotificationsView.Load(db, id, Request.Query["done"] == "saved" ? "Saved." : null);
        return true;
    }

    public IActionResult OnGet(long id) => Load(id) ? Page() : NotFound();

    /// <summary>
    /// The form: a "channel" field per channel shown, "subscribe" with the ids of open channels ticked, "events-{id}"
    /// with the events ticked (deployment.failed is disabled, so never sent). All of a channel's events ticked means
    /// "whatever it takes", so an event an admin adds later reaches the project too.
    /// </summary>
    public IActionResult OnPost(long id)
    {
        if (!Load(id)) return NotFound();
        var subscribed = Request.Form["subscribe"].ToHashSet();
        var wanted = new List<NotifySubscriptions.Subscription>();
        foreach (var posted in Request.Form["channel"].Distinct())
        {
            long? channelId = long.TryParse(posted, out var n) ? n : null;
            var ch = View.Channels.FirstOrDefault(v => v.Id == channelId);
            if (ch is not null && NotifySubscriptions.Access(ch, id) == NotifySubscriptions.Open && !subscribed.Contains(posted)) continue;
            var ticked = Request.Form[$"events-{posted}"].Select(e => e ?? "").ToList();
            var all = ch is not null && ch.Offered.All(e => e == Notify.DeploymentFailed || ticked.Contains(e));
            wanted.Add(new(channelId, all ? null : ticked));
        }
        using var c = db.Open();
        var errors = NotifySubscriptions.Validate(View.Channels, wanted);
        if (errors.Count > 0)
        {
            // subscriptions[i].x → next to channel i's fieldset (or above the form when it is not shown).
            var shown = new Dictionary<string, string>();
            foreach (var (key, message) in errors)
            {
                var i = int.Parse(key[(key.IndexOf('[') + 1)..key.IndexOf(']')], System.Globalization.CultureInfo.InvariantCulture);
                shown[View.Channels.Any(ch => ch.Id == wanted[i].Channel) ? $"channel-{wanted[i].Channel}" : "form"] = message;
            }
            View = View with { Errors = shown };
            Response.StatusCode = StatusCodes.Status422UnprocessableEntity;
            return Page();
        }
        if (NotifySubscriptions.Save(c, id, View.Channels, wanted) is { } detail)
            Audit.AuditLog.Record(c, HttpContext, "notify.project.subscriptions", Project!.Slug, detail);
        return Shared.PostRedirect.To(HttpContext, $"/projects/{id}/notifications?done=saved");
    }
}
