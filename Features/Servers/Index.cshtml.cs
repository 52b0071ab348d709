using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using VpsPanel.Features.Auth;
using VpsPanel.Features.Data;
using VpsPanel.Features.Docker;
using VpsPanel.Features.Settings;

namespace VpsPanel.Features.Servers;

/// <summary>
/// /servers (admins): this server and the ones that joined it (Docker Swarm), with state, availability, address,
/// labels, CPU, memory and running tasks; make this server the manager; add a server (a one-time join command);
/// drain, activate, label and remove a node. Every action is the API's (<see cref="SwarmServers"/>), refusals shown
/// on the page with the same sentence.
/// </summary>
[Authorize(Policy = AuthCookie.AdminPolicy)]
public sealed class IndexModel(Db db, DockerEngine engine, PanelSettings settings) : PageModel
{
    /// <summary>Null while this server is no cluster (the page offers to make it the manager).</summary>
    public List<ServerRow>? Nodes { get; private set; }
    public string? Problem { get; private set; }
    public string? Done { get; private set; }
    public string AdvertiseAddress { get; private set; } = "";
    public (string Command, DateTime ExpiresAt, string SwarmToken)? Join { get; private set; }

    async Task LoadAsync(CancellationToken ct)
    {
        try { Nodes = await SwarmServers.ListAsync(engine, ct); }
        catch (ServerProblem p) { Problem ??= p.Message; }
        catch (Exception e) when (DockerEngine.IsDockerError(e)) { Problem ??= "Docker: " + DockerErrors.Readable(e); }
    }

    public async Task OnGetAsync(CancellationToken ct)
    {
        Done = Request.Query["done"].ToString() is { Length: > 0 } d ? d : null;
        await LoadAsync(ct);
    }

    /// <summary>Runs one action; a refusal re-renders the page with its sentence and status, success goes back to the list.</summary>
    async Task<IActionResult> Act(Func<Task<string>> act, CancellationToken ct)
    {
        try
        {
            var done = await act();
            return Shared.PostRedirect.To(HttpContext, "/servers?done=" + Uri.EscapeDataString(done));
        }
        catch (Exception e) when (e is ServerProblem || DockerEngine.IsDockerError(e))
        {
            Problem = e is ServerProblem ? e.Message : "Docker: " + DockerErrors.Readable(e);
            // A page answers 422 for input it refuses (the form is shown again), else the API's status.
            Response.StatusCode = e is ServerProblem { Status: 400 } ? 422 : e is ServerProblem p ? p.Status : 502;
            await LoadAsync(ct);
            return Page();
        }
    }

    public Task<IActionResult> OnPostInitAsync(string? advertiseAddress, CancellationToken ct)
    {
        AdvertiseAddress = advertiseAddress ?? "";
        return Act(async () =>
        {
            var node = await SwarmServers.InitAsync(engine, advertiseAddress, ct);
            using var c = db.Open();
            Audit.AuditLog.Record(c, HttpContext, "server.init", advertiseAddress!.Trim(), $"this server is the swarm manager (node {node})");
            return $"This server is now the cluster's manager on {advertiseAddress!.Trim()}.";
        }, ct);
    }

    public async Task<IActionResult> OnPostJoinTokenAsync(CancellationToken ct)
    {
        try
        {
            var (swarmToken, _) = await SwarmServers.WorkerJoinAsync(engine, ct);
            if (ServerApi.PanelUrl(HttpContext, settings) is not { } url) throw new ServerProblem(409, "The panel's address is not known: set Panel:PublicUrl.");
            using var c = db.Open();
            var (token, expires) = JoinTokens.CreateJoinToken(c, User.UserId());
            Audit.AuditLog.Record(c, HttpContext, "server.join-token", "swarm", $"one-time join token, expires {expires:yyyy-MM-dd HH:mm} UTC");
            // Shown once, on this answer (not a redirect): the token is not kept anywhere it could be shown again.
            Join = (ServerApi.JoinCommand(url, token), expires, swarmToken);
        }
        catch (ServerProblem p)
        {
            Problem = p.Message;
            Response.StatusCode = p.Status;
        }
        await LoadAsync(ct);
        return Page();
    }

    public Task<IActionResult> OnPostAvailabilityAsync(string? id, string? availability, CancellationToken ct) =>
        Act(async () =>
        {
            var row = await SwarmServers.UpdateAsync(engine, id ?? "", availability ?? "", null, ct);
            using var c = db.Open();
            Audit.AuditLog.Record(c, HttpContext, "server.update", row.Hostname, ServerApi.UpdateDetail(availability, null));
            return $"{row.Hostname} is now {row.Availability}.";
        }, ct);

    /// <summary>Labels as typed: key=value, one per line or comma-separated; an empty field removes them all.</summary>
    public Task<IActionResult> OnPostLabelsAsync(string? id, string? labels, CancellationToken ct) =>
        Act(async () =>
        {
            var parsed = new Dictionary<string, string?>();
            foreach (var part in (labels ?? "").Split([',', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                var eq = part.IndexOf('=');
                if (eq < 0) throw new ServerProblem(400, $"\"{part}\" is not key=value.");
                parsed[part[..eq].Trim()] = part[(eq + 1)..].Trim();
            }
            if (SwarmServers.LabelsProblem(parsed) is { } problem) throw new ServerProblem(400, problem[..1].ToUpperInvariant() + problem[1..] + ".");
            var row = await SwarmServers.UpdateAsync(engine, id ?? "", null, parsed.ToDictionary(e => e.Key, e => e.Value!), ct);
            using var c = db.Open();
            Audit.AuditLog.Record(c, HttpContext, "server.update", row.Hostname, ServerApi.UpdateDetail(null, parsed.Keys));
            return $"Labels of {row.Hostname} saved.";
        }, ct);

    public Task<IActionResult> OnPostRemoveAsync(string? id, CancellationToken ct) =>
        Act(async () =>
        {
            var name = await SwarmServers.RemoveAsync(engine, id ?? "", ct);
            using var c = db.Open();
            Audit.AuditLog.Record(c, HttpContext, "server.remove", name, $"node {id}");
            return $"{name} was removed from the cluster.";
        }, ct);

    public static string Memory(long bytes) => bytes <= 0 ? "-" : $"{bytes / (1024.0 * 1024 * 1024):0.0} GiB";
    public static string Labels(IDictionary<string, string> labels) => string.Join(", ", labels.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => $"{l.Key}={l.Value}"));
}
