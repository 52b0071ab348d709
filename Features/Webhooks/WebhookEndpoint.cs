using System.Globalization;
using System.Text.Json;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.RateLimiting;
using VpsPanel.Features.Api;
using VpsPanel.Features.Data;
using VpsPanel.Features.Deployments;
using VpsPanel.Features.Git;
using VpsPanel.Features.Projects;
using VpsPanel.Features.Settings;

namespace VpsPanel.Features.Webhooks;

/// <summary>
/// POST /webhooks/{slug}: a Git host says a push happened. Anonymous (the signature is the credential), no
/// antiforgery (no browser sends this), and fast: it only checks, records and enqueues; the worker does the rest.
/// Every delivery to an existing project lands in its delivery log with the outcome and why, because a webhook
/// that silently does nothing costs people hours; refused ones are counted there one row a minute, so strangers
/// posting to the public URL cannot push the real deliveries out of it.
/// </summary>
public static class WebhookEndpoint
{
    public const int MaxBodyBytes = 5 * 1024 * 1024;

    const string RateLimitPolicy = "webhook-deliveries";

    public static void Map(WebApplication app)
    {
        app.MapPost("/webhooks/{slug}", ReceiveAsync).AllowAnonymous().DisableAntiforgery().ExcludeFromDescription()
            .RequireRateLimiting(RateLimitPolicy);
        // Someone opening the webhook URL in a browser to "test" it gets told what it is, not a sign-in page.
        app.MapGet("/webhooks/{slug}", (string slug, HttpContext ctx) =>
        {
            ctx.Response.Headers.Allow = "POST";
            return ApiProblem.Result(405, $"This is the push webhook of project \"{slug}\": Git hosts POST push events to it. " +
                "Paste it into the repository's webhook settings; the project's page shows how, and lists every delivery.");
        }).AllowAnonymous().ExcludeFromDescription();
    }

