using System.Collections.Concurrent;

namespace VpsPanel.Features.Auth;

/// <summary>
/// Limits sign-in attempts in memory. In memory is enough for a one-process panel; a restart forgets the counts,
/// which only an admin on the server can cause. Three counters, all over the last <see cref="Window"/>:
/// <list type="bullet">
/// <item>per client address, every attempt (password spraying from one place);</item>
/// <item>per account and address, failures (guessing one password from one place);</item>
/// <item>per account, failures from everywhere (a guess spread over many addresses): while that is over its limit,
/// only addresses with a failure of their own for the account are held back.</item>
/// </list>
/// Failures are never counted per account alone, because anyone could then lock the real owner out (issue 11,
/// finding 7): an address that has not failed for an account always gets to try a password for it.
/// </summary>
public sealed class LoginThrottle(TimeProvider time)
{
    public LoginThrottle() : this(TimeProvider.System) { }

    public const int MaxAttemptsPerAddress = 20;
    public const int MaxFailuresPerAccountAndAddress = 5;
    public const int MaxFailuresPerAccount = 50;
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(15);

    readonly ConcurrentDictionary<string, Queue<DateTimeOffset>> _byAddress = new();
    readonly ConcurrentDictionary<string, Queue<DateTimeOffset>> _failuresByAccountAndAddress = new(StringComparer.OrdinalIgnoreCase);
    readonly ConcurrentDictionary<string, Queue<DateTimeOffset>> _failuresByAccount = new(StringComparer.OrdinalIgnoreCase);

    static string Pair(string email, string address) => email + "\n" + address;

    /// <summary>Null when the attempt may go ahead; otherwise the message for the 429 page. Counts the attempt for the address.</summary>
    public string? Check(string address, string email)
    {
        var now = time.GetUtcNow();
        if (Count(_byAddress, address, now, record: true) > MaxAttemptsPerAddress)
            return $"Too many sign-in attempts from your address. Wait {Window.TotalMinutes:0} minutes and try again.";
        var mine = Count(_failuresByAccountAndAddress, Pair(email, address), now, record: false);
        if (mine >= MaxFailuresPerAccountAndAddress
            || (mine > 0 && Count(_failuresByAccount, email, now, record: false) >= MaxFailuresPerAccount))
            return $"Too many failed sign-ins for this account from your address. Wait {Window.TotalMinutes:0} minutes and try again, or ask an admin to reset the password.";
        return null;
    }

    public void RecordFailure(string address, string email)
    {
        var now = time.GetUtcNow();
        Count(_failuresByAccountAndAddress, Pair(email, address), now, record: true);
        Count(_failuresByAccount, email, now, record: true);
    }

    /// <summary>The owner got in from here: this address's failures for the account are forgotten (the others stay).</summary>
    public void RecordSuccess(string address, string email) => _failuresByAccountAndAddress.TryRemove(Pair(email, address), out _);

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
