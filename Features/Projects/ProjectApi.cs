using Dapper;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Data.Sqlite;
using VpsPanel.Features.Api;
using VpsPanel.Features.Auth;
using VpsPanel.Features.Data;
using VpsPanel.Features.Deployments;
using VpsPanel.Features.Settings;
using VpsPanel.Features.Webhooks;

namespace VpsPanel.Features.Projects;

/// <summary>
/// /api/projects: the project pages as JSON. Same rules as the pages (the same <see cref="ProjectChanges"/> and
/// <see cref="ProjectStore.Validate"/>), same access: a project the token's user may not see is a 404, never a 403,
/// so a member cannot even learn which slugs exist.
/// </summary>
public static class ProjectApi
{
    /// <summary>The body of POST (create) and PATCH (change; absent fields keep their value).</summary>
    public sealed record ProjectRequest(
        string? Name, string? GitUrl, string? Branch, int? Port, string? Dockerfile, string? ContextDir, string? HealthPath,
        List<string>? Domains, string? GitAuth, string? GitToken, bool? AutoDeploy,
        long? MemoryMb = null, decimal? Cpus = null, long? PidsLimit = null, string? BaseDir = null, List<string>? WatchPaths = null, string? BuildTarget = null,
        string? InstallCommand = null, string? BuildCommand = null, string? StartCommand = null, bool? StopOldFirst = null,
        System.Text.Json.JsonElement? Replicas = null, string? Target = null, string? Placement = null);

    const string BodyDoc =
        "JSON body: {\"name\", \"gitUrl\", \"branch\"? (empty or left out: the repository's default branch), \"port\"? (left out at creation, or 0: the image's EXPOSE, read at every deploy), \"dockerfile\"?, \"contextDir\"?, \"healthPath\"? (empty: the image's HEALTHCHECK, else GET /), \"domains\": [...], " +
        "\"gitAuth\"? (none|token|ssh), \"gitToken\"?, \"autoDeploy\"?, \"installCommand\"?, \"buildCommand\"?, \"startCommand\"? (for a generated Dockerfile; \"\" = detected), \"memoryMb\"?, \"cpus\"?, \"pidsLimit\"? (admins only; 0 = the panel's default), " +
        "\"baseDir\"? (monorepo directory the context and Dockerfile are relative to; \"\" = the root), \"watchPaths\"? ([] = every push deploys), \"buildTarget\"? (a Dockerfile stage; \"\" = the last), \"stopOldFirst\"? (stop the live container before the new one starts: a few seconds of downtime), \"replicas\"? (1-10 containers balanced by Caddy; admins only; applied to the live deployment at once), " +
        "\"target\"? (server|cluster: this server's containers or a Swarm service on the cluster; admins only; from the next deploy), \"placement\"? (cluster only: any|spread|label:KEY=VALUE|node:HOSTNAME)}. " +
        "Invalid fields: 422 with `errors` per field.";

    public sealed record ProjectSummary(string Slug, string Name, string Owner, string? LiveStatus, string? LastStatus, string? Domain, string Environment);

    public sealed record ProjectDetail(
        long Id, string Slug, string Name, string Owner, string GitUrl, string Branch, string Dockerfile, string ContextDir, int? Port,
        string HealthPath, List<string> Domains, string GitAuth, string? SshPublicKey, bool AutoDeploy, string WebhookUrl,
        string? WebhookSecret, long? LiveDeploymentId, string CreatedAt,
        long? MemoryMb = null, decimal? Cpus = null, long? PidsLimit = null, string? BaseDir = null, List<string>? WatchPaths = null, string? BuildTarget = null,
        string? InstallCommand = null, string? BuildCommand = null, string? StartCommand = null, bool StopOldFirst = false, int Replicas = 1,
        string Environment = ProjectEnvironments.Production, string? EnvironmentOf = null, string Target = "server", string Placement = "any");

    /// <summary>The form's field names as the API spells them, so a 422's errors name what the caller sent.</summary>
    static readonly Dictionary<string, string> ApiFieldNames = new() { ["containerPort"] = "port", ["dockerfilePath"] = "dockerfile" };

    static IResult Invalid(Dictionary<string, string> errors) =>
        ApiProblem.Invalid(errors.ToDictionary(e => ApiFieldNames.GetValueOrDefault(e.Key, e.Key), e => e.Value));

    const int DefaultProjectsPerRequest = 100, MaxProjectsPerRequest = 500;

