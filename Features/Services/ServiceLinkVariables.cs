using Microsoft.AspNetCore.DataProtection;
using Microsoft.Data.Sqlite;
using VpsPanel.Features.Variables;

namespace VpsPanel.Features.Services;

/// <summary>
/// The variables a project gets from the services linked to it (DATABASE_URL or REDIS_URL and the parts, see
/// <see cref="ServiceEngines.LinkVariables"/>). They are computed from the service's row when a deployment takes its
/// snapshot, never stored as project variables: the password stays in one place. A project's own variable of the same
/// key wins over them (an explicit choice), and they win over shared variables.
/// </summary>
public static class ServiceLinkVariables
{
    public sealed record FromService(string Service, Variable Variable);

    public static List<FromService> ForProject(SqliteConnection c, IDataProtectionProvider protection, long projectId) =>
        ServiceStore.ListServiceRowsLinkedToProject(c, projectId)
            .SelectMany(s => ServiceEngines.LinkVariables(ServiceEngines.Find(s.Engine)!, s.Name, ServiceStore.Password(protection, s))
                .Select(v => new FromService(s.Name, v)))
            .ToList();
}