    /// <summary>
    /// At most Webhooks:MaxDeliveriesPerMinute deliveries per project and minute (a fixed window). The URL is public,
    /// so without this anyone could flood a project's queue and push its real deliveries out of the 100-row log.
    /// Per project rather than per client address: Git hosts send from many addresses, and what needs protecting is
    /// one project's log and queue. A refused delivery is not logged, or the flood would fill the log anyway.
    /// </summary>
    public static void AddRateLimit(IServiceCollection services, PanelSettings settings) =>
        services.AddRateLimiter(o =>
        {
            o.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            o.AddPolicy(RateLimitPolicy, ctx => RateLimitPartition.GetFixedWindowLimiter(
                // Lower-cased so that changing the case of the slug in the URL is not a fresh allowance.
                (ctx.Request.RouteValues["slug"] as string ?? "").ToLowerInvariant(),
                _ => new FixedWindowRateLimiterOptions { PermitLimit = settings.WebhookDeliveriesPerMinute, Window = TimeSpan.FromMinutes(1), QueueLimit = 0 }));
            o.OnRejected = async (rejected, _) =>
            {
                var ctx = rejected.HttpContext;
                var wait = rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter) ? (int)Math.Ceiling(retryAfter.TotalSeconds) : 60;
                ctx.Response.Headers.RetryAfter = wait.ToString(CultureInfo.InvariantCulture);
                await ApiProblem.Write(ctx, StatusCodes.Status429TooManyRequests,
                    $"Too many deliveries to the webhook of \"{ctx.Request.RouteValues["slug"]}\": it accepts {settings.WebhookDeliveriesPerMinute} a minute " +
                    $"(setting Webhooks:MaxDeliveriesPerMinute). This one was not recorded and nothing was deployed; send it again in {wait} s.");
            };
        });

    /// <summary>What the Git host shows in its delivery view: the outcome and the reason, in words.</summary>
    public sealed record Answer(string Outcome, string Reason, long? DeploymentId = null);

    /// <summary>
    /// Checked when a slug names no project, or a project whose secret is missing or unreadable: random per process,
    /// so nobody can sign for it. Doing the same HMAC work against it means an unknown slug answers exactly what a
    /// known one with a wrong signature answers (status, body, and about the time), and the URL does not tell which
    /// projects exist.
    /// </summary>
    static readonly string NobodysSecret = WebhookStore.NewSecret();

    /// <summary>One push stored at a time in this process (see the push path of <see cref="ReceiveAsync"/>).</summary>
    static readonly SemaphoreSlim PushWrites = new(1, 1);

    static async Task<IResult> ReceiveAsync(string slug, HttpContext ctx, Db db, IDataProtectionProvider protection, DeployWorker worker,
        ProjectChanges changes, PanelSettings settings)
    {
        using var c = db.Open();
        var target = WebhookStore.FindWebhookTargetBySlug(c, slug);

        var headers = ctx.Request.Headers;
        var provider = WebhookMessage.DetectProvider(headers);
        var delivery = new WebhookStore.NewDelivery(target?.Id ?? 0, provider?.ToString(), provider is { } pr ? WebhookMessage.EventName(pr, headers) : null,
            provider is { } pd ? WebhookMessage.DeliveryId(pd, headers) : null);
        // Refused deliveries are counted per minute, not logged one by one (see WebhookStore.CountRefusedDelivery);
        // for an unknown slug nothing is written at all. logged: the operator's reason when it differs from the
        // sender's (a secret problem is the operator's to know, and would tell a stranger the project exists).
        IResult Reject(int status, string why, string? logged = null)
        {
            if (target is not null) WebhookStore.CountRefusedDelivery(c, delivery, logged ?? why);
            return ApiProblem.Result(status, $"Rejected: {why}. Nothing was deployed.");
        }
        IResult Ok(string outcome, string why, WebhookStore.NewDelivery d, long? deploymentId = null)
        {
            WebhookStore.InsertDelivery(c, d, outcome, why, deploymentId);
            return Results.Json(new Answer(outcome, why, deploymentId), statusCode: 200);
        }

        var (body, bodyProblem) = await ReadBodyAsync(ctx);
        if (bodyProblem is { } bp) return Reject(bp.Status, bp.Why);
        if (provider is not { } p)
            return Reject(401, "no Git host recognised from the headers (expected X-GitHub-Event, X-Gitlab-Event, X-Gitea-Event, X-Forgejo-Event or X-Event-Key)");
        var secretProblem = target is null ? "no such project"
            : target.WebhookSecretProtected is null ? "the project has no webhook secret yet; open the project's page to get one and paste it into the Git host"
            : null;
        var secret = secretProblem is null ? WebhookStore.ReadSecret(protection, target!.WebhookSecretProtected) : null;
        // Unreadable after the key ring in <DataDir>/keys was lost or replaced: no signature can be checked, so the
        // delivery is refused like a bad one (401), and the log says what the operator has to do about it.
        if (secretProblem is null && secret is null)
            secretProblem = "the stored webhook secret cannot be decrypted (the panel's key ring changed); " +
                "generate a new secret on the project's page and paste it into the Git host";
        if (WebhookMessage.SignatureProblem(p, headers, body!, secret ?? NobodysSecret) is { } bad)
        {
            // Each failure is an event; the flood window turns a burst into one message with the count.
            if (target is not null) Notifications.Notify.Event(c, Notifications.Notify.WebhookSignatureFailures, target.Id, null, $"A push webhook to {slug} was refused: {bad}.", $"/projects/{target.Id}");
            return Reject(401, bad, secretProblem);
        }
        // Only reached if someone guessed a random 256-bit secret; answered as if they had not.
        if (target is null || secretProblem is not null) return Reject(401, "signature mismatch", secretProblem);

        // A pull/merge request: its preview (Previews/PreviewDeploys) is made, redeployed or removed.
        var request = Previews.PullRequestEvent.Parse(p, delivery.Event ?? "", body!);
        if (request.Kind == Previews.PullRequestParseKind.Malformed) return Reject(400, $"the body is not a {p} pull request event: {request.Reason}");
        if (request.Kind == Previews.PullRequestParseKind.Ignored) return Ok("ignored", request.Reason!, delivery);
        if (request.Event is { } pull)
        {
            var done = await Previews.PreviewDeploys.HandleAsync(db, changes, worker, settings, WebhookStore.FindRootProjectId(c, target.Id), pull, CancellationToken.None);
            var prDelivery = delivery with { Branch = pull.HeadRef, CommitSha = GitCli.IsSha(pull.HeadSha) ? pull.HeadSha : null };
            // The delivery log's outcomes: a removal deployed nothing new ("skipped"), a failed one changed nothing ("ignored").
            WebhookStore.InsertDelivery(c, prDelivery, done.Kind switch { "removed" => "skipped", "failed" => "ignored", var k => k }, done.Reason, done.DeploymentId);
            if (done.Kind == "queued")
                Audit.AuditLog.RecordAs(c, ctx, null, "", "deploy.queue", target.Slug, $"preview deployment {done.DeploymentId} of request #{pull.Number}, from a signed {p} delivery", "webhook");
            return Results.Json(new Answer(done.Kind, done.Reason, done.DeploymentId), statusCode: done.Kind == "queued" ? 202 : 200);
        }

        WebhookEvent ev;
        try { ev = WebhookMessage.Parse(p, delivery.Event ?? "", body!); }
        catch (JsonException e) { return Reject(400, $"the body is not the JSON of a {p} event: {e.Message}"); }

        if (ev.Kind == WebhookEvent.Ping) return Ok("ping", "ping received: the URL and the secret are right", delivery);
        if (ev.Kind != WebhookEvent.Push) return Ok("ignored", ev.IgnoredBecause ?? $"event {delivery.Event} is not a push", delivery);

        // A project that follows the repository's default branch learns its name at its first deploy
        // (projects.default_branch); before that, the push itself names it.
        // Each environment of the project deploys its own branch (Projects/ProjectEnvironments): the push goes to the one
        // whose branch it moved, production first.
        var routes = ProjectEnvironments.ListEnvironmentsOfProject(c, WebhookStore.FindRootProjectId(c, target.Id))
            .Select(e => (e.Id, e.Environment, Branch: e.Id == target.Id && target.Branch == "" ? ev.DefaultBranch ?? "" : e.Branch))
            .Where(e => e.Branch != "" && e.Environment != ProjectEnvironments.PreviewTemplate).ToList();
        var route = routes.FirstOrDefault(e => ev.Refs.Any(r => !r.IsTag && !r.Deleted && r.Name == e.Branch));
        var branch = route.Branch ?? (target.Branch != "" ? target.Branch : ev.DefaultBranch ?? "");
        var pushed = route.Branch is null ? null : ev.Refs.First(r => !r.IsTag && !r.Deleted && r.Name == route.Branch);
        if (routes.Count > 1 && route.Branch is null) branch = string.Join(" or ", routes.Select(e => $"{e.Branch} ({e.Environment})"));
        if (pushed is null)
        {
            var first = ev.Refs.FirstOrDefault();
            var why = first switch
            {
                null => "the push moved no branch",
                _ when branch == "" => "the project deploys the repository's default branch, which is not known before its first deploy and this push does not name it; deploy once from the panel",
                { IsTag: true, Deleted: true } => $"tag {first.Name} was deleted",
                { IsTag: true } => $"tag {first.Name} was pushed; only pushes to branch {branch} deploy",
                { Deleted: true } => $"branch {first.Name} was deleted",
                _ => $"branch {first.Name} is not {branch}",
            };
            return Ok("ignored", why, delivery with { Branch = first?.Name, CommitSha = first?.CommitSha });
        }
        var pushDelivery = delivery with { Branch = pushed.Name, CommitSha = pushed.CommitSha };
        if (pushed.CommitSha is not { } sha || !GitCli.IsSha(sha))
            return Reject(400, $"the push to {pushed.Name} does not name a 40-character commit SHA");
        if (target.AutoDeploy == 0)
            return Ok("ignored", $"auto-deploy is off for this project; push to {branch} at {sha[..7]} logged, not deployed", pushDelivery);

        var project = ProjectStore.FindProjectById(c, route.Id)!;
        // One transaction for the whole push (delivery row, deployment, audit): one commit instead of four, and a
        // 202 still means all of it is stored. Pushes of this process take turns at it here, awaiting (no thread
        // held) rather than in SQLite, whose busy retry through Microsoft.Data.Sqlite sleeps 150 ms a try: 16
        // pushes at once had measured 88 pushes/s with a p99 of a second.
        await PushWrites.WaitAsync();
        long deploymentId;
        string reason;
        bool claimable;
        try
        {
            using var tx = c.BeginTransaction();
            // The delivery row first: its unique index is what makes a redelivery (or two racing copies) queue nothing.
            var deliveryRow = WebhookStore.InsertDelivery(c, pushDelivery, "queued", $"push to {branch} at {sha[..7]}", outer: tx);
            if (deliveryRow is null)
            {
                tx.Rollback();
                var earlier = WebhookStore.FindDeploymentOfQueuedDelivery(c, target.Id, delivery.DeliveryId!);
                return Ok("duplicate", $"delivery {delivery.DeliveryId} was received before" + (earlier is { } e ? $" and queued deployment #{e}" : "") + "; nothing new queued", pushDelivery, earlier);
            }
            (deploymentId, var existing) = DeployStore.EnqueuePushDeployment(c, project.Id, project.Config, sha, pushed.CommitMessage?.Trim(), pushed.CommitAuthor, tx);
            if (existing is not null)
            {
                // The freshness rule: a push of a commit already on its way or live changes nothing, whatever its delivery id.
                var already = existing.Status switch
                {
                    DeployStates.Live => "already live",
                    DeployStates.Queued => "already queued",
                    _ => $"already being deployed ({DeployStates.Label(existing.Status)})",
                };
                var skipped = $"commit {sha[..7]} is {already} (deployment #{deploymentId}); nothing new queued";
                WebhookStore.UpdateDelivery(c, deliveryRow.Value, "skipped", deploymentId, skipped, tx);
                tx.Commit();
                return Results.Json(new Answer("skipped", skipped, deploymentId), statusCode: 200);
            }
            reason = $"push to {branch} at {sha[..7]} queued deployment #{deploymentId}" + (project.Id != target.Id || routes.Count > 1 ? $" of {project.Environment}" : "");
            WebhookStore.UpdateDelivery(c, deliveryRow.Value, "queued", deploymentId, reason, tx);
            Audit.AuditLog.RecordAs(c, ctx, null, "", "deploy.queue", project.Slug, $"deployment {deploymentId} of commit {sha}, from a signed {p} push (delivery {delivery.DeliveryId})", "webhook", tx);
            claimable = !DeployStore.HasDeploymentAhead(c, project.Id, deploymentId, tx);
            tx.Commit();
        }
        finally { PushWrites.Release(); }
        // After the commit: woken earlier, the worker could look for the row before it is there (it polls anyway).
        // Not when the project has a deploy running or queued ahead: this one waits for it, and the worker is woken
        // when it ends. A burst of pushes to one project woke the worker for a claim per push.
        if (claimable) worker.Wake();
        return Results.Json(new Answer("queued", reason, deploymentId), statusCode: 202);
    }

    /// <summary>
    /// The raw body (signatures are over the exact bytes), or why it cannot be had: over the limit (413; an oversized
    /// body is read to its end, Kestrel's own limit capping that, so the sender gets our 413 rather than a reset
    /// connection), or arriving too slowly (408). The latter is Kestrel's MinRequestBodyDataRate (240 bytes/s after a
    /// 5 s grace period by default): Kestrel cancels the read and throws BadHttpRequestException with 408, which,
    /// uncaught, became a 500 after about 7 s. Kestrel closes the connection after this answer.
    /// </summary>
    static async Task<(byte[]? Body, (int Status, string Why)? Problem)> ReadBodyAsync(HttpContext ctx)
    {
        var request = ctx.Request;
        var tooLarge = (413, $"the body is larger than {MaxBodyBytes / (1024 * 1024)} MB");
        try
        {
            if (request.ContentLength > MaxBodyBytes)
            {
                try { await request.Body.CopyToAsync(Stream.Null); }
                catch (BadHttpRequestException e) when (e.StatusCode != StatusCodes.Status408RequestTimeout) { }
                return (null, tooLarge);
            }
            using var buffer = new MemoryStream();
            var chunk = new byte[81920];
            int n;
            while ((n = await request.Body.ReadAsync(chunk)) > 0)
            {
                if (buffer.Length + n > MaxBodyBytes)
                {
                    await request.Body.CopyToAsync(Stream.Null);
                    return (null, tooLarge);
                }
                buffer.Write(chunk, 0, n);
            }
            return (buffer.ToArray(), null);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge) { return (null, tooLarge); }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status408RequestTimeout)
        {
            var rate = ctx.Features.Get<Microsoft.AspNetCore.Server.Kestrel.Core.Features.IHttpMinRequestBodyDataRateFeature>()?.MinDataRate;
            return (null, (408, "the body arrived too slowly" + (rate is null ? "" :
                $" (the panel expects at least {rate.BytesPerSecond:0} bytes/s after the first {rate.GracePeriod.TotalSeconds:0} s)") +
                "; send it again in one go"));
        }
    }
}
