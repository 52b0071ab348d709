using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using VpsPanel.Features.Auth;
using VpsPanel.Features.Data;
using VpsPanel.Features.Domains;

namespace VpsPanel.Features.Settings;

/// <summary>
/// /settings (admins): the settings kept in the database. The wildcard base domain gives every project a default
/// domain &lt;slug&gt;.&lt;base&gt;; the panel domain makes Caddy serve the panel itself there (over HTTPS, so its
/// cookies become Secure). Saving (<see cref="DomainSettingsSave"/>, shared with PUT /api/settings) applies to Caddy
/// at once; if Caddy refuses, the old values stay. The operator's settings (file, environment) are listed read-only below.
/// </summary>
[Authorize(Policy = AuthCookie.AdminPolicy)]
public sealed class IndexModel(Db db, DomainSites sites, PanelSettings settings) : PageModel
{
    public string BaseDomain { get; private set; } = "";
    public string PanelDomain { get; private set; } = "";
    public Dictionary<string, string> Errors { get; } = [];
    public bool Saved { get; private set; }
    public PanelSettings Settings => settings;
    /// <summary>The daily release check (Upgrades/UpgradeCheck): on or off, and what it found.</summary>
    public Upgrades.UpgradeCheckState Upgrade { get; private set; } = new(false, null, null, null);

    public void OnGet()
    {
        using var c = db.Open();
        var o = PanelOptions.Load(c);
        (BaseDomain, PanelDomain) = (o.BaseDomain, o.PanelDomain);
        Upgrade = Upgrades.UpgradeCheckState.Load(c);
        Saved = Request.Query.ContainsKey("saved");
    }

    public async Task<IActionResult> OnPostAsync(string? baseDomain, string? panelDomain, CancellationToken ct)
    {
        BaseDomain = (baseDomain ?? "").Trim();
        PanelDomain = (panelDomain ?? "").Trim();
        using var c = db.Open();
        var r = await DomainSettingsSave.SaveAsync(c, sites, HttpContext, BaseDomain, PanelDomain, ("baseDomain", "panelDomain"), ct);
        if (r.Saved) return Shared.PostRedirect.To(HttpContext, "/settings?saved=1");
        Upgrade = Upgrades.UpgradeCheckState.Load(c);
        foreach (var (field, message) in r.Invalid.Concat(r.Conflicts)) Errors[field] = message;
        if (r.CaddyRefused is { } refused) Errors["form"] = refused;
        Response.StatusCode = StatusCodes.Status422UnprocessableEntity;
        return Page();
    }

    /// <summary>The release check's switch; a checkbox left unticked sends nothing, which is "off".</summary>
    public IActionResult OnPostUpgradeCheck(string? enabled)
    {
        using var c = db.Open();
        Upgrades.UpgradeCheckState.Toggle(c, HttpContext, enabled == "true");
        return Shared.PostRedirect.To(HttpContext, "/settings?saved=1");
    }
}
