namespace VpsPanel.Features.Shared;

/// <summary>Timestamps are stored as ISO-8601 UTC text so SQLite sorts and compares them as strings.</summary>
public static class Clock
{
    public static string Now() => DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.fffZ");
}
