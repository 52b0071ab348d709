using VpsPanel.Features.Data;
using VpsPanel.Features.Docker;

namespace VpsPanel.Features.Services;

/// <summary>
/// Deleting a service: refused while projects are linked to it (their apps would lose their database on the next
/// deploy), with the list. The data volume goes only when asked; kept, it is named in the answer so it can be removed
/// by hand (docker volume rm) or reused by a service of the same name.
/// </summary>
public static class DeleteService
{
    public static async Task<string?> RunAsync(Db db, DockerEngine engine, ServiceRow s, bool deleteVolume, CancellationToken ct)
    {
        await ServiceLock.Gate.WaitAsync(ct);
        try
        {
            using var c = db.Open();
            var linked = ServiceStore.ListProjectsLinkedToService(c, s.Id);
            if (linked.Count > 0)
                return $"{s.Name} is linked to {string.Join(", ", linked.Select(p => p.Slug))}; unlink {(linked.Count == 1 ? "it" : "them")} first (nothing was deleted)";
            try { await ServiceContainer.RemoveAsync(await engine.ClientAsync(ct), PanelIdentity.Of(c), s.Name, deleteVolume, ct); }
            catch (Exception e) when (DockerEngine.IsDockerError(e)) { return $"nothing was deleted: {DockerErrors.Readable(e)}"; }
            ServiceStore.DeleteService(c, s.Id);
            return null;
        }
        finally { ServiceLock.Gate.Release(); }
    }
}
