using System.Text;
using VpsPanel.Features.Auth;
using VpsPanel.Features.Data;
using VpsPanel.Features.Projects;

namespace VpsPanel.Features.Deployments;

/// <summary>
/// The log, three ways: the raw file (download), an earlier chunk (the page's "load earlier"), and a live
/// Server-Sent Events stream that follows the file from a byte offset and reports status changes.
/// </summary>
public static class DeploymentLogEndpoints
{
    public static void Map(WebApplication app)
    {
        app.MapGet("/deployments/{id:long}/log", (long id, HttpContext ctx, Db db, DeployLog logs) =>
        {
            if (!Visible(ctx, db, id)) return Results.NotFound();
            return LogFile(id, logs);
        });

        app.MapGet("/deployments/{id:long}/log/chunk", (long id, long before, HttpContext ctx, Db db, DeployLog logs) =>
        {
            if (!Visible(ctx, db, id)) return Results.NotFound();
            var (text, start, _) = logs.ReadBefore(id, before, 256 * 1024);
            return Results.Json(new LogChunk(text, start), DeployJson.Default.LogChunk);
        });

        app.MapGet("/deployments/{id:long}/events", StreamAsync);
    }

    public sealed record LogChunk(string Text, long Start);

    /// <summary>The whole log file as text (also the API's log endpoint).</summary>
    public static IResult LogFile(long id, DeployLog logs)
    {
        var path = logs.PathOf(id);
        if (!File.Exists(path)) return Results.Text("", "text/plain; charset=utf-8");
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        return Results.File(stream, "text/plain; charset=utf-8", $"deployment-{id}.log");
    }

    static bool Visible(HttpContext ctx, Db db, long id)
    {
        using var c = db.Open();
        var d = DeployStore.FindDeployment(c, id);
        return d is not null && ProjectStore.FindProjectVisibleTo(c, d.ProjectId, ctx.User.UserId(), ctx.User.IsAdmin()) is not null;
    }

    /// <summary>
    /// Follows the log file from ?from= (or Last-Event-ID after a reconnect). Each event's id is the byte offset after
    /// it, so a reconnecting browser resumes exactly. Ends with a "done" event once the deployment is finished and
    /// the file is read to its end.
    /// </summary>
    public static async Task StreamAsync(long id, long? from, HttpContext ctx, Db db, DeployLog logs)
    {
        if (!Visible(ctx, db, id))
        {
            ctx.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }
        var offset = long.TryParse(ctx.Request.Headers["Last-Event-ID"], out var resume) ? resume : from ?? 0;
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
                var (text, next) = logs.ReadAfter(id, offset, 64 * 1024);
                if (text.Length > 0)
                {
                    var sb = new StringBuilder("event: log\nid: ").Append(next).Append('\n');
                    foreach (var line in text.TrimEnd('\n').Split('\n')) sb.Append("data: ").Append(line).Append('\n');
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
