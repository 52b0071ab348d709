using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using VpsPanel.Features.Auth;
using VpsPanel.Features.Caddy;
using VpsPanel.Features.Data;
using VpsPanel.Features.Domains;

namespace VpsPanel.Features.Settings;

/// <summary>
/// /settings (admins): the settings kept in the database. The wildcard base domain gives every project a default
/// domain &lt;slug&gt;.&lt;base&gt;; the panel domain makes Caddy serve the panel itself there (over HTTPS, so its
/// cookies become Secure). Saving applies to Caddy at once; if Caddy refuses, the old values stay.
/// The operator's settings (file, environment) are listed read-only below.
/// </summary>
[Authorize(Policy = AuthCookie.AdminPolicy)]
public sealed class IndexModel(Db db, DomainSites sites, PanelSettings settings) : PageModel
{
    public string BaseDomain { get; private set; } = "";
    public string PanelDomain { get; private set; } = "";
    public Dictionary<string, string> Errors { get; } = [];
    public bool Saved { get; private set; }
    public PanelSettings Settings => settings;

    public void OnGet()
    {
        using var c = db.Open();
        var o = PanelOptions.Load(c);
        (BaseDomain, PanelDomain) = (o.BaseDomain, o.PanelDomain);
        Saved = Request.Query.ContainsKey("saved");
    }

    public async Task<IActionResult> OnPostAsync(string? baseDomain, string? panelDomain, CancellationToken ct)
    {
        BaseDomain = (baseDomain ?? "").Trim();
        PanelDomain = (panelDomain ?? "").Trim();
        var next = new PanelOptions(Canonical("baseDomain", BaseDomain, wildcardBase: true), Canonical("panelDomain", PanelDomain, wildcardBase: false));
        using var c = db.Open();
        if (Errors.Count == 0) CheckConflicts(c, next);
        if (Errors.Count == 0)
        {
            var before = PanelOptions.Load(c);
            next.Save(c);
            try { await sites.ApplyAllAsync(_ => { }, ct); }
            catch (CaddyException e)
            {
                before.Save(c);
                Errors["form"] = $"Nothing was changed: {e.Message}";
            }
        }
        if (Errors.Count > 0)
        {
            Response.StatusCode = StatusCodes.Status422UnprocessableEntity;
            return Page();
        }
        Audit.AuditLog.Record(c, HttpContext, "settings.change", "settings", $"base domain \"{next.BaseDomain}\", panel domain \"{next.PanelDomain}\"");
        return Shared.PostRedirect.To(HttpContext, "/settings?saved=1");
    }

    /// <summary>The canonical domain, or "" when empty; a message on the field otherwise. The base may be typed as *.base.</summary>
    string Canonical(string field, string value, bool wildcardBase)
    {
        if (value == "") return "";
        var r = DomainName.Normalize(value);
        if (r.Error is { } e) { Errors[field] = e; return ""; }
        var d = r.Domain!;
        if (wildcardBase && d.StartsWith("*.", StringComparison.Ordinal)) d = d[2..];
        if (d.Contains('*')) Errors[field] = "Enter one domain, without a wildcard.";
        return d;
    }

    /// <summary>The panel domain and the new default domains must not be a project's domain already.</summary>
    void CheckConflicts(Microsoft.Data.Sqlite.SqliteConnection c, PanelOptions next)
    {
        var claims = ProjectDomains.ListClaims(c).Where(x => x.ProjectId != 0).ToList();
        if (next.PanelDomain != "" && claims.FirstOrDefault(x => DomainName.Matches(x.Host, next.PanelDomain)) is { } taken)
            Errors["panelDomain"] = $"{next.PanelDomain} is a domain of project \"{taken.ProjectName}\"; choose another one or remove it there first.";
        // A wildcard may not cover the base domain or the default domains under it (see ProjectDomains.WildcardProblem).
        if (next.BaseDomain != "" && claims.FirstOrDefault(x => ProjectDomains.WildcardProblem(x.Host, x.ProjectId, [], next.BaseDomain) is not null) is { } wide)
            Errors["baseDomain"] = $"Project \"{wide.ProjectName}\" has the wildcard domain {wide.Host}, which would cover {next.BaseDomain} or the default domains under it; remove it there first.";
        foreach (var p in ProjectDomains.ListRoutedProjects(c))
        {
            var dd = next.DefaultDomain(p.Slug);
            if (dd is null) break;
            if (claims.FirstOrDefault(x => x.Host == dd && x.ProjectId != p.Id) is { } other)
            {
                Errors["baseDomain"] = $"Project \"{p.Name}\" would get the default domain {dd}, which is already a domain of project \"{other.ProjectName}\".";
                break;
            }
            if (dd == next.PanelDomain)
            {
                Errors["baseDomain"] = $"Project \"{p.Name}\" would get the default domain {dd}, which is the panel domain.";
                break;
            }
        }
    }
}