    /// <summary>A whole number from the query within [min, max]; absent: the default; anything else is an error naming the range.</summary>
    static int PagingParameter(HttpContext ctx, string name, int fallback, int min, int max, Dictionary<string, string> errors)
    {
        if (!ctx.Request.Query.TryGetValue(name, out var raw)) return fallback;
        if (int.TryParse(raw.ToString(), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) && n >= min && n <= max) return n;
        errors[name] = (max == int.MaxValue ? $"{name} must be a whole number, {min} or more" : $"{name} must be a whole number from {min} to {max}") + $"; got \"{raw}\".";
        return fallback;
    }

    public static void Map(RouteGroupBuilder api)
    {
        api.MapGet("/projects", (HttpContext ctx, Db db, ReadCache cache) =>
        {
            // Paged, so one request costs the same with 10 projects or 1,000 (README "Performance"): the array stays the
            // answer, X-Total-Count says how many there are and Link (rel="next") where the next page is.
            var errors = new Dictionary<string, string>();
            var limit = PagingParameter(ctx, "limit", DefaultProjectsPerRequest, 1, MaxProjectsPerRequest, errors);
            var offset = PagingParameter(ctx, "offset", 0, 0, int.MaxValue, errors);
            if (errors.Count > 0) return ApiProblem.Invalid(errors);
            var (userId, isAdmin) = (ctx.User.UserId(), ctx.User.IsAdmin());
            // Kept until the database changes (Data/ReadCache): the same page is asked again and again by scripts and dashboards.
            // The JSON is kept too, as sent: serializing the page was over a quarter of this request's CPU (issue 20,
            // perf of bench/pages.sh), and it is written with the options Results.Ok would use, so the bytes are the same.
            var (total, count, json) = cache.Get($"api-projects:{userId}:{isAdmin}:{limit}:{offset}", () =>
            {
                using var c = db.Open();
                var total = ProjectStore.CountProjectsVisibleTo(c, userId, isAdmin);
                var page = ProjectStore.ListProjectPageVisibleTo(c, userId, isAdmin, limit, offset)
                    .Select(p => new ProjectSummary(p.Slug, p.Name, p.OwnerEmail, p.LiveStatus, p.LastStatus, p.Domain, p.Environment)).ToList();
                var options = ctx.RequestServices.GetRequiredService<Microsoft.Extensions.Options.IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions>>().Value.SerializerOptions;
                return Tuple.Create(total, page.Count, System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(page, options));
            });
            ctx.Response.Headers["X-Total-Count"] = total.ToString(System.Globalization.CultureInfo.InvariantCulture);
            if (offset + count < total) ctx.Response.Headers.Link = $"</api/projects?limit={limit}&offset={offset + count}>; rel=\"next\"";
            return Results.Bytes(json, "application/json; charset=utf-8");
        }).WithSummary($"Projects you can see (admins: all), by name; ?limit= (1-{MaxProjectsPerRequest}, default {DefaultProjectsPerRequest}) and ?offset=; X-Total-Count and Link rel=\"next\" headers")
          .Produces<List<ProjectSummary>>().ProducesProblem(422);

        api.MapGet("/projects/{slug}", (string slug, HttpContext ctx, Db db, IDataProtectionProvider protection, PanelSettings settings) =>
        {
            using var c = db.Open();
            return FindVisible(c, ctx, slug) is { } p ? Results.Ok(Detail(c, protection, settings, p)) : NotFound(slug);
        }).WithSummary("One project, with its webhook URL and secret").Produces<ProjectDetail>();

        api.MapPost("/projects", async (HttpContext ctx, Db db, ProjectChanges changes, IDataProtectionProvider protection, PanelSettings settings) =>
        {
            var (body, error) = await ApiProblem.ReadJson<ProjectRequest>(ctx.Request);
            if (error is not null) return error;
            var form = Merge(ProjectForm.Empty with { Branch = "", ContainerPort = "" }, body!) with { Name = body!.Name?.Trim() ?? "" };
            var (created, errors) = await changes.CreateAsync(form, ctx.User.UserId(), ctx.User.IsAdmin(), ctx.RequestAborted);
            if (created is null) return Invalid(errors);
            using var c = db.Open();
            Audit.AuditLog.Record(c, ctx, "project.create", created.Slug, $"from {form.GitUrl} branch {form.Branch}");
            var p = ProjectStore.FindProjectById(c, created.Id)!;
            return Results.Json(Detail(c, protection, settings, p), ApiProblem.JsonOptions, statusCode: 201);
        }).WithSummary("Create a project; the answer carries its webhook URL and secret").WithDescription(BodyDoc)
          .Produces<ProjectDetail>(201).ProducesProblem(422);

        api.MapPatch("/projects/{slug}", async (string slug, HttpContext ctx, Db db, ProjectChanges changes, Domains.DomainSites sites,
            IDataProtectionProvider protection, PanelSettings settings) =>
        {
            ProjectRow? p;
            ProjectForm current;
            using (var c = db.Open())
            {
                p = FindVisible(c, ctx, slug);
                if (p is null) return NotFound(slug);
                current = ProjectFormReader.FromProject(p) with { AutoDeploy = WebhookStore.FindAutoDeploy(c, p.Id), Replicas = ProjectReplicas.FindReplicas(c, p.Id).ToString() };
            }
            var (body, error) = await ApiProblem.ReadJson<ProjectRequest>(ctx.Request);
            if (error is not null) return error;
            if (body!.Name is { } name && name.Trim() != p.Name)
                return Invalid(new() { ["name"] = "A project's name cannot be changed: its short name names its containers, images and webhook URL." });
            // Domains (the primary first) are judged before anything is saved, and applied to Caddy last, at once.
            // HTTP only, alias and www redirects stay as they are; PUT /api/projects/{slug}/domains sets those too.
            Domains.DomainSetup? newDomains = null;
            if (body.Domains is { } hosts)
            {
                using var c = db.Open();
                var before = Domains.ProjectDomains.FindDomainSetup(c, p.Id);
                var inputs = hosts.Select(h => new Domains.DomainInput(h ?? "", before.Domains.Any(d => d.Host == h?.Trim().ToLowerInvariant() && d.HttpOnly))).ToList();
                var (list, problem) = Domains.DomainApi.Check(c, p, inputs, before.RedirectWww, ctx);
                if (problem is not null) return problem;
                newDomains = before with { Domains = list };
            }
            var errors = await changes.UpdateAsync(p, Merge(current, body), ctx.User.IsAdmin(), ctx.RequestAborted);
            if (errors.Count > 0) return Invalid(errors);
            Audit.AuditLog.Record(ctx, "project.edit", p.Slug, "fields: " + string.Join(", ", typeof(ProjectRequest).GetProperties().Where(x => x.GetValue(body) is not null).Select(x => x.Name)));
            if (newDomains is not null && await sites.SaveAndApplyAsync(p.Id, newDomains, ctx.RequestAborted) is { } failed)
                return ApiProblem.Result(502, $"The other changes were saved; the domains were not. {failed}");
            using var c2 = db.Open();
            if (newDomains is not null) Audit.AuditLog.Record(c2, ctx, "domains.change", p.Slug, Audit.AuditLog.Domains(newDomains.Domains, newDomains.RedirectAliases, newDomains.RedirectWww));
            return Results.Ok(Detail(c2, protection, settings, ProjectStore.FindProjectById(c2, p.Id)!));
        }).WithSummary("Change a project (fields left out keep their value); used from the next deployment on").WithDescription(BodyDoc)
          .Produces<ProjectDetail>().ProducesProblem(422);

        api.MapDelete("/projects/{slug}", async (string slug, bool? deleteVolumes, HttpContext ctx, Db db, ProjectChanges changes) =>
        {
            ProjectRow? p;
            using (var c = db.Open()) p = FindVisible(c, ctx, slug);
            if (p is null) return NotFound(slug);
            if (await changes.DeleteAsync(p, ctx.RequestAborted, deleteVolumes == true) is { } problem) return ApiProblem.Result(409, problem);
            Audit.AuditLog.Record(ctx, "project.delete", p.Slug, deleteVolumes == true ? "with its volumes" : "volumes kept");
            return Results.NoContent();
        }).WithSummary("Delete a project with its containers, images and Caddy site; its volumes too with ?deleteVolumes=true (else they are kept as orphaned volumes)");
    }

