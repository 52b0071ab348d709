using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using Dapper;
using Microsoft.Data.Sqlite;
using VpsPanel.Features.Shared;

namespace VpsPanel.Features.Projects;

public sealed record ProjectRow(
    long Id, string Name, string Slug, long OwnerId, string OwnerEmail, string GitUrl, string Branch, string DockerfilePath,
    string ContextDir, long ContainerPort, string HealthPath, string GitAuth, string? GitTokenProtected, string? SshPublicKey,
    string CreatedAt, long? ParentId = null, string Environment = "production")
{
    /// <summary>The project this environment belongs to: its parent, or itself for production (Projects/ProjectEnvironments).</summary>
    public long RootId => ParentId ?? Id;

    public List<string> Domains { get; set; } = [];

    /// <summary>Its own container limits (null ones: the panel's settings); filled by the Find queries, like Domains.</summary>
    public ProjectLimits Limits { get; set; } = ProjectLimits.None;

    /// <summary>Its own install/build/start commands for a generated Dockerfile (Builds/ProjectDockerfile); filled like Limits.</summary>
    public Builds.BuildCommands Commands { get; set; } = Builds.BuildCommands.None;

    /// <summary>The Dockerfile stage it builds, null for the last (Projects/BuildTarget); filled by the Find queries.</summary>
    public string? BuildTarget { get; set; }

    /// <summary>Its base directory and watch paths (see <see cref="ProjectPaths"/>); filled by the Find queries, like Domains.</summary>
    public ProjectPaths Paths { get; set; } = ProjectPaths.None;

    public ProjectConfig Config => new(GitUrl, Branch, DockerfilePath, ContextDir, (int)ContainerPort, HealthPath, Domains)
        { BaseDir = Paths.BaseDir, WatchPaths = Paths.WatchPaths, Target = BuildTarget };
}

/// <summary>
/// What a deployment runs with, stored as JSON on the deployment row: a rollback uses the stored one, not today's
/// settings, so "roll back" means the old code with the old port, health path and domains. <paramref name="Variables"/>
/// is the encrypted snapshot of its environment variables (null until the deployment starts, see
/// Variables/DeployVariables.cs) and <paramref name="VariablesVersion"/> the project's variables version it was taken at.
/// An empty Branch, a ContainerPort of 0 and an empty HealthPath mean "detect at deploy" (Deployments/Detect*.cs).
/// </summary>
public sealed record ProjectConfig(
    string GitUrl, string Branch, string DockerfilePath, string ContextDir, int ContainerPort, string HealthPath, List<string> Domains,
    string? Variables = null, long VariablesVersion = 0)
{
    /// <summary>The monorepo directory the context and Dockerfile are relative to (null: the root), and the watch paths (ProjectPaths).</summary>
    public string? BaseDir { get; init; }
    public string? WatchPaths { get; init; }
    /// <summary>`docker build --target` (BuildKit); null builds the last stage. Absent from configs stored before issue 14.</summary>
    public string? Target { get; init; }

    public string ToJson() => JsonSerializer.Serialize(this, ProjectJson.Default.ProjectConfig);
    public static ProjectConfig FromJson(string json) =>
        JsonSerializer.Deserialize(json, ProjectJson.Default.ProjectConfig) ?? throw new InvalidOperationException("empty project config");
}

[JsonSerializable(typeof(ProjectConfig))]
internal partial class ProjectJson : JsonSerializerContext;

