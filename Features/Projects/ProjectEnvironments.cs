using System.Text.RegularExpressions;
using Dapper;
using Docker.DotNet.Models;
using Microsoft.Data.Sqlite;
using VpsPanel.Features.Deployments;
using VpsPanel.Features.Docker;
using VpsPanel.Features.Git;
using VpsPanel.Features.Shared;

namespace VpsPanel.Features.Projects;

/// <summary>One environment of a project, as the environments table on the project page and the API show it.</summary>
public sealed record EnvironmentRow(long Id, string Slug, string Environment, string Branch, long? LiveDeploymentId, string? LiveSha, string? LiveImage,
    string? LiveStaticRoot, string? LastStatus, string? Domain)
{
    public string ShortSha => LiveSha is { Length: >= 7 } s ? s[..7] : "";
}

/// <summary>
/// Environments (issue 18): staging, preview or any name next to production. An environment is a project row with
/// parent_id set (migration 0029), so it has a project's every part and page; the project itself is production.
/// Made from the project: its repository, credentials, build settings, limits, replicas and named volumes (new ones, so
/// staging's data is its own), with its own branch, no domains (the wildcard base gives <slug>.<base>) and no linked
/// services (staging must not write to production's database by accident). Its project-level variables are the
/// project's, overridden by its own (Variables/VariableStore). A push routes to the environment whose branch it moved
/// (Webhooks/WebhookEndpoint); promote starts the image live in one environment in another, no build, with the target's
/// variables and settings.
/// </summary>
public static partial class ProjectEnvironments
{
    public const string Production = "production";

    /// <summary>
    /// The environment previews are made from (Previews/PreviewDeploys): its variables, limits and replicas are what
    /// every preview gets. It deploys no branch of its own (branch optional, pushes never route to it).
    /// </summary>
    public const string PreviewTemplate = "preview";

    // Lower-case DNS label characters: the name ends up in a slug, container, image and host names.
    [GeneratedRegex(@"^[a-z0-9]([a-z0-9-]{0,18}[a-z0-9])?$")]
    private static partial Regex NamePattern();

    public static string? NameProblem(string name)
    {
        if (name == "") return "Enter the environment's name, like staging.";
        if (name.Contains("..") || name.Contains('/') || name.Contains(' '))
            return $"\"{name}\" cannot be an environment name: use lower-case letters, digits and '-' only (no spaces, dots or slashes), like staging.";
        if (!NamePattern().IsMatch(name))
            return $"\"{name}\" cannot be an environment name: 1 to 20 lower-case letters, digits and '-', starting and ending with a letter or digit, like staging.";
        return null;
    }

    /// <summary>Production (the project itself) first, then the others by name.</summary>
    public static List<EnvironmentRow> ListEnvironmentsOfProject(SqliteConnection c, long rootId, SqliteTransaction? tx = null) =>
        c.Query<EnvironmentRow>(
            """
            SELECT p.id, p.slug, p.environment, CASE WHEN p.branch = '' THEN coalesce(p.default_branch, '') ELSE p.branch END AS branch,
                   d.id AS live_deployment_id, d.commit_sha AS live_sha, d.image AS live_image, d.static_root AS live_static_root,
                   (SELECT status FROM deployments x WHERE x.project_id = p.id ORDER BY x.id DESC LIMIT 1) AS last_status,
                   (SELECT hostname FROM project_domains pd WHERE pd.project_id = p.id ORDER BY position LIMIT 1) AS domain
            FROM projects p LEFT JOIN deployments d ON d.project_id = p.id AND d.status = 'live'
            WHERE (p.id = @rootId OR p.parent_id = @rootId) AND p.id NOT IN (SELECT project_id FROM previews)
            ORDER BY p.parent_id IS NOT NULL, p.environment
            """, new { rootId }, tx).AsList();

    public static long? FindEnvironmentId(SqliteConnection c, long rootId, string name) =>
        c.ExecuteScalar<long?>("SELECT id FROM projects WHERE (id = @rootId OR parent_id = @rootId) AND environment = @name", new { rootId, name });

