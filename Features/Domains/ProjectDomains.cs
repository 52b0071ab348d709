using Dapper;
using Microsoft.Data.Sqlite;
using VpsPanel.Features.Caddy;
using VpsPanel.Features.Settings;

namespace VpsPanel.Features.Domains;

/// <summary>How a project answers on its domains, as stored: the domains (primary first), the alias mode, the www redirect.</summary>
public sealed record DomainSetup(List<SiteDomain> Domains, bool RedirectAliases, bool RedirectWww)
{
    public string AliasMode => RedirectAliases ? ProjectDomains.Redirect : ProjectDomains.Serve;
}

/// <summary>One domain as a person typed it: the raw text and whether it is HTTP only.</summary>
public sealed record DomainInput(string Raw, bool HttpOnly);

/// <summary>
/// The domains of projects: the input rules (one list, primary first), the queries, and which names the panel
/// knows (for conflicts and for Caddy's on-demand TLS ask). A hostname belongs to one project only; the names a
/// project claims are its own domains, its www./apex counterpart when it redirects that, and its default domain.
/// </summary>
public static class ProjectDomains
{
    public const string Serve = "serve";
    public const string Redirect = "redirect";
    public const int MaxDomains = 20;

    /// <summary>
    /// Validates a list of domains (primary first). Returns the canonical list, or messages keyed by the index of the
    /// entry they are about (-1: about the list as a whole). Wildcards and IP addresses are for admins only: a
    /// wildcard reaches names other people may hold, and an IP address is the server itself.
    /// </summary>
    public static (List<SiteDomain> Domains, Dictionary<int, string> Errors) Validate(IReadOnlyList<DomainInput> inputs, bool mayBeEmpty, bool redirectWww, bool isAdmin)
    {
        var errors = new Dictionary<int, string>();
        var list = new List<SiteDomain>();
        var seen = new HashSet<string>();
        for (var i = 0; i < inputs.Count; i++)
        {
            var r = DomainName.Normalize(inputs[i].Raw, allowIpLiteral: inputs[i].HttpOnly);
            var asIp = DomainName.Normalize(inputs[i].Raw, allowIpLiteral: true).Domain;
            if (asIp is not null && DomainName.IsIpLiteral(asIp) && System.Net.IPAddress.Parse(asIp.Trim('[', ']')) is var ip
                && Git.GitHosts.AddressProblem(ip, allowPrivateNetworks: true) is { } why)
                errors[i] = $"{asIp} is {why}; no project can be served on it.";
            else if (asIp is not null && DomainName.IsIpLiteral(asIp) && !isAdmin) errors[i] = $"{asIp} is an IP address; only an admin can add one.";
            else if (r.Error is { } e) errors[i] = e;
            else if (r.Domain!.StartsWith("*.", StringComparison.Ordinal) && !isAdmin) errors[i] = $"{r.Domain} is a wildcard domain; only an admin can add one.";
            else if (!seen.Add(r.Domain!)) errors[i] = $"{r.Domain} is listed twice.";
            else list.Add(new SiteDomain(r.Domain!, inputs[i].HttpOnly));
        }
        if (inputs.Count == 0 && !mayBeEmpty) errors[-1] = "Enter at least one domain, like app.example.com.";
        if (inputs.Count > MaxDomains) errors[-1] = $"A project can have at most {MaxDomains} domains.";
        if (errors.Count == 0 && redirectWww && list.Count > 0 && DomainName.WwwCounterpart(list[0].Host) is null)
            errors[0] = $"{list[0].Host} has no www./apex counterpart to redirect (it is a wildcard, an IP address, or too short); turn the www redirect off.";
        return (list, errors);
    }

    /// <summary>Every hostname these settings make the project answer on (not yet including its default domain).</summary>
    public static IEnumerable<string> ClaimedHosts(IEnumerable<string> hosts, bool redirectWww)
    {
        var list = hosts.ToList();
        foreach (var h in list) yield return h;
        if (redirectWww && list.Count > 0 && DomainName.WwwCounterpart(list[0]) is { } c && !list.Contains(c)) yield return c;
    }