    /// <summary>The request's fields over a form (absent ones keep the form's value); the form's own rules then judge it.</summary>
    static ProjectForm Merge(ProjectForm f, ProjectRequest r) => f with
    {
        GitUrl = r.GitUrl?.Trim() ?? f.GitUrl,
        Branch = r.Branch?.Trim() ?? f.Branch,
        // 0 goes back to detecting the port from the image's EXPOSE at every deploy.
        ContainerPort = r.Port is { } port ? (port == 0 ? "" : port.ToString(System.Globalization.CultureInfo.InvariantCulture)) : f.ContainerPort,
        DockerfilePath = r.Dockerfile?.Trim() ?? f.DockerfilePath,
        ContextDir = r.ContextDir?.Trim() ?? f.ContextDir,
        HealthPath = r.HealthPath?.Trim() ?? f.HealthPath,
        Domains = r.Domains is { } d ? string.Join('\n', d) : f.Domains,
        GitAuth = r.GitAuth?.Trim() ?? f.GitAuth,
        GitToken = r.GitToken?.Trim() ?? "",
        AutoDeploy = r.AutoDeploy ?? f.AutoDeploy,
        StopOldFirst = r.StopOldFirst ?? f.StopOldFirst,
        // 0 goes back to the panel's default; any other number is judged by ProjectLimits.FromForm.
        MemoryMb = r.MemoryMb is { } m ? (m == 0 ? "" : m.ToString(System.Globalization.CultureInfo.InvariantCulture)) : f.MemoryMb,
        Cpus = r.Cpus is { } cp ? (cp == 0 ? "" : cp.ToString(System.Globalization.CultureInfo.InvariantCulture)) : f.Cpus,
        BuildTarget = r.BuildTarget?.Trim() ?? f.BuildTarget,
        PidsLimit = r.PidsLimit is { } pl ? (pl == 0 ? "" : pl.ToString(System.Globalization.CultureInfo.InvariantCulture)) : f.PidsLimit,
        BaseDir = r.BaseDir ?? f.BaseDir,
        WatchPaths = r.WatchPaths is { } w ? string.Join('\n', w.Select(l => (l ?? "").Replace('\n', '\0'))) : f.WatchPaths,
        InstallCommand = r.InstallCommand ?? f.InstallCommand,
        BuildCommand = r.BuildCommand ?? f.BuildCommand,
        StartCommand = r.StartCommand ?? f.StartCommand,
        // Any JSON value as its text ("abc", 1e9, 2.5, -1): ProjectReplicas.FromForm answers a 422 naming the field, not a 400 about types.
        Replicas = r.Replicas is { } rep ? (rep.ValueKind == System.Text.Json.JsonValueKind.String ? rep.GetString()!.Trim() : rep.GetRawText()) : f.Replicas,
        Target = r.Target?.Trim() ?? f.Target,
        Placement = r.Placement?.Trim() ?? f.Placement,
    };

