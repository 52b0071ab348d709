using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using VpsPanel.Features.Auth;
using VpsPanel.Features.Data;
using VpsPanel.Features.Settings;

namespace VpsPanel.Features.Notifications;

/// <summary>/notifications (admins): the channels, how many messages each has waiting, and the form for a new one.</summary>
[Authorize(Policy = AuthCookie.AdminPolicy)]
public sealed class IndexModel(Db db, IDataProtectionProvider protection, PanelSettings settings) : PageModel
{
    public List<(ChannelRow Channel, long Queued)> Channels { get; private set; } = [];
    public ChannelForm Form { get; private set; } = ChannelForm.Empty;

    public void OnGet() => Load();

    void Load()
    {
        using var c = db.Open();
        Channels = NotifyChannels.ListChannels(c).Select(ch => (ch, NotifyApi.QueuedCount(c, ch.Id))).ToList();
    }

    public async Task<IActionResult> OnPostAsync(CancellationToken ct)
    {
        Form = ChannelForm.Read(Request.Form);
        var input = Form.Input();
        using var c = db.Open();
        var (errors, pub, sec, ids, events) = await NotifyChannels.ValidateAsync(c, input, null, null, settings, ct);
        if (errors.Count > 0)
        {
            Form = Form.WithErrors(errors);
            Load();
            Response.StatusCode = 422;
            return Page();
        }
        var id = NotifyChannels.InsertChannel(c, protection, input, pub, sec, ids, events);
        Audit.AuditLog.Record(c, HttpContext, "notify.channel.create", input.Name.Trim(), $"channel {id}, {input.Type}, events: {string.Join(", ", events)}" +
            (input.AllowPrivateNetwork ? ", private networks allowed" : "") + (input.OpenToOwners ? ", open to owners" : ""));
        return Redirect($"/notifications/{id}");
    }
}
