namespace VpsPanel.Features.Shared;

/// <summary>Timestamps are stored as ISO-8601 UTC text so SQLite sorts and compares them as strings.</summary>
public static class Clock
{
    public static string Now() => Format(DateTime.UtcNow);

    public static string Format(DateTime utc) => utc.ToString("yyyy-MM-ddTHH:mm:ss.fffZ");
}
