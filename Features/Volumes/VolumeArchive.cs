using System.Formats.Tar;
using System.IO.Compression;
using Docker.DotNet;
using Docker.DotNet.Models;
using Microsoft.Data.Sqlite;
using VpsPanel.Features.Deployments;
using VpsPanel.Features.Docker;
using VpsPanel.Features.Projects;
using VpsPanel.Features.Settings;

namespace VpsPanel.Features.Volumes;

/// <summary>A backup or restore that cannot be done, with the reason for the page, the API (its status) and the CLI.</summary>
public sealed class VolumeArchiveException(int status, string message) : Exception(message)
{
    public int Status { get; } = status;
}

/// <summary>
/// Backup and restore of one volume as a .tar.gz whose entries are relative to the volume's root ("./", "data.db",
/// ".hidden", "sub/x"), so an archive of one project restores into another whatever their mount paths.
/// Both go through the Engine API's archive endpoint (GET/PUT /containers/{id}/archive), never through the host's
/// file system: the panel runs as its own user, and Docker extracts inside the container's root, so a link in an
/// archive cannot reach the host. The container is the app's running one for a backup; otherwise, and for every
/// restore, a helper container is created (never started) from the app's own image with the volume mounted: there is
/// no registry to pull a helper image from, and the app's image is always here.
/// </summary>
public static class VolumeArchive
{
    const string HelperLabel = "vpspanel.volume-helper";

    /// <summary>Streams the volume's .tar.gz to <paramref name="output"/>. Throws <see cref="VolumeArchiveException"/> before writing anything.</summary>
    public static async Task BackupAsync(SqliteConnection c, DockerEngine engine, ProjectRow project, VolumeRow volume, Func<Stream> output, CancellationToken ct)
    {
        var docker = await engine.ClientAsync(ct);
        var panel = PanelIdentity.Of(c);
        string? helper = null;
        try
        {
            var live = DeployStore.FindLiveDeployment(c, project.Id);
            var running = live?.ContainerName is { } name && (await docker.InspectContainerOrNullAsync(name, ct))?.State?.Running == true ? name : null;
            var source = running ?? (helper = await CreateHelperAsync(c, docker, panel, project, volume, ct));
            // "<path>/." is docker cp's "the contents of": the engine names the entries "./…" itself.
            var archive = await docker.Containers.GetArchiveFromContainerAsync(source, new ContainerPathStatParameters { Path = volume.MountPath + "/." }, false, ct);
            await using var from = archive.Stream ?? throw new VolumeArchiveException(502, "Docker sent no archive.");
            await using var gzip = new GZipStream(output(), CompressionLevel.Fastest, leaveOpen: true);
            await from.CopyToAsync(gzip, ct);
        }
        finally
        {
            if (helper is not null) await docker.RemoveContainerIfExistsAsync(helper, CancellationToken.None);
        }
    }

    /// <summary>
    /// Why the file is not a volume backup we may restore, or null: it must be a gzip-compressed tar with at least one
    /// entry, no absolute name, no ".." segment, and no hard link that points at such a name. Read to the end, so a
    /// damaged archive is refused before anything is stopped or replaced.
    /// </summary>
    public static async Task<string?> ArchiveProblemAsync(string file, CancellationToken ct)
    {
        try
        {
            await using var fs = File.OpenRead(file);
            var magic = new byte[2];
            if (await fs.ReadAsync(magic, ct) < 2 || magic[0] != 0x1f || magic[1] != 0x8b)
                return "The file is not a gzip-compressed tar archive (.tar.gz); upload a backup downloaded from a volume.";
            fs.Position = 0;
            await using var gzip = new GZipStream(fs, CompressionMode.Decompress);
            using var reader = new TarReader(gzip);
            var entries = 0;
            while (await reader.GetNextEntryAsync(copyData: false, ct) is { } e)
            {
                entries++;
                if (NameProblem(e.Name) is { } p) return $"The archive is refused: the entry \"{Shown(e.Name)}\" {p}. Nothing was changed.";
                if (e.EntryType == TarEntryType.HardLink && NameProblem(e.LinkName) is { } l)
                    return $"The archive is refused: the hard link \"{Shown(e.Name)}\" points at \"{Shown(e.LinkName)}\", which {l}. Nothing was changed.";
                if (e.DataStream is { } data) await data.CopyToAsync(Stream.Null, ct);
            }
            return entries == 0 ? "The archive holds no files: it is not a volume backup. Nothing was changed." : null;
        }
        catch (Exception e) when (e is InvalidDataException or FormatException or EndOfStreamException or ArgumentException)
        {
            return $"The file is not a valid gzip-compressed tar archive ({e.Message.TrimEnd('.')}); upload a backup downloaded from a volume. Nothing was changed.";
        }
    }