    public static IResult NotFound(string slug) => ApiProblem.NotFound($"The project \"{slug}\"");

    public static ProjectRow? FindVisible(SqliteConnection c, HttpContext ctx, string slug) =>
        c.ExecuteScalar<long?>("SELECT id FROM projects WHERE slug = @slug", new { slug }) is { } id
            ? ProjectStore.FindProjectVisibleTo(c, id, ctx.User.UserId(), ctx.User.IsAdmin())
            : null;

    static ProjectDetail Detail(SqliteConnection c, IDataProtectionProvider protection, PanelSettings settings, ProjectRow p)
    {
        var where = Cluster.ClusterPlacement.Find(c, p.Id);
        return new(p.Id, p.Slug, p.Name, p.OwnerEmail, p.GitUrl, p.Branch, p.DockerfilePath, p.ContextDir, p.ContainerPort == 0 ? null : (int)p.ContainerPort, p.HealthPath,
            p.Domains, p.GitAuth, p.SshPublicKey, WebhookStore.FindAutoDeploy(c, p.Id), WebhookStore.UrlFor(settings, p.Slug),
            WebhookStore.EnsureSecret(c, protection, p.Id), DeployStore.FindLiveDeployment(c, p.Id)?.Id, p.CreatedAt,
            p.Limits.MemoryMb, p.Limits.NanoCpus is { } n ? n / 1_000_000_000m : null, p.Limits.PidsLimit, p.Paths.BaseDir, p.Paths.WatchPathList, p.BuildTarget,
            p.Commands.Install, p.Commands.Build, p.Commands.Start, Volumes.StopOldFirst.FindStopOldFirst(c, p.Id), ProjectReplicas.FindReplicas(c, p.Id),
            p.Environment, p.ParentId is { } parent ? ProjectStore.FindProjectById(c, parent)?.Slug : null,
            where.Target, where.Placement);
    }
}
