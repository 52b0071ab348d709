using System.Globalization;
using Dapper;
using Microsoft.Data.Sqlite;
using VpsPanel.Features.Shared;

namespace VpsPanel.Features.Notifications;

/// <summary>One channel as a project sees it: its name and type (never its settings), and how it reaches the project.</summary>
public sealed record ProjectChannel
{
    public long Id { get; init; }
    public string Name { get; init; } = "";
    public string Type { get; init; } = "";
    public string Events { get; init; } = "";
    public string? Projects { get; init; }
    public bool OpenToOwners { get; init; }
    /// <summary>A notification_subscriptions row exists for this project.</summary>
    public bool Subscribed { get; init; }
    /// <summary>The row's events: null = whatever the channel takes.</summary>
    public string? Chosen { get; init; }

    /// <summary>The project events the channel takes (deployment.failed first): what an owner may choose from.</summary>
    public List<string> Offered => NotifySubscriptions.ProjectEvents.Where(e => e == Notify.DeploymentFailed || Events.Split(',').Contains(e)).ToList();
    public List<string>? ChosenList => Chosen?.Split(',', StringSplitOptions.RemoveEmptyEntries).ToList();
}

/// <summary>
/// Which channels hear about a project, and which of its events. The admin's channel decides first, the owner's
/// subscription (notification_subscriptions, one row per channel and project) second:
/// - a channel for every project (projects NULL), or one whose list names the project ("all", "listed"), delivers the
///   project's events it takes. The owner cannot leave it (an admin chose it), only narrow which events;
/// - a channel limited to other projects that an admin marked "open to owners" ("open") delivers only when the owner
///   subscribed the project, the events they chose (or all it takes);
/// - any other channel ("closed") never hears about the project, and the project's owner does not see it. A
///   subscription left on a channel an admin closed again stops counting at once.
/// deployment.failed goes to every channel that reaches the project, whatever was chosen; an owner only ever picks
/// from the channel's own events; events of no project (disk.low, backup.failed, admin.new_sign_in) follow the channel
/// alone.
/// </summary>
public static class NotifySubscriptions
{
    /// <summary>The events raised for one project: the ones an owner can choose.</summary>
    public static readonly string[] ProjectEvents = [Notify.DeploymentFailed, Notify.DeploymentSucceeded, Notify.AppCrashLooping, Notify.AppRestarted,
        Notify.AppUnhealthy, Notify.WebhookSignatureFailures, Notify.PreviewReady];

    public const string All = "all", Listed = "listed", Open = "open", Closed = "closed";

    public static string Access(ProjectChannel ch, long projectId) =>
        ch.Projects is null ? All
        : ch.Projects.Split(',', StringSplitOptions.RemoveEmptyEntries).Contains(projectId.ToString(CultureInfo.InvariantCulture)) ? Listed
        : ch.OpenToOwners ? Open : Closed;

    public static bool Delivers(ProjectChannel ch, long projectId) => Access(ch, projectId) switch { All or Listed => true, Open => ch.Subscribed, _ => false };

    /// <summary>The events of this project the channel sends (deployment.failed first); empty when it does not reach it.</summary>
    public static List<string> EventsFor(ProjectChannel ch, long projectId) =>
        !Delivers(ch, projectId) ? [] : ch.Offered.Where(e => e == Notify.DeploymentFailed || ch.ChosenList is not { } chosen || chosen.Contains(e)).ToList();

    /// <summary>The rule of this class for one event: the ids of the channels it goes to (Notify.Event queues one message each).</summary>
    public static List<long> ChannelsTaking(SqliteConnection c, string evt, long? projectId, SqliteTransaction? tx = null) =>
        ListChannelsForProject(c, projectId ?? 0, tx)
            .Where(ch => projectId is { } pid ? EventsFor(ch, pid).Contains(evt) : evt == Notify.DeploymentFailed || ch.Events.Split(',').Contains(evt))
            .Select(ch => ch.Id).ToList();

    /// <summary>Every channel with this project's subscription, if any (project 0: none).</summary>
    public static List<ProjectChannel> ListChannelsForProject(SqliteConnection c, long projectId, SqliteTransaction? tx = null) =>
        c.Query<ProjectChannel>(
            """
            SELECT ch.id, ch.name, ch.type, ch.events, ch.projects, ch.open_to_owners AS OpenToOwners,
                   s.channel_id IS NOT NULL AS Subscribed, s.events AS Chosen
            FROM notification_channels ch
            LEFT JOIN notification_subscriptions s ON s.channel_id = ch.id AND s.project_id = @projectId
            ORDER BY ch.name
            """, new { projectId }, tx).ToList();