    static string? NameProblem(string name)
    {
        if (name.StartsWith('/')) return "has an absolute path";
        if (name.Contains('\0')) return "has a NUL character";
        if (name.Split('/').Any(s => s == "..")) return "has a \"..\" segment (it would leave the volume)";
        return null;
    }

    static string Shown(string v) => v.Length > 80 ? v[..80] + "…" : v;

    /// <summary>
    /// Replaces the volume's contents with the archive (checked already). The app is stopped for it and started again
    /// after. Docker can empty a volume only by removing it, which it allows once no container refers to it, and the
    /// app's image may have no program to delete files with (FROM scratch): so the stopped app container is removed,
    /// the volume removed and made again (same name and labels), the archive extracted into it through a helper
    /// container, and the app container created again from its own inspect (same name, image, command, environment,
    /// port, mounts and limits) and started.
    /// </summary>
    public static async Task RestoreAsync(SqliteConnection c, DockerEngine engine, ProjectRow project, VolumeRow volume, string archive, Action<string> log, CancellationToken ct)
    {
        if (volume.HostPath is not null)
            throw new VolumeArchiveException(409, $"The volume {volume.Name} is the host directory {volume.HostPath}; restore it on the host itself (only Docker volumes are restored here). Nothing was changed.");
        if (DeployStore.ListDeploymentsOfProject(c, project.Id, 20).Any(d => d.Status == DeployStates.Queued || DeployStates.IsRunning(d.Status)))
            throw new VolumeArchiveException(409, "A deployment of this project is queued or running; restore once it has finished. Nothing was changed.");
        var docker = await engine.ClientAsync(ct);
        var panel = PanelIdentity.Of(c);
        var volumeName = ProjectVolumes.DockerName(panel, project.Slug, volume.Name);
        var existing = await ProjectVolumes.InspectOrNullAsync(docker, volumeName, ct);
        if (existing is not null && ProjectVolumes.OwnerProblem(existing, project) is { } owner) throw new VolumeArchiveException(409, owner);
        // Every container using the volume must be the live one (others would keep it from being removed).
        var users = await docker.Containers.ListContainersAsync(new ContainersListParameters
            { All = true, Filters = new Dictionary<string, IDictionary<string, bool>> { ["volume"] = new Dictionary<string, bool> { [volumeName] = true } } }, ct);
        var live = DeployStore.FindLiveDeployment(c, project.Id)?.ContainerName;
        if (users.FirstOrDefault(u => u.Names.All(n => n.TrimStart('/') != live)) is { } other)
            throw new VolumeArchiveException(409, $"The container {other.Names.FirstOrDefault()?.TrimStart('/')} also uses the volume; restore when only the live app does. Nothing was changed.");
        var image = await HelperImageAsync(c, docker, project, ct);

        ContainerInspectResponse? app = live is null ? null : await docker.InspectContainerOrNullAsync(live, ct);
        if (app is not null) AppHold.Hold(app.Name.TrimStart('/'));
        var removed = false;
        try
        {
            if (app is not null)
            {
                log($"stopping {live} for the restore");
                try { await docker.Containers.StopContainerAsync(app.ID, new ContainerStopParameters { WaitBeforeKillSeconds = 10 }, ct); }
                catch (DockerContainerNotFoundException) { }
                await docker.RemoveContainerIfExistsAsync(app.ID, CancellationToken.None);
                removed = true;
            }
            if (existing is not null) await docker.Volumes.RemoveAsync(volumeName, false, CancellationToken.None);
            await docker.Volumes.CreateAsync(new VolumesCreateParameters { Name = volumeName, Labels = ProjectVolumes.Labels(panel, project, volume.Name) }, CancellationToken.None);
            var helper = await CreateHelperAsync(c, docker, panel, project, volume, CancellationToken.None, image);
            try
            {
                await using var fs = File.OpenRead(archive);
                // Docker unpacks gzip itself; the names are relative, so they land under the mount path.
                await docker.Containers.ExtractArchiveToContainerAsync(helper, new CopyToContainerParameters { Path = volume.MountPath }, fs, CancellationToken.None);
            }
            finally
            {
                await docker.RemoveContainerIfExistsAsync(helper, CancellationToken.None);
            }
            log($"restored volume {volume.Name} ({volumeName}) from the archive");
        }
        finally
        {
            try
            {
                if (removed && app is not null)
                {
                    await RecreateAsync(docker, app);
                    log($"started {live} again");
                }
            }
            finally
            {
                if (app is not null) AppHold.Release(app.Name.TrimStart('/'));
            }
        }
    }