    public static DomainSetup FindDomainSetup(SqliteConnection c, long projectId, SqliteTransaction? tx = null)
    {
        var domains = c.Query<(string Hostname, long HttpOnly)>(
            "SELECT hostname, http_only FROM project_domains WHERE project_id = @projectId ORDER BY position", new { projectId }, tx)
            .Select(r => new SiteDomain(r.Hostname, r.HttpOnly != 0)).ToList();
        var (aliasMode, redirectWww) = c.QuerySingle<(string, long)>("SELECT alias_mode, redirect_www FROM projects WHERE id = @projectId", new { projectId }, tx);
        return new DomainSetup(domains, aliasMode == Redirect, redirectWww != 0);
    }

    public static void SaveDomainSetup(SqliteConnection c, long projectId, DomainSetup setup, SqliteTransaction tx)
    {
        c.Execute("UPDATE projects SET alias_mode = @AliasMode, redirect_www = @RedirectWww, updated_at = @now WHERE id = @projectId",
            new { projectId, setup.AliasMode, setup.RedirectWww, now = Shared.Clock.Now() }, tx);
        c.Execute("DELETE FROM project_domains WHERE project_id = @projectId", new { projectId }, tx);
        for (var i = 0; i < setup.Domains.Count; i++)
            c.Execute("INSERT INTO project_domains (project_id, hostname, position, http_only) VALUES (@projectId, @Host, @i, @HttpOnly)",
                new { projectId, setup.Domains[i].Host, i, setup.Domains[i].HttpOnly }, tx);
    }

    /// <summary>
    /// A project's row as far as routing goes: its live upstream port, or the directory of its live static files
    /// (Deployments/StaticSiteDeploy); both null: nothing live to route to.
    /// </summary>
    public sealed record RoutedProject(long Id, string Name, string Slug, long OwnerId, long? LivePort, string? LiveStaticRoot, string? LiveUpstreams = null)
    {
        public bool IsLive => LivePort is not null || LiveStaticRoot is not null || !string.IsNullOrEmpty(LiveUpstreams);
    }

    public static List<RoutedProject> ListRoutedProjects(SqliteConnection c, SqliteTransaction? tx = null) =>
        c.Query<RoutedProject>(
            """
            SELECT p.id, p.name, p.slug, p.owner_id,
                   (SELECT d.host_port FROM deployments d WHERE d.project_id = p.id AND d.status = 'live') AS live_port,
                   (SELECT d.static_root FROM deployments d WHERE d.project_id = p.id AND d.status = 'live') AS live_static_root,
                   (SELECT d.upstreams FROM deployments d WHERE d.project_id = p.id AND d.status = 'live') AS live_upstreams
            FROM projects p ORDER BY p.slug
            """, transaction: tx).AsList();

    public static RoutedProject? FindRoutedProject(SqliteConnection c, long projectId) =>
        c.QuerySingleOrDefault<RoutedProject>(
            """
            SELECT p.id, p.name, p.slug, p.owner_id,
                   (SELECT d.host_port FROM deployments d WHERE d.project_id = p.id AND d.status = 'live') AS live_port,
                   (SELECT d.static_root FROM deployments d WHERE d.project_id = p.id AND d.status = 'live') AS live_static_root,
                   (SELECT d.upstreams FROM deployments d WHERE d.project_id = p.id AND d.status = 'live') AS live_upstreams
            FROM projects p WHERE p.id = @projectId
            """, new { projectId });

    /// <summary>Who answers on a hostname: a project (its id, name and owner), or the panel itself (project id 0).</summary>
    public sealed record Claim(string Host, long ProjectId, string ProjectName, long OwnerId);

    /// <summary>Every hostname the panel answers on, with who claims it. Wildcard names are included as they are (*.x).</summary>
    public static List<Claim> ListClaims(SqliteConnection c, SqliteTransaction? tx = null)
    {
        var options = PanelOptions.Load(c, tx);
        var claims = new List<Claim>();
        if (options.PanelDomain != "") claims.Add(new Claim(options.PanelDomain, 0, "the panel itself", 0));
        foreach (var p in ListRoutedProjects(c, tx))
        {
            var setup = FindDomainSetup(c, p.Id, tx);
            var hosts = ClaimedHosts(setup.Domains.Select(d => d.Host), setup.RedirectWww).ToList();
            if (options.DefaultDomain(p.Slug) is { } dd && !hosts.Contains(dd)) hosts.Add(dd);
            claims.AddRange(hosts.Select(h => new Claim(h, p.Id, p.Name, p.OwnerId)));
        }
        return claims;
    }

