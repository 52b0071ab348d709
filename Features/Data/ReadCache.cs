using System.Collections.Concurrent;
using Microsoft.Data.Sqlite;

namespace VpsPanel.Features.Data;

/// <summary>
/// The read models of the busiest pages (dashboard, project page, GET /api/projects), kept in memory until the data
/// changes (issue 20, target 6: with 1,000 projects the dashboard cost about 10 ms of CPU per view, nearly all of it
/// the same SQL answered again). "Changes" is two counters read before each use:
/// - SQLite's PRAGMA data_version on one dedicated, long-lived connection: it moves whenever ANY other connection
///   commits, this process's pooled ones as well as another process's (the CLI). It does not move for the
///   connection's own commits, which is why that connection only ever reads it.
/// - LiveState.Version: what the pages show that is not in the database (containers down, notes).
/// Both are read BEFORE the data: a model read afterwards is at least as new as the counters it is filed under, so a
/// commit after the read moves a counter and the next view reads again. Nothing stale is shown after a commit.
/// Concurrent views of the same key read once (Lazy); an exception is not kept.
/// </summary>
public sealed class ReadCache(Db db, Deployments.LiveState live) : IDisposable
{
    sealed record Generation(long Data, long Live, ConcurrentDictionary<string, Lazy<object>> Entries);
    Generation _current = new(-1, -1, new());
    // A bound on entries per generation (users x pages x projects): past it, views read without keeping.
    const int MaxEntries = 2000;

    readonly Lock _versionLock = new();
    SqliteConnection? _versionConnection;
    // The PRAGMA stays compiled on its one connection: through Dapper it was parsed again on every read, 4% of a
    // page view's CPU (issue 20, perf of bench/pages.sh).
    SqliteCommand? _versionCommand;

    /// <summary>PRAGMA data_version of the dedicated connection (read-only: it can never checkpoint or remove the WAL).</summary>
    public long DataVersion()
    {
        lock (_versionLock)
        {
            try
            {
                if (_versionCommand is null)
                {
                    _versionConnection = db.OpenReadOnly();
                    _versionCommand = _versionConnection.CreateCommand();
                    _versionCommand.CommandText = "PRAGMA data_version;";
                }
                return (long)_versionCommand.ExecuteScalar()!;
            }
            catch
            {
                // A broken connection is opened again next time; this view reads without the cache.
                _versionCommand?.Dispose();
                _versionConnection?.Dispose();
                (_versionCommand, _versionConnection) = (null, null);
                throw;
            }
        }
    }

    /// <summary>The model filed under <paramref name="key"/> for the current versions, read with <paramref name="read"/> when there is none.</summary>
    public T Get<T>(string key, Func<T> read) where T : class
    {
        var liveVersion = live.Version;
        long dataVersion;
        try { dataVersion = DataVersion(); }
        catch (SqliteException) { return read(); }
        var g = _current;
        if (g.Data != dataVersion || g.Live != liveVersion)
        {
            var fresh = new Generation(dataVersion, liveVersion, new());
            g = Interlocked.CompareExchange(ref _current, fresh, g) == g ? fresh : _current;
            // Another view filed a generation of other versions at the same moment: read without keeping.
            if (g.Data != dataVersion || g.Live != liveVersion) return read();
        }
        if (!g.Entries.TryGetValue(key, out var lazy))
        {
            if (g.Entries.Count >= MaxEntries) return read();
            lazy = g.Entries.GetOrAdd(key, _ => new Lazy<object>(() => read(), LazyThreadSafetyMode.ExecutionAndPublication));
        }
        try { return (T)lazy.Value; }
        catch
        {
            g.Entries.TryRemove(new KeyValuePair<string, Lazy<object>>(key, lazy));
            throw;
        }
    }

    public void Dispose()
    {
        lock (_versionLock)
        {
            _versionCommand?.Dispose();
            _versionConnection?.Dispose();
        }
    }
}
