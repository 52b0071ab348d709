using Dapper;
using VpsPanel.Features.Caddy;
using VpsPanel.Features.Data;
using VpsPanel.Features.Docker;
using VpsPanel.Features.Settings;

namespace VpsPanel.Features.Dashboard;

/// <summary>One check: ok or not, a short detail (a version, a size), and when not ok, what to do about it.</summary>
public sealed record Check(string Name, bool Ok, string Detail, string? Fix = null);

public sealed record StatusReport(Check Database, Check Docker, Check Caddy, Check Disk)
{
    public IEnumerable<Check> All => [Database, Docker, Caddy, Disk];
}

/// <summary>What a new user needs to know works: the database, the Docker engine, Caddy and disk space.</summary>
public sealed class SystemStatus(PanelSettings settings, Db db, DockerEngine engine, CaddyAdmin caddy)
{
    static readonly TimeSpan CheckTimeout = TimeSpan.FromSeconds(3);
    const long LowDiskBytes = 2L * 1024 * 1024 * 1024;

    /// <summary>
    /// <paramref name="writeEveryTime"/>: /healthz proves a database write on every call (a monitor asks for exactly
    /// that); the dashboard takes a write proven in the last few seconds, so a page under load is not a write per view.
    /// </summary>
    public async Task<StatusReport> CheckAsync(CancellationToken ct, bool writeEveryTime = true)
    {
        var dockerTask = CheckDocker(ct);
        var caddyTask = CheckCaddy(ct);
        return new StatusReport(CheckDatabase(writeEveryTime), await dockerTask, await caddyTask, CheckDisk());
    }

    /// <summary>The checks and the disks as the dashboard shows them (DiskGuard measures the disks).</summary>
    public sealed record PageChecks(StatusReport Report, List<Hygiene.DiskFree> Disks);
    sealed record SharedChecks(Task<PageChecks> Checks, long StartedAt);
    SharedChecks? _shared;
    readonly Lock _sharedLock = new();
    const long SharedForMs = 1000;

    /// <summary>
    /// For the dashboard: one run of the checks shared by every view that starts while it runs or within a second of
    /// its start. Under 64 concurrent views each made its own round trips to dockerd and Caddy's admin API on the same
    /// 2 cores (issue 20, target 6). /healthz does not use this: a monitor gets a fresh check every time.
    /// </summary>
    public Task<PageChecks> CheckForPageAsync()
    {
        var s = _shared;
        if (s is not null && (!s.Checks.IsCompleted || Environment.TickCount64 - s.StartedAt < SharedForMs)) return s.Checks;
        lock (_sharedLock)
        {
            s = _shared;
            if (s is not null && (!s.Checks.IsCompleted || Environment.TickCount64 - s.StartedAt < SharedForMs)) return s.Checks;
            // Not the request's token: one view going away must not cancel the run the others wait on (each check has its own timeout).
            var run = Task.Run(async () => new PageChecks(await CheckAsync(CancellationToken.None, writeEveryTime: false),
                await Hygiene.DiskGuard.MeasureAsync(settings, engine, CancellationToken.None)));
            _shared = new(run, Environment.TickCount64);
            return run;
        }
    }

    static readonly TimeSpan WriteProvenFor = TimeSpan.FromSeconds(10);
    /// <summary>When the last write probe committed (ticks, UTC); 0 after a failed one, so a failure is never skipped over.</summary>
    long _writeProvenAt;

    /// <summary>
    /// A read, then a committed write. Reads kept working while every write failed (the -wal file deleted underneath
    /// the panel, a full disk), so a read proves nothing about saving. BEGIN IMMEDIATE + ROLLBACK is not proof either:
    /// it takes the write lock but appends nothing to the WAL, so a full disk or a broken WAL pass it. The probe
    /// commits an overwrite of the one row of health_probe: a WAL append and a commit like every real save, without
    /// growing the file (the WAL is reused after SQLite's automatic checkpoints). A commit in WAL mode with
    /// synchronous=NORMAL does not fsync, so even a busy monitor costs little.
    /// </summary>
    Check CheckDatabase(bool writeEveryTime)
    {
        try
        {
            using var c = db.Open();
            var version = c.ExecuteScalar<int>("PRAGMA user_version;");
            var now = DateTime.UtcNow.Ticks;
            if (writeEveryTime || now - Interlocked.Read(ref _writeProvenAt) > WriteProvenFor.Ticks)
            {
                Interlocked.Exchange(ref _writeProvenAt, 0);
                // Shorter than the 10 s busy timeout of ordinary queries: a health check must answer while a monitor waits.
                c.Execute(OverwriteHealthProbe, new { now = Shared.Clock.Now() }, commandTimeout: 5);
                Interlocked.Exchange(ref _writeProvenAt, now);
            }
            return new Check("Database", true, $"SQLite, schema version {version}, at {db.Path}; reads and writes work");
        }
        catch (Exception e)
        {
            return new Check("Database", false, e.Message,
                $"Check that {settings.DataDir} exists, is writable by the panel's user and its disk has free space; until then nothing can be saved.");
        }
    }

