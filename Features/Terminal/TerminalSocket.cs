using System.Collections.Concurrent;
using System.Globalization;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Docker.DotNet;
using VpsPanel.Features.Auth;
using VpsPanel.Features.Data;
using VpsPanel.Features.Deployments;
using VpsPanel.Features.Docker;
using VpsPanel.Features.Projects;
using VpsPanel.Features.Settings;

namespace VpsPanel.Features.Terminal;

/// <summary>How many terminals each user has open now (Terminal:MaxSessionsPerUser). In memory: a restart ends them all anyway.</summary>
public sealed class TerminalSessions
{
    readonly ConcurrentDictionary<long, int> _open = new();

    /// <summary>Counts one more for the user unless they already have <paramref name="max"/>.</summary>
    public bool TryOpen(long userId, int max)
    {
        while (true)
        {
            var n = _open.GetOrAdd(userId, 0);
            if (n >= max) return false;
            if (_open.TryUpdate(userId, n + 1, n)) return true;
        }
    }

    public void Close(long userId) => _open.AddOrUpdate(userId, 0, (_, n) => Math.Max(0, n - 1));
}

/// <summary>
/// GET /projects/{id}/terminal/ws: the terminal page's WebSocket, bridged to a shell (with a TTY) in the project's live
/// container. Frames: binary both ways is the terminal's bytes (keys in, screen out); a text frame from the browser is
/// a size, {"cols":N,"rows":N}; a text frame from the panel is a message to show (refused size, no shell, limit, why it
/// closed). Refusals that need no socket are HTTP answers: not the user's project 404 (as everywhere: others' projects
/// are never confirmed to exist), not a WebSocket 400, another site's page 403.
/// </summary>
public static class TerminalSocket
{
    public const int MaxSize = 1000;
    /// <summary>How often an open terminal checks that its sign-in session still exists and that the user typed lately.</summary>
    static readonly TimeSpan CheckEvery = TimeSpan.FromSeconds(15);

    public static void Map(WebApplication app) => app.MapGet("/projects/{id:long}/terminal/ws", RunAsync);

    static async Task RunAsync(long id, HttpContext ctx, Db db, DockerEngine engine, PanelSettings settings, TerminalSessions sessions)
    {
        ProjectRow? project;
        DeploymentRow? live;
        using (var c = db.Open())
        {
            project = ProjectStore.FindProjectVisibleTo(c, id, ctx.User.UserId(), ctx.User.IsAdmin());
            live = project is null ? null : DeployStore.FindLiveDeployment(c, id);
        }
        if (project is null) { await RefuseAsync(ctx, StatusCodes.Status404NotFound, $"There is no project {id} you may open a terminal in."); return; }
        if (!ctx.WebSockets.IsWebSocketRequest)
        {
            await RefuseAsync(ctx, StatusCodes.Status400BadRequest, $"This address is the terminal's WebSocket; open /projects/{id}/terminal in the browser.");
            return;
        }
        if (OriginProblem(ctx, settings) is { } originProblem) { await RefuseAsync(ctx, StatusCodes.Status403Forbidden, originProblem); return; }

        using var ws = await ctx.WebSockets.AcceptWebSocketAsync();
        var userId = ctx.User.UserId();
        if (!sessions.TryOpen(userId, settings.TerminalMaxSessionsPerUser))
        {
            await EndAsync(ws, $"You already have {settings.TerminalMaxSessionsPerUser} terminals open, the most one user may have (Terminal:MaxSessionsPerUser); close one and try again.",
                WebSocketCloseStatus.PolicyViolation, "too many terminals");
            return;
        }
        try
        {
            await BridgeAsync(ctx, ws, engine, settings, project, live);
        }
        finally
        {
            sessions.Close(userId);
        }
    }

    /// <summary>
    /// Cross-site WebSocket hijacking: a browser sends the panel's cookie with a WebSocket opened by any site's page
    /// (SameSite=Lax does not stop it), and a WebSocket has no CORS. The browser's Origin is the only proof the page is
    /// the panel's own, so it must be present and be this panel: the address the request came to (scheme and host,
    /// after the trusted proxy's forwarded headers) or Panel:PublicUrl.
    /// </summary>
    public static string? OriginProblem(HttpContext ctx, PanelSettings settings)
    {
        var origin = ctx.Request.Headers.Origin.ToString();
        var own = $"{ctx.Request.Scheme}://{ctx.Request.Host}";
        if (origin == "") return "The terminal WebSocket needs an Origin header (browsers always send one); refused.";
        if (string.Equals(origin, own, StringComparison.OrdinalIgnoreCase)) return null;
        if (settings.PublicUrl != "" && string.Equals(origin, settings.PublicUrl, StringComparison.OrdinalIgnoreCase)) return null;
        return $"The terminal WebSocket was opened by a page of {origin}, not of this panel ({own}); refused (cross-site WebSocket).";
    }

    static async Task RefuseAsync(HttpContext ctx, int status, string message)
    {
        ctx.Response.StatusCode = status;
        ctx.Response.ContentType = "text/plain; charset=utf-8";
        await ctx.Response.WriteAsync(message + "\n");
    }