    /// <summary>The channels the project's owner sees: those that reach it or that they may join.</summary>
    public static List<ProjectChannel> ListChannelsVisibleToProject(SqliteConnection c, long projectId) =>
        ListChannelsForProject(c, projectId).Where(ch => Access(ch, projectId) != Closed).ToList();

    /// <summary>One channel the project wants: its id and events (null: whatever the channel takes).</summary>
    public sealed record Subscription(long? Channel, List<string>? Events);

    /// <summary>
    /// Checks a project's complete set of subscriptions: each channel must exist and reach the project or be open to
    /// owners (otherwise the same message for both, so an owner learns nothing of channels kept from them), once; each
    /// event must be one of the channel's own project events. Errors keyed subscriptions[i].channel / .events.
    /// </summary>
    public static Dictionary<string, string> Validate(List<ProjectChannel> visible, List<Subscription> wanted)
    {
        var errors = new Dictionary<string, string>();
        var seen = new HashSet<long>();
        for (var i = 0; i < wanted.Count; i++)
        {
            var (id, events) = (wanted[i].Channel, wanted[i].Events);
            var key = $"subscriptions[{i}]";
            if (visible.FirstOrDefault(ch => ch.Id == id) is not { } ch)
            {
                errors[key + ".channel"] = id is null ? "Name a channel by its id."
                    : $"There is no channel {id} this project can subscribe to: an admin adds a project to a limited channel on its page, or opens the channel to owners.";
                continue;
            }
            if (!seen.Add(ch.Id)) errors[key + ".channel"] = $"Channel {ch.Id} ({ch.Name}) is listed twice.";
            foreach (var e in events ?? [])
            {
                if (!Notify.Events.Contains(e)) errors[key + ".events"] = $"There is no event {e}; the events are: {string.Join(", ", Notify.Events)}.";
                else if (!ProjectEvents.Contains(e)) errors[key + ".events"] = $"{e} is not about one project: it goes to the channels that take it, whatever the project.";
                else if (!ch.Offered.Contains(e)) errors[key + ".events"] = $"Channel {ch.Name} does not send {e}; it sends: {string.Join(", ", ch.Offered)}.";
            }
        }
        return errors;
    }

    /// <summary>
    /// Replaces the project's subscriptions with the (valid) wanted set. A channel that reaches the project by the
    /// admin's choice and is left out, or sent with no events chosen (null), keeps every event it takes: no row. Returns
    /// what changed, for the audit row, or null when nothing did.
    /// </summary>
    public static string? Save(SqliteConnection c, long projectId, List<ProjectChannel> visible, List<Subscription> wanted)
    {
        var rows = new List<(long Channel, string? Events)>();
        foreach (var w in wanted)
        {
            var ch = visible.Single(v => v.Id == w.Channel);
            var events = w.Events is null ? null : ch.Offered.Where(e => e == Notify.DeploymentFailed || w.Events.Contains(e)).ToList();
            if (events is null && Access(ch, projectId) is All or Listed) continue;
            rows.Add((ch.Id, events is null ? null : string.Join(',', events)));
        }
        var before = Describe(visible, projectId);
        using var tx = c.BeginTransaction();
        c.Execute("DELETE FROM notification_subscriptions WHERE project_id = @projectId", new { projectId }, tx);
        foreach (var (channel, events) in rows)
            c.Execute("INSERT INTO notification_subscriptions (channel_id, project_id, events, updated_at) VALUES (@channel, @projectId, @events, @now)",
                new { channel, projectId, events, now = Clock.Now() }, tx);
        tx.Commit();
        var after = Describe(ListChannelsVisibleToProject(c, projectId), projectId);
        return before == after ? null : after;
    }

    /// <summary>"name: events; …" of the channels that reach the project: the audit row's words.</summary>
    static string Describe(List<ProjectChannel> channels, long projectId)
    {
        var reached = channels.Where(ch => Delivers(ch, projectId)).Select(ch => $"{ch.Name}: {string.Join(", ", EventsFor(ch, projectId))}").ToList();
        return reached.Count == 0 ? "no channels" : string.Join("; ", reached);
    }

    /// <summary>The JSON of one channel for GET/PUT /api/projects/{slug}/notifications: never a setting.</summary>
    public static object Json(ProjectChannel ch, long projectId) => new
    {
        id = ch.Id, name = ch.Name, type = ch.Type, access = Access(ch, projectId), subscribed = Delivers(ch, projectId),
        events = EventsFor(ch, projectId), chosen = Delivers(ch, projectId) ? ch.ChosenList : null, channelEvents = ch.Offered,
    };
}
