using Microsoft.Data.Sqlite;
using VpsPanel.Features.Caddy;
using VpsPanel.Features.Domains;

namespace VpsPanel.Features.Settings;

/// <summary>
/// Saving the wildcard base domain and the panel domain, for the Settings page and PUT /api/settings alike, so the
/// two cannot drift apart: each value is canonicalised (or gets a message on its field), checked against the projects'
/// domains, saved, applied to Caddy (the old values come back if Caddy refuses), and audited. The callers only turn
/// the outcome into a page or a problem response, under their own field names.
/// </summary>
public static class DomainSettingsSave
{
    /// <summary>
    /// What happened. <see cref="Invalid"/>: field → what is wrong with the value itself; <see cref="Conflicts"/>:
    /// field → the project it clashes with; <see cref="CaddyRefused"/>: why nothing was changed. Options: what is stored now.
    /// </summary>
    public sealed record Outcome(PanelOptions Options, Dictionary<string, string> Invalid, Dictionary<string, string> Conflicts, string? CaddyRefused)
    {
        public bool Saved => Invalid.Count == 0 && Conflicts.Count == 0 && CaddyRefused is null;
    }

    // One save at a time: two at once (page and API) could each put back the other's "before" when Caddy refuses one.
    static readonly SemaphoreSlim Gate = new(1, 1);

    /// <summary>
    /// Validates and saves both values ("" clears one). <paramref name="fields"/> are the caller's names for them
    /// (the page's form fields, the API's JSON fields); messages are keyed by them.
    /// </summary>
    public static async Task<Outcome> SaveAsync(SqliteConnection c, DomainSites sites, HttpContext ctx, string baseDomain, string panelDomain,
        (string Base, string Panel) fields, CancellationToken ct)
    {
        var invalid = new Dictionary<string, string>();
        var next = new PanelOptions(Canonical(invalid, fields.Base, baseDomain.Trim(), wildcardBase: true), Canonical(invalid, fields.Panel, panelDomain.Trim(), wildcardBase: false));
        if (invalid.Count > 0) return new Outcome(PanelOptions.Load(c), invalid, [], null);
        await Gate.WaitAsync(ct);
        try
        {
            var conflicts = Conflicts(c, next, fields);
            if (conflicts.Count > 0) return new Outcome(PanelOptions.Load(c), [], conflicts, null);
            var before = PanelOptions.Load(c);
            next.Save(c);
            try { await sites.ApplyAllAsync(_ => { }, ct); }
            catch (CaddyException e)
            {
                before.Save(c);
                return new Outcome(before, [], [], $"Nothing was changed: {e.Message}");
            }
            Audit.AuditLog.Record(c, ctx, "settings.change", "settings", $"base domain \"{next.BaseDomain}\", panel domain \"{next.PanelDomain}\"");
            return new Outcome(next, [], [], null);
        }
        finally { Gate.Release(); }
    }

    /// <summary>The canonical domain, or "" when empty; a message on the field otherwise. The base may be typed as *.base.</summary>
    static string Canonical(Dictionary<string, string> errors, string field, string value, bool wildcardBase)
    {
        if (value == "") return "";
        var r = DomainName.Normalize(value);
        if (r.Error is { } e) { errors[field] = e; return ""; }
        var d = r.Domain!;
        if (wildcardBase && d.StartsWith("*.", StringComparison.Ordinal)) d = d[2..];
        if (d.Contains('*')) errors[field] = "Enter one domain, without a wildcard.";
        return d;
    }

    /// <summary>The panel domain and the new default domains must not be a project's domain already.</summary>
    static Dictionary<string, string> Conflicts(SqliteConnection c, PanelOptions next, (string Base, string Panel) fields)
    {
        var errors = new Dictionary<string, string>();
        var claims = ProjectDomains.ListClaims(c).Where(x => x.ProjectId != 0).ToList();
        if (next.PanelDomain != "" && claims.FirstOrDefault(x => DomainName.Matches(x.Host, next.PanelDomain)) is { } taken)
            errors[fields.Panel] = $"{next.PanelDomain} is a domain of project \"{taken.ProjectName}\"; choose another one or remove it there first.";
        // A wildcard may not cover the base domain or the default domains under it (see ProjectDomains.WildcardProblem).
        if (next.BaseDomain != "" && claims.FirstOrDefault(x => ProjectDomains.WildcardProblem(x.Host, x.ProjectId, [], next.BaseDomain) is not null) is { } wide)
            errors[fields.Base] = $"Project \"{wide.ProjectName}\" has the wildcard domain {wide.Host}, which would cover {next.BaseDomain} or the default domains under it; remove it there first.";
        foreach (var p in ProjectDomains.ListRoutedProjects(c))
        {
            var dd = next.DefaultDomain(p.Slug);
            if (dd is null) break;
            if (claims.FirstOrDefault(x => x.Host == dd && x.ProjectId != p.Id) is { } other)
            {
                errors[fields.Base] = $"Project \"{p.Name}\" would get the default domain {dd}, which is already a domain of project \"{other.ProjectName}\".";
                break;
            }
            if (dd == next.PanelDomain)
            {
                errors[fields.Base] = $"Project \"{p.Name}\" would get the default domain {dd}, which is the panel domain.";
                break;
            }
        }
        return errors;
    }
}