    static async Task BridgeAsync(HttpContext ctx, WebSocket ws, DockerEngine engine, PanelSettings settings, ProjectRow project, DeploymentRow? live)
    {
        var ct = ctx.RequestAborted;
        if (live is null)
        {
            await EndAsync(ws, $"{project.Name} has no live deployment: deploy it first; the terminal opens a shell in the live container.", WebSocketCloseStatus.NormalClosure, "no live container");
            return;
        }
        if (live.IsStatic || live.ContainerName is not { } container)
        {
            await EndAsync(ws, $"{project.Name} is a static site that Caddy serves itself: there is no container to open a shell in.", WebSocketCloseStatus.NormalClosure, "no container");
            return;
        }
        DockerClient docker;
        ContainerShell.Shell? shell;
        string execId;
        MultiplexedStream stream;
        try
        {
            docker = await engine.ClientAsync(ct);
            var state = (await docker.InspectContainerOrNullAsync(container, ct))?.State;
            if (state is not { Running: true })
            {
                await EndAsync(ws, $"The live container {container} is {(state is null ? "gone" : state.Status)}, not running: the panel starts it again shortly; try again then.",
                    WebSocketCloseStatus.NormalClosure, "container not running");
                return;
            }
            shell = await ContainerShell.FindShellAsync(docker, container, ct);
            if (shell is null)
            {
                await EndAsync(ws, ContainerShell.NoShellMessage, WebSocketCloseStatus.NormalClosure, "no shell in the image");
                return;
            }
            (execId, stream) = await ContainerShell.StartAsync(docker, container, shell, ct);
        }
        catch (Exception e) when (DockerEngine.IsDockerError(e))
        {
            await EndAsync(ws, $"The shell could not be started: {DockerErrors.Readable(e)}", WebSocketCloseStatus.InternalServerError, "engine error");
            return;
        }

        var started = DateTime.UtcNow;
        Audit.AuditLog.Record(ctx, "terminal.open", project.Slug, $"{shell.Name} in container {container} (deployment {live.Id})");
        using (stream)
        {
            var why = await PumpAsync(ctx, ws, docker, execId, stream, settings);
            try
            {
                await ContainerShell.HangUpAsync(docker, container, shell, execId, stream, new CancellationTokenSource(TimeSpan.FromSeconds(20)).Token);
            }
            catch (Exception e) when (DockerEngine.IsDockerError(e) || e is OperationCanceledException)
            {
                why += $"; the shell could not be ended: {DockerErrors.Readable(e)}";
            }
            var duration = DateTime.UtcNow - started;
            Audit.AuditLog.Record(ctx, "terminal.close", project.Slug,
                $"{shell.Name} in container {container} (deployment {live.Id}) after {DeployFormat.Duration(duration)}: {why}");
        }
    }

    /// <summary>Moves bytes both ways until the shell exits, the browser leaves, the user is idle or signed out; says which.</summary>
    static async Task<string> PumpAsync(HttpContext ctx, WebSocket ws, DockerClient docker, string execId, MultiplexedStream stream, PanelSettings settings)
    {
        // The panel stopping ends its terminals at once (their shells are hung up below) rather than holding up the
        // host's shutdown until its timeout.
        var stopping = ctx.RequestServices.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ctx.RequestAborted, stopping);
        var send = new SemaphoreSlim(1, 1);
        var lastInput = DateTime.UtcNow;

        async Task SendAsync(ArraySegment<byte> bytes, WebSocketMessageType type)
        {
            await send.WaitAsync(stop.Token);
            try { await ws.SendAsync(bytes, type, true, stop.Token); }
            finally { send.Release(); }
        }

        async Task<string> OutputAsync()
        {
            var buffer = new byte[16 * 1024];
            while (true)
            {
                var r = await stream.ReadOutputAsync(buffer, 0, buffer.Length, stop.Token);
                if (r.EOF) return "the shell exited";
                await SendAsync(new ArraySegment<byte>(buffer, 0, r.Count), WebSocketMessageType.Binary);
            }
        }

        async Task<string> InputAsync()
        {
            var buffer = new byte[16 * 1024];
            var control = new MemoryStream();
            var tooLong = false;
            while (true)
            {
                var m = await ws.ReceiveAsync(buffer, stop.Token);
                if (m.MessageType == WebSocketMessageType.Close) return "closed by the browser";
                lastInput = DateTime.UtcNow;
                if (m.MessageType == WebSocketMessageType.Binary)
                {
                    await stream.WriteAsync(buffer, 0, m.Count, stop.Token);
                    continue;
                }
                // A size: small JSON, maybe in several frames; anything long is not one.
                tooLong |= control.Length + m.Count > 256;
                if (!tooLong) control.Write(buffer, 0, m.Count);
                if (!m.EndOfMessage) continue;
                var text = tooLong ? "" : Encoding.UTF8.GetString(control.ToArray());
                (tooLong, control.Position) = (false, 0);
                control.SetLength(0);
                var size = ParseSize(text);
                if (SizeProblem(size) is { } problem) { await SayAsync(problem); continue; }
                var (cols, rows) = size!.Value;
                try { await ContainerShell.ResizeAsync(docker, execId, cols, rows, stop.Token); }
                catch (Exception e) when (DockerEngine.IsDockerError(e)) { await SayAsync($"The terminal could not be resized: {DockerErrors.Readable(e)}"); }
            }
        }

