using System.Text.Json;
using System.Text.RegularExpressions;
using VpsPanel.Features.Api;
using VpsPanel.Features.Auth;
using VpsPanel.Features.Data;
using VpsPanel.Features.Docker;
using VpsPanel.Features.Settings;

namespace VpsPanel.Features.Servers;

/// <summary>
/// /api/servers (admins): the swarm's nodes, making this server the manager, join tokens, drain/activate/label and
/// remove a node. Two routes are public by design: GET /join.sh (the script) and POST /api/servers/join, which a new
/// server's join.sh calls with the one-time token (the token is the credential).
/// </summary>
public static partial class ServerApi
{
    public static void Map(WebApplication app, RouteGroupBuilder api)
    {
        api.MapGet("/servers", async (HttpContext ctx, DockerEngine engine, CancellationToken ct) =>
        {
            if (!ctx.User.IsAdmin()) return OnlyAdmins();
            return await Answer(async () => Results.Ok((await SwarmServers.ListAsync(engine, ct) ?? []).Select(Json)));
        }).WithSummary("The cluster's servers (admins): id, hostname, address, role, state, availability, labels, cpus, memoryBytes, runningTasks; [] while this server is no cluster");

        api.MapPost("/servers/init", async (HttpContext ctx, Db db, DockerEngine engine, CancellationToken ct) =>
        {
            if (!ctx.User.IsAdmin()) return OnlyAdmins();
            var (body, error) = await ApiProblem.ReadJson<InitRequest>(ctx.Request);
            if (error is not null) return error;
            return await Answer(async () =>
            {
                var nodeId = await SwarmServers.InitAsync(engine, body!.AdvertiseAddress, ct);
                using var c = db.Open();
                Audit.AuditLog.Record(c, ctx, "server.init", body.AdvertiseAddress!.Trim(), $"this server is the swarm manager (node {nodeId})");
                return Results.Ok(Json((await SwarmServers.ListAsync(engine, ct))!.First(r => r.IsThisServer)));
            });
        }).WithSummary("Make this server the cluster's manager (Docker Swarm init) on advertiseAddress (admins)")
          .WithDescription("JSON body: {\"advertiseAddress\": \"203.0.113.10\"}, this server's address the other servers reach. 400 names an address that " +
              "is not an IP address, is loopback, or is not an address of this server's Docker host; 409 when it is already in a swarm.");

        api.MapPost("/servers/join-token", async (HttpContext ctx, Db db, DockerEngine engine, PanelSettings settings, CancellationToken ct) =>
        {
            if (!ctx.User.IsAdmin()) return OnlyAdmins();
            return await Answer(async () =>
            {
                var (swarmToken, _) = await SwarmServers.WorkerJoinAsync(engine, ct);
                if (PanelUrl(ctx, settings) is not { } url) return ApiProblem.Result(409, BadUrl);
                using var c = db.Open();
                var (token, expires) = JoinTokens.CreateJoinToken(c, ctx.User.UserId());
                Audit.AuditLog.Record(c, ctx, "server.join-token", "swarm", $"one-time join token, expires {expires:yyyy-MM-dd HH:mm} UTC");
                return Results.Ok(new { token, command = JoinCommand(url, token), expiresAt = expires, swarmToken });
            });
        }).WithSummary("A one-time token and the command that joins a new server with it (admins); swarmToken is Swarm's worker token for joining by hand")
          .WithDescription("The token is good for one join within an hour. 409 while this server is no cluster manager.");

        api.MapPatch("/servers/{id}", async (string id, HttpContext ctx, Db db, DockerEngine engine, CancellationToken ct) =>
        {
            if (!ctx.User.IsAdmin()) return OnlyAdmins();
            var (body, error) = await ApiProblem.ReadJson<UpdateRequest>(ctx.Request);
            if (error is not null) return error;
            var errors = new Dictionary<string, string>();
            if (body!.Availability is { } a && !SwarmServers.Availabilities.Contains(a)) errors["availability"] = $"\"{a}\" is not one of: drain, active";
            if (body.Labels is { } l && SwarmServers.LabelsProblem(l) is { } lp) errors["labels"] = lp;
            if (body.Availability is null && body.Labels is null) errors["body"] = "give availability (drain or active) and/or labels ({\"key\": \"value\"})";
            if (errors.Count > 0) return ApiProblem.Invalid(errors);
            return await Answer(async () =>
            {
                var row = await SwarmServers.UpdateAsync(engine, id, body.Availability, body.Labels?.ToDictionary(e => e.Key, e => e.Value!), ct);
                using var c = db.Open();
                Audit.AuditLog.Record(c, ctx, "server.update", row.Hostname, UpdateDetail(body.Availability, body.Labels?.Keys));
                return Results.Ok(Json(row));
            });
        }).WithSummary("Drain or activate a server and/or replace its labels (admins)")
          .WithDescription("JSON body: {\"availability\"?: \"drain\" | \"active\", \"labels\"?: {\"key\": \"value\"}} (labels replace the node's labels). " +
              "id is the node id (or a unique prefix, or its hostname).");

        api.MapDelete("/servers/{id}", async (string id, HttpContext ctx, Db db, DockerEngine engine, CancellationToken ct) =>
        {
            if (!ctx.User.IsAdmin()) return OnlyAdmins();
            return await Answer(async () =>
            {
                var name = await SwarmServers.RemoveAsync(engine, id, ct);
                using var c = db.Open();
                Audit.AuditLog.Record(c, ctx, "server.remove", name, $"node {id}");
                return Results.NoContent();
            });
        }).WithSummary("Remove a server from the cluster (admins): only one that is down or drained (409 otherwise, with the reason)");

        api.MapPost("/servers/join", async (HttpContext ctx, Db db, DockerEngine engine, PanelSettings settings, CancellationToken ct) =>
        {
            var (body, error) = await ApiProblem.ReadJson<JoinRequest>(ctx.Request);
            if (error is not null) return error;
            var address = ctx.Connection.RemoteIpAddress?.ToString() ?? "";
            // The swarm's state first: a token is not used up by a join that could not happen.
            return await Answer(async () =>
            {
                var (swarmToken, manager) = await SwarmServers.WorkerJoinAsync(engine, ct);
                using var c = db.Open();
                var r = JoinTokens.RedeemJoinToken(c, body!.Token, address, consume: body.Check != true);
                if (r != JoinTokens.Redeemed.Ok) return ApiProblem.Result(403, JoinTokens.Refusal(r));
                // The cluster's registry (Cluster:Registry), which the new server's engine must trust before it can pull cluster images.
                if (body.Check == true) return Results.Ok(new { valid = true, registry = settings.ClusterRegistry });
                Audit.AuditLog.RecordAs(c, ctx, null, "", "server.join", address, "a one-time join token was redeemed for the swarm's worker token", "api");
                return Results.Ok(new { swarmToken, managerAddress = manager });
            });
        }).AllowAnonymous()
          .WithSummary("For join.sh (no sign-in; the one-time token is the credential): redeem the token for the swarm's worker token and the manager's address")
          .WithDescription("JSON body: {\"token\": \"vpj_…\", \"check\"?: true}; with check the token is only checked, not used. 403 says whether it was used, expired or unknown.");

        app.MapGet("/join.sh", (HttpContext ctx, PanelSettings settings) =>
        {
            if (PanelUrl(ctx, settings) is not { } url) return Results.Text("echo 'join.sh: " + BadUrl + "' >&2; exit 1\n", "text/x-shellscript", statusCode: 400);
            return Results.Text(Script.Replace("@@PANEL_URL@@", url, StringComparison.Ordinal), "text/x-shellscript");
        }).AllowAnonymous().ExcludeFromDescription();
    }

