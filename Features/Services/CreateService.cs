using Microsoft.AspNetCore.DataProtection;
using VpsPanel.Features.Data;
using VpsPanel.Features.Docker;
using VpsPanel.Features.Settings;

namespace VpsPanel.Features.Services;

/// <summary>
/// Creating a service (page, API, CLI through the API): the input is judged whole before anything is saved or made;
/// then the row, the volume and the container. A container that cannot be made leaves the row with status failed and
/// the engine's words, so the page can say what to fix (and Delete clears it).
/// Any signed-in user may create one; it is theirs (admins see all), as with projects.
/// </summary>
public static class CreateService
{
    public sealed record Input(string? Engine, string? Name, string? Version, long? MemoryMb, int? PublicPort);

    public const long DefaultMemoryMb = 512, MinMemoryMb = 32, MaxMemoryMb = 65536;

    /// <summary>Problems per field (engine, name, version, memoryMb, publicPort); empty when the service may be made.</summary>
    public static Dictionary<string, string> Validate(Microsoft.Data.Sqlite.SqliteConnection c, PanelSettings settings, Input i)
    {
        var errors = new Dictionary<string, string>();
        var engine = ServiceEngines.Find(i.Engine?.Trim());
        if (engine is null) errors["engine"] = $"\"{i.Engine}\" is not an engine the panel runs: choose postgres, mariadb or redis";
        var name = i.Name?.Trim() ?? "";
        if (ServiceEngines.NameProblem(name) is { } np) errors["name"] = np;
        else if (ServiceStore.ServiceNameExists(c, name)) errors["name"] = $"there is already a service named {name}; service names are unique on this panel";
        if (!string.IsNullOrWhiteSpace(i.Version) && ServiceEngines.VersionProblem(i.Version.Trim()) is { } vp) errors["version"] = vp;
        if (i.MemoryMb is { } m && (m < MinMemoryMb || m > MaxMemoryMb)) errors["memoryMb"] = $"the memory limit must be from {MinMemoryMb} to {MaxMemoryMb} MiB";
        if (i.PublicPort is { } port && ServiceContainer.PublicPortProblem(c, settings, port) is { } pp) errors["publicPort"] = pp;
        return errors;
    }

    /// <summary>Saves and makes the service; the row (failed, with the reason, when Docker refused), or the input's problems.</summary>
    public static async Task<(ServiceRow? Service, Dictionary<string, string> Errors)> RunAsync(Db db, DockerEngine docker, IDataProtectionProvider protection,
        PanelSettings settings, Input i, long ownerId, CancellationToken ct)
    {
        long id;
        using (var c = db.Open())
        {
            await ServiceLock.Gate.WaitAsync(ct);
            try
            {
                var errors = Validate(c, settings, i);
                if (errors.Count > 0) return (null, errors);
                var engine = ServiceEngines.Find(i.Engine!.Trim())!;
                var version = string.IsNullOrWhiteSpace(i.Version) ? ServiceEngines.DefaultVersion(settings, engine) : i.Version.Trim();
                id = ServiceStore.InsertService(c, protection, i.Name!.Trim(), engine.Id, version, ServiceEngines.ImageFor(settings, engine, version),
                    ServiceEngines.NewPassword(), i.MemoryMb ?? DefaultMemoryMb, i.PublicPort, ownerId);
            }
            finally { ServiceLock.Gate.Release(); }
        }
        return (await ServiceLock.RecreateAsync(db, docker, protection, settings, id, ct), []);
    }
}
