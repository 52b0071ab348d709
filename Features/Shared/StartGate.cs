using Microsoft.AspNetCore.DataProtection;
using Quartz;

namespace VpsPanel.Features.Shared;

/// <summary>
/// Start-up housekeeping (recovering interrupted deploys and Caddy's sites, reconciling containers, metrics, health
/// probes, notifications, the scheduler) waits until the panel has answered its first request, or
/// <see cref="Latest"/> after it started listening when nobody asks. On the 2-core box all of it used to run next
/// to the first request and compile its own code at the same time: the first 200 on /healthz came ~3 s after the
/// port opened (issue 20, measurement 5). Nothing is lost by waiting: the deploy queue is in SQLite and is picked
/// up when the worker starts, Caddy keeps serving the routes it has, and the first answer comes from the same code
/// every later one does.
/// </summary>
public static class StartGate
{
    /// <summary>The longest the housekeeping waits for a first request.</summary>
    public static readonly TimeSpan Latest = TimeSpan.FromSeconds(2);

    static readonly TaskCompletionSource Opened = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes when the housekeeping may run; cancelled with <paramref name="stop"/>.</summary>
    public static Task WaitAsync(CancellationToken stop) => Opened.Task.WaitAsync(stop);

    /// <summary>Opens the gate after the first response has been sent, or <see cref="Latest"/> after the server started.</summary>
    public static void Use(WebApplication app)
    {
        app.Lifetime.ApplicationStarted.Register(() => _ = Task.Delay(Latest).ContinueWith(_ => Opened.TrySetResult(), TaskScheduler.Default));
        app.Use((ctx, next) =>
        {
            if (!Opened.Task.IsCompleted)
                ctx.Response.OnCompleted(() => { Opened.TrySetResult(); return Task.CompletedTask; });
            return next(ctx);
        });
    }

    /// <summary>
    /// Quartz's own hosted service creates and starts the scheduler inside the host's start (before the port opens);
    /// this one does the same behind the gate, and on stop waits for running jobs as before (a backup is not cut).
    /// </summary>
    public sealed class QuartzStart(ISchedulerFactory factory) : BackgroundService
    {
        IScheduler? _scheduler;

        protected override async Task ExecuteAsync(CancellationToken stop)
        {
            await WaitAsync(stop);
            _scheduler = await factory.GetScheduler(stop);
            await _scheduler.Start(stop);
        }

        public override async Task StopAsync(CancellationToken ct)
        {
            await base.StopAsync(ct);
            if (_scheduler is not null) await _scheduler.Shutdown(waitForJobsToComplete: true, ct);
        }
    }

    /// <summary>
    /// Reads the DataProtection key ring, creating the first key in a new data dir: what DataProtection's own hosted
    /// service did before the port opened (~80 KB of XML code compiled there, removed in Features/PanelApp), now behind
    /// the gate. It also runs when the panel is stopped before the gate opened, so that every run leaves its data dir
    /// with a key ring, as before: backups carry it, and a restore checks for it.
    /// </summary>
    public sealed class KeyRingLoad(IDataProtectionProvider provider, ILogger<KeyRingLoad> logger) : BackgroundService
    {
        protected override async Task ExecuteAsync(CancellationToken stop)
        {
            try { await WaitAsync(stop); }
            catch (OperationCanceledException) { }
            try { provider.CreateProtector("VpsPanel.KeyRingLoad").Protect([1]); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
            {
                // The first request that needs a key meets the same problem and reports it there; the panel keeps running.
                logger.LogWarning("could not read or create the DataProtection key ring: {Message}", e.Message);
            }
        }
    }
}
