using System.Globalization;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using VpsPanel.Features.Data;
using VpsPanel.Features.Docker;
using VpsPanel.Features.Projects;
using VpsPanel.Features.Variables;

namespace VpsPanel.Features.Deployments;

/// <summary>
/// /deployments/{id}/container-logs?tail=N: the last lines the deployment's container wrote to stdout and stderr,
/// read from the engine on each request (nothing is stored), every line masked with the project's current secrets
/// and the deployment's own. The API's container-logs endpoint reads through <see cref="ReadMaskedAsync"/> too.
/// </summary>
public sealed class ContainerLogsModel(Db db, DockerEngine engine, IDataProtectionProvider protection) : PageModel
{
    public const int DefaultTail = 200, MaxTail = 5000;

    /// <summary>
    /// The most of the engine's answer that is kept (its newest lines): 5000 lines of a chatty app can be far larger,
    /// and each request holds what it keeps in memory.
    /// </summary>
    public const long MaxBytes = 4 * 1024 * 1024;

    public const string CutNotice = "These lines came to more than 4 MB: only the newest 4 MB are shown, the oldest lines asked for are left out.";

    public DeploymentRow? Deployment { get; private set; }
    public ProjectRow? Project { get; private set; }
    public string TailText { get; private set; } = DefaultTail.ToString(CultureInfo.InvariantCulture);
    public string? TailError { get; private set; }
    public string? GoneMessage { get; private set; }
    public string? EngineError { get; private set; }
    public List<LogLine> Lines { get; private set; } = [];
    public bool Truncated { get; private set; }

    public async Task<IActionResult> OnGetAsync(long id, string? tail, CancellationToken ct)
    {
        if (DeploymentLogEndpoints.FindVisible(HttpContext, db, protection, id) is not var (deployment, project, mask)) return NotFound();
        (Deployment, Project) = (deployment, project);
        TailText = tail ?? TailText;
        if (TailProblem(tail, out var n) is { } problem)
        {
            TailError = problem;
            Response.StatusCode = StatusCodes.Status422UnprocessableEntity;
            return Page();
        }
        ContainerLogs? logs;
        try
        {
            logs = await ReadMaskedAsync(engine, deployment, n, mask, ct);
        }
        catch (Exception e) when (DockerEngine.IsDockerError(e))
        {
            // The engine is down or refused: say so on this page rather than the generic error page.
            EngineError = DockerErrors.Readable(e);
            Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            return Page();
        }
        if (logs is null) GoneMessage = Gone(deployment);
        else (Lines, Truncated) = (logs.Lines.ToList(), logs.Truncated);
        return Page();
    }

    /// <summary>Null when the tail is absent (the default) or a whole number in 1–5000; what is wrong otherwise.</summary>
    public static string? TailProblem(string? raw, out int tail)
    {
        tail = DefaultTail;
        if (string.IsNullOrWhiteSpace(raw)) return null;
        if (!int.TryParse(raw, NumberStyles.None, CultureInfo.InvariantCulture, out tail) || tail < 1 || tail > MaxTail)
            return $"The number of lines must be a whole number from 1 to {MaxTail}; “{raw}” is not.";
        return null;
    }

    /// <summary>Why there are no logs to show: the container is removed once its deployment is retired, fails or is cancelled.</summary>
    public static string Gone(DeploymentRow d) => d.IsStatic ? $"Deployment {d.Id} has no container: it is a static site whose files Caddy serves itself."
        : d.ContainerName is { } name
        ? $"The container of deployment {d.Id} ({name}) no longer exists: a deployment's container is removed when it is retired, fails or is cancelled."
        : $"Deployment {d.Id} has no container: it ended ({d.Status}) before one was started.";

    /// <summary>The container's last lines, each masked whole; null when the deployment has no container (any more).</summary>
    public static async Task<ContainerLogs?> ReadMaskedAsync(DockerEngine engine, DeploymentRow d, int tail, SecretMask mask, CancellationToken ct)
    {
        if (d.ContainerName is not { } name) return null;
        if (await engine.ContainerLogsAsync(name, tail, MaxBytes, ct) is not { } logs) return null;
        return logs with { Lines = logs.Lines.Select(l => l with { Text = mask.Apply(l.Text) }).ToList() };
    }
}
