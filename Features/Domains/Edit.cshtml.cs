using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using VpsPanel.Features.Auth;
using VpsPanel.Features.Data;
using VpsPanel.Features.Projects;
using VpsPanel.Features.Settings;

namespace VpsPanel.Features.Domains;

/// <summary>
/// /projects/{id}/domains: a project's domains, one row each (the primary chosen by a radio button, HTTP only per
/// row), what the other domains do, and the www redirect. Saving applies to Caddy at once when the project is live.
/// </summary>
public sealed class EditModel(Db db, DomainSites sites, PanelSettings settings) : PageModel
{
    /// <summary>Empty rows offered below the filled ones for adding domains.</summary>
    const int SpareRows = 3;

    public ProjectRow? Project { get; private set; }
    public List<DomainInput> Rows { get; private set; } = [];
    public int Primary { get; private set; }
    public bool RedirectAliases { get; private set; }
    public bool RedirectWww { get; private set; }
    public string? DefaultDomain { get; private set; }
    public Dictionary<string, string> Errors { get; } = [];
    public bool Saved { get; private set; }
    public bool AutomaticHttps => settings.AutomaticHttps;

    public IActionResult OnGet(long id)
    {
        if (!Load(id)) return NotFound();
        using var c = db.Open();
        var setup = ProjectDomains.FindDomainSetup(c, id);
        Rows = setup.Domains.Select(d => new DomainInput(d.Host, d.HttpOnly)).ToList();
        RedirectAliases = setup.RedirectAliases;
        RedirectWww = setup.RedirectWww;
        Saved = Request.Query.ContainsKey("saved");
        PadRows();
        return Page();
    }

    public async Task<IActionResult> OnPostAsync(long id, CancellationToken ct)
    {
        if (!Load(id)) return NotFound();
        // The rows as posted: host[i] with httpOnly listing the indexes that are ticked, primary the chosen index.
        var hosts = Request.Form["host"].Select(h => h ?? "").ToList();
        var httpOnly = Request.Form["httpOnly"].Select(v => int.TryParse(v, out var i) ? i : -1).ToHashSet();
        Rows = hosts.Select((h, i) => new DomainInput(h, httpOnly.Contains(i))).ToList();
        Primary = int.TryParse(Request.Form["primary"], out var p) ? p : 0;
        RedirectAliases = Request.Form["aliasMode"] == ProjectDomains.Redirect;
        RedirectWww = Request.Form["redirectWww"] == "true";

        // Empty rows are unused spares; the chosen primary goes first.
        var filled = Rows.Select((r, i) => (Row: r, Index: i)).Where(x => x.Row.Raw.Trim() != "").ToList();
        if (filled.FindIndex(x => x.Index == Primary) is var at && at > 0)
        {
            var chosen = filled[at];
            filled.RemoveAt(at);
            filled.Insert(0, chosen);
        }
        using var c = db.Open();
        var options = PanelOptions.Load(c);
        var (domains, problems) = ProjectDomains.Validate(filled.Select(x => x.Row).ToList(), mayBeEmpty: options.BaseDomain != "", RedirectWww, User.IsAdmin());
        foreach (var (k, message) in problems) Errors[k < 0 ? "domains" : $"host-{filled[k].Index}"] = message;
        if (Errors.Count == 0 && filled.Count > 0 && !filled.Any(x => x.Index == Primary))
            Errors["domains"] = "Choose the primary domain among the filled rows.";
        if (Errors.Count == 0
            && ProjectDomains.FindConflict(ProjectDomains.ClaimedHosts(domains.Select(d => d.Host), RedirectWww), id, ProjectDomains.ListClaims(c), User.UserId(), User.IsAdmin(), options.BaseDomain) is { } conflict)
        {
            var row = filled.FindIndex(x => DomainName.Normalize(x.Row.Raw, true).Domain == conflict.Host);
            Errors[row >= 0 ? $"host-{filled[row].Index}" : "domains"] = conflict.Message;
        }
        if (Errors.Count == 0 && await sites.SaveAndApplyAsync(id, new DomainSetup(domains, RedirectAliases, RedirectWww), ct) is { } failed)
            Errors["domains"] = failed;
        if (Errors.Count > 0)
        {
            PadRows();
            Response.StatusCode = StatusCodes.Status422UnprocessableEntity;
            return Page();
        }
        Audit.AuditLog.Record(c, HttpContext, "domains.change", Project!.Slug, Audit.AuditLog.Domains(domains, RedirectAliases, RedirectWww));
        return Shared.PostRedirect.To(HttpContext, $"/projects/{id}/domains?saved=1");
    }

    bool Load(long id)
    {
        using var c = db.Open();
        Project = ProjectStore.FindProjectVisibleTo(c, id, User.UserId(), User.IsAdmin());
        if (Project is null) return false;
        DefaultDomain = PanelOptions.Load(c).DefaultDomain(Project.Slug);
        return true;
    }

    void PadRows()
    {
        for (var i = 0; i < SpareRows; i++) Rows.Add(new DomainInput("", false));
    }
}
