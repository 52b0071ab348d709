using System.Globalization;
using Dapper;
using Microsoft.Data.Sqlite;
using VpsPanel.Features.Data;
using VpsPanel.Features.Settings;
using VpsPanel.Features.Shared;

namespace VpsPanel.Features.Upgrades;

/// <summary>
/// What the dashboard says about releases, kept in panel_options: whether the admin turned the check on (off by
/// default: a panel never calls out unless asked), and what the last check found. <see cref="Newer"/> compares with
/// the version running now, so after an upgrade the notice goes away without another check.
/// </summary>
public sealed record UpgradeCheckState(bool Enabled, string? Latest, string? CheckedAt, string? Error)
{
    const string EnabledKey = "upgrades.check", LatestKey = "upgrades.latest", CheckedKey = "upgrades.checked_at", ErrorKey = "upgrades.error";

    public static string Current => Cli.CliApp.Version;

    /// <summary>The newer release, or null when there is none (or the check is off, or has not found one yet).</summary>
    public string? Newer => Enabled && Latest is { } l && Release.Compare(l, Current) > 0 ? l : null;

    public static UpgradeCheckState Load(SqliteConnection c)
    {
        var all = c.Query<(string Key, string Value)>("SELECT key, value FROM panel_options WHERE key LIKE 'upgrades.%'").ToDictionary(r => r.Key, r => r.Value);
        string? Get(string k) => all.TryGetValue(k, out var v) && v != "" ? v : null;
        return new UpgradeCheckState(Get(EnabledKey) == "true", Get(LatestKey), Get(CheckedKey), Get(ErrorKey));
    }

    public static void SaveEnabled(SqliteConnection c, bool enabled) => PanelOptions.Put(c, EnabledKey, enabled ? "true" : "false");

    /// <summary>A check's outcome: the version found, or the error (the last version found stays shown).</summary>
    public static void SaveOutcome(SqliteConnection c, string? latest, string? error)
    {
        if (latest is not null) PanelOptions.Put(c, LatestKey, latest);
        PanelOptions.Put(c, ErrorKey, error ?? "");
        PanelOptions.Put(c, CheckedKey, Clock.Now());
    }

    /// <summary>Turns the check on or off for the page and the API alike, with its audit row; on wakes the checker.</summary>
    public static UpgradeCheckState Toggle(SqliteConnection c, HttpContext ctx, bool enabled)
    {
        var before = Load(c).Enabled;
        SaveEnabled(c, enabled);
        if (before != enabled)
        {
            Audit.AuditLog.Record(c, ctx, enabled ? "settings.upgrade_check.on" : "settings.upgrade_check.off", "settings", $"release check at {ctx.RequestServices.GetRequiredService<PanelSettings>().ReleaseBaseUrl}");
            if (enabled) ctx.RequestServices.GetRequiredService<UpgradeChecker>().Wake();
        }
        return Load(c);
    }
}

/// <summary>
/// Asks the release's VERSION once a day while the check is on, and at once when an admin turns it on. A hosted
/// loop rather than a Quartz trigger: a StartNow trigger did not fire in the published binary (Audit/AuditPruneJob),
/// and "at once on enable" is exactly that. A failed check is kept (shown to admins) and retried the next day.
/// </summary>
public sealed class UpgradeChecker(Db db, PanelSettings settings, ILogger<UpgradeChecker> log) : BackgroundService
{
    static readonly TimeSpan Interval = TimeSpan.FromHours(24);
    readonly SemaphoreSlim _wake = new(0, 1);

    public void Wake()
    {
        try { _wake.Release(); } catch (SemaphoreFullException) { }
    }

    protected override async Task ExecuteAsync(CancellationToken stop)
    {
        await Shared.StartGate.WaitAsync(stop);
        while (!stop.IsCancellationRequested)
        {
            UpgradeCheckState state;
            using (var c = db.Open()) state = UpgradeCheckState.Load(c);
            var wait = Interval;
            if (state.Enabled)
            {
                var last = state.CheckedAt is { } at && DateTime.TryParse(at, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal, out var t) ? t : DateTime.MinValue;
                var due = last + Interval - DateTime.UtcNow;
                if (due <= TimeSpan.Zero) await CheckNowAsync(stop);
                else wait = due;
            }
            try { await _wake.WaitAsync(wait, stop); }
            catch (OperationCanceledException) { return; }
            // A wake means "check now": forget when the last check was.
            using (var c = db.Open()) if (UpgradeCheckState.Load(c).Enabled) await CheckNowAsync(stop);
        }
    }

    async Task CheckNowAsync(CancellationToken ct)
    {
        string? latest = null, error = null;
        try
        {
            using var http = Release.NewClient(TimeSpan.FromSeconds(30));
            latest = await Release.LatestVersionAsync(http, settings.ReleaseBaseUrl, ct);
        }
        catch (ReleaseException e) { error = e.Message; log.LogWarning("Release check failed: {Message}", e.Message); }
        catch (OperationCanceledException) when (ct.IsCancellationRequested) { return; }
        using var c = db.Open();
        UpgradeCheckState.SaveOutcome(c, latest, error);
    }
}