    /// <summary>
    /// The message for the first of these hostnames that something other than project <paramref name="projectId"/>
    /// already answers on, or null. It names the project when the user may see it, and only says "another user's
    /// project" otherwise, so a member learns nothing about projects that are not theirs.
    /// </summary>
    public static (string Host, string Message)? FindConflict(IEnumerable<string> hosts, long projectId, List<Claim> claims, long userId, bool isAdmin, string baseDomain)
    {
        foreach (var h in hosts)
        {
            var claim = claims.FirstOrDefault(x => x.Host == h && x.ProjectId != projectId);
            if (claim is not null)
                return (h, claim.ProjectId == 0 ? $"{h} is {Who(claim, userId, isAdmin)}; choose another domain." : $"{h} already belongs to {Who(claim, userId, isAdmin)}. A domain can belong to one project only.");
            if (WildcardProblem(h, projectId, claims, baseDomain, userId, isAdmin) is { } wide) return (h, wide);
            // The other way round: a name inside another project's wildcard would be served by two projects.
            if (claims.FirstOrDefault(x => x.ProjectId != projectId && x.Host.StartsWith("*.", StringComparison.Ordinal) && DomainName.Matches(x.Host, h)) is { } wild)
                return (h, $"{h} is covered by the wildcard {wild.Host} of {Who(wild, userId, isAdmin)}. A domain can belong to one project only.");
        }
        return null;
    }

    /// <summary>Who holds a claim, as the user may learn it: a project they may see by name, anyone else's as "another user's project".</summary>
    static string Who(Claim claim, long userId, bool isAdmin) =>
        claim.ProjectId == 0 ? "the panel's own domain (Settings)"
        : isAdmin || claim.OwnerId == userId ? $"project \"{claim.ProjectName}\""
        : "another user's project";

    /// <summary>
    /// Why a wildcard (even an admin's) may not be served, or null (also for names that are not wildcards): it may not
    /// cover a name another project or the panel holds, nor the wildcard base domain or any name under it (those are
    /// the projects' default domains). Asked when a wildcard is saved and again by /caddy/ask, so a wildcard stored
    /// before these rules (or made wrong by a later change) gets no certificates.
    /// </summary>
    public static string? WildcardProblem(string host, long projectId, List<Claim> claims, string baseDomain, long userId = 0, bool isAdmin = true)
    {
        if (!host.StartsWith("*.", StringComparison.Ordinal)) return null;
        var under = host[2..];
        if (baseDomain != "" && (under == baseDomain || under.EndsWith("." + baseDomain, StringComparison.Ordinal) || DomainName.Matches(host, baseDomain)))
            return $"{host} would cover the wildcard base domain {baseDomain} (Settings) or the projects' default domains under it; choose another domain.";
        if (claims.FirstOrDefault(x => x.ProjectId != projectId && !x.Host.StartsWith("*.", StringComparison.Ordinal) && DomainName.Matches(host, x.Host)) is { } covered)
            return covered.ProjectId == 0
                ? $"{host} would cover {covered.Host}, {Who(covered, userId, isAdmin)}; choose another domain."
                : $"{host} would cover {covered.Host}, which belongs to {Who(covered, userId, isAdmin)}. A wildcard may not cover another project's domain.";
        return null;
    }

    /// <summary>
    /// Whether Caddy may get a certificate for this host: the panel answers on it by name, or through a wildcard (one
    /// label deep) that is allowed as things stand now.
    /// </summary>
    public static bool IsKnownHost(List<Claim> claims, string host, string baseDomain) =>
        claims.Any(x => x.Host == host)
        || claims.Any(x => x.Host.StartsWith("*.", StringComparison.Ordinal) && DomainName.Matches(x.Host, host)
                           && WildcardProblem(x.Host, x.ProjectId, claims, baseDomain) is null);
}
