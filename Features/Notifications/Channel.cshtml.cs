using Dapper;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using VpsPanel.Features.Auth;
using VpsPanel.Features.Data;
using VpsPanel.Features.Settings;

namespace VpsPanel.Features.Notifications;

/// <summary>/notifications/{id} (admins): change a channel, send it a test, delete it, and read its delivery log.</summary>
[Authorize(Policy = AuthCookie.AdminPolicy)]
public sealed class ChannelModel(Db db, IDataProtectionProvider protection, PanelSettings settings) : PageModel
{
    public ChannelRow Channel { get; private set; } = new();
    public ChannelForm Form { get; private set; } = ChannelForm.Empty;
    public List<DeliveryRow> Deliveries { get; private set; } = [];
    public long Queued { get; private set; }
    public string? Notice { get; private set; }

    bool Load(Microsoft.Data.Sqlite.SqliteConnection c, long id, bool form)
    {
        if (NotifyChannels.FindChannel(c, id) is not { } ch) return false;
        Channel = ch;
        if (form)
            Form = ChannelForm.Of(ch, NotifyChannels.MaskedSettingsOf(protection, ch),
                ch.ProjectIds?.Select(p => c.ExecuteScalar<string?>("SELECT slug FROM projects WHERE id = @p", new { p })).OfType<string>() ?? []);
        Deliveries = NotifyApi.ListDeliveriesNewestFirst(c, id, 100);
        Queued = NotifyApi.QueuedCount(c, id);
        return true;
    }

    public IActionResult OnGet(long id)
    {
        using var c = db.Open();
        if (!Load(c, id, form: true)) return NotFound();
        Notice = Request.Query["done"].ToString() switch { "saved" => "Saved.", "test" => "Test message queued; its delivery appears below.", _ => null };
        return Page();
    }

    public async Task<IActionResult> OnPostAsync(long id, CancellationToken ct)
    {
        using var c = db.Open();
        if (!Load(c, id, form: false)) return NotFound();
        Form = ChannelForm.Read(Request.Form);
        var input = Form.Input();
        // Blank or ******** secrets keep the stored ones, but only when the type stays the same.
        var kept = input.Type == Channel.Type ? NotifyChannels.SecretsOf(protection, Channel) : null;
        var (errors, pub, sec, ids, events) = await NotifyChannels.ValidateAsync(c, input, id, kept, settings, ct);
        if (errors.Count > 0)
        {
            Form = Form.WithErrors(errors);
            Response.StatusCode = 422;
            return Page();
        }
        NotifyChannels.UpdateChannel(c, protection, id, input, pub, sec, ids, events);
        Audit.AuditLog.Record(c, HttpContext, "notify.channel.update", input.Name.Trim(), $"channel {id}, {input.Type}, events: {string.Join(", ", events)}" +
            (input.AllowPrivateNetwork ? ", private networks allowed" : "") + (input.OpenToOwners ? ", open to owners" : ""));
        return Redirect($"/notifications/{id}?done=saved");
    }

    public IActionResult OnPostTest(long id)
    {
        using var c = db.Open();
        if (NotifyChannels.FindChannel(c, id) is not { } ch) return NotFound();
        var message = Notify.QueueTest(c, id, User.Identity?.Name ?? "an admin");
        Audit.AuditLog.Record(c, HttpContext, "notify.channel.test", ch.Name, $"channel {id}, message {message}");
        return Redirect($"/notifications/{id}?done=test");
    }

    public IActionResult OnPostDelete(long id)
    {
        using var c = db.Open();
        if (NotifyChannels.FindChannel(c, id) is not { } ch || !NotifyChannels.DeleteChannel(c, id)) return NotFound();
        Audit.AuditLog.Record(c, HttpContext, "notify.channel.delete", ch.Name, $"channel {id}");
        return Redirect("/notifications");
    }
}
