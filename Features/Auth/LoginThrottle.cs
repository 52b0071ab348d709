using System.Collections.Concurrent;

namespace VpsPanel.Features.Auth;

/// <summary>
/// Limits sign-in attempts in memory: per client IP (all attempts, against password spraying) and per account
/// (failed attempts, against guessing one password). In memory is enough for a one-process panel; a restart
/// forgets the counts, which only an admin on the server can cause.
/// </summary>
public sealed class LoginThrottle(TimeProvider time)
{
    public LoginThrottle() : this(TimeProvider.System) { }

    public const int MaxAttemptsPerIp = 20;
    public const int MaxFailuresPerAccount = 5;
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(15);

    readonly ConcurrentDictionary<string, Queue<DateTimeOffset>> _byIp = new();
    readonly ConcurrentDictionary<string, Queue<DateTimeOffset>> _failuresByAccount = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Null when the attempt may go ahead; otherwise the message for the 429 page.</summary>
    public string? Check(string ip, string email)
    {
        var now = time.GetUtcNow();
        if (Count(_byIp, ip, now, record: true) > MaxAttemptsPerIp)
            return $"Too many sign-in attempts from your address. Wait {Window.TotalMinutes:0} minutes and try again.";
        if (Count(_failuresByAccount, email, now, record: false) >= MaxFailuresPerAccount)
            return $"Too many failed sign-ins for this account. Wait {Window.TotalMinutes:0} minutes and try again, or ask an admin to reset the password.";
        return null;
    }

    public void RecordFailure(string email) => Count(_failuresByAccount, email, time.GetUtcNow(), record: true);

    public void RecordSuccess(string email) => _failuresByAccount.TryRemove(email, out _);

    static int Count(ConcurrentDictionary<string, Queue<DateTimeOffset>> map, string key, DateTimeOffset now, bool record)
    {
        // Keys are attacker-chosen (emails, addresses): drop the idle ones before the maps can grow without bound.
        if (map.Count > 10_000)
            foreach (var (k, old) in map)
                lock (old) if (old.Count == 0 || now - old.Peek() > Window) map.TryRemove(k, out _);
        var q = map.GetOrAdd(key, _ => new Queue<DateTimeOffset>());
        lock (q)
        {
            while (q.Count > 0 && now - q.Peek() > Window) q.Dequeue();
            if (record) q.Enqueue(now);
            return q.Count;
        }
    }
}
