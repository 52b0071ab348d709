using Microsoft.AspNetCore.DataProtection;
using VpsPanel.Features.Deployments;
using VpsPanel.Features.Docker;
using VpsPanel.Features.Variables;

namespace VpsPanel.Features.Services;

/// <summary>A service container's last lines, masked like app logs: its password never appears, whatever the engine prints.</summary>
public static class ServiceLogs
{
    public static async Task<ContainerLogs?> ReadMaskedAsync(DockerEngine engine, IDataProtectionProvider protection, string panelId, ServiceRow s, int tail, CancellationToken ct)
    {
        var mask = new SecretMask([ServiceStore.Password(protection, s)]);
        if (await engine.ContainerLogsAsync(ServiceContainer.ContainerName(panelId, s.Name), tail, ContainerLogsModel.MaxBytes, ct) is not { } logs) return null;
        return logs with { Lines = logs.Lines.Select(l => l with { Text = mask.Apply(l.Text) }).ToList() };
    }
}
