using Dapper;
using Docker.DotNet;
using Docker.DotNet.Models;
using Microsoft.Data.Sqlite;
using VpsPanel.Features.Docker;
using VpsPanel.Features.Projects;
using VpsPanel.Features.Settings;
using VpsPanel.Features.Shared;

namespace VpsPanel.Features.Volumes;

public sealed record VolumeRow(long Id, long ProjectId, string Name, string MountPath, string? HostPath, string CreatedAt)
{
    public VolumeInput Input => new(Name, MountPath, HostPath);
}

/// <summary>
/// A project's volumes: the rows, the Docker volume each stands for, and saving a new list (the one path the page,
/// the API and the CLI take). The Docker volume is <c>&lt;panel id&gt;-&lt;slug&gt;-&lt;name&gt;</c>, labelled with the panel,
/// the project's slug and id, and the volume's name, so a panel finds its own volumes (and its orphans) by label and
/// two panels on one engine never touch each other's.
/// </summary>
public static class ProjectVolumes
{
    public const string VolumeLabel = "vpspanel.volume";
    public const string ProjectLabel = "vpspanel.project";
    public const string ProjectIdLabel = "vpspanel.project-id";

    public static string DockerName(string panel, string slug, string name) => $"{panel}-{slug}-{name}";

    /// <summary>A label of a Docker volume, or null.</summary>
    public static string? Label(VolumeResponse v, string key) => v.Labels is { } l && l.TryGetValue(key, out var value) ? value : null;

    public static List<VolumeRow> ListVolumesOfProject(SqliteConnection c, long projectId, SqliteTransaction? tx = null) =>
        c.Query<VolumeRow>("SELECT id, project_id, name, mount_path, host_path, created_at FROM project_volumes WHERE project_id = @projectId ORDER BY name",
            new { projectId }, tx).AsList();

    /// <summary>(slug, volume name) of every volume row of this panel: what is not orphaned.</summary>
    public static HashSet<(string Slug, string Name)> ListClaimedVolumes(SqliteConnection c) =>
        c.Query<(string, string)>("SELECT p.slug, v.name FROM project_volumes v JOIN projects p ON p.id = v.project_id").ToHashSet();

    /// <summary>Replaces the project's list in one transaction; returns the names added and removed (for the audit row).</summary>
    public static (List<string> Added, List<string> Removed) ReplaceVolumesOfProject(SqliteConnection c, long projectId, IReadOnlyList<VolumeInput> list)
    {
        using var tx = c.BeginTransaction();
        var before = ListVolumesOfProject(c, projectId, tx);
        c.Execute("DELETE FROM project_volumes WHERE project_id = @projectId", new { projectId }, tx);
        var now = Clock.Now();
        foreach (var v in list)
            c.Execute("""
                INSERT INTO project_volumes (project_id, name, mount_path, host_path, created_at)
                VALUES (@projectId, @Name, @mountPath, @HostPath, @createdAt)
                """, new { projectId, v.Name, mountPath = v.MountPath.TrimEnd('/'), v.HostPath, createdAt = before.FirstOrDefault(b => b.Name == v.Name)?.CreatedAt ?? now }, tx);
        tx.Commit();
        var changed = before.Select(b => b.Input).ToHashSet();
        return (list.Where(v => !changed.Contains(v with { MountPath = v.MountPath.TrimEnd('/') })).Select(Describe).ToList(),
                before.Where(b => !list.Any(v => v.Name == b.Name && v.MountPath.TrimEnd('/') == b.MountPath && v.HostPath == b.HostPath)).Select(b => Describe(b.Input)).ToList());
    }

    public static string Describe(VolumeInput v) => $"{v.Name} at {v.MountPath}" + (v.HostPath is { } h ? $" (host {h})" : "");

    /// <summary>
    /// Judges and saves a new list. Besides the rules (VolumeRules), a Docker volume of that name that belongs to
    /// another project (an orphan of a deleted project of the same short name) is refused: the new project would
    /// otherwise get the old one's data. Returns the errors (nothing saved then) or the audit detail.
    /// </summary>
    public static async Task<(Dictionary<string, string> Errors, string? Detail)> SaveAsync(SqliteConnection c, DockerEngine engine, PanelSettings settings,
        ProjectRow project, IReadOnlyList<VolumeInput> list, bool isAdmin, CancellationToken ct)
    {
        var saved = ListVolumesOfProject(c, project.Id).Select(v => v.Input).ToList();
        var errors = VolumeRules.Validate(list, isAdmin, settings, saved);
        if (errors.Count > 0) return (errors, null);
        var panel = PanelIdentity.Of(c);
        var docker = await engine.ClientAsync(ct);
        for (var i = 0; i < list.Count; i++)
        {
            if (list[i].HostPath is not null) continue;
            var existing = await InspectOrNullAsync(docker, DockerName(panel, project.Slug, list[i].Name), ct);
            if (existing is not null && OwnerProblem(existing, project) is { } owner) errors[$"volumes[{i}].name"] = owner;
        }
        if (errors.Count > 0) return (errors, null);
        var (added, removed) = ReplaceVolumesOfProject(c, project.Id, list);
        if (added.Count == 0 && removed.Count == 0) return (errors, null);
        return (errors, string.Join("; ", added.Select(a => "added " + a).Concat(removed.Select(r => "removed " + r + " (its data is kept)"))));
    }

