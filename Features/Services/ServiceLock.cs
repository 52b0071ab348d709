using Microsoft.AspNetCore.DataProtection;
using VpsPanel.Features.Data;
using VpsPanel.Features.Docker;
using VpsPanel.Features.Settings;

namespace VpsPanel.Features.Services;

/// <summary>
/// One service change at a time (create, link, start/stop, version, delete): they are rare and quick, and two at once
/// could both find a name free or both recreate one container.
/// </summary>
public static class ServiceLock
{
    public static readonly SemaphoreSlim Gate = new(1, 1);

    /// <summary>(Re)creates a service's container from its row and records the outcome in its status.</summary>
    public static async Task<ServiceRow> RecreateAsync(Db db, DockerEngine engine, IDataProtectionProvider protection, PanelSettings settings, long id, CancellationToken ct)
    {
        await Gate.WaitAsync(ct);
        try
        {
            using var c = db.Open();
            var s = ServiceStore.FindServiceById(c, id)!;
            try
            {
                await ServiceContainer.CreateAsync(await engine.ClientAsync(ct), c, protection, settings, s, ct);
                ServiceStore.UpdateServiceStatus(c, id, s.DesiredState == "running" ? "running" : "stopped");
            }
            catch (Exception e) when (DockerEngine.IsDockerError(e))
            {
                ServiceStore.UpdateServiceStatus(c, id, "failed", DockerErrors.Readable(e));
            }
            return ServiceStore.FindServiceById(c, id)!;
        }
        finally { Gate.Release(); }
    }
}
