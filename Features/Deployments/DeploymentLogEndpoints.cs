using System.Text;
using Microsoft.AspNetCore.DataProtection;
using VpsPanel.Features.Auth;
using VpsPanel.Features.Data;
using VpsPanel.Features.Projects;
using VpsPanel.Features.Variables;

namespace VpsPanel.Features.Deployments;

/// <summary>
/// The log, three ways: the raw file (download), an earlier chunk (the page's "load earlier"), and a live
/// Server-Sent Events stream that follows the file from a byte offset and reports status changes.
/// The writer already masked the deployment's secrets; all three paths mask the project's current secrets once more,
/// so a value printed before it was marked secret is hidden too. Text leaves without ANSI escapes; the page gets HTML
/// (colours as classes, builder chatter marked; <see cref="LogView"/>).
/// </summary>
public static class DeploymentLogEndpoints
{
    public static void Map(WebApplication app)
    {
        app.MapGet("/deployments/{id:long}/log", (long id, HttpContext ctx, Db db, DeployLog logs, IDataProtectionProvider protection) =>
        {
            if (MaskIfVisible(ctx, db, protection, id) is not { } mask) return Results.NotFound();
            return LogFile(id, logs, mask);
        });

        app.MapGet("/deployments/{id:long}/log/chunk", (long id, long before, HttpContext ctx, Db db, DeployLog logs, IDataProtectionProvider protection) =>
        {
            if (MaskIfVisible(ctx, db, protection, id) is not { } mask) return Results.NotFound();
            var (raw, start, _) = logs.ReadBefore(id, before, 256 * 1024);
            var text = mask.Apply(raw);
            return Results.Json(new LogChunk(LogView.Text(text, withChatter: true), LogView.Html(text), start), DeployJson.Default.LogChunk);
        });

        app.MapGet("/deployments/{id:long}/events", StreamAsync);
    }

    public sealed record LogChunk(string Text, string Html, long Start);

    /// <summary>
    /// The whole log as text (also the API's log endpoint), masked line by line with the project's current secrets;
    /// lines are bounded by the writer, so a large log is masked without being held in memory. Escapes are removed;
    /// builder chatter is kept unless <paramref name="withChatter"/> is false (the API's ?chatter=0).
    /// </summary>
    public static IResult LogFile(long id, DeployLog logs, SecretMask mask, bool withChatter = true)
    {
        var file = logs.OpenRead(id);
        if (file is null) return Results.Text("", "text/plain; charset=utf-8");
        return Results.Stream(async body =>
        {
            using var reader = new StreamReader(file);
            await using var w = new StreamWriter(body, new UTF8Encoding(false));
            while (await reader.ReadLineAsync() is { } line)
                if (LogView.LineText(mask.Apply(line), withChatter) is { } text) await w.WriteAsync(text + "\n");
        }, "text/plain; charset=utf-8", $"deployment-{id}.log");
    }

    /// <summary>A deployment the user may see, its project, and the secrets its logs must never show.</summary>
    public sealed record VisibleDeployment(DeploymentRow Deployment, ProjectRow Project, SecretMask Mask);

    /// <summary>
    /// The deployment with its project and mask (the project's current secrets and the deployment's own snapshot)
    /// when the user may see it; null (a 404) otherwise.
    /// </summary>
    public static VisibleDeployment? FindVisible(HttpContext ctx, Db db, IDataProtectionProvider protection, long id)
    {
        using var c = db.Open();
        var d = DeployStore.FindDeployment(c, id);
        if (d is null || ProjectStore.FindProjectVisibleTo(c, d.ProjectId, ctx.User.UserId(), ctx.User.IsAdmin()) is not { } p) return null;
        return new(d, p, VariableStore.CurrentMask(c, protection, d.ProjectId, ProjectConfig.FromJson(d.ConfigJson).Variables));
    }

    public static SecretMask? MaskIfVisible(HttpContext ctx, Db db, IDataProtectionProvider protection, long id) =>
        FindVisible(ctx, db, protection, id)?.Mask;

    /// <summary>
    /// Follows the log file from ?from= (or Last-Event-ID after a reconnect). Each event's id is the byte offset after
    /// it, so a reconnecting browser resumes exactly. Ends with a "done" event once the deployment is finished and
    /// the file is read to its end. The lines are text without escapes, or with ?html=true (the page) HTML.
    /// </summary>
    public static async Task StreamAsync(long id, long? from, bool? html, HttpContext ctx, Db db, DeployLog logs, IDataProtectionProvider protection)
    {
        if (MaskIfVisible(ctx, db, protection, id) is not { } mask)
        {
            ctx.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }
        var resumed = long.TryParse(ctx.Request.Headers["Last-Event-ID"], out var resume);
        var offset = resumed ? resume : from ?? 0;
        if (offset < 0)
        {
            // A byte offset into the log: a negative one is a hand-made request, not a resume (the file read would throw).
            ctx.Response.StatusCode = StatusCodes.Status400BadRequest;
            ctx.Response.ContentType = "text/plain; charset=utf-8";
            await ctx.Response.WriteAsync($"The log position ({(resumed ? "Last-Event-ID" : "?from=")} {offset}) must be 0 or more: it is the byte offset an earlier event's id gave.");
            return;
        }
        var ct = ctx.RequestAborted;
        ctx.Response.ContentType = "text/event-stream";
        ctx.Response.Headers.CacheControl = "no-cache";
        ctx.Response.Headers["X-Accel-Buffering"] = "no";
        string? lastStatus = null;
        try
        {
            while (!ct.IsCancellationRequested)
            {
                string? status;
                using (var c = db.Open()) status = DeployStore.FindStatus(c, id);
                var (raw, next) = logs.ReadAfter(id, offset, 64 * 1024);
                var text = mask.Apply(raw);
                if (text.Length > 0)
                {
                    var sb = new StringBuilder("event: log\nid: ").Append(next).Append('\n');
                    var shown = html == true ? LogView.Html(text) : LogView.Text(text, withChatter: true);
                    foreach (var line in shown.TrimEnd('\n').Split('\n')) sb.Append("data: ").Append(line).Append('\n');
                    await ctx.Response.WriteAsync(sb.Append('\n').ToString(), ct);
                    offset = next;
                }
                if (status != lastStatus)
                {
                    await ctx.Response.WriteAsync($"event: status\ndata: {status}\n\n", ct);
                    lastStatus = status;
                }
                await ctx.Response.Body.FlushAsync(ct);
                if (status is null || (DeployStates.IsFinished(status) && text.Length == 0))
                {
                    await ctx.Response.WriteAsync($"event: done\ndata: {status}\n\n", ct);
                    return;
                }
                if (text.Length == 0) await Task.Delay(250, ct);
            }
        }
        catch (OperationCanceledException) { }
    }
}

[System.Text.Json.Serialization.JsonSerializable(typeof(DeploymentLogEndpoints.LogChunk))]
[System.Text.Json.Serialization.JsonSourceGenerationOptions(PropertyNamingPolicy = System.Text.Json.Serialization.JsonKnownNamingPolicy.CamelCase)]
internal partial class DeployJson : System.Text.Json.Serialization.JsonSerializerContext;