/// <summary>The project form as posted, before and after validation (the same record for create and edit).</summary>
public sealed record ProjectForm(
    string Name, string GitUrl, string Branch, string DockerfilePath, string ContextDir, string ContainerPort,
    string HealthPath, string Domains, string GitAuth, string GitToken)
{
    /// <summary>Whether a push webhook deploys (on) or is only logged (off). Stored apart from the rest (see WebhookStore).</summary>
    public bool AutoDeploy { get; init; } = true;

    /// <summary>Stop the live container before the new one starts (Volumes/StopOldFirst); null keeps the saved setting.</summary>
    public bool? StopOldFirst { get; init; }

    /// <summary>The container limits as typed (see <see cref="ProjectLimits.FromForm"/>): null keeps the saved value, empty is the panel's default.</summary>
    public string? MemoryMb { get; init; }
    public string? Cpus { get; init; }
    public string? PidsLimit { get; init; }

    /// <summary>Replicas as typed (see <see cref="ProjectReplicas.FromForm"/>): null keeps the saved count.</summary>
    public string? Replicas { get; init; }

    /// <summary>Where it runs, "server" or "cluster", and the cluster placement as typed (Cluster/ClusterPlacement): null keeps the saved one.</summary>
    public string? Target { get; init; }
    public string? Placement { get; init; }

    /// <summary>Commands for a generated Dockerfile as typed (see Builds/ProjectDockerfile.FromForm): null keeps the saved one, empty is "detected".</summary>
    public string? InstallCommand { get; init; }
    public string? BuildCommand { get; init; }
    public string? StartCommand { get; init; }

    /// <summary>The Dockerfile stage to build (Projects/BuildTarget): null keeps the saved one, empty is the last stage.</summary>
    public string? BuildTarget { get; init; }

    /// <summary>The base directory and watch paths as typed (see <see cref="ProjectPaths.FromForm"/>): null keeps the saved value.</summary>
    public string? BaseDir { get; init; }
    public string? WatchPaths { get; init; }

    /// <summary>Branch, port and health path start empty: the panel detects them (see 0016_detect_defaults.sql).</summary>
    public static ProjectForm Empty => new("", "", "", "Dockerfile", ".", "", "", "", "none", "");
}

