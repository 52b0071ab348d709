using Microsoft.Data.Sqlite;
using VpsPanel.Features.Api;
using VpsPanel.Features.Auth;
using VpsPanel.Features.Caddy;
using VpsPanel.Features.Data;
using VpsPanel.Features.Projects;
using VpsPanel.Features.Settings;

namespace VpsPanel.Features.Domains;

/// <summary>
/// /api/projects/{slug}/domains: read and replace a project's domains. The same rules as the Domains page: every name
/// through <see cref="DomainName"/>, one project per name, and a refused Caddy reload changes nothing.
/// </summary>
public static class DomainApi
{
    public sealed record DomainJson(string? Hostname, bool HttpOnly);

    /// <summary>The body of a PUT: the domains with the primary first; aliasMode "serve" or "redirect".</summary>
    public sealed record PutDomainsRequest(List<DomainJson>? Domains, string? AliasMode, bool RedirectWww);

    public static void Map(RouteGroupBuilder api)
    {
        api.MapGet("/projects/{slug}/domains", (string slug, HttpContext ctx, Db db) =>
        {
            using var c = db.Open();
            var p = ProjectApi.FindVisible(c, ctx, slug);
            if (p is null) return ProjectApi.NotFound(slug);
            return Results.Ok(Json(ProjectDomains.FindDomainSetup(c, p.Id), PanelOptions.Load(c).DefaultDomain(p.Slug)));
        }).WithSummary("A project's domains (the primary first), alias mode, www redirect and default domain");

        api.MapPut("/projects/{slug}/domains", async (string slug, HttpContext ctx, Db db, DomainSites sites, CancellationToken ct) =>
        {
            using var c = db.Open();
            var p = ProjectApi.FindVisible(c, ctx, slug);
            if (p is null) return ProjectApi.NotFound(slug);
            var id = p.Id;
            var (body, error) = await ApiProblem.ReadJson<PutDomainsRequest>(ctx.Request);
            if (error is not null) return error;
            if (body!.AliasMode is not (null or ProjectDomains.Serve or ProjectDomains.Redirect))
                return ApiProblem.Invalid(new Dictionary<string, string> { ["aliasMode"] = "Use \"serve\" or \"redirect\"." });
            var inputs = (body.Domains ?? []).Select(d => new DomainInput(d.Hostname ?? "", d.HttpOnly)).ToList();
            var (domains, problem) = Check(c, p, inputs, body.RedirectWww, ctx);
            if (problem is not null) return problem;
            var setup = new DomainSetup(domains, body.AliasMode == ProjectDomains.Redirect, body.RedirectWww);
            if (await sites.SaveAndApplyAsync(id, setup, ct) is { } failed) return ApiProblem.Result(502, failed);
            Audit.AuditLog.Record(c, ctx, "domains.change", p.Slug, Audit.AuditLog.Domains(setup.Domains, setup.RedirectAliases, setup.RedirectWww));
            return Results.Ok(Json(setup, PanelOptions.Load(c).DefaultDomain(p.Slug)));
        }).WithSummary("Replace a project's domains; applied to Caddy at once when the project is live")
          .WithDescription("JSON body: {\"domains\": [{\"hostname\", \"httpOnly\"?}, ...] (the primary first), \"aliasMode\"?: \"serve\" | \"redirect\", " +
              "\"redirectWww\"?: true | false}. 422 names the entry that is wrong, 409 a domain another project has, 502 a reload Caddy refused (nothing changed).");
    }

    /// <summary>
    /// A replacement list judged as the Domains page judges it: each name, the list as a whole (422 naming the entry),
    /// then whose names they are (409). A null problem means the domains may be saved. PATCH /api/projects uses it too.
    /// </summary>
    public static (List<SiteDomain> Domains, IResult? Problem) Check(SqliteConnection c, ProjectRow p, List<DomainInput> inputs, bool redirectWww, HttpContext ctx)
    {
        var baseDomain = PanelOptions.Load(c).BaseDomain;
        var (domains, problems) = ProjectDomains.Validate(inputs, mayBeEmpty: baseDomain != "", redirectWww, ctx.User.IsAdmin());
        if (problems.Count > 0)
            return (domains, ApiProblem.Invalid(problems.ToDictionary(e => e.Key < 0 ? "domains" : $"domains[{e.Key}]", e => e.Value)));
        var claimed = ProjectDomains.ClaimedHosts(domains.Select(d => d.Host), redirectWww);
        if (ProjectDomains.FindConflict(claimed, p.Id, ProjectDomains.ListClaims(c), ctx.User.UserId(), ctx.User.IsAdmin(), baseDomain) is { } conflict)
            return (domains, ApiProblem.Result(409, conflict.Message));
        return (domains, null);
    }

    static object Json(DomainSetup s, string? defaultDomain) => new
    {
        domains = s.Domains.Select(d => new { hostname = d.Host, httpOnly = d.HttpOnly }),
        primary = s.Domains.FirstOrDefault()?.Host ?? defaultDomain,
        aliasMode = s.AliasMode,
        redirectWww = s.RedirectWww,
        defaultDomain,
    };
}