        Task SayAsync(string message) => SendAsync(Encoding.UTF8.GetBytes(message), WebSocketMessageType.Text);

        async Task<string> WatchAsync()
        {
            var idle = settings.TerminalIdle;
            var token = ctx.User.SessionToken();
            var db = ctx.RequestServices.GetRequiredService<Db>();
            while (true)
            {
                var left = idle - (DateTime.UtcNow - lastInput);
                await Task.Delay(left < CheckEvery ? left > TimeSpan.Zero ? left : TimeSpan.Zero : CheckEvery, stop.Token);
                if (DateTime.UtcNow - lastInput >= idle)
                {
                    var minutes = (int)idle.TotalMinutes;
                    await SayAsync($"Closed after {minutes} minute{(minutes == 1 ? "" : "s")} without input (Terminal:IdleMinutes).");
                    return "idle";
                }
                // The cookie was checked when the socket opened; a sign-out, a disabled user or a changed password
                // (which end the session rows) must end an open terminal too, not only the next request.
                using var c = db.Open();
                if (token is null || Sessions.FindSessionUser(c, token) is not { } s || s.Disabled || Sessions.IsIdle(s) || s.UserId != ctx.User.UserId())
                {
                    await SayAsync("Your sign-in session ended, so the terminal closed; sign in again to open one.");
                    return "session ended";
                }
            }
        }

        var tasks = new[] { OutputAsync(), InputAsync(), WatchAsync() };
        var first = await Task.WhenAny(tasks);
        string why;
        try { why = await first; }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException or IOException || DockerEngine.IsDockerError(e))
        {
            why = stopping.IsCancellationRequested ? "the panel stopped"
                : ctx.RequestAborted.IsCancellationRequested ? "the browser went away" : $"error: {e.Message}";
        }
        if (why == "the shell exited")
            try { await SayAsync("The shell exited."); } catch (Exception e) when (e is WebSocketException or IOException or OperationCanceledException) { }
        // The close frame first, then stop: cancelling a pending receive aborts the socket, and the browser would see
        // no reason. The browser's answer to the close ends the input loop.
        await CloseQuietlyAsync(ws, why);
        await Task.WhenAny(tasks[1], Task.Delay(TimeSpan.FromSeconds(2)));
        stop.Cancel();
        // Ended by the stop (their exceptions observed here); bounded, since a read of the exec stream need not honour
        // the token: it ends at the latest when the shell is hung up and the stream disposed.
        foreach (var t in tasks) _ = t.ContinueWith(x => x.Exception, TaskContinuationOptions.OnlyOnFaulted);
        await Task.WhenAny(Task.WhenAll(tasks), Task.Delay(TimeSpan.FromSeconds(5)));
        return why;
    }

    /// <summary>{"cols":N,"rows":N} with whole numbers; null for anything else.</summary>
    public static (int Cols, int Rows)? ParseSize(string text)
    {
        try
        {
            using var doc = JsonDocument.Parse(text);
            var root = doc.RootElement;
            if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("cols", out var c) && root.TryGetProperty("rows", out var r)
                && c.TryGetInt32(out var cols) && r.TryGetInt32(out var rows))
                return (cols, rows);
        }
        catch (JsonException) { }
        catch (FormatException) { }
        return null;
    }

    /// <summary>Null for a size the TTY may take (1–1000 columns and rows); the message for the terminal otherwise.</summary>
    public static string? SizeProblem((int Cols, int Rows)? size) => size switch
    {
        null => $"A terminal size must be sent as {{\"cols\":N,\"rows\":N}} with whole numbers from 1 to {MaxSize}; ignored.",
        var (cols, rows) when cols < 1 || rows < 1 || cols > MaxSize || rows > MaxSize =>
            $"The terminal size {cols.ToString(CultureInfo.InvariantCulture)} columns × {rows.ToString(CultureInfo.InvariantCulture)} rows is refused: " +
            $"columns and rows must be whole numbers from 1 to {MaxSize}. The size stays as it was.",
        _ => null,
    };

    /// <summary>A message, then the close: for the refusals that happen after the socket is open.</summary>
    static async Task EndAsync(WebSocket ws, string message, WebSocketCloseStatus status, string reason)
    {
        try
        {
            await ws.SendAsync(Encoding.UTF8.GetBytes(message), WebSocketMessageType.Text, true, CancellationToken.None);
            await ws.CloseAsync(status, reason, new CancellationTokenSource(TimeSpan.FromSeconds(5)).Token);
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException) { }
    }

    static async Task CloseQuietlyAsync(WebSocket ws, string why)
    {
        try
        {
            if (ws.State is WebSocketState.Open or WebSocketState.CloseReceived)
                await ws.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, why.Length > 100 ? why[..100] : why, new CancellationTokenSource(TimeSpan.FromSeconds(5)).Token);
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException) { }
    }
}