    public static string NoSuchEnvironment(SqliteConnection c, long rootId, string name) =>
        $"The project has no environment \"{name}\"; it has {string.Join(", ", ListEnvironmentsOfProject(c, rootId).Select(e => e.Environment))}.";

    public static List<long> ListEnvironmentIdsBesidesProduction(SqliteConnection c, long rootId) =>
        c.Query<long>("SELECT id FROM projects WHERE parent_id = @rootId ORDER BY id", new { rootId }).AsList();

    /// <summary>
    /// Two environments on one branch would both deploy every push to it; the project's own branch counts as the
    /// branch it resolved to at its last deploy when it follows the default branch. Null when the branch is free.
    /// </summary>
    public static string? BranchTaken(SqliteConnection c, long rootId, string branch, long exceptId) =>
        ListEnvironmentsOfProject(c, rootId).FirstOrDefault(e => e.Id != exceptId && e.Environment != PreviewTemplate && e.Branch == branch) is { } other
            ? $"The environment {other.Environment} deploys branch {branch} already: every push to it would deploy both. Pick another branch."
            : null;

    /// <summary>Makes the environment; returns its project id, or the problems by field (name, branch).</summary>
    public static async Task<(long? Id, Dictionary<string, string> Errors)> CreateAsync(SqliteConnection c, ProjectRow project, string name, string branch, CancellationToken ct)
    {
        var errors = new Dictionary<string, string>();
        name = name.Trim();
        branch = branch.Trim();
        if (project.ParentId is not null) errors["name"] = $"{project.Slug} is itself an environment of another project; add environments to that project.";
        else if (NameProblem(name) is { } np) errors["name"] = np;
        else if (FindEnvironmentId(c, project.Id, name) is not null) errors["name"] = $"The project has an environment named {name} already.";
        // The preview template deploys no branch of its own, so it may have none.
        var noBranch = name == PreviewTemplate && branch == "";
        if (!noBranch && await GitCli.CheckBranchWithGitAsync(branch, ct) is { } bp) errors["branch"] = bp;
        else if (branch != "" && project.ParentId is null && BranchTaken(c, project.Id, branch, 0) is { } taken) errors["branch"] = taken;
        var slug = $"{project.Slug}-{name}";
        if (!errors.ContainsKey("name") && c.ExecuteScalar<bool>("SELECT EXISTS (SELECT 1 FROM projects WHERE slug = @slug)", new { slug }))
            errors["name"] = $"The short name {slug} is taken by another project; pick another environment name.";
        if (errors.Count > 0) return (null, errors);

        using var tx = c.BeginTransaction();
        var id = InsertEnvironmentRow(c, project.Id, project.Id, slug, name, branch, tx);
        tx.Commit();
        return (id, errors);
    }

    /// <summary>
    /// A new environment row of project <paramref name="rootId"/>, made from row <paramref name="sourceId"/> (the project,
    /// or for a preview the project's "preview" environment): everything a deploy reads from it but the branch, the
    /// webhook secret (pushes arrive at the project's URL) and the variables version (its own variables start empty).
    /// Named volumes are copied as definitions only, made new for it on its first deploy (its data is its own); a host
    /// directory is an admin's choice for one app and is not shared by copying.
    /// </summary>
    public static long InsertEnvironmentRow(SqliteConnection c, long sourceId, long rootId, string slug, string name, string branch, SqliteTransaction tx)
    {
        var now = Clock.Now();
        var id = c.ExecuteScalar<long>(
            """
            INSERT INTO projects (name, slug, owner_id, git_url, branch, dockerfile_path, context_dir, container_port, health_path, git_auth,
                                  git_token_protected, ssh_public_key, ssh_private_key_protected, auto_deploy, memory_mb, nano_cpus, pids_limit,
                                  default_branch, detect_port, build_target, install_command, build_command, start_command, dockerfile_override,
                                  base_dir, watch_paths, stop_old_first, replicas, parent_id, environment, created_at, updated_at)
            SELECT name, @slug, owner_id, git_url, @branch, dockerfile_path, context_dir, container_port, health_path, git_auth,
                   git_token_protected, ssh_public_key, ssh_private_key_protected, auto_deploy, memory_mb, nano_cpus, pids_limit,
                   default_branch, detect_port, build_target, install_command, build_command, start_command, dockerfile_override,
                   base_dir, watch_paths, stop_old_first, replicas, @rootId, @name, @now, @now
            FROM projects WHERE id = @sourceId
            RETURNING id
            """, new { slug, branch, name, now, rootId, sourceId }, tx);
        c.Execute(
            """
            INSERT INTO project_volumes (project_id, name, mount_path, host_path, created_at)
            SELECT @id, name, mount_path, NULL, @now FROM project_volumes WHERE project_id = @sourceId AND host_path IS NULL
            """, new { id, now, sourceId }, tx);
        return id;
    }