    /// <summary>Why an existing Docker volume of this name may not be used by this project, or null.</summary>
    public static string? OwnerProblem(VolumeResponse v, ProjectRow project) =>
        Label(v, ProjectIdLabel) is { } owner && owner != project.Id.ToString()
            ? $"A volume named {v.Name} is left from a deleted project with the same short name; an admin can delete it under Settings → Orphaned volumes, or choose another name."
            : null;

    public static async Task<VolumeResponse?> InspectOrNullAsync(DockerClient docker, string name, CancellationToken ct)
    {
        try { return await docker.Volumes.InspectAsync(name, ct); }
        catch (DockerApiException e) when (e.StatusCode == System.Net.HttpStatusCode.NotFound) { return null; }
    }

    /// <summary>Every Docker volume of this panel (by label), claimed or not.</summary>
    public static async Task<IList<VolumeResponse>> ListPanelVolumesAsync(DockerClient docker, string panel, CancellationToken ct) =>
        (await docker.Volumes.ListAsync(new VolumesListParameters { Filters = DockerAbsentOk.LabelFilter($"{PanelIdentity.Label}={panel}", VolumeLabel) }, ct)).Volumes ?? [];

    /// <summary>The panel's volumes no project row claims (deleted projects, volumes removed from a project's list).</summary>
    public static async Task<List<VolumeResponse>> ListOrphansAsync(SqliteConnection c, DockerClient docker, CancellationToken ct)
    {
        var claimed = ListClaimedVolumes(c);
        return (await ListPanelVolumesAsync(docker, PanelIdentity.Of(c), ct))
            .Where(v => !claimed.Contains((Label(v, ProjectLabel) ?? "", Label(v, VolumeLabel) ?? "")))
            .OrderBy(v => v.Name, StringComparer.Ordinal).ToList();
    }

    /// <summary>
    /// Creates the project's Docker volumes that do not exist yet and makes host directories that do not (after their
    /// rules are checked again: a link may have been planted since they were saved); returns the mounts for
    /// ContainerSpec. Called by every deploy and rollback, so a volume is kept across them and mounted by the old and
    /// the new container alike during the switch.
    /// </summary>
    public static async Task<List<Mount>> PrepareMountsAsync(SqliteConnection c, DockerEngine engine, PanelSettings settings, ProjectRow project,
        Action<string> log, CancellationToken ct)
    {
        var rows = ListVolumesOfProject(c, project.Id);
        if (rows.Count == 0) return [];
        var panel = PanelIdentity.Of(c);
        var docker = await engine.ClientAsync(ct);
        var mounts = new List<Mount>();
        foreach (var v in rows)
        {
            if (v.HostPath is { } host)
            {
                if (VolumeRules.HostPathProblem(host, settings) is { } problem)
                    throw new Deployments.DeployFailure($"volume {v.Name}: {problem}");
                Directory.CreateDirectory(host);
                mounts.Add(new Mount { Type = "bind", Source = host, Target = v.MountPath });
                log($"volume {v.Name}: host directory {host} at {v.MountPath}");
                continue;
            }
            var name = DockerName(panel, project.Slug, v.Name);
            var existing = await InspectOrNullAsync(docker, name, ct);
            if (existing is not null && OwnerProblem(existing, project) is { } owner) throw new Deployments.DeployFailure($"volume {v.Name}: {owner}");
            if (existing is null)
            {
                await docker.Volumes.CreateAsync(new VolumesCreateParameters { Name = name, Labels = Labels(panel, project, v.Name) }, ct);
                log($"volume {v.Name}: created Docker volume {name}, mounted at {v.MountPath}");
            }
            else log($"volume {v.Name}: Docker volume {name} (kept), mounted at {v.MountPath}");
            mounts.Add(new Mount { Type = "volume", Source = name, Target = v.MountPath });
        }
        return mounts;
    }

    public static Dictionary<string, string> Labels(string panel, ProjectRow project, string name) => new()
    {
        [PanelIdentity.Label] = panel,
        [ProjectLabel] = project.Slug,
        [ProjectIdLabel] = project.Id.ToString(),
        [VolumeLabel] = name,
    };

    /// <summary>Deletes a project's Docker volumes (asked for when the project is deleted); containers must be gone first.</summary>
    public static async Task DeleteDockerVolumesOfProjectAsync(DockerClient docker, string panel, long projectId, CancellationToken ct)
    {
        // By the project's id, not its short name: an orphan of an older project with the same name is not this one's.
        foreach (var v in await docker.Volumes.ListAsync(new VolumesListParameters
                     { Filters = DockerAbsentOk.LabelFilter($"{PanelIdentity.Label}={panel}", $"{ProjectIdLabel}={projectId}", VolumeLabel) }, ct) is { Volumes: { } vs } ? vs : [])
            await docker.Volumes.RemoveAsync(v.Name, false, ct);
    }
}
