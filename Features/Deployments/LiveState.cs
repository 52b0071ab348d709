using System.Collections.Concurrent;

namespace VpsPanel.Features.Deployments;

/// <summary>A live deployment whose container is not running: since when, why, and the restarts tried so far.</summary>
public sealed record ContainerDown(DateTime Since, string Reason, int Attempts, DateTime NextAttemptAt);

/// <summary>
/// What the database does not hold because the panel re-learns it within one reconcile cycle after a restart:
/// which live containers are down (LiveReconciler) and which running deployment is waiting for Caddy (DeployRun).
/// Pages and the API read it; nothing decides anything from it but the reconciler's own back-off.
/// </summary>
public sealed class LiveState
{
    readonly ConcurrentDictionary<long, ContainerDown> _down = new();
    readonly ConcurrentDictionary<long, string> _notes = new();
    long _version;

    /// <summary>
    /// Moves after every change (Data/ReadCache files page models under it). Moved AFTER the change: a reader that
    /// sees the new number reads the changed state.
    /// </summary>
    public long Version => Interlocked.Read(ref _version);
    void Changed() => Interlocked.Increment(ref _version);

    public ContainerDown? DownOf(long deploymentId) => _down.GetValueOrDefault(deploymentId);

    public IReadOnlyDictionary<long, ContainerDown> AllDown => _down;

    /// <summary>Records (or updates) a down container; returns the previous record, null when it was up until now.</summary>
    public ContainerDown? SetDown(long deploymentId, ContainerDown down)
    {
        ContainerDown? before = null;
        _down.AddOrUpdate(deploymentId, down, (_, old) => { before = old; return down; });
        Changed();
        return before;
    }

    /// <summary>True when it had been down (so a recovery is worth a log line).</summary>
    public bool SetUp(long deploymentId)
    {
        if (!_down.TryRemove(deploymentId, out _)) return false;
        Changed();
        return true;
    }

    /// <summary>Forgets deployments that are no longer live (retired, project deleted).</summary>
    public void KeepOnly(IEnumerable<long> liveIds)
    {
        var keep = liveIds.ToHashSet();
        foreach (var id in _down.Keys.Where(k => !keep.Contains(k)).ToList())
            if (_down.TryRemove(id, out _)) Changed();
    }

    /// <summary>A running deployment's passing state, e.g. "waiting for Caddy"; shown next to its status.</summary>
    public string? NoteOf(long deploymentId) => _notes.GetValueOrDefault(deploymentId);

    public void SetNote(long deploymentId, string? note)
    {
        if (note is null) _notes.TryRemove(deploymentId, out _);
        else _notes[deploymentId] = note;
        Changed();
    }

    /// <summary>The text pages show for a live deployment whose container is down.</summary>
    public static string Describe(ContainerDown d) =>
        $"live, container down since {d.Since:yyyy-MM-dd HH:mm:ss} UTC: {d.Reason}" +
        (d.Attempts > 0 ? $" ({d.Attempts} restart attempt{(d.Attempts == 1 ? "" : "s")} so far)" : "");
}