    /// <summary>
    /// Repository settings are the project's: an edit of its URL or credentials reaches its environments, which fetch
    /// the same repository (each its own branch).
    /// </summary>
    public static void CopyRepositoryToEnvironments(SqliteConnection c, long rootId, SqliteTransaction? tx = null) =>
        c.Execute(
            """
            UPDATE projects SET (git_url, git_auth, git_token_protected, ssh_public_key, ssh_private_key_protected) =
                (SELECT git_url, git_auth, git_token_protected, ssh_public_key, ssh_private_key_protected FROM projects WHERE id = @rootId)
            WHERE parent_id = @rootId AND id NOT IN (SELECT project_id FROM previews WHERE from_fork = 1)
            """, new { rootId }, tx);

    /// <summary>
    /// Queues, in <paramref name="to"/>, a deployment of the image live in <paramref name="from"/>: no clone, no build
    /// (DeployRun's reuse path, as a rollback), with the target's settings and variables now. Returns the deployment, or why not.
    /// </summary>
    public static async Task<(long? Id, string? Problem)> PromoteAsync(SqliteConnection c, DockerEngine engine, DeployWorker worker, EnvironmentRow from, ProjectRow to,
        long userId, string via, CancellationToken ct)
    {
        if (from.Id == to.Id) return (null, $"Pick two different environments: {from.Environment} cannot be promoted to itself.");
        if (from.LiveDeploymentId is not { } source) return (null, $"Nothing is live in {from.Environment}: deploy it first, then promote.");
        if (from.LiveStaticRoot is not null)
            return (null, $"{from.Environment} serves a plain static site (files, no image): deploy branch {from.Branch} in {to.Environment} instead.");
        if (from.LiveImage is not { } image || !await (await engine.ClientAsync(ct)).ImageExistsAsync(image, ct))
            return (null, $"The image of {from.Environment}'s live deployment {source} no longer exists; redeploy {from.Environment} first.");
        var d = DeployStore.FindDeployment(c, source)!;
        var id = DeployStore.EnqueueDeployment(c, to.Id, "rollback", userId, to.Config, rollbackOf: source,
            commitSha: d.CommitSha, commitMessage: d.CommitMessage, commitAuthor: d.CommitAuthor, image: image);
        c.Execute("UPDATE deployments SET promoted_from = @env, requested_via = @via WHERE id = @id", new { env = from.Environment, via, id });
        worker.Wake();
        return (id, null);
    }

    /// <summary>The environment a deployment was promoted from, or null for any other deployment.</summary>
    public static string? FindPromotedFrom(SqliteConnection c, long deploymentId) =>
        c.ExecuteScalar<string?>("SELECT promoted_from FROM deployments WHERE id = @deploymentId", new { deploymentId });

    /// <summary>
    /// At the start of a promotion's run: the image gets a name of the target's own (a tag, no copy), so deleting or
    /// cleaning up the source environment does not take the image the target runs.
    /// </summary>
    public static async Task<string> AdoptImageAsync(DockerEngine engine, string image, string targetName, CancellationToken ct)
    {
        var docker = await engine.ClientAsync(ct);
        var colon = targetName.LastIndexOf(':');
        await docker.Images.TagImageAsync(image, new ImageTagParameters { RepositoryName = targetName[..colon], Tag = targetName[(colon + 1)..] }, ct);
        return targetName;
    }
}