    /// <summary>The app container again, from its own inspect: the same name, image, command, environment, labels and host config.</summary>
    static async Task RecreateAsync(DockerClient docker, ContainerInspectResponse app)
    {
        var cfg = app.Config ?? throw new VolumeArchiveException(502, $"Docker did not describe {app.Name}; start it again by redeploying.");
        await docker.Containers.CreateContainerAsync(new CreateContainerParameters
        {
            Name = app.Name.TrimStart('/'), Image = cfg.Image, Env = cfg.Env, Cmd = cfg.Cmd, Entrypoint = cfg.Entrypoint, Labels = cfg.Labels,
            ExposedPorts = cfg.ExposedPorts, Tty = cfg.Tty, WorkingDir = cfg.WorkingDir, User = cfg.User, Healthcheck = cfg.Healthcheck,
            StopSignal = cfg.StopSignal, HostConfig = app.HostConfig,
        }, CancellationToken.None);
        await docker.Containers.StartContainerAsync(app.Name.TrimStart('/'), new ContainerStartParameters(), CancellationToken.None);
    }

    /// <summary>The image of the live deployment, else of the newest deployment whose image still exists.</summary>
    static async Task<string> HelperImageAsync(SqliteConnection c, DockerClient docker, ProjectRow project, CancellationToken ct)
    {
        var candidates = DeployStore.ListDeploymentsOfProject(c, project.Id, 50).OrderByDescending(d => d.Status == DeployStates.Live).ThenByDescending(d => d.Id)
            .Select(d => d.Image).OfType<string>().Distinct();
        foreach (var image in candidates)
            if (await docker.ImageExistsAsync(image, ct)) return image;
        throw new VolumeArchiveException(409, "The project has no image yet to open its volume with; deploy it once first. Nothing was changed.");
    }

    /// <summary>A created, never started container of the app's image with only this volume mounted (the entrypoint is never run).</summary>
    static async Task<string> CreateHelperAsync(SqliteConnection c, DockerClient docker, string panel, ProjectRow project, VolumeRow volume, CancellationToken ct, string? image = null)
    {
        image ??= await HelperImageAsync(c, docker, project, ct);
        if (volume.HostPath is null && await ProjectVolumes.InspectOrNullAsync(docker, ProjectVolumes.DockerName(panel, project.Slug, volume.Name), ct) is null)
            throw new VolumeArchiveException(409, $"The volume {volume.Name} has not been created yet; it is made by the next deploy.");
        var name = $"vpspanel-{panel}-{project.Slug}-volume-{Guid.NewGuid().ToString("N")[..8]}";
        var mount = volume.HostPath is { } host
            ? new Mount { Type = "bind", Source = host, Target = volume.MountPath }
            : new Mount { Type = "volume", Source = ProjectVolumes.DockerName(panel, project.Slug, volume.Name), Target = volume.MountPath };
        await docker.Containers.CreateContainerAsync(new CreateContainerParameters
        {
            Name = name, Image = image, Entrypoint = ["/vpspanel-volume-helper-never-runs"], Cmd = [],
            Labels = new Dictionary<string, string> { [PanelIdentity.Label] = panel, ["vpspanel.project"] = project.Slug, [HelperLabel] = volume.Name },
            NetworkDisabled = true,
            HostConfig = new HostConfig { Mounts = [mount], NetworkMode = "none" },
        }, ct);
        return name;
    }
}