/// <summary>
/// Project queries and input rules shared by the project pages and the deploy worker. Every rule returns a message a
/// person can act on, or null. The rules are strict on purpose: these values reach git, Docker and Caddy.
/// </summary>
public static partial class ProjectStore
{
    public const int MaxNameLength = 64;
    public const int MaxSlugLength = 40;
    /// <summary>The Data Protection purpose for HTTPS tokens: a protector for anything else cannot read them.</summary>
    public const string TokenPurpose = "VpsPanel.Projects.GitToken.v1";

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9 ._-]*$")]
    private static partial Regex NamePattern();

    // A relative path inside the repository: plain segments, no "..", nothing a shell or Docker could read as more.
    [GeneratedRegex(@"^[A-Za-z0-9_][A-Za-z0-9._-]*(/[A-Za-z0-9_][A-Za-z0-9._-]*)*$")]
    private static partial Regex RepoPathPattern();

    // An HTTP path with a conservative character set; it is requested by the panel only, never written to Caddy.
    [GeneratedRegex(@"^/[A-Za-z0-9._~/%?=&+-]*$")]
    private static partial Regex HealthPathPattern();

    [GeneratedRegex(@"[^a-z0-9]+")]
    private static partial Regex NonSlugChars();

    public static string Slugify(string name)
    {
        var s = NonSlugChars().Replace(name.Trim().ToLowerInvariant(), "-").Trim('-');
        if (s.Length > MaxSlugLength) s = s[..MaxSlugLength].TrimEnd('-');
        return s;
    }

    /// <summary>Validates the form; returns the messages by field name (empty when everything is fine).</summary>
    public static Dictionary<string, string> Validate(ProjectForm f, bool creating, bool isAdmin, bool hasStoredToken, bool domainsOptional = false)
    {
        var errors = new Dictionary<string, string>();
        if (creating)
        {
            if (f.Name == "") errors["name"] = "Enter a name.";
            else if (f.Name.Length > MaxNameLength) errors["name"] = $"A name can be at most {MaxNameLength} characters.";
            else if (!NamePattern().IsMatch(f.Name)) errors["name"] = "Use letters, digits, spaces, dots, dashes and underscores, starting with a letter or digit.";
            else if (Slugify(f.Name) is var slug && (slug == "" || !char.IsAsciiLetterLower(slug[0])))
                errors["name"] = "The name must start with a letter (the project's short name, used for containers and images, is derived from it).";
        }
        if (Git.GitCli.UrlProblem(f.GitUrl, mayUseLocalRepos: isAdmin) is { } u) errors["gitUrl"] = u;
        if (f.Branch != "" && Git.GitCli.BranchProblem(f.Branch) is { } b) errors["branch"] = b;
        if (RepoPathProblem(f.DockerfilePath, "Dockerfile path", allowDot: false) is { } d) errors["dockerfilePath"] = d;
        if (RepoPathProblem(f.ContextDir, "build context directory", allowDot: true) is { } cd) errors["contextDir"] = cd;
        if (!errors.ContainsKey("dockerfilePath") && !errors.ContainsKey("contextDir") && DockerfileInContext(f.DockerfilePath, f.ContextDir) is null)
            errors["dockerfilePath"] = $"The Dockerfile must be inside the build context directory \"{f.ContextDir}\".";
        if (f.ContainerPort.Trim() is not ("" or "0") && (!int.TryParse(f.ContainerPort, System.Globalization.NumberStyles.None, null, out var port) || port < 1 || port > 65535))
            errors["containerPort"] = "Enter the port the app listens on inside its container, a number from 1 to 65535, or leave it empty (or 0) to use the image's EXPOSE.";
        if (f.HealthPath != "" && (f.HealthPath.Length > 200 || !HealthPathPattern().IsMatch(f.HealthPath)))
            errors["healthPath"] = "Enter a path starting with /, like / or /healthz (letters, digits and . _ ~ / % ? = & + - only), or leave it empty.";
        // Domains are given here at creation; afterwards they have their own page (Features/Domains).
        if (creating && DomainsProblem(f.Domains, domainsOptional, isAdmin) is { } dm) errors["domains"] = dm;
        if (f.GitAuth is not ("none" or "token" or "ssh")) errors["gitAuth"] = "Choose how the panel reaches the repository.";
        else if (f.GitAuth == "token")
        {
            if (f.GitToken == "" && !hasStoredToken) errors["gitToken"] = "Enter the access token (it is stored encrypted and never shown again).";
            else if (f.GitToken.Length > 1000 || f.GitToken.Any(ch => ch < 0x21 || ch > 0x7e))
                errors["gitToken"] = "A token is at most 1000 printable characters with no spaces.";
            if (!errors.ContainsKey("gitUrl") && !f.GitUrl.StartsWith("https://", StringComparison.Ordinal) && !f.GitUrl.StartsWith("http://", StringComparison.Ordinal))
                errors["gitAuth"] = "A token works with an https:// Git URL only; use the SSH deploy key for other URLs.";
        }
        else if (f.GitAuth == "ssh" && !errors.ContainsKey("gitUrl") && !Git.GitCli.IsSshUrl(f.GitUrl))
            errors["gitAuth"] = "A deploy key works with an SSH Git URL only (ssh://… or git@host:path).";
        return errors;
    }

    static string? RepoPathProblem(string v, string what, bool allowDot)
    {
        if (allowDot && v == ".") return null;
        if (v == "") return $"Enter the {what}.";
        if (v.StartsWith('/')) return $"The {what} must be relative to the repository root, not an absolute path.";
        if (v.Length > 255) return $"The {what} can be at most 255 characters.";
        if (v.Split('/').Any(seg => seg is ".." or ".")) return $"The {what} must stay inside the repository (no \"..\" or \".\" segments).";
        if (!RepoPathPattern().IsMatch(v)) return $"The {what} may contain letters, digits, '.', '_', '-' and '/' between names, like docker/Dockerfile.";
        return null;
    }

    /// <summary>The Dockerfile's path relative to the context directory, or null when it lies outside it.</summary>
    public static string? DockerfileInContext(string dockerfilePath, string contextDir)
    {
        if (contextDir == ".") return dockerfilePath;
        var prefix = contextDir.TrimEnd('/') + "/";
        return dockerfilePath.StartsWith(prefix, StringComparison.Ordinal) ? dockerfilePath[prefix.Length..] : null;
    }

    /// <summary>The textarea's lines: one domain per line, the first is the primary. Canonical when valid.</summary>
    static List<string> DomainLines(string text) =>
        text.Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.Trim() != "").ToList();

    public static List<string> ParseDomains(string text) =>
        DomainLines(text).Select(d => Domains.DomainName.Normalize(d).Domain ?? d.Trim().ToLowerInvariant()).Distinct().ToList();

    static string? DomainsProblem(string text, bool optional, bool isAdmin)
    {
        // Anything that could end a Caddyfile token or block is an error, never a config.
        if (text.Any(ch => ch is '{' or '}' or '"' or '#' or '\\' or '`' || (char.IsControl(ch) && ch is not ('\n' or '\r' or '\t'))))
            return "Domains may not contain braces, quotes, # or control characters. Enter hostnames like app.example.com, one per line.";
        // The Domains slice's rules are the one gate for anything that reaches a Caddyfile. HTTP only (and so IP
        // addresses) is chosen on the project's Domains page, not here.
        var (_, errors) = Domains.ProjectDomains.Validate(DomainLines(text).Select(l => new Domains.DomainInput(l, false)).ToList(), optional, false, isAdmin);
        return errors.Count == 0 ? null : errors.OrderBy(e => e.Key).First().Value;
    }

    const string Columns =
        "p.id, p.name, p.slug, p.owner_id, u.email AS owner_email, p.git_url, p.branch, p.dockerfile_path, p.context_dir, " +
        "CASE WHEN p.detect_port THEN 0 ELSE p.container_port END AS container_port, p.health_path, p.git_auth, p.git_token_protected, p.ssh_public_key, p.created_at, p.parent_id, p.environment";

    /// <summary>The project if it exists and the user may see it (admins see all); null otherwise, which pages turn into 404.</summary>
    public static ProjectRow? FindProjectVisibleTo(SqliteConnection c, long id, long userId, bool isAdmin)
    {
        var p = c.QuerySingleOrDefault<ProjectRow>(
            $"SELECT {Columns} FROM projects p JOIN users u ON u.id = p.owner_id WHERE p.id = @id AND (@isAdmin OR p.owner_id = @userId)",
            new { id, userId, isAdmin });
        if (p is not null) (p.Domains, p.Limits, p.Paths, p.BuildTarget, p.Commands) = (ListDomains(c, p.Id), ProjectLimits.FindProjectLimits(c, p.Id), ProjectPaths.FindProjectPaths(c, p.Id), Projects.BuildTarget.FindBuildTarget(c, p.Id), Builds.ProjectDockerfile.FindBuildCommands(c, p.Id));
        return p;
    }

    public static ProjectRow? FindProjectById(SqliteConnection c, long id, SqliteTransaction? tx = null)
    {
        var p = c.QuerySingleOrDefault<ProjectRow>($"SELECT {Columns} FROM projects p JOIN users u ON u.id = p.owner_id WHERE p.id = @id", new { id }, tx);
        if (p is not null) (p.Domains, p.Limits, p.Paths, p.BuildTarget, p.Commands) = (ListDomains(c, p.Id, tx), ProjectLimits.FindProjectLimits(c, p.Id, tx), ProjectPaths.FindProjectPaths(c, p.Id, tx), Projects.BuildTarget.FindBuildTarget(c, p.Id, tx), Builds.ProjectDockerfile.FindBuildCommands(c, p.Id, tx));
        return p;
    }

    public sealed record ProjectListItem(long Id, string Name, string Slug, string OwnerEmail, string? LiveStatus, string? LastStatus, string? Domain, string Environment)
    {
        /// <summary>The name with its environment when it is not production (ProjectEnvironments).</summary>
        public string Label => Environment == ProjectEnvironments.Production ? Name : $"{Name} · {Environment}";
    }

    public static List<ProjectListItem> ListProjectsVisibleTo(SqliteConnection c, long userId, bool isAdmin) =>
        ListProjectPageVisibleTo(c, userId, isAdmin, limit: -1, offset: 0);

    /// <summary>
    /// One page of <see cref="ListProjectsVisibleTo"/> (limit -1: all). The page's ids are picked first, so the
    /// per-project lookups (live, newest deployment, first domain) run for the rows returned, not for every project.
    /// </summary>
    public static List<ProjectListItem> ListProjectPageVisibleTo(SqliteConnection c, long userId, bool isAdmin, int limit, int offset) =>
        c.Query<ProjectListItem>(
            """
            WITH page AS (
                SELECT p.id FROM projects p
                WHERE @isAdmin OR p.owner_id = @userId
                -- Each project's environments right after it, production first.
                ORDER BY p.name, coalesce(p.parent_id, p.id), p.parent_id IS NOT NULL, p.environment
                LIMIT @limit OFFSET @offset)
            SELECT p.id, p.name, p.slug, u.email AS owner_email,
                   (SELECT status FROM deployments d WHERE d.project_id = p.id AND d.status = 'live') AS live_status,
                   (SELECT status FROM deployments d WHERE d.project_id = p.id ORDER BY d.id DESC LIMIT 1) AS last_status,
                   (SELECT hostname FROM project_domains pd WHERE pd.project_id = p.id ORDER BY position LIMIT 1) AS domain,
                   p.environment
            FROM page JOIN projects p ON p.id = page.id JOIN users u ON u.id = p.owner_id
            ORDER BY p.name, coalesce(p.parent_id, p.id), p.parent_id IS NOT NULL, p.environment
            """, new { userId, isAdmin, limit, offset }).AsList();

    public static int CountProjectsVisibleTo(SqliteConnection c, long userId, bool isAdmin) =>
        c.ExecuteScalar<int>("SELECT count(*) FROM projects p JOIN users u ON u.id = p.owner_id WHERE @isAdmin OR p.owner_id = @userId", new { userId, isAdmin });

    public static List<string> ListDomains(SqliteConnection c, long projectId, SqliteTransaction? tx = null) =>
        c.Query<string>("SELECT hostname FROM project_domains WHERE project_id = @projectId ORDER BY position", new { projectId }, tx).AsList();

    public static bool SlugExists(SqliteConnection c, string slug, SqliteTransaction tx) =>
        c.ExecuteScalar<bool>("SELECT EXISTS (SELECT 1 FROM projects WHERE slug = @slug)", new { slug }, tx);

    public static long InsertProject(SqliteConnection c, ProjectForm f, string slug, long ownerId, string? tokenProtected, SqliteTransaction tx)
    {
        var now = Clock.Now();
        var id = c.ExecuteScalar<long>(
            """
            INSERT INTO projects (name, slug, owner_id, git_url, branch, dockerfile_path, context_dir, container_port, detect_port, health_path,
                                  git_auth, git_token_protected, created_at, updated_at)
            VALUES (@Name, @slug, @ownerId, @GitUrl, @Branch, @DockerfilePath, @ContextDir, coalesce(@port, 8080), @port IS NULL, @HealthPath, @GitAuth, @tokenProtected, @now, @now)
            RETURNING id
            """,
            new { f.Name, slug, ownerId, f.GitUrl, f.Branch, f.DockerfilePath, f.ContextDir, port = PortOrDetect(f), f.HealthPath, f.GitAuth, tokenProtected, now }, tx);
        ReplaceDomains(c, id, ParseDomains(f.Domains), tx);
        return id;
    }

    /// <summary>Saves the form; a null token keeps the stored one.</summary>
    public static void UpdateProject(SqliteConnection c, long id, ProjectForm f, string? tokenProtected, SqliteTransaction tx)
    {
        c.Execute(
            """
            UPDATE projects SET git_url = @GitUrl, branch = @Branch, dockerfile_path = @DockerfilePath, context_dir = @ContextDir,
                container_port = coalesce(@port, container_port), detect_port = @port IS NULL, health_path = @HealthPath, git_auth = @GitAuth,
                git_token_protected = CASE WHEN @GitAuth <> 'token' THEN NULL ELSE coalesce(@tokenProtected, git_token_protected) END,
                updated_at = @now
            WHERE id = @id
            """,
            new { id, f.GitUrl, f.Branch, f.DockerfilePath, f.ContextDir, port = PortOrDetect(f), f.HealthPath, f.GitAuth, tokenProtected, now = Clock.Now() }, tx);
    }

    /// <summary>The typed port, or null: detect it from the image (container_port keeps a placeholder, see 0016_detect_defaults.sql).</summary>
    static int? PortOrDetect(ProjectForm f) => f.ContainerPort.Trim() is "" or "0" ? null : int.Parse(f.ContainerPort);

    static void ReplaceDomains(SqliteConnection c, long projectId, List<string> hostnames, SqliteTransaction tx)
    {
        c.Execute("DELETE FROM project_domains WHERE project_id = @projectId", new { projectId }, tx);
        for (var i = 0; i < hostnames.Count; i++)
            c.Execute("INSERT INTO project_domains (project_id, hostname, position) VALUES (@projectId, @h, @i)", new { projectId, h = hostnames[i], i }, tx);
    }

    public static void DeleteProject(SqliteConnection c, long id) =>
        c.Execute("DELETE FROM projects WHERE id = @id", new { id });
}
