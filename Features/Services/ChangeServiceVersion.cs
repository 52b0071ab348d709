using Microsoft.AspNetCore.DataProtection;
using VpsPanel.Features.Data;
using VpsPanel.Features.Docker;
using VpsPanel.Features.Settings;

namespace VpsPanel.Features.Services;

/// <summary>
/// Changing a service's version. Within a major version the data directory's format is the same, so the container is
/// recreated from the new tag on the same volume. A new major version is refused with the steps: the data directory
/// of PostgreSQL (and of MariaDB, and Redis' files, less strictly) is made for one major version.
/// </summary>
public static class ChangeServiceVersion
{
    public static string MajorSteps(ServiceRow s, string version) =>
        $"{s.Name} runs {s.Engine} {s.Version}; {version} is another major version, whose data directory format differs, so it cannot run on this volume. " +
        $"To move: 1) make a dump of {s.Name} (pg_dump / mariadb-dump / BGSAVE); 2) create a new service with version {version}; " +
        "3) restore the dump into it; 4) link the projects to the new service and unlink the old one; 5) delete the old service.";

    /// <summary>Null when changed (or unchanged), else why not; nothing is changed then.</summary>
    public static async Task<string?> RunAsync(Db db, DockerEngine engine, IDataProtectionProvider protection, PanelSettings settings, ServiceRow s, string? version, CancellationToken ct)
    {
        version = version?.Trim() ?? "";
        if (ServiceEngines.VersionProblem(version) is { } problem) return problem;
        if (version == s.Version) return null;
        if (ServiceEngines.Major(version) != ServiceEngines.Major(s.Version)) return MajorSteps(s, version);
        var image = ServiceEngines.ImageFor(settings, ServiceEngines.Find(s.Engine)!, version);
        using (var c = db.Open())
        {
            try
            {
                // Checked before the old container goes: an image that is not there (and cannot be pulled) changes nothing.
                var docker = await engine.ClientAsync(ct);
                if (!await docker.ImageExistsAsync(image, ct))
                    await docker.Images.CreateImageAsync(new global::Docker.DotNet.Models.ImagesCreateParameters { FromImage = ServiceEngines.SplitImage(image).Repository, Tag = version }, null, new Progress<global::Docker.DotNet.Models.JSONMessage>(), ct);
                if (!await docker.ImageExistsAsync(image, ct)) return $"the image {image} is not on this server and could not be pulled; nothing was changed";
            }
            catch (Exception e) when (DockerEngine.IsDockerError(e)) { return $"the image {image} is not on this server and could not be pulled ({DockerErrors.Readable(e)}); nothing was changed"; }
            ServiceStore.UpdateServiceVersion(c, s.Id, version, image);
        }
        var after = await ServiceLock.RecreateAsync(db, engine, protection, settings, s.Id, ct);
        return after.Status == "failed" ? $"the version is now {version}, but the container could not be made: {after.StatusError}" : null;
    }
}
