using Microsoft.AspNetCore.DataProtection;
using VpsPanel.Features.Data;
using VpsPanel.Features.Deployments;
using VpsPanel.Features.Docker;
using VpsPanel.Features.Projects;

namespace VpsPanel.Features.Services;

/// <summary>
/// Linking a service to a project: the service's container joins the project's network under its name, and the
/// project gets the connection variables from its next deployment on (marked "redeploy needed"; redeployed now when
/// the caller confirmed). A project takes one SQL service and one Redis: a second would need the same DATABASE_URL.
/// Unlinking undoes both.
/// </summary>
public static class LinkService
{
    /// <summary>A problem, or null when linked; the deployment queued when <paramref name="redeploy"/>.</summary>
    public static async Task<(string? Problem, long? DeploymentId)> LinkAsync(Db db, DockerEngine engine, DeployWorker worker, ServiceRow s, ProjectRow p,
        bool redeploy, long userId, CancellationToken ct)
    {
        await ServiceLock.Gate.WaitAsync(ct);
        try
        {
            using var c = db.Open();
            if (ServiceStore.ServiceLinkExists(c, s.Id, p.Id)) return ($"{s.Name} is already linked to {p.Slug}", null);
            var engineOf = ServiceEngines.Find(s.Engine)!;
            if (ServiceStore.ListServicesLinkedToProject(c, p.Id).FirstOrDefault(o => ServiceEngines.Find(o.Engine)!.UrlVariable == engineOf.UrlVariable) is { } other)
                return ($"{p.Slug} is already linked to {other.Name}, which gives it {engineOf.UrlVariable}; unlink it first (a project takes one service of each kind)", null);
            await ServiceContainer.JoinProjectAsync(await engine.ClientAsync(ct), PanelIdentity.Of(c), s.Name, p.Slug, ct);
            ServiceStore.InsertServiceLink(c, s.Id, p.Id);
            long? deployment = null;
            if (redeploy && DeployStore.FindLiveDeployment(c, p.Id) is not null)
                deployment = DeployActions.Deploy(c, worker, ProjectStore.FindProjectById(c, p.Id)!, userId, null, "service link");
            return (null, deployment);
        }
        finally { ServiceLock.Gate.Release(); }
    }

    public static async Task<(bool Unlinked, long? DeploymentId)> UnlinkAsync(Db db, DockerEngine engine, DeployWorker worker, ServiceRow s, ProjectRow p,
        bool redeploy, long userId, CancellationToken ct)
    {
        await ServiceLock.Gate.WaitAsync(ct);
        try
        {
            using var c = db.Open();
            if (!ServiceStore.DeleteServiceLink(c, s.Id, p.Id)) return (false, null);
            await ServiceContainer.LeaveProjectAsync(await engine.ClientAsync(ct), PanelIdentity.Of(c), s.Name, p.Slug, ct);
            long? deployment = null;
            if (redeploy && DeployStore.FindLiveDeployment(c, p.Id) is not null)
                deployment = DeployActions.Deploy(c, worker, ProjectStore.FindProjectById(c, p.Id)!, userId, null, "service unlink");
            return (true, deployment);
        }
        finally { ServiceLock.Gate.Release(); }
    }
}