    const string OverwriteHealthProbe =
        "INSERT INTO health_probe (id, written_at) VALUES (1, @now) ON CONFLICT (id) DO UPDATE SET written_at = excluded.written_at";

    static readonly TimeSpan DockerVersionKeptFor = TimeSpan.FromMinutes(5);
    // A reference, so a request never reads half of another's write.
    sealed record KnownVersion(global::Docker.DotNet.Models.VersionResponse Version, DateTime Until);
    KnownVersion? _dockerVersion;

    async Task<Check> CheckDocker(CancellationToken ct)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(CheckTimeout);
        try
        {
            var docker = await engine.ClientAsync(cts.Token);
            // Up or down is asked every time (GET /_ping, the engine's cheapest call); the version, a fact that only
            // changes with an engine upgrade, is kept a few minutes: /healthz and the dashboard ask on every request.
            await docker.System.PingAsync(cts.Token);
            var v = _dockerVersion is { } known && DateTime.UtcNow < known.Until ? known.Version : null;
            if (v is null)
            {
                v = await docker.System.GetVersionAsync(cts.Token);
                _dockerVersion = new(v, DateTime.UtcNow + DockerVersionKeptFor);
            }
            // The version in use is the negotiated one (Docker/DockerEngine), which may be older than the engine's own.
            return new Check("Docker", true,
                $"reachable: Docker Engine {v.Version} ({v.Os}/{v.Arch}); API {engine.ApiVersion} in use (engine up to {v.APIVersion}, panel up to {DockerEngine.LibraryApiVersion})");
        }
        catch (Exception e) when (DockerEngine.IsDockerError(e) || e is OperationCanceledException)
        {
            var detail = e is OperationCanceledException ? $"the Docker engine at {settings.DockerSocket} did not answer in time" : e.Message;
            return new Check("Docker", false, detail,
                $"Install and start Docker: apt-get install docker.io && systemctl enable --now docker. " +
                $"The panel's user must be able to open {settings.DockerSocket} (add it to the docker group), " +
                "or set Docker:Socket to where the engine listens.");
        }
    }

    async Task<Check> CheckCaddy(CancellationToken ct)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(CheckTimeout);
        try
        {
            await caddy.PingAsync(cts.Token);
            var version = await CaddyAdmin.LocalVersionAsync(cts.Token);
            return new Check("Caddy", true, $"reachable: Caddy {version ?? "(version unknown: no caddy binary on this machine's PATH)"}, admin API at {caddy.Address}");
        }
        catch (Exception e) when (e is CaddyException or OperationCanceledException)
        {
            var detail = e is OperationCanceledException ? $"Caddy's admin API at {caddy.Address} did not answer in time" : e.Message;
            return new Check("Caddy", false, detail,
                "Install and start Caddy: apt-get install caddy && systemctl enable --now caddy. " +
                $"Its admin API must listen at {caddy.Address} (the Caddyfile's global `admin` option), or set Caddy:AdminAddress to where it listens.");
        }
    }

    Check CheckDisk()
    {
        try
        {
            var free = new DriveInfo(settings.DataDir).AvailableFreeSpace;
            var text = $"{FormatBytes(free)} free on the data directory ({settings.DataDir})";
            return free < LowDiskBytes
                ? new Check("Disk", false, text, "Free some space: docker image prune, docker builder prune, or remove old backups.")
                : new Check("Disk", true, text);
        }
        catch (Exception e)
        {
            return new Check("Disk", false, e.Message, $"Check that {settings.DataDir} exists.");
        }
    }

    public static string FormatBytes(long b) =>
        b >= 1L << 30 ? $"{b / (double)(1L << 30):0.0} GiB" : b >= 1L << 20 ? $"{b / (double)(1L << 20):0.0} MiB" : $"{b / 1024.0:0.0} KiB";
}