    /// <summary>The join script, embedded (Features/Servers/join.sh).</summary>
    static readonly string Script = new StreamReader(typeof(ServerApi).Assembly.GetManifestResourceStream("servers/join.sh")!).ReadToEnd();

    const string BadUrl = "the panel's address is not known: set Panel:PublicUrl (e.g. https://panel.example.com)";

    [GeneratedRegex(@"^https?://[A-Za-z0-9.\-\[\]:]+$")]
    private static partial Regex PlainUrl();

    /// <summary>
    /// The panel's URL as new servers reach it: Panel:PublicUrl, else the scheme and host of this request. It goes into
    /// a shell script, so only a plain scheme://host[:port] is used; a Host header with anything else is refused.
    /// </summary>
    public static string? PanelUrl(HttpContext ctx, PanelSettings settings)
    {
        var url = (settings.PublicUrl != "" ? settings.PublicUrl : $"{ctx.Request.Scheme}://{ctx.Request.Host}").TrimEnd('/');
        return PlainUrl().IsMatch(url) ? url : null;
    }

    public static string JoinCommand(string url, string token) => $"curl -fsSL {url}/join.sh | sudo bash -s -- {token}";

    public static string UpdateDetail(string? availability, IEnumerable<string>? labelKeys) =>
        string.Join(", ", new[] { availability is null ? null : "availability " + availability, labelKeys is null ? null : "labels: " + string.Join(", ", labelKeys.Order(StringComparer.Ordinal)) }.Where(s => s is not null));

    static async Task<IResult> Answer(Func<Task<IResult>> act)
    {
        try { return await act(); }
        catch (ServerProblem p) { return ApiProblem.Result(p.Status, p.Message); }
        catch (Exception e) when (DockerEngine.IsDockerError(e)) { return ApiProblem.Result(502, "Docker: " + DockerErrors.Readable(e)); }
    }

    public static object Json(ServerRow r) => new
    {
        id = r.Id, hostname = r.Hostname, address = r.Address, role = r.Role, state = r.State, availability = r.Availability, labels = r.Labels,
        cpus = r.Cpus, memoryBytes = r.MemoryBytes, runningTasks = r.RunningTasks, leader = r.IsManagerLeader, thisServer = r.IsThisServer,
    };

    static IResult OnlyAdmins() => ApiProblem.Result(403, "Only admins can see and change the cluster's servers.");

    public sealed record InitRequest(string? AdvertiseAddress);
    public sealed record UpdateRequest(string? Availability, Dictionary<string, string?>? Labels);
    public sealed record JoinRequest(string? Token, bool? Check);
}
