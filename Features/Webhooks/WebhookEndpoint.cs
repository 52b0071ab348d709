using Dapper;
using System.Globalization;
using System.Text.Json;
using System.Threading.Channels;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Data.Sqlite;
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

    static async Task<IResult> ReceiveAsync(string slug, HttpContext ctx, Db db, IDataProtectionProvider protection, DeployWorker worker,
        ProjectChanges changes, PanelSettings settings, Writer writer)
    {
        var (body, bodyProblem) = await ReadBodyAsync(ctx);
        var handled = await writer.HandleAsync(new Waiting(slug, ctx, protection, body, bodyProblem));

        if (handled.Pull is { } pr)
        {
            // Preview deploys do their own work on their own connections, and may take a while: not in the writer.
            using var c = db.Open();
            var (target, delivery, p, pull) = pr;
            var done = await Previews.PreviewDeploys.HandleAsync(db, changes, worker, settings, WebhookStore.FindRootProjectId(c, target.Id), pull, CancellationToken.None);
            var prDelivery = delivery with { Branch = pull.HeadRef, CommitSha = GitCli.IsSha(pull.HeadSha) ? pull.HeadSha : null };
            // The delivery log's outcomes: a removal deployed nothing new ("skipped"), a failed one changed nothing ("ignored").
            WebhookStore.InsertDelivery(c, prDelivery, done.Kind switch { "removed" => "skipped", "failed" => "ignored", var k => k }, done.Reason, done.DeploymentId);
            if (done.Kind == "queued")
                Audit.AuditLog.RecordAs(c, ctx, null, "", "deploy.queue", target.Slug, $"preview deployment {done.DeploymentId} of request #{pull.Number}, from a signed {p} delivery", "webhook");
            return Results.Json(new Answer(done.Kind, done.Reason, done.DeploymentId), statusCode: done.Kind == "queued" ? 202 : 200);
        }
        // After the commit: woken earlier, the worker could look for the row before it is there (it polls anyway).
        // Not when the project has a deploy running or queued ahead: this one waits for it, and the worker is woken
        // when it ends. A burst of pushes to one project woke the worker for a claim per push.
        if (handled.Claimable) worker.Wake();
        return handled.Result!;
    }

    /// <summary>A delivery whose body was read, waiting for the <see cref="Writer"/>.</summary>
    public sealed record Waiting(string Slug, HttpContext Ctx, IDataProtectionProvider Protection, byte[]? Body, (int Status, string Why)? BodyProblem)
    {
        public TaskCompletionSource<Handled> Answer { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>
    /// Stores deliveries: one at a time, on one connection kept open for them, and all those that arrived while the
    /// previous ones were being stored in one transaction (group commit). A 202 or 200 is only sent after the commit
    /// that holds the delivery's rows. When one delivery throws, the transaction is rolled back and each delivery is
    /// stored again in its own, so only that one is answered with its error (a 500, nothing of it stored). No
    /// savepoint per delivery: it cost two statements each, and errors are rare.
    /// Why (issue 20, measured with bench/webhooks.sh and perf stat):
    /// <list type="bullet">
    /// <item>One at a time, in order: SQLite allows one writer, and waiting in SQLite's busy retry through
    /// Microsoft.Data.Sqlite sleeps 150 ms a try (16 pushes at once had measured 88 pushes/s with a p99 of a second).</item>
    /// <item>A kept connection: SQLite drops a connection's whole page cache when another connection committed since its
    /// last transaction. With a connection from the pool per delivery, each push read its pages again from the files:
    /// 116 pread calls per push. The kept connection has seen its own commits.</item>
    /// <item>Group commit: a push's transaction wrote 14 pages into the WAL (the delivery, deployment and audit rows
    /// and their indexes); pushes stored together share those pages and the commit's locking.</item>
    /// </list>
    /// </summary>
    public sealed class Writer(Db db)
    {
        /// <summary>At most this many deliveries in one transaction, so the first of a flood is not kept waiting long.</summary>
        const int MaxBatch = 64;

        readonly Channel<Waiting> waiting = Channel.CreateUnbounded<Waiting>(new UnboundedChannelOptions { SingleReader = true });
        int started;
        SqliteConnection? c;

        public Task<Handled> HandleAsync(Waiting w)
        {
            if (Interlocked.Exchange(ref started, 1) == 0) _ = Task.Run(LoopAsync);
            waiting.Writer.TryWrite(w);
            return w.Answer.Task;
        }

        async Task LoopAsync()
        {
            var batch = new List<Waiting>(MaxBatch);
            while (await waiting.Reader.WaitToReadAsync())
            {
                batch.Clear();
                while (batch.Count < MaxBatch && waiting.Reader.TryRead(out var w)) batch.Add(w);
                // Store answers every delivery, whatever fails; this is the last guard, so the loop (and with it every
                // later delivery) never ends on an exception.
                try { Store(batch); }
                catch (Exception e) { foreach (var w in batch) w.Answer.TrySetException(e); }
            }
        }

        void Store(List<Waiting> batch)
        {
            Handled[] answers;
            try { answers = StoreTogether(batch); }
            catch (Exception) when (batch.Count > 1)
            {
                // One delivery failed (or the commit did): the whole transaction was rolled back. Each is stored again
                // in its own transaction, so only the one at fault is answered with its error. Safe to repeat:
                // nothing of the first try was kept, and handling a delivery has no effect outside the database.
                foreach (var w in batch)
                    try { w.Answer.TrySetResult(Finish(StoreTogether([w]))[0]); }
                    catch (Exception e) { w.Answer.TrySetException(e); }
                return;
            }
            catch (Exception e)
            {
                batch[0].Answer.TrySetException(e);
                return;
            }
            Finish(answers);
            for (var i = 0; i < batch.Count; i++) batch[i].Answer.TrySetResult(answers[i]);
        }

        static Handled[] Finish(Handled[] answers)
        {
            if (answers.Any(a => a.Notified)) Notifications.Notify.WakeWorker();
            return answers;
        }

        /// <summary>The deliveries in one transaction, committed; throws (nothing stored) when any of them fails.</summary>
        Handled[] StoreTogether(List<Waiting> batch)
        {
            try
            {
                c ??= OpenKept();
                using var tx = c.BeginTransaction();
                var reads = new BatchReads(c, tx);
                var answers = batch.Select(w => Handle(c, tx, reads, w)).ToArray();
                foreach (var projectId in reads.Logged) WebhookStore.TrimDeliveries(c, projectId, tx);
                tx.Commit();
                return answers;
            }
            catch (SqliteException)
            {
                // The connection may be what failed (disk full, I/O error): a fresh one next time.
                c?.Dispose();
                c = null;
                throw;
            }
        }

        /// <summary>
        /// The kept connection. Its temporary files in memory: SQLite copies the pages a statement of a longer
        /// transaction changes into a statement journal, which past 64 KiB spilled into a temporary file, written page
        /// by page (37 pwrite calls per push with a savepoint per delivery, perf trace). In memory that is a copy.
        /// </summary>
        SqliteConnection OpenKept()
        {
            var kept = db.Open();
            kept.Execute("PRAGMA temp_store = MEMORY;");
            // Its statements stay compiled (Data/KeptSql): parsing and planning them again was ~13% of a push's CPU.
            KeptSql.Keep(kept);
            return kept;
        }
    }

    /// <summary>A pull/merge request event, handled after <see cref="Handle"/> by Previews/PreviewDeploys.</summary>
    public sealed record PullRequest(WebhookTarget Target, WebhookStore.NewDelivery Delivery, Provider Provider, Previews.PullRequestEvent Event);

    /// <summary>
    /// What the deliveries of one transaction read of projects, read once for all of them: the rows cannot change
    /// during it (the transaction is BEGIN IMMEDIATE, so no other connection commits meanwhile, and deliveries write
    /// no project). Of the environments only their ids, names and branches are used; their live and last deployment
    /// columns would go stale as the batch queues deployments. Also the projects whose delivery log grew, trimmed
    /// once before the commit rather than after each delivery.
    /// </summary>
    sealed class BatchReads(SqliteConnection c, SqliteTransaction tx)
    {
        readonly Dictionary<string, WebhookTarget?> targets = [];
        readonly Dictionary<long, List<EnvironmentRow>> environments = [];
        readonly Dictionary<long, ProjectRow> projects = [];
        public HashSet<long> Logged { get; } = [];

        public WebhookTarget? Target(string slug) =>
            targets.TryGetValue(slug, out var t) ? t : targets[slug] = WebhookStore.FindWebhookTargetBySlug(c, slug, tx);

        public List<EnvironmentRow> EnvironmentsOf(long projectId) =>
            environments.TryGetValue(projectId, out var e) ? e
                : environments[projectId] = ProjectEnvironments.ListEnvironmentsOfProject(c, WebhookStore.FindRootProjectId(c, projectId, tx), tx);

        public ProjectRow Project(long id) => projects.TryGetValue(id, out var p) ? p : projects[id] = ProjectStore.FindProjectById(c, id, tx)!;

        readonly Dictionary<string, string?> secrets = [];

        /// <summary>
        /// Projects a delivery of this batch queued a deployment for: the next push to one of them has a deployment ahead
        /// of it, and the project's queued manual deploys are already superseded (by the first).
        /// </summary>
        public HashSet<long> Queued { get; } = [];

        /// <summary>The decrypted secret, decrypted once per batch (kept no longer than the batch).</summary>
        public string? Secret(IDataProtectionProvider protection, string stored) =>
            secrets.TryGetValue(stored, out var s) ? s : secrets[stored] = WebhookStore.ReadSecret(protection, stored);
    }

    /// <summary>
    /// What <see cref="Handle"/> decided: the answer, or a pull request to hand on; whether to wake the deploy worker,
    /// and whether a notification was queued (the sender is woken after the commit).
    /// </summary>
    public sealed record Handled(IResult? Result, PullRequest? Pull = null, bool Claimable = false, bool Notified = false);

    /// <summary>Everything a delivery reads from and writes to the database, inside the <see cref="Writer"/>'s transaction.</summary>
    static Handled Handle(SqliteConnection c, SqliteTransaction tx, BatchReads reads, Waiting w)
    {
        var (slug, ctx, protection, body, bodyProblem) = w;
        var target = reads.Target(slug);

        var headers = ctx.Request.Headers;
        var provider = WebhookMessage.DetectProvider(headers);
        var delivery = new WebhookStore.NewDelivery(target?.Id ?? 0, provider?.ToString(), provider is { } pr ? WebhookMessage.EventName(pr, headers) : null,
            provider is { } pd ? WebhookMessage.DeliveryId(pd, headers) : null);
        // Refused deliveries are counted per minute, not logged one by one (see WebhookStore.CountRefusedDelivery);
        // for an unknown slug nothing is written at all. logged: the operator's reason when it differs from the
        // sender's (a secret problem is the operator's to know, and would tell a stranger the project exists).
        var notified = false;
        Handled Reject(int status, string why, string? logged = null)
        {
            if (target is not null) WebhookStore.CountRefusedDelivery(c, delivery, logged ?? why, tx);
            return new(ApiProblem.Result(status, $"Rejected: {why}. Nothing was deployed."), Notified: notified);
        }
        Handled Ok(string outcome, string why, WebhookStore.NewDelivery d, long? deploymentId = null)
        {
            WebhookStore.InsertDelivery(c, d, outcome, why, deploymentId, tx, trim: false);
            reads.Logged.Add(d.ProjectId);
            return new(Results.Json(new Answer(outcome, why, deploymentId), statusCode: 200));
        }

        if (bodyProblem is { } bp) return Reject(bp.Status, bp.Why);
        if (provider is not { } p)
            return Reject(401, "no Git host recognised from the headers (expected X-GitHub-Event, X-Gitlab-Event, X-Gitea-Event, X-Forgejo-Event or X-Event-Key)");
        var secretProblem = target is null ? "no such project"
            : target.WebhookSecretProtected is null ? "the project has no webhook secret yet; open the project's page to get one and paste it into the Git host"
            : null;
        var secret = secretProblem is null ? reads.Secret(protection, target!.WebhookSecretProtected!) : null;
        // Unreadable after the key ring in <DataDir>/keys was lost or replaced: no signature can be checked, so the
        // delivery is refused like a bad one (401), and the log says what the operator has to do about it.
        if (secretProblem is null && secret is null)
            secretProblem = "the stored webhook secret cannot be decrypted (the panel's key ring changed); " +
                "generate a new secret on the project's page and paste it into the Git host";
        if (WebhookMessage.SignatureProblem(p, headers, body!, secret ?? NobodysSecret) is { } bad)
        {
            // Each failure is an event; the flood window turns a burst into one message with the count.
            if (target is not null)
            {
                Notifications.Notify.Event(c, Notifications.Notify.WebhookSignatureFailures, target.Id, null, $"A push webhook to {slug} was refused: {bad}.", $"/projects/{target.Id}", tx);
                notified = true;
            }
            return Reject(401, bad, secretProblem);
        }
        // Only reached if someone guessed a random 256-bit secret; answered as if they had not.
        if (target is null || secretProblem is not null) return Reject(401, "signature mismatch", secretProblem);

        // A pull/merge request: its preview (Previews/PreviewDeploys) is made, redeployed or removed.
        var request = Previews.PullRequestEvent.Parse(p, delivery.Event ?? "", body!);
        if (request.Kind == Previews.PullRequestParseKind.Malformed) return Reject(400, $"the body is not a {p} pull request event: {request.Reason}");
        if (request.Kind == Previews.PullRequestParseKind.Ignored) return Ok("ignored", request.Reason!, delivery);
        if (request.Event is { } pull) return new(null, new PullRequest(target, delivery, p, pull));

        WebhookEvent ev;
        try { ev = WebhookMessage.Parse(p, delivery.Event ?? "", body!); }
        catch (JsonException e) { return Reject(400, $"the body is not the JSON of a {p} event: {e.Message}"); }

        if (ev.Kind == WebhookEvent.Ping) return Ok("ping", "ping received: the URL and the secret are right", delivery);
        if (ev.Kind != WebhookEvent.Push) return Ok("ignored", ev.IgnoredBecause ?? $"event {delivery.Event} is not a push", delivery);

        // A project that follows the repository's default branch learns its name at its first deploy
        // (projects.default_branch); before that, the push itself names it.
        // Each environment of the project deploys its own branch (Projects/ProjectEnvironments): the push goes to the one
        // whose branch it moved, production first.
        var routes = reads.EnvironmentsOf(target.Id)
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

        var project = reads.Project(route.Id);
        // The delivery row first: its unique index is what makes a redelivery (or two racing copies) queue nothing.
        var deliveryRow = WebhookStore.InsertDelivery(c, pushDelivery, "queued", $"push to {branch} at {sha[..7]}", outer: tx, trim: false);
        if (deliveryRow is null)
        {
            var earlier = WebhookStore.FindDeploymentOfQueuedDelivery(c, target.Id, delivery.DeliveryId!, tx);
            return Ok("duplicate", $"delivery {delivery.DeliveryId} was received before" + (earlier is { } e ? $" and queued deployment #{e}" : "") + "; nothing new queued", pushDelivery, earlier);
        }
        reads.Logged.Add(target.Id);
        var (deploymentId, existing) = DeployStore.EnqueuePushDeployment(c, project.Id, project.Config, sha, pushed.CommitMessage?.Trim(), pushed.CommitAuthor, tx,
            supersedeQueuedByHand: !reads.Queued.Contains(project.Id));
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
            return new(Results.Json(new Answer("skipped", skipped, deploymentId), statusCode: 200));
        }
        var reason = $"push to {branch} at {sha[..7]} queued deployment #{deploymentId}" + (project.Id != target.Id || routes.Count > 1 ? $" of {project.Environment}" : "");
        WebhookStore.UpdateDelivery(c, deliveryRow.Value, "queued", deploymentId, reason, tx);
        Audit.AuditLog.RecordAs(c, ctx, null, "", "deploy.queue", project.Slug, $"deployment {deploymentId} of commit {sha}, from a signed {p} push (delivery {delivery.DeliveryId})", "webhook", tx);
        var claimable = !reads.Queued.Contains(project.Id) && !DeployStore.HasDeploymentAhead(c, project.Id, deploymentId, tx);
        reads.Queued.Add(project.Id);
        return new(Results.Json(new Answer("queued", reason, deploymentId), statusCode: 202), Claimable: claimable);
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
            // Git hosts send a Content-Length (Kestrel holds the body to it): read into an array of that size, not
            // through an 80 KiB chunk and a growing stream, allocated and zeroed per delivery.
            if (request.ContentLength is { } length)
            {
                var exact = new byte[length];
                var read = 0;
                while (read < exact.Length && await request.Body.ReadAsync(exact.AsMemory(read)) is var got and > 0) read += got;
                return (read == exact.Length ? exact : exact[..read], null);
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
