using System.Text.Json;
using Dapper;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Data.Sqlite;
using VpsPanel.Features.Api;
using VpsPanel.Features.Auth;
using VpsPanel.Features.Data;
using VpsPanel.Features.Settings;

namespace VpsPanel.Features.Notifications;

/// <summary>The JSON of POST /api/notification-channels; settings values may be text or numbers (a port).</summary>
public sealed record ChannelRequest(string? Type, string? Name, Dictionary<string, JsonElement>? Settings, List<string>? Events, List<string>? Projects, bool AllowPrivateNetwork)
{
    /// <summary>With a projects list: owners may add their own project to the channel (NotifySubscriptions).</summary>
    public bool OpenToOwners { get; init; }
}

/// <summary>One attempt in a channel's delivery log.</summary>
public sealed record DeliveryRow
{
    public long Id { get; init; }
    public long MessageId { get; init; }
    public string Event { get; init; } = "";
    public string Project { get; init; } = "";
    public string At { get; init; } = "";
    public long Attempt { get; init; }
    public bool Ok { get; init; }
    public string Detail { get; init; } = "";
    public string Status { get; init; } = "";
}

/// <summary>/api/notification-channels (admins): list, create, delete, send a test, read the delivery log.</summary>
public static class NotifyApi
{
    public static void Map(RouteGroupBuilder api)
    {
        api.MapGet("/notification-channels", (HttpContext ctx, Db db, IDataProtectionProvider protection) =>
        {
            if (!ctx.User.IsAdmin()) return OnlyAdmins();
            using var c = db.Open();
            return Results.Ok(NotifyChannels.ListChannels(c).Select(ch => NotifyChannels.Json(c, protection, ch)));
        }).WithSummary("Notification channels (admins); secret settings show as ********");

        api.MapPost("/notification-channels", async (HttpContext ctx, Db db, IDataProtectionProvider protection, PanelSettings settings) =>
        {
            if (!ctx.User.IsAdmin()) return OnlyAdmins();
            var (body, error) = await ApiProblem.ReadJson<ChannelRequest>(ctx.Request);
            if (error is not null) return error;
            var input = new ChannelInput(body!.Type ?? "", body.Name ?? "",
                (body.Settings ?? []).ToDictionary(kv => kv.Key, kv => kv.Value.ValueKind == JsonValueKind.String ? kv.Value.GetString() ?? "" : kv.Value.ToString()),
                body.Events ?? [], body.Projects, body.AllowPrivateNetwork) { OpenToOwners = body.OpenToOwners };
            using var c = db.Open();
            var (errors, pub, sec, ids, events) = await NotifyChannels.ValidateAsync(c, input, null, null, settings, ctx.RequestAborted);
            if (errors.Count > 0) return ApiProblem.Invalid(errors);
            var id = NotifyChannels.InsertChannel(c, protection, input, pub, sec, ids, events);
            Audit.AuditLog.Record(c, ctx, "notify.channel.create", input.Name.Trim(), $"channel {id}, {input.Type}, events: {string.Join(", ", events)}" +
                (input.AllowPrivateNetwork ? ", private networks allowed" : "") + (input.OpenToOwners ? ", open to owners" : ""));
            return Results.Json(new { id }, statusCode: 201);
        }).WithSummary("Create a notification channel (admins): type email|slack|discord|telegram|ntfy|webhook, name, settings, events, projects (slugs; null = all), allowPrivateNetwork, openToOwners (owners may add their project to a channel with a projects list)");

        api.MapDelete("/notification-channels/{id:long}", (long id, HttpContext ctx, Db db) =>
        {
            if (!ctx.User.IsAdmin()) return OnlyAdmins();
            using var c = db.Open();
            var ch = NotifyChannels.FindChannel(c, id);
            if (ch is null || !NotifyChannels.DeleteChannel(c, id)) return ApiProblem.NotFound($"Notification channel {id}");
            Audit.AuditLog.Record(c, ctx, "notify.channel.delete", ch.Name, $"channel {id}");
            return Results.NoContent();
        }).WithSummary("Delete a notification channel, its queue and its delivery log (admins)");

        api.MapPost("/notification-channels/{id:long}/test", (long id, HttpContext ctx, Db db) =>
        {
            if (!ctx.User.IsAdmin()) return OnlyAdmins();
            using var c = db.Open();
            if (NotifyChannels.FindChannel(c, id) is not { } ch) return ApiProblem.NotFound($"Notification channel {id}");
            var message = Notify.QueueTest(c, id, ctx.User.Identity?.Name ?? "an admin");
            Audit.AuditLog.Record(c, ctx, "notify.channel.test", ch.Name, $"channel {id}, message {message}");
            return Results.Json(new { messageId = message }, statusCode: 202);
        }).WithSummary("Queue a test message to the channel (admins); its outcome appears in the delivery log");

        api.MapGet("/notification-channels/{id:long}/deliveries", (long id, HttpContext ctx, Db db) =>
        {
            if (!ctx.User.IsAdmin()) return OnlyAdmins();
            using var c = db.Open();
            if (NotifyChannels.FindChannel(c, id) is null) return ApiProblem.NotFound($"Notification channel {id}");
            return Results.Ok(new { queued = QueuedCount(c, id), deliveries = ListDeliveriesNewestFirst(c, id, 200) });
        }).WithSummary("The channel's delivery log (admins), newest first: every attempt with the service's answer or the error, and how many messages wait");
    }

    static IResult OnlyAdmins() => ApiProblem.Result(403, "Only admins can manage notification channels.");

    public static List<DeliveryRow> ListDeliveriesNewestFirst(SqliteConnection c, long channelId, int limit) =>
        c.Query<DeliveryRow>(
            """
            SELECT d.id, d.message_id AS MessageId, m.event, m.project, d.at, d.attempt, d.ok, d.detail, m.status
            FROM notification_deliveries d JOIN notification_messages m ON m.id = d.message_id
            WHERE d.channel_id = @channelId ORDER BY d.id DESC LIMIT @limit
            """, new { channelId, limit }).ToList();

    public static long QueuedCount(SqliteConnection c, long channelId) =>
        c.ExecuteScalar<long>("SELECT count(*) FROM notification_messages WHERE channel_id = @channelId AND status = 'pending'", new { channelId });
}
