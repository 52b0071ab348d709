using VpsPanel.Features.Api;
using VpsPanel.Features.Auth;
using VpsPanel.Features.Data;
using VpsPanel.Features.Projects;
using VpsPanel.Features.Settings;

namespace VpsPanel.Features.Domains;

/// <summary>
/// /api/projects/{id}/domains: read and replace a project's domains. The same rules as the Domains page: every name
/// through <see cref="DomainName"/>, one project per name, and a refused Caddy reload changes nothing.
/// </summary>
public static class DomainApi
{
    public sealed record DomainJson(string? Hostname, bool HttpOnly);

    /// <summary>The body of a PUT: the domains with the primary first; aliasMode "serve" or "redirect".</summary>
    public sealed record PutDomainsRequest(List<DomainJson>? Domains, string? AliasMode, bool RedirectWww);

    public static void Map(RouteGroupBuilder api)
    {
        api.MapGet("/projects/{id:long}/domains", (long id, HttpContext ctx, Db db) =>
        {
            using var c = db.Open();
            var p = ProjectStore.FindProjectVisibleTo(c, id, ctx.User.UserId(), ctx.User.IsAdmin());
            if (p is null) return ApiProblem.NotFound($"Project {id}");
            return Results.Ok(Json(ProjectDomains.FindDomainSetup(c, id), PanelOptions.Load(c).DefaultDomain(p.Slug)));
        }).WithSummary("A project's domains (the primary first), alias mode, www redirect and default domain");

        api.MapPut("/projects/{id:long}/domains", async (long id, HttpContext ctx, Db db, DomainSites sites, CancellationToken ct) =>
        {
            var (body, error) = await ApiProblem.ReadJson<PutDomainsRequest>(ctx.Request);
            if (error is not null) return error;
            using var c = db.Open();
            var p = ProjectStore.FindProjectVisibleTo(c, id, ctx.User.UserId(), ctx.User.IsAdmin());
            if (p is null) return ApiProblem.NotFound($"Project {id}");
            var options = PanelOptions.Load(c);
            var inputs = (body!.Domains ?? []).Select(d => new DomainInput(d.Hostname ?? "", d.HttpOnly)).ToList();
            var (domains, problems) = ProjectDomains.Validate(inputs, mayBeEmpty: options.BaseDomain != "", body.RedirectWww);
            var errors = problems.ToDictionary(e => e.Key < 0 ? "domains" : $"domains[{e.Key}]", e => e.Value);
            if (body.AliasMode is not (null or ProjectDomains.Serve or ProjectDomains.Redirect)) errors["aliasMode"] = "Use \"serve\" or \"redirect\".";
            if (errors.Count > 0) return ApiProblem.Invalid(errors);
            var claimed = ProjectDomains.ClaimedHosts(domains.Select(d => d.Host), body.RedirectWww);
            if (ProjectDomains.FindConflict(claimed, id, ProjectDomains.ListClaims(c), ctx.User.UserId(), ctx.User.IsAdmin()) is { } conflict)
                return ApiProblem.Result(409, conflict.Message);
            var setup = new DomainSetup(domains, body.AliasMode == ProjectDomains.Redirect, body.RedirectWww);
            if (await sites.SaveAndApplyAsync(id, setup, ct) is { } failed) return ApiProblem.Result(502, failed);
            return Results.Ok(Json(setup, options.DefaultDomain(p.Slug)));
        }).WithSummary("Replace a project's domains; applied to Caddy at once when the project is live");
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
